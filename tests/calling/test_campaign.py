"""Campaigns through the sandbox's real trunk: outcomes, separation, limits, Asterisk dying.

Unit counterparts: test_numberlist.py (reading lists), test_pacing.py (the token bucket).
The user's view (exit codes, JSON, resuming a killed process) is tests/cli/test_call_cli.py.
Expected outcomes come from the provider's table (trunkctl.sandbox.TEST_NUMBERS) and
Asterisk's SIP→Q.850 map, never from the code under test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient, Message, originate_and_track
from trunkctl.calling import (
    CALL_EVENTS,
    CampaignProgress,
    CampaignReport,
    CampaignRunner,
    narrow_to_call_events,
    read_numbers,
)
from trunkctl.calllog import CallLog
from trunkctl.sandbox import Sandbox
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from .conftest import SLOW_OUT, ProviderView, add_ami_user, install_trunk, unique_numbers

pytestmark = pytest.mark.sandbox

# number: (status, SIP code, Q.850) — the provider's table in sandbox/_configs.py.
EXPECTED = {
    "79990000200": ("answered", None, 16),
    "79991234567": ("answered", None, 16),
    "79990000201": ("answered", None, 16),
    "79990000486": ("busy", 486, 17),
    "79990000404": ("not_found", 404, 1),
    "79990000403": ("rejected", 403, 21),
    "79990000503": ("congestion", 503, 34),
    "79990000480": ("no_answer", None, 19),  # rings until our 3 s ring timeout
}


def why(report: CampaignReport, expected: dict[str, tuple[str, int | None, int | None]]) -> str:
    """The events of each call whose outcome is not the expected one (for the failure message)."""
    lines = []
    for x in report.results:
        if (x.status, x.sip_code, x.q850) != expected.get(x.number) and x.result is not None:
            names = [
                f"{e.get('Event')}:{e.get('Channel')}:{e.get('Cause')}" for e in x.result.events
            ]
            lines.append(f"{x.number} {x.status} {x.error} {names}")
    return "\n".join(lines)


def runner(numbers: list[str], log_path: Path, **options: object) -> CampaignRunner:
    text = "\n".join(numbers) + "\n"
    return CampaignRunner(read_numbers(text, source="test"), CallLog(log_path), **options)  # type: ignore[arg-type]


async def test_each_provider_number_gives_its_outcome_and_sip_code(
    trunk: Settings, tmp_path: Path
) -> None:
    r = runner(list(EXPECTED), tmp_path / "calls.db", concurrency=8, cps=20, ring_timeout=3)
    report = await r.run(trunk)
    got = {x.number: (x.status, x.sip_code, x.q850) for x in report.results}
    assert got == EXPECTED, why(report, EXPECTED)
    assert report.exit_code == 0 and report.called == len(EXPECTED)
    busy = next(x for x in report.results if x.number == "79990000486")
    assert (busy.sip_reason, busy.dial_status, busy.explanation) == ("Busy Here", "BUSY", "busy")
    # The call log holds the same, one row each, with the explanation id.
    rows = {row["number"]: row for row in CallLog(tmp_path / "calls.db").calls(limit=100)}
    assert {n: (row["status"], row["sip_code"], row["q850"]) for n, row in rows.items()} == got
    assert rows["79990000503"]["detail"]["explanation"] == "service_unavailable"  # docs/outcomes.md
    assert all(row["campaign"] == report.campaign for row in rows.values())


async def test_two_calls_started_in_the_same_second_keep_their_own_events(
    trunk: Settings, tmp_path: Path
) -> None:
    numbers = ["79990000486", "79990000404"]
    report = await runner(numbers, tmp_path / "calls.db", concurrency=2, cps=50).run(trunk)
    busy, missing = report.results
    assert (busy.status, busy.sip_code, missing.status, missing.sip_code) == (
        "busy",
        486,
        "not_found",
        404,
    )
    rows = CallLog(tmp_path / "calls.db").calls()
    starts = sorted(row["started_at"] for row in rows)
    assert starts[1] - starts[0] < 0.5  # dialled in the same second
    a, b = busy.result, missing.result
    assert a is not None and b is not None
    ids_a = {c.uniqueid for c in a.channels} | {a.channel_id}
    ids_b = {c.uniqueid for c in b.channels} | {b.channel_id}
    assert not ids_a & ids_b
    for result, own in ((a, ids_a), (b, ids_b)):
        for event in result.events:
            carried = {event.get(k) for k in ("Linkedid", "DestLinkedid", "Uniqueid")}
            assert carried & own, event
        # The trunk leg's INVITE went to this call's own number.
        (leg,) = [c for c in result.channels if c.name.startswith("PJSIP/")]
        assert leg.uniqueid not in (ids_b if result is a else ids_a)


class PbxChannels:
    """Local calls of given numbers in progress on the pbx, seen from its own AMI."""

    def __init__(self, numbers: set[str]) -> None:
        self.numbers = numbers
        self.live: set[str] = set()
        self.most = 0

    def on_event(self, msg: Message) -> None:
        name = msg.get("Channel") or ""
        if not name.startswith("Local/") or not name.endswith(";1"):
            return
        if name[6:].split("@", 1)[0] not in self.numbers:
            return
        if msg.get("Event") == "Newchannel":
            self.live.add(name)
            self.most = max(self.most, len(self.live))
        elif msg.get("Event") == "Hangup":
            self.live.discard(name)

    def on_connection_lost(self, error: object) -> None:
        raise AssertionError(error)


@pytest.mark.slow
async def test_twenty_numbers_at_concurrency_5_and_10_cps(
    pbx: SandboxInfo, provider_view: ProviderView, tmp_path: Path
) -> None:
    # Every call a second longer (slow-out): ten would be in progress at 10 CPS without the
    # limit, so the limit of five is what holds them back.
    settings = await install_trunk(pbx, extra_dialplan=SLOW_OUT)
    fresh = unique_numbers(12)
    numbers = list(EXPECTED) + fresh
    expected = {**EXPECTED, **dict.fromkeys(fresh, ("not_found", 404, 1))}
    a = pbx.ami
    watch = PbxChannels(set(numbers))
    async with AmiClient(a["host"], a["port"], a["username"], a["secret"], events=("call",)) as c:
        c.add_listener(watch)
        r = runner(
            numbers,
            tmp_path / "calls.db",
            concurrency=5,
            cps=10,
            ring_timeout=4,
            context="slow-out",
        )
        report = await r.run(settings)
        await asyncio.sleep(0.3)
    got = {x.number: (x.status, x.sip_code, x.q850) for x in report.results}
    assert got == expected, why(report, expected)
    assert watch.most == 5  # the limit was reached and never passed
    # Pacing as the provider saw it: any k INVITEs span at least (k-1)/10 s (20 ms jitter).
    times = sorted(t for t, number in provider_view.arrivals if number in expected)
    assert len(times) == len(numbers)
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert times[j] - times[i] >= (j - i) / 10 - 0.02, (i, j)
    assert all(provider_view.invites[n] == 1 for n in fresh)


async def test_a_finished_campaign_dials_nobody_again_and_retry_redials_only_what_is_asked(
    trunk: Settings, provider_view: ProviderView, tmp_path: Path
) -> None:
    fresh = unique_numbers(3)
    numbers = [*fresh, "79990000486"]
    first = await runner(numbers, tmp_path / "calls.db", cps=50).run(trunk)
    assert first.called == 4 and first.exit_code == 0
    again = await runner(numbers, tmp_path / "calls.db", cps=50).run(trunk)
    assert again.called == 0 and again.campaign == first.campaign
    assert [x.status for x in again.results] == ["not_found"] * 3 + ["busy"]
    retried = await runner(numbers, tmp_path / "calls.db", cps=50, retry={"busy"}).run(trunk)
    assert [x.called for x in retried.results] == [False, False, False, True]
    assert retried.results[3].attempt == 2
    await asyncio.sleep(0.3)
    assert [provider_view.invites[n] for n in fresh] == [1, 1, 1]
    (row,) = [r for r in CallLog(tmp_path / "calls.db").calls() if r["number"] == "79990000486"]
    assert row["detail"]["previous"][0]["status"] == "busy"


@pytest.mark.slow
async def test_pbx_killed_mid_call_interrupts_it_and_the_run_goes_on_after_a_restart(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    settings = await install_trunk(pbx)
    fresh = unique_numbers(2)
    instance = pbx.sandbox.pbx
    finished: dict[str, float] = {}
    killed_at: list[float] = []

    def progress(p: CampaignProgress) -> None:
        if p.last is not None:
            finished[p.last.number] = time.monotonic()

    r = runner(
        ["79990000480", *fresh],
        tmp_path / "calls.db",
        concurrency=1,
        cps=50,
        timeout=20,
        ring_timeout=15,
        on_progress=progress,
    )
    a = pbx.ami
    try:
        async with AmiClient(a["host"], a["port"], a["username"], a["secret"]) as watcher:
            ringing = watcher.subscribe({"Event": "Newstate", "ChannelStateDesc": "Ringing"})
            run = asyncio.ensure_future(r.run(settings))
            while True:  # the 480 call rings on the trunk leg
                event = await ringing.get(timeout=10)
                if (event.get("Channel") or "").startswith("PJSIP/"):
                    break
            pid = instance.pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)  # no Hangup, no Shutdown event: just gone
            killed_at.append(time.monotonic())
            await asyncio.sleep(0.5)
            await asyncio.to_thread(instance.start)  # keeps the trunk's files as they are
            report = await asyncio.wait_for(run, 60)
    finally:
        await asyncio.to_thread(Sandbox().up)
    first, *rest = report.results
    assert first.status == "interrupted" and first.error is not None
    assert finished["79990000480"] - killed_at[0] < 2  # well within its 20 s timeout
    assert report.reconnects == 1
    assert [(x.status, x.sip_code) for x in rest] == [("not_found", 404)] * 2
    assert report.exit_code == 1  # an outcome is unknown: --retry interrupted would redial
    rows = {row["number"]: row["status"] for row in CallLog(tmp_path / "calls.db").calls()}
    assert rows == {"79990000480": "interrupted", fresh[0]: "not_found", fresh[1]: "not_found"}


async def test_narrowed_session_gets_only_its_own_calls_events_and_verdicts_stay_right(
    trunk: Settings, pbx: SandboxInfo
) -> None:
    a = pbx.ami
    async with AmiClient(a["host"], a["port"], a["username"], a["secret"]) as client:
        assert await narrow_to_call_events(client)
        with client.subscribe() as seen:
            # A call trunkctl did not place (Asterisk's own Uniqueids): not for this session.
            await asyncio.to_thread(
                pbx.sandbox.pbx.rx,
                "channel originate Local/79990000404@outgoing application Wait 1",
            )
            result = await originate_and_track(
                client, "Local/79990000486@outgoing", app="Playback", data="hello-world"
            )
            await asyncio.sleep(0.5)
            events = []
            while (event := seen.get_nowait()) is not None:
                events.append(event)
    assert (result.status, result.sip_code, result.q850) == ("busy", 486, 17)
    assert {e.get("Event") for e in events} <= set(CALL_EVENTS)
    assert all(
        result.channel_id in {e.get(k) for k in ("Linkedid", "DestLinkedid", "Uniqueid")}
        or (e.get("ActionID") or "").startswith(result.channel_id)
        for e in events
    ), events
    assert len(events) == len(result.events)


async def test_narrowing_needs_the_system_class_and_is_skipped_without_it(
    pbx: SandboxInfo,
) -> None:
    secret = add_ami_user(pbx, "nosystem", read="call,user", write="originate,call")
    a = pbx.ami
    async with AmiClient(a["host"], a["port"], "nosystem", secret) as client:
        assert await narrow_to_call_events(client) is False
        assert client.connected  # refused, not dropped: the run goes on with every event
