"""Issue 13 item 6: emulator behaviours, each following a named public source.

Sources (public repositories, read through their published files):
- zadarma/openapi spec/v1/openapi.json: REST v1 paths, answers and ``required`` fields;
- novofon/user-api-v1 lib/Client.php (PHP signing) and lib/Webhook/NotifyOutEnd.php;
- zadarma/user-api-py-v1 zadarma/api.py (Python signing: ``urllib.parse.urlencode``);
- NovoFon's start.simple_call page (novofon.github.io call_api; the CallGear page
  callgear.github.io/call_api/create_call/start_simple_call documents the same method).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus

import httpx
import pytest

from trunkctl.novofon import NovofonApiError, verify_webhook
from trunkctl.novofon.emulator import CallRecord

from .conftest import LINE_LOGIN, REST_KEY, REST_SECRET, VIRTUAL, World

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _signed(path: str, params: dict[str, str], *, php: bool) -> tuple[str, str]:
    """(query, Authorization) the way one official client signs (re-implemented here)."""
    encode = (
        (lambda t: quote_plus(t, safe="").replace("~", "%7E"))  # PHP urlencode
        if php
        else (lambda t: quote_plus(t, safe=""))  # Python urlencode (keeps ~)
    )
    query = "&".join(f"{encode(k)}={encode(params[k])}" for k in sorted(params))
    md5 = hashlib.md5(query.encode(), usedforsecurity=False).hexdigest()
    digest = hmac.new(REST_SECRET.encode(), (path + query + md5).encode(), hashlib.sha1)
    return query, f"{REST_KEY}:{base64.b64encode(digest.hexdigest().encode()).decode()}"


# --- both ~ encodings ------------------------------------------------------------------


@pytest.mark.parametrize("php", [True, False], ids=["php-%7E", "python-literal-~"])
@pytest.mark.parametrize("verb", ["GET", "PUT"])
async def test_a_tilde_signed_either_way_is_accepted(world: World, php: bool, verb: str) -> None:
    # Before: the literal ~ of zadarma/user-api-py-v1 (zadarma/api.py, urlencode) was
    # refused with 401; the %7E of novofon/user-api-v1 (lib/Client.php) passed.
    path = "/v1/sip/callerid/" if verb == "PUT" else "/v1/info/balance/"
    params = {"format": "json", "note": "a~b"}
    if verb == "PUT":
        params |= {"id": LINE_LOGIN, "number": VIRTUAL}
    query, auth = _signed(path, params, php=php)
    async with httpx.AsyncClient(transport=world.transport()) as http:
        if verb == "GET":
            answer = await http.get(
                f"http://novofon.test{path}?{query}", headers={"Authorization": auth}
            )
        else:
            headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
            answer = await http.put(f"http://novofon.test{path}", content=query, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "success"


# --- endpoints that answered 404 ---------------------------------------------------------


async def test_info_timezone_has_the_documented_shape(world: World) -> None:
    # zadarma/openapi spec/v1/openapi.json, /v1/info/timezone: required status, unixtime,
    # datetime (YYYY-MM-DD HH:MM:SS in the user's zone), timezone ("UTC+3").
    async with world.rest() as client:
        body = await client.call("info/timezone", idempotent=True)
    assert body["unixtime"] == int(world.clock.now)
    assert STAMP.match(body["datetime"])
    assert body["timezone"] == "UTC+3"  # the account's Europe/Moscow
    assert body["datetime"] == "2026-01-01 03:00:00"  # START is midnight UTC


async def test_tariff_has_the_documented_shape(world: World) -> None:
    # zadarma/openapi spec/v1/openapi.json, /v1/tariff: required status and info with
    # eleven required fields.
    async with world.rest() as client:
        info = (await client.call("tariff", idempotent=True))["info"]
    required = {
        "tariff_id": int,
        "tariff_name": str,
        "is_active": bool,
        "cost": int | float,
        "currency": str,
        "used_seconds": int,
        "used_seconds_mobile": int,
        "used_seconds_fix": int,
        "used_seconds_speech_recognition": int,
        "tariff_id_for_next_period": int,
        "tariff_for_next_period": str,
    }
    assert set(info) == set(required)
    assert all(isinstance(info[k], t) for k, t in required.items()), info  # type: ignore[arg-type]
    assert re.fullmatch(r"[A-Z]{3}", info["currency"])


async def test_put_sip_callerid_changes_the_callbacks_caller_id(world: World) -> None:
    # zadarma/openapi spec/v1/openapi.json, /v1/sip/callerid: PUT with id and number (one of
    # the account's numbers); answers sip and new_caller_id.
    async with world.rest() as client:
        body = await client.call(
            "sip/callerid", {"id": LINE_LOGIN, "number": VIRTUAL}, http_method="PUT"
        )
        assert (body["sip"], body["new_caller_id"]) == (LINE_LOGIN, VIRTUAL)
        with pytest.raises(NovofonApiError) as caught:
            await client.call(
                "sip/callerid", {"id": LINE_LOGIN, "number": "79990001122"}, http_method="PUT"
            )
        assert caught.value.http_status == 400
        with pytest.raises(NovofonApiError):  # only PUT changes it
            await client.call("sip/callerid", {"id": LINE_LOGIN, "number": VIRTUAL})
        await client.request_callback(LINE_LOGIN, "79991234567")
    [call] = await world.backend.active_calls()
    assert call.caller_id == VIRTUAL


# --- request/callback predicted ------------------------------------------------------------


@pytest.mark.parametrize(("predicted", "first"), [(False, LINE_LOGIN), (True, "79991234567")])
async def test_a_predicted_callback_calls_to_first(
    world: World, predicted: bool, first: str
) -> None:
    # zadarma/openapi spec/v1/openapi.json, /v1/request/callback: "first calls the `from`
    # number, then connects it to `to`. If `predicted` is set, the system calls `to` first
    # and only bridges the call if `to` answers."
    async with world.rest() as client:
        await client.request_callback(LINE_LOGIN, "79991234567", predicted=predicted)
    [call] = await world.backend.active_calls()
    assert call.first == first
    assert {call.first, call.second} == {LINE_LOGIN, "79991234567"}


# --- statistics ----------------------------------------------------------------------------


async def test_statistics_say_call_failed_and_sip_is_never_a_phone_number(world: World) -> None:
    # zadarma/openapi spec/v1/openapi.json, /v1/statistics: disposition enum has
    # "call failed" (webhooks say "failed": user-api-v1 NotifyOutEnd.php); sip is the SIP id
    # (pattern ^[0-9]{5}$), not a phone number.
    async with world.rest() as client:
        await client.request_callback("79160000001", "79991234567")  # phone to phone
        await client.request_callback(LINE_LOGIN, "79991234568")
        first, second = await world.backend.active_calls()
        world.backend.finish(first.id, "failed")
        world.backend.finish(second.id, "answered")
        stats = await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
    by_to = {s.to_number: s for s in stats.stats}
    assert by_to["79991234567"].disposition == "call failed"
    assert by_to["79991234567"].sip == ""  # no SIP line took part
    assert by_to["79991234568"].sip == LINE_LOGIN


# --- calls report direction ----------------------------------------------------------------


@pytest.mark.parametrize(("sent", "expected"), [(None, "in"), ("out", "out"), ("in", "in")])
async def test_the_calls_report_keeps_simple_calls_direction(
    world: World, sent: str | None, expected: str
) -> None:
    # NovoFon's start.simple_call page: direction in|out, default "in". Before: "out" always.
    async with world.calls() as calls:
        await calls.start_simple_call(
            virtual_phone_number=VIRTUAL,
            contact="79991234567",
            operator="79160000001",
            extra={"direction": sent} if sent else None,
        )
        [active] = await calls.list_calls()
        assert active.direction == expected
    [call] = await world.backend.active_calls()
    world.backend.finish(call.id, "answered")
    async with world.data() as data:
        [row] = await data.calls_report("2026-01-01 00:00:00", "2026-01-02 00:00:00")
    assert row.direction == expected


# --- NOTIFY_OUT_END ------------------------------------------------------------------------


async def test_notify_out_end_carries_caller_id_and_call_start_in_the_accounts_zone(
    tmp_path: Path,
) -> None:
    # novofon/user-api-v1 lib/Webhook/NotifyOutEnd.php: caller_id ("the caller's phone
    # number") besides internal, destination, call_start (signed), duration, disposition,
    # status_code, is_recorded, call_id_with_rec. Before: no caller_id.
    from trunkctl.sandbox._emulator import WebhookNotifier

    received: list[tuple[dict[str, str], str]] = []

    async def receiver(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        length = int(re.search(r"(?i)content-length: (\d+)", head)[1])  # type: ignore[index]
        signature = re.search(r"(?i)signature: (\S+)", head)[1]  # type: ignore[index]
        received.append((dict(parse_qsl((await reader.readexactly(length)).decode())), signature))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    url_file = tmp_path / "webhook-url"
    url_file.write_text(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/\n")
    started = datetime(2026, 1, 1, 9, 0, 0, tzinfo=UTC)
    record = CallRecord(
        "emu-1",
        LINE_LOGIN,
        "79991234567",
        None,
        None,
        "callback",
        started,
        answered=started,
        finished=started.replace(second=42),
        disposition="answered",
    )
    notifier = WebhookNotifier(url_file, REST_SECRET, caller_id=VIRTUAL)
    try:
        notifier.ended(record, 16)
        await notifier.aclose()
    finally:
        server.close()
        await server.wait_closed()
    [(form, signature)] = received
    assert form["event"] == "NOTIFY_OUT_END"
    assert form["caller_id"] == VIRTUAL
    assert form["call_start"] == "2026-01-01 12:00:00"  # Moscow, as NovoFon stamps it
    assert verify_webhook(REST_SECRET, form, signature).event == "NOTIFY_OUT_END"
