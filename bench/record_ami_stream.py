"""Record the raw AMI byte stream of a real Asterisk while test calls run.

Connects with trunkctl's own client, places calls to the given numbers concurrently (each
``--rounds`` times, through ``Local/<number>@<context>``), and writes every byte Asterisk
sent (banner included) to ``--out``, with secret header values masked; then a few
actions whose responses are worth having (Command output, a list, an error). The result feeds
bench/ami_parse_bench.py and tests/ami (tests/ami/data/asterisk22_events.bin).

Run against the sandbox (after `trunkctl sandbox up` and a trunk with an `outgoing`
context, as tests/ami/test_live.py sets up):
    .venv/bin/python bench/record_ami_stream.py --out tests/ami/data/asterisk22_events.bin
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sys
from pathlib import Path

from trunkctl.ami import AmiClient, Parser, originate_and_track
from trunkctl.ami._parser import SECRET_KEYS
from trunkctl.errors import TrunkctlError
from trunkctl.settings import load_settings, sandbox_settings_path

DEFAULT_NUMBERS = (
    "79990000200",  # answer
    "79990000201",  # answer and hang up at once
    "79990000486",  # busy
    "79990000404",  # not found
    "79990000403",  # forbidden
    "79990000503",  # congestion
    "79990000480",  # rings until the ring timeout
    "12345",  # any other number: 404
)
_SECRET_LINE = re.compile(
    rb"(?im)^(" + b"|".join(k.encode() for k in sorted(SECRET_KEYS)) + rb"):[^\r\n]*"
)


def mask_secrets(data: bytes) -> bytes:
    """Mask the value of every secret header (keeps the stream parseable)."""
    return _SECRET_LINE.sub(rb"\1: ********", data)


async def record(args: argparse.Namespace) -> bytes:
    settings = load_settings(args.settings)
    chunks: list[bytes] = []
    client = AmiClient(
        settings.ami.host,
        settings.ami.port,
        settings.ami.username,
        settings.ami.read_secret(),
        raw_sink=chunks.append,
        keepalive=None,
    )
    async with client:
        for _ in range(args.rounds):
            results = await asyncio.gather(
                *(
                    originate_and_track(
                        client,
                        f"Local/{number}@{args.context}",
                        app="Playback",
                        data="hello-world",
                        timeout=args.timeout,
                    )
                    for number in args.numbers
                )
            )
            for number, result in zip(args.numbers, results, strict=True):
                print(f"{number:>12}  {result.status:12} sip={result.sip_code} q850={result.q850}")
        # A few responses too: Command output, a list action with AuthDetail (its Password
        # is masked below) and an error whose Message ends in a stray "\n".
        await client.command("core show channels")
        await client.list_action("PJSIPShowRegistrationsOutbound")
        await client.action("PJSIPShowEndpoint", {"Endpoint": "no-such-endpoint"}, check=False)
        await asyncio.sleep(args.settle)
    return mask_secrets(b"".join(chunks))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, default=sandbox_settings_path())
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--context", default="outgoing")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=9.0)
    parser.add_argument("--settle", type=float, default=1.0)
    parser.add_argument("numbers", nargs="*", default=list(DEFAULT_NUMBERS))
    args = parser.parse_args()
    try:
        data = asyncio.run(record(args))
    except TrunkctlError as exc:
        print(f"error: {exc.what}\n{exc.next_step or ''}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    messages = Parser().feed(data)
    kinds = collections.Counter(
        m.get("Event") or f"Response: {m.get('Response')}" for m in messages
    )
    print(f"wrote {len(data)} bytes, {len(messages)} messages to {args.out}")
    for kind, count in kinds.most_common(12):
        print(f"  {count:6}  {kind}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
