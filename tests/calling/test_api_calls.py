"""Calls through NovoFon's HTTP API with the library: placed once (never twice), logged,
waited for and reported — against the emulator over HTTP with an in-memory backend, whose
knobs end each call as the test needs.

Real calls through the sandbox provider (the pbx really rings): tests/cli/test_api_cli.py;
the Call API and REST clients themselves: tests/novofon/test_jsonrpc_client.py,
tests/novofon/test_rest_client.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from trunkctl.calling import (
    PlacedCall,
    call_via,
    calls_report,
    new_external_id,
    place_call,
    wait_for_call,
)
from trunkctl.calllog import CallLog
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.novofon import (
    CallReportRow,
    NovofonBlocked,
    NovofonConfig,
    NovofonOutcomeUnknown,
    StatisticsRecord,
)
from trunkctl.novofon.emulator import (
    CallRecord,
    InMemoryBackend,
    SipLineInfo,
    VirtualNumberInfo,
)
from trunkctl.secret import Secret

from ..novofon.served import Served, serve

LINE, VIRTUAL, ANSWER = "0053248", "74951112233", "79990000200"


def _backend(numbers: bool = True) -> InMemoryBackend:
    return InMemoryBackend(
        lines=[SipLineInfo(11, LINE, virtual_phone_number=VIRTUAL)],
        numbers=[VirtualNumberInfo(21, VIRTUAL)] if numbers else [],
    )


@pytest.fixture
async def nf() -> AsyncIterator[Served]:
    async with serve(_backend()) as served:
        yield served


@pytest.fixture
def log(tmp_path: Path) -> Iterator[CallLog]:
    with CallLog(tmp_path / "calls.db") as call_log:
        yield call_log


async def placed_calls(nf: Served) -> list[CallRecord]:
    """Every call the backend placed, ringing or finished."""
    finished = await nf.backend.calls(datetime.min.replace(tzinfo=UTC), datetime.now(UTC))
    return [*finished, *await nf.backend.active_calls()]


async def only_call(nf: Served) -> tuple[str, str, str | None, str | None, str]:
    """The one call the backend placed: first, second, caller id, external id, source."""
    (call,) = await placed_calls(nf)
    return call.first, call.second, call.caller_id, call.external_id, call.source


def test_new_external_ids_are_fresh_and_recognisable() -> None:
    keys = {new_external_id() for _ in range(100)}
    assert len(keys) == 100
    assert all(re.fullmatch(r"trunkctl-[0-9a-f]{16}", k) for k in keys)


async def test_call_via_picks_the_call_api_when_jsonrpc_credentials_exist(nf: Served) -> None:
    assert call_via(nf.conf(), "auto") == "callapi"
    assert call_via(nf.conf(jsonrpc=False), "auto") == "callback"
    assert call_via(nf.conf(rest=False), "auto") == "callapi"
    assert call_via(nf.conf(), "callback") == "callback"
    assert call_via(nf.conf(jsonrpc=False), "callapi") == "callapi"


async def test_simple_call_rings_the_line_then_the_number_and_is_logged(
    nf: Served, log: CallLog
) -> None:
    placed = await place_call(
        nf.conf(line=LINE, virtual_number=VIRTUAL), "+7 999 000-02-00", call_log=log
    )
    assert isinstance(placed, PlacedCall)
    assert (placed.via, placed.from_number, placed.to_number) == ("callapi", LINE, ANSWER)
    assert placed.external_id is not None and placed.external_id.startswith("trunkctl-")
    assert placed.call_session_id == 500000001  # the emulator's first session id
    assert await only_call(nf) == (LINE, ANSWER, VIRTUAL, placed.external_id, "callapi")
    (row,) = log.calls()
    assert (row["source"], row["number"], row["status"]) == ("api", ANSWER, "requested")
    assert (row["external_id"], row["channel_id"]) == (placed.external_id, "500000001")
    assert set(placed.to_dict()) == {
        "via",
        "from",
        "to",
        "external_id",
        "call_session_id",
        "requested_at",
    }


async def test_the_caller_id_defaults_to_the_accounts_active_virtual_number(nf: Served) -> None:
    placed = await place_call(nf.conf(), ANSWER, from_="79161234567", external_id="k-1")
    assert (placed.from_number, placed.external_id) == ("79161234567", "k-1")
    assert await only_call(nf) == ("79161234567", ANSWER, VIRTUAL, "k-1", "callapi")


async def test_nothing_is_sent_without_someone_to_ring_first_or_a_caller_id(
    log: CallLog,
) -> None:
    async with serve(_backend(numbers=False)) as bare:
        with pytest.raises(BadInput) as first:
            await place_call(bare.conf(), ANSWER, call_log=log)
        assert first.value.what.en == "whom to ring first is not known"
        with pytest.raises(BadInput) as caller:
            await place_call(bare.conf(line=LINE), ANSWER, call_log=log)
        assert caller.value.what.en == "the account has no virtual number"
        assert await placed_calls(bare) == []
    assert log.calls() == []


@pytest.mark.parametrize(
    ("number", "what"),
    [
        ("123", "Wrong number of digits for a number in that country."),
        ("7999123456789", "A Russian number has 11 digits starting with 7 or 8; this one has 13."),
        ("79990000200;x", "A phone number cannot contain ';'."),
    ],
)
@pytest.mark.parametrize("jsonrpc", [True, False])
async def test_a_number_trunkctl_call_refuses_is_refused_before_anything_is_sent(
    nf: Served, log: CallLog, number: str, what: str, jsonrpc: bool
) -> None:
    # NovoFon answers `123` with call_direction_prohibited, after a round trip. Nothing
    # listens on the discard port: any request would fail as a network error instead.
    dead = dataclasses.replace(
        nf.conf(jsonrpc=jsonrpc, line=LINE, virtual_number=VIRTUAL), api_url="http://127.0.0.1:9"
    )
    with pytest.raises(BadInput) as info:
        await place_call(dead, number, external_id="never-sent", call_log=log)
    err = info.value
    assert err.what.en == what and err.what.ru and err.what.ru != err.what.en
    assert err.evidence is not None and err.evidence.en.startswith(f"input: {number!r}")
    assert err.next_step is not None and "for a number abroad start with +" in err.next_step.en
    assert "зарубежный номер" in err.next_step.ru
    assert log.calls() == []
    # The control: a good number does go out (and fails on the dead port).
    with pytest.raises(TrunkctlError) as sent:
        await place_call(dead, ANSWER, external_id="never-sent")
    assert not isinstance(sent.value, BadInput)


@pytest.mark.parametrize(
    ("number", "sent"),
    [
        ("+44 20 7946 0958", "442079460958"),  # London: kept in E.164, not read as Russian
        ("+49 30 901820", "4930901820"),  # Berlin, 10 digits: never turned into 7493…
        ("8 (999) 000-02-00", ANSWER),
    ],
)
async def test_international_and_russian_forms_are_sent_as_e164_digits(
    nf: Served, log: CallLog, number: str, sent: str
) -> None:
    conf = nf.conf(line=LINE, virtual_number=VIRTUAL)
    if sent.startswith("7"):
        placed = await place_call(conf, number, call_log=log)
        assert await only_call(nf) == (LINE, sent, VIRTUAL, placed.external_id, "callapi")
    else:
        # The emulator, like a new NovoFon account, blocks calls abroad: the request went
        # out with the E.164 digits and came back refused.
        with pytest.raises(NovofonBlocked):
            await place_call(conf, number, call_log=log)
    (row,) = log.calls()
    assert row["number"] == sent


async def test_a_given_external_id_already_used_is_not_called_again(nf: Served) -> None:
    conf = nf.conf(line=LINE, virtual_number=VIRTUAL)
    await place_call(conf, ANSWER, external_id="same-key")
    # Still ringing: found among the active calls.
    with pytest.raises(BadInput) as active:
        await place_call(conf, ANSWER, external_id="same-key")
    assert active.value.what.en == (
        "a call with this external_id was already placed: not calling again"
    )
    assert active.value.evidence is not None
    assert active.value.evidence.en == (
        "external_id same-key: {'call_session_id': 500000001, 'finish_reason': None}"
    )
    # Finished: found in the calls report.
    nf.backend.finish("1", "busy")
    with pytest.raises(BadInput) as done:
        await place_call(conf, ANSWER, external_id="same-key")
    assert done.value.evidence is not None
    assert "'finish_reason': 'subscriber_busy'" in done.value.evidence.en
    assert len(await placed_calls(nf)) == 1
    # check_duplicate=False (the CLI's own fresh keys) skips the look-up.
    await place_call(conf, ANSWER, external_id="same-key", check_duplicate=False)
    assert len(await placed_calls(nf)) == 2


async def test_callback_is_used_with_rest_credentials_only(nf: Served, log: CallLog) -> None:
    placed = await place_call(nf.conf(jsonrpc=False, line=LINE), ANSWER, call_log=log)
    assert (placed.via, placed.external_id, placed.call_session_id) == ("callback", None, None)
    assert await only_call(nf) == (LINE, ANSWER, None, None, "callback")
    (row,) = log.calls()
    assert (row["status"], row["external_id"]) == ("requested", None)


async def test_a_lost_answer_is_unknown_not_retried_and_logged_so(nf: Served, log: CallLog) -> None:
    nf.emulator.fail_after_commit("start.simple_call")
    with pytest.raises(NovofonOutcomeUnknown):
        await place_call(nf.conf(line=LINE, virtual_number=VIRTUAL), ANSWER, call_log=log)
    assert len(await placed_calls(nf)) == 1  # placed once, despite the lost answer
    (row,) = log.calls()
    assert row["status"] == "unknown"


async def test_a_refused_call_is_logged_as_refused(nf: Served, log: CallLog) -> None:
    # 79990000666 is on the test account's blacklist: -32002 contact_in_blacklist.
    with pytest.raises(TrunkctlError) as info:
        await place_call(nf.conf(line=LINE, virtual_number=VIRTUAL), "79990000666", call_log=log)
    assert not isinstance(info.value, NovofonOutcomeUnknown)
    assert await placed_calls(nf) == []
    (row,) = log.calls()
    assert (row["number"], row["status"]) == ("79990000666", "refused")


async def test_a_log_that_cannot_be_written_never_stops_a_call(nf: Served, tmp_path: Path) -> None:
    broken = CallLog(tmp_path / "calls.db")
    broken.close()  # every write now fails (sqlite3.ProgrammingError)
    placed = await place_call(nf.conf(line=LINE, virtual_number=VIRTUAL), ANSWER, call_log=broken)
    assert placed.call_session_id == 500000001
    assert len(await placed_calls(nf)) == 1


async def test_wait_for_call_returns_the_finished_row(nf: Served) -> None:
    conf = nf.conf(line=LINE, virtual_number=VIRTUAL)
    placed = await place_call(conf, ANSWER)
    assert placed.external_id is not None

    async def hang_up_later() -> None:
        await asyncio.sleep(0.3)
        nf.backend.finish("1", "busy")

    ender = asyncio.create_task(hang_up_later())
    row = await wait_for_call(conf, placed.external_id, timeout=10, interval=0.05)
    await ender
    assert isinstance(row, CallReportRow)
    assert (row.id, row.finish_reason) == (500000001, "subscriber_busy")
    assert (row.call_api_external_id, row.contact_phone_number) == (placed.external_id, ANSWER)


async def test_wait_for_call_gives_none_when_the_call_never_ends(nf: Served) -> None:
    conf = nf.conf(line=LINE, virtual_number=VIRTUAL)
    placed = await place_call(conf, ANSWER)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await wait_for_call(conf, placed.external_id or "", timeout=0.4, interval=0.1) is None
    assert loop.time() - started < 2


async def test_calls_report_from_the_data_api_and_from_rest_v1(nf: Served) -> None:
    conf = nf.conf(line=LINE, virtual_number=VIRTUAL)
    first = await place_call(conf, ANSWER, external_id="first")
    await place_call(conf, "79990000486", external_id="second")
    nf.backend.finish("1", "answered")
    nf.backend.finish("2", "busy")
    rows = (await calls_report(conf)).rows
    assert [(r.id, r.finish_reason) for r in rows] == [  # type: ignore[union-attr]
        (500000001, "subscriber_disconnects"),
        (500000002, "subscriber_busy"),
    ]
    (one,) = (await calls_report(conf, external_id="first")).rows
    assert isinstance(one, CallReportRow) and one.id == first.call_session_id
    stats = (await calls_report(conf, via="v1")).rows
    assert all(isinstance(s, StatisticsRecord) for s in stats)
    assert [(s.to_number, s.disposition) for s in stats] == [  # type: ignore[union-attr]
        (ANSWER, "answered"),
        ("79990000486", "busy"),
    ]


# --- issue 13 item 3: long periods are split into the server's windows -------------------


def _past(backend: InMemoryBackend, call_id: str, days_ago: float, number: str) -> None:
    started = datetime.now(UTC) - timedelta(days=days_ago)
    backend.add_call(
        CallRecord(
            call_id,
            LINE,
            number,
            None,
            None,
            "callback",
            started,
            answered=started,
            finished=started + timedelta(seconds=30),
            disposition="answered",
            finish_reason="subscriber_disconnects",
        )
    )


async def test_a_1000_hour_v1_period_is_split_into_the_servers_30_day_windows(
    nf: Served,
) -> None:
    # Before: one request; the server cut it to 30 days and the 35-day-old call was
    # silently missing ("No calls in that period.").
    _past(nf.backend, "old", 35, "79990000035")
    _past(nf.backend, "new", 1, "79990000001")
    report = await calls_report(nf.conf(), hours=1000, via="v1")
    assert [r.to_number for r in report.rows] == ["79990000035", "79990000001"]  # type: ignore[union-attr]
    assert report.requests == 2
    assert report.complete
    assert report.covered[0] <= report.requested[0]
    assert report.covered[1] >= report.requested[1]
    assert report.requested[1] - report.requested[0] == timedelta(hours=1014)


async def test_a_v1_period_over_the_rate_limited_windows_is_refused_naming_the_limit(
    nf: Served,
) -> None:
    with pytest.raises(BadInput) as caught:
        await calls_report(nf.conf(), hours=5000, via="v1")
    assert "30 days a request and 3 requests a minute" in caught.value.what.en
    assert "2146" in caught.value.what.en
    assert "--via data" in str(caught.value.next_step)
    assert await placed_calls(nf) == []


async def test_the_servers_start_and_end_are_honoured_when_it_serves_less() -> None:
    # A server (loopback, plain asyncio) that serves 7 days a request whatever is asked:
    # the report follows its `end`, and says the period it covered is not all of it.
    asked: list[tuple[str, str]] = []

    async def serve_7_days(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        query = dict(parse_qsl(head.split(" ")[1].partition("?")[2]))
        asked.append((query["start"], query["end"]))
        start = datetime.strptime(query["start"], "%Y-%m-%d %H:%M:%S")
        end = min(start + timedelta(days=7), datetime.strptime(query["end"], "%Y-%m-%d %H:%M:%S"))
        body = json.dumps(
            {
                "status": "success",
                "start": start.strftime("%Y-%m-%d %H:%M:%S"),
                "end": end.strftime("%Y-%m-%d %H:%M:%S"),
                "stats": [],
            }
        ).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve_7_days, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    conf = NovofonConfig(api_url=url, values={"key": Secret("k"), "secret": Secret("s")})
    try:
        report = await calls_report(conf, hours=1000, via="v1")
    finally:
        server.close()
        await server.wait_closed()
    # Each request starts where the server said the previous one ended (start + 7 days).
    starts = [datetime.strptime(a[0], "%Y-%m-%d %H:%M:%S") for a in asked]
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(days=7)] * 2
    assert report.requests == 3
    assert not report.complete
    assert report.covered[1] - report.covered[0] == timedelta(days=21)
    assert report.to_dict()["complete"] is False
