"""How long after a call's last Hangup event trunkctl has its verdict. Goal: ≤ 100 ms.

Two paths, both at 20 CPS through the sandbox's real trunk:
  * ``originate_and_track``: from the arrival of the call's last Hangup event (read by a
    listener on the same client, in the same dispatch pass) to the function's return;
  * the campaign runner: from that Hangup to the progress callback, i.e. after the verdict
    was explained and written into the call log (SQLite).
"From the last event" is shown as well: when OriginateResponse arrives after the last
Hangup, Asterisk's own delay is in the first number but not in the second.

Run (as root; it resets the sandbox pbx):
    .venv/bin/python bench/verdict_latency_bench.py [--calls 100] [--cps 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from _sandbox_calls import (
    BEHAVIOURS,
    BENCH_CONTEXT,
    numbers_for,
    percentile,
    prepare,
    provider_number,
    save,
)
from trunkctl.ami import AmiClient, CallResult, Message, originate_and_track
from trunkctl.asterisk import ami_client
from trunkctl.calling import (
    CampaignProgress,
    CampaignRunner,
    TokenBucket,
    narrow_to_call_events,
    read_numbers,
)
from trunkctl.calllog import CallLog
from trunkctl.errors import AmiError
from trunkctl.sandbox import Sandbox
from trunkctl.settings import Settings

GOAL_MS = 100.0


class EventClock:
    """When each call's last event and last Hangup arrived (keyed by our ChannelId)."""

    def __init__(self) -> None:
        self.last_event: dict[str, float] = {}
        self.last_hangup: dict[str, float] = {}

    def on_event(self, msg: Message) -> None:
        key = msg.get("Linkedid") or msg.get("DestLinkedid") or msg.get("Uniqueid") or ""
        if not key.startswith("trunkctl-"):
            return
        now = time.perf_counter()
        self.last_event[key] = now
        if msg.get("Event") == "Hangup":
            self.last_hangup[key] = now

    def on_connection_lost(self, error: AmiError) -> None:
        raise SystemExit(f"AMI connection lost: {error}")


def _client(settings: Settings, clock: EventClock) -> AmiClient:
    client = ami_client(settings, events=("call", "user"), reconnect=True, keepalive=10.0)
    client.add_listener(clock)  # before the call router: sees each event first
    return client


async def direct(settings: Settings, calls: int, cps: float) -> list[tuple[float, float]]:
    """(after last Hangup, after last event) in seconds for each originate_and_track."""
    clock = EventClock()
    out: list[tuple[float, float]] = []
    numbers = [provider_number(code) for code in BEHAVIOURS]
    bucket = TokenBucket(cps)

    async def one(number: str) -> None:
        result: CallResult = await originate_and_track(
            client, f"Local/{number}@outgoing", app="Playback", data="hello-world",
            timeout=15, ring_timeout=2,
        )  # fmt: skip
        done = time.perf_counter()
        cid = result.channel_id
        out.append((done - clock.last_hangup[cid], done - clock.last_event[cid]))

    async with _client(settings, clock) as client:
        tasks = []
        for i in range(calls):
            await asyncio.sleep(bucket.reserve())
            tasks.append(asyncio.ensure_future(one(numbers[i % len(numbers)])))
        await asyncio.gather(*tasks)
    return out


async def campaign(settings: Settings, calls: int, cps: float) -> list[tuple[float, float]]:
    """The same, measured at the campaign runner's progress callback (verdict stored)."""
    clock = EventClock()
    out: list[tuple[float, float]] = []
    listing = "\n".join(numbers_for(calls))

    def progress(p: CampaignProgress) -> None:
        if p.last is None or p.last.channel_id is None:
            return
        done = time.perf_counter()
        cid = p.last.channel_id
        out.append((done - clock.last_hangup[cid], done - clock.last_event[cid]))

    with tempfile.TemporaryDirectory() as tmp:
        runner = CampaignRunner(
            read_numbers(listing, source="bench"),
            CallLog(Path(tmp) / "calls.db"),
            campaign=f"latency-{int(time.time())}",
            concurrency=100,
            cps=cps,
            timeout=15,
            ring_timeout=2,
            context=BENCH_CONTEXT,
            on_progress=progress,
        )
        async with _client(settings, clock) as client:
            await narrow_to_call_events(client)  # as the runner does with its own client
            report = await runner.run(settings, client=client)
    if report.exit_code != 0:
        raise SystemExit(f"campaign failed: {report.counts()} {report.error}")
    return out


def summary(samples: list[tuple[float, float]]) -> dict[str, dict[str, float]]:
    def stats(values: list[float]) -> dict[str, float]:
        ms = [v * 1000 for v in values]
        return {
            "p50": round(percentile(ms, 0.50), 3),
            "p95": round(percentile(ms, 0.95), 3),
            "p99": round(percentile(ms, 0.99), 3),
            "max": round(max(ms), 3),
        }

    return {
        "after_last_hangup_ms": stats([a for a, _ in samples]),
        "after_last_event_ms": stats([b for _, b in samples]),
    }


async def bench(calls: int, cps: float) -> dict[str, object]:
    settings = await prepare(Sandbox())
    first = await direct(settings, calls, cps)
    second = await campaign(settings, calls, cps)
    return {
        "calls": calls,
        "cps": cps,
        "originate_and_track": summary(first),
        "campaign_recorded": summary(second),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--cps", type=float, default=20.0)
    args = parser.parse_args()
    data = asyncio.run(bench(args.calls, args.cps))
    print(f"{args.calls} calls per path at {args.cps:g} CPS; milliseconds")
    print(f"{'path':<22} {'from':<11} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}")
    worst = 0.0
    for path in ("originate_and_track", "campaign_recorded"):
        block = data[path]
        assert isinstance(block, dict)
        for key, label in (
            ("after_last_hangup_ms", "last Hangup"),
            ("after_last_event_ms", "last event"),
        ):
            s = block[key]
            print(
                f"{path:<22} {label:<11} {s['p50']:>8.2f} {s['p95']:>8.2f} "
                f"{s['p99']:>8.2f} {s['max']:>8.2f}"
            )
        worst = max(worst, block["after_last_hangup_ms"]["max"])
    print(f"goal: ≤ {GOAL_MS:g} ms after the Hangup event; worst seen {worst:.2f} ms")
    save("verdict_latency.json", data)
    return 0 if worst <= GOAL_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
