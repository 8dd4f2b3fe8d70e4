"""trunkctl's AMI parser against panoramisk 1.4's on a recorded Asterisk 22 event stream.

Goal: ≥ 3× panoramisk's messages/s on the path every event takes in the client (framing
plus the ``Event`` lookup that dispatch does), with every header kept. The table also
shows the cost of building every message's full header list, a bare split-on-CRLF dict
parser for scale, and how many messages panoramisk loses a trailing empty header on.

Run: .venv/bin/python bench/ami_parse_bench.py [--file F] [--repeat 20] [--chunk 65536]
The stream is tests/ami/data/asterisk22_events.bin (bench/record_ami_stream.py made it).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from panoramisk.ami_protocol import AMIProtocol  # type: ignore[import-untyped]
from panoramisk.message import Message as PanoMessage  # type: ignore[import-untyped]

from trunkctl.ami import Parser

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "tests" / "ami" / "data" / "asterisk22_events.bin"
BANNER_END = b"\r\n"
GOAL = 3.0


def load(path: Path, repeat: int) -> bytes:
    """The recording, its message part repeated (one banner in front)."""
    data = path.read_bytes()
    cut = data.index(BANNER_END) + len(BANNER_END)
    return data[:cut] + data[cut:] * repeat


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def ours_dispatch(chunks: list[bytes]) -> int:
    """What AmiProtocol.data_received does for each event: frame, then look up Event."""
    parser = Parser()
    count = 0
    for chunk in chunks:
        for msg in parser.feed(chunk):
            msg.get("Event")
            count += 1
    return count


def ours_tracking(chunks: list[bytes]) -> int:
    """The client while calls are tracked and actions wait: Event, ActionID, Linkedid."""
    parser = Parser()
    count = 0
    for chunk in chunks:
        for msg in parser.feed(chunk):
            msg.get("Event")
            msg.get("ActionID")
            msg.get("Linkedid")
            count += 1
    return count


def ours_every_header(chunks: list[bytes]) -> int:
    """Frame and build every message's full ordered header list."""
    parser = Parser()
    count = 0
    for chunk in chunks:
        for msg in parser.feed(chunk):
            msg.headers  # noqa: B018 - the work being measured
            count += 1
    return count


class _Counting(AMIProtocol):  # type: ignore[misc]
    """panoramisk's own framing and Message.from_line; we only count what comes out."""

    def handle_message(self, message: PanoMessage) -> None:
        self.count += 1


class _Transport:
    def close(self) -> None:
        return None


def panoramisk(chunks: list[bytes]) -> int:
    proto = _Counting()
    proto.connection_made(_Transport())
    proto.count = 0
    for chunk in chunks:
        proto.data_received(chunk)
    return int(proto.count)


def bare_dict(chunks: list[bytes]) -> int:
    """For scale: split on CRLF into a dict; loses repeats, empty trailing values survive."""
    buf = ""
    count = 0
    for chunk in chunks:
        buf += chunk.decode()
        parts = buf.split("\r\n\r\n")
        buf = parts.pop()
        for part in parts:
            dict(line.split(": ", 1) for line in part.split("\r\n") if ": " in line)
            count += 1
    return count


def best_rate(
    fn: Callable[[list[bytes]], int], chunks: list[bytes], runs: int
) -> tuple[float, int]:
    rates, count = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        count = fn(chunks)
        rates.append(count / (time.perf_counter() - started))
    return max(rates), count


def losses(data: bytes) -> dict[str, int]:
    """Per message, what panoramisk's parse lacks that ours has."""
    ours = Parser().feed(data)
    body = data[data.index(BANNER_END) + 2 :]
    blocks = body.split(b"\r\n\r\n")[:-1]
    trailing = headers_lost = messages_short = 0
    for msg, block in zip(ours, blocks, strict=True):
        pano = PanoMessage.from_line(block.decode().strip())
        pano_keys = {k.lower() for k in pano} if pano is not None else set()
        missing = [k for k, _ in msg.headers if k.lower() not in pano_keys]
        headers_lost += len(missing)
        messages_short += bool(missing)
        last_key, last_value = msg.headers[-1]
        trailing += last_value == "" and last_key.lower() not in pano_keys
    return {
        "messages": len(ours),
        "messages_missing_a_header": messages_short,
        "headers_missing": headers_lost,
        "trailing_empty_header_lost": trailing,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=65536)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    data = load(args.file, args.repeat)
    chunks = chunked(data, args.chunk)
    cases = {
        "trunkctl (frame + Event lookup)": ours_dispatch,
        "trunkctl (+ ActionID, Linkedid)": ours_tracking,
        "trunkctl (every header built)": ours_every_header,
        "panoramisk 1.4": panoramisk,
        "bare split-on-CRLF dict": bare_dict,
    }
    results = {name: best_rate(fn, chunks, args.runs) for name, fn in cases.items()}
    base = results["panoramisk 1.4"][0]
    lost = losses(load(args.file, 1))

    print(
        f"stream: {args.file.name} ×{args.repeat}, {len(data) / 1e6:.1f} MB, {args.chunk} B chunks"
    )
    print(f"{'parser':34} {'messages':>9} {'msg/s':>11} {'× panoramisk':>13}")
    for name, (rate, count) in results.items():
        print(f"{name:34} {count:9} {rate:11,.0f} {rate / base:13.2f}")
    ratio = results["trunkctl (frame + Event lookup)"][0] / base
    print(
        f"panoramisk drops a trailing empty header on {lost['trailing_empty_header_lost']} of "
        f"{lost['messages']} messages ({lost['headers_missing']} headers missing in all); "
        "trunkctl keeps every header."
    )
    verdict = "ok" if ratio >= GOAL else "BELOW GOAL"
    print(f"goal ≥ {GOAL:g}× panoramisk on the dispatch path: {ratio:.2f}× {verdict}")

    counts = {count for _, count in results.values()}
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "ami_parse.json").write_text(
        json.dumps(
            {
                "stream": args.file.name,
                "repeat": args.repeat,
                "bytes": len(data),
                "chunk": args.chunk,
                "python": platform.python_version(),
                "msg_per_s": {name: round(rate) for name, (rate, _) in results.items()},
                "ratio_vs_panoramisk": {
                    name: round(rate / base, 2) for name, (rate, _) in results.items()
                },
                "messages_counted": sorted(counts),
                "panoramisk_losses": lost,
                "median_message_bytes": statistics.median(
                    len(b) for b in data.split(b"\r\n\r\n")[:1000]
                ),
                "goal": GOAL,
                "goal_met": ratio >= GOAL,
            },
            indent=2,
        )
    )
    return 0 if ratio >= GOAL and len(counts) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
