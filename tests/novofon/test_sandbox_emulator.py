"""The emulator over the real sandbox provider: real registration state, real password
changes, real calls placed by the provider Asterisk, real outcomes in the report.

Pure parts (dialplan twin, event reading): test_sandbox_calltrack.py; the CLI on top:
tests/cli/test_api_cli.py. Every test leaves the line password as it found it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn

from trunkctl.novofon import (
    CallApiClient,
    DataApiClient,
    NovofonAuthError,
    NovofonIpNotWhitelisted,
    NovofonOutcomeUnknown,
    NovofonServerError,
    RestV1Client,
    WebhookEvent,
    webhook_app,
)
from trunkctl.sandbox import Sandbox
from trunkctl.sandbox._emulator import (
    SANDBOX_VIRTUAL_NUMBER,
    arm_fault,
    emulator_config,
    emulator_status,
    set_webhook_url,
    start_emulator,
    stop_emulator,
)

from ..conftest import SandboxInfo, cdr_position, inbound_cdrs
from .sandbox_api import (
    EmulatorInfo,
    emulator_info,
    finished_call,
    line_password_kept,
    register_pbx,
    report_window,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="session")
def emulator(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> EmulatorInfo:
    return emulator_info(sandbox, tmp_path_factory.mktemp("emulator"))


@pytest.fixture
def line(pbx: SandboxInfo, emulator: EmulatorInfo) -> Iterator[EmulatorInfo]:
    """A fresh pbx and the line password restored afterwards."""
    with line_password_kept(pbx.sandbox):
        yield emulator


async def test_status_names_files_never_secrets(emulator: EmulatorInfo) -> None:
    status = emulator.status
    assert status["url"].startswith("http://127.0.0.1:")
    text = json.dumps(emulator_status(emulator.sandbox.sandbox))
    for name, path in status["account"].items():
        if name == "login":
            continue
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600, name
        assert Path(path).read_text().strip() not in text, name
    # NovoFon's REST key and secret are 20 characters.
    assert len(emulator.secret("key_file")) == len(emulator.secret("secret_file")) == 20
    assert start_emulator(emulator.sandbox.sandbox)["pid"] == status["pid"]  # idempotent
    conf = emulator_config(emulator.sandbox.sandbox)
    assert (conf.rest_base(), conf.line) == (status["url"], emulator.line)
    assert conf.has_rest and conf.has_jsonrpc and conf.virtual_number == SANDBOX_VIRTUAL_NUMBER


async def test_sip_lines_follow_the_providers_contacts(line: EmulatorInfo) -> None:
    conf = line.conf()
    assert await register_pbx(line.sandbox) == "Registered"
    async with conf.data_client() as data:
        (sip,) = await data.sip_lines()
        assert sip.phone_number == line.line and sip.registered
        assert [a.ip for a in sip.ip_addresses] == ["127.0.0.2"]
        line.sandbox.sandbox.pbx.rx("pjsip send unregister novofon")
        for _ in range(50):
            (sip,) = await data.sip_lines()
            if not sip.registered:
                break
            await asyncio.sleep(0.1)
    assert not sip.registered and sip.ip_addresses == ()
    # The provider agrees: no contact for the line any more.
    assert f"{line.line}/sip:" not in line.sandbox.sandbox.provider.rx("pjsip show contacts")
    async with conf.rest_client() as rest:
        assert (await rest.sip_status(line.line)).is_online is False


async def test_password_reset_really_changes_the_providers_password(line: EmulatorInfo) -> None:
    old = line.sandbox.line_password
    assert await register_pbx(line.sandbox, old) == "Registered"
    async with line.conf().data_client() as data:
        new = await data.update_sip_line_password(1001)
    assert new.reveal() != old
    assert line.sandbox.sandbox.line_password_file.read_text().strip() == new.reveal()
    # The old password no longer registers; the new one does.
    assert await register_pbx(line.sandbox, old) == "Rejected"
    assert await register_pbx(line.sandbox, new.reveal()) == "Registered"


async def test_callback_rings_the_pbx_then_the_number(line: EmulatorInfo) -> None:
    pbx = line.sandbox
    assert await register_pbx(pbx) == "Registered"
    cdr_start = cdr_position(pbx)
    async with line.conf().rest_client() as rest, line.conf().data_client() as data:
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        await rest.request_callback(line.line, "79990000200")
        for _ in range(100):
            # Only finished calls are in the report; this one started at or after `sent`.
            rows = [
                r
                for r in await data.calls_report(sent, report_window()[1])
                if r.source == "callback"
            ]
            if rows:
                break
            await asyncio.sleep(0.2)
    (last,) = rows
    assert (last.finish_reason, last.is_lost) == ("subscriber_disconnects", False)
    assert last.contact_phone_number == "79990000200"
    # The pbx really got the call over its registration, from the provider.
    assert "from-novofon" in [r[3] for r in inbound_cdrs(pbx, cdr_start)]


async def test_a_predicted_callback_rings_the_number_first(line: EmulatorInfo) -> None:
    # zadarma/openapi spec/v1/openapi.json, /v1/request/callback: with `predicted`, `to` is
    # called first and `from` only once `to` answers. A busy `to` therefore never rings
    # the pbx (without `predicted` the pbx rings first and answers).
    pbx = line.sandbox
    assert await register_pbx(pbx) == "Registered"
    log_start = pbx.sandbox.pbx.log_file.stat().st_size
    async with line.conf().rest_client() as rest, line.conf().data_client() as data:
        sent = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        await rest.request_callback(line.line, "79990000486", predicted=True)
        for _ in range(100):
            rows = [
                r
                for r in await data.calls_report(sent, report_window()[1])
                if r.source == "callback"
            ]
            if rows:
                break
            await asyncio.sleep(0.2)
        stats = await rest.statistics(sent, report_window()[1])
    (last,) = rows
    assert (last.finish_reason, last.is_lost) == ("subscriber_busy", True)
    (record,) = [r for r in stats.stats if r.from_number == "79990000486"]
    assert record.disposition == "busy"
    assert record.sip == line.line  # the SIP line took part; never the phone number
    with pbx.sandbox.pbx.log_file.open("rb") as fh:
        fh.seek(log_start)
        added = fh.read().decode(errors="replace")
    assert "trunkctl: call from novofon to" not in added, added[-2000:]


async def test_simple_call_to_a_busy_number_is_reported_busy(line: EmulatorInfo) -> None:
    assert await register_pbx(line.sandbox) == "Registered"
    conf = line.conf()
    async with conf.call_client() as calls, conf.data_client() as data:
        started = await calls.start_simple_call(
            virtual_phone_number=SANDBOX_VIRTUAL_NUMBER, contact="79990000486", operator=line.line
        )
        row = await finished_call(data, started.external_id)
    assert row.id == started.call_session_id
    assert (row.finish_reason, row.is_lost, row.talk_duration) == ("subscriber_busy", True, 0)
    assert row.virtual_phone_number == SANDBOX_VIRTUAL_NUMBER


async def test_call_from_an_unregistered_line_is_sip_offline(line: EmulatorInfo) -> None:
    assert await register_pbx(line.sandbox) == "Registered"
    line.sandbox.sandbox.pbx.rx("pjsip send unregister novofon")
    conf = line.conf()
    async with conf.data_client() as data:
        for _ in range(50):
            if not (await data.sip_lines())[0].registered:
                break
            await asyncio.sleep(0.1)
        async with conf.call_client() as calls:
            started = await calls.start_simple_call(
                virtual_phone_number=SANDBOX_VIRTUAL_NUMBER,
                contact="79990000200",
                operator=line.line,
            )
        row = await finished_call(data, started.external_id)
    assert (row.finish_reason, row.is_lost) == ("sip_offline", True)


async def test_release_ends_a_ringing_call(emulator: EmulatorInfo) -> None:
    conf = emulator.conf()
    async with conf.call_client() as calls, conf.data_client() as data:
        # The operator side is a number that answers; the contact rings and never answers.
        started = await calls.start_simple_call(
            virtual_phone_number=SANDBOX_VIRTUAL_NUMBER,
            contact="79990000480",
            operator="79990000200",
        )
        for _ in range(50):
            active = [c for c in await calls.list_calls() if c.external_id == started.external_id]
            if active:
                break
            await asyncio.sleep(0.1)
        assert active and active[0].call_session_id == started.call_session_id
        await calls.release_call(started.call_session_id)
        row = await finished_call(data, started.external_id)
    assert (row.finish_reason, row.is_lost) == ("operator_disconnects", True)
    assert row.total_duration is not None and row.total_duration < 10


async def test_release_right_after_the_start_ends_the_call(emulator: EmulatorInfo) -> None:
    # No wait for the call to show: its first leg may not have reached AMI yet (under load
    # a loaded test run found release refusing such a call as "not in progress").
    conf = emulator.conf()
    async with conf.call_client() as calls, conf.data_client() as data:
        started = await calls.start_simple_call(
            virtual_phone_number=SANDBOX_VIRTUAL_NUMBER,
            contact="79990000480",
            operator="79990000480",
        )
        await calls.release_call(started.call_session_id)
        row = await finished_call(data, started.external_id)
    assert row.is_lost is True and row.total_duration is not None and row.total_duration < 10


async def test_signatures_tokens_and_whitelist_over_real_http(emulator: EmulatorInfo) -> None:
    url = emulator.url
    wrong = RestV1Client(emulator.secret("key_file"), "x" * 20, url)
    async with wrong:
        with pytest.raises(NovofonAuthError):
            await wrong.balance()
    expired = DataApiClient(
        api_key=emulator.secret("expired_api_token_file"), base_url=url + "/v2.0"
    )
    async with expired:
        with pytest.raises(NovofonAuthError) as err:
            await expired.sip_lines()
    assert err.value.mnemonic == "access_token_expired"
    # 127.0.0.3 plays another machine: only 127.0.0.1 is in the account's whitelist.
    foreign = httpx.AsyncHTTPTransport(local_address="127.0.0.3")
    outsider = DataApiClient(
        login="sandbox@trunkctl.test",
        password=emulator.secret("password_file"),
        base_url=url + "/v2.0",
        transport=foreign,
    )
    async with outsider:
        with pytest.raises(NovofonIpNotWhitelisted) as refused:
            await outsider.sip_lines()
    assert "127.0.0.3" in refused.value.evidence.en  # type: ignore[union-attr]
    insider = DataApiClient(
        login="sandbox@trunkctl.test",
        password=emulator.secret("password_file"),
        base_url=url + "/v2.0",
    )
    async with insider:
        assert (await insider.account()).name == "trunkctl sandbox"


async def test_a_lost_answer_never_places_a_second_call(emulator: EmulatorInfo) -> None:
    conf = emulator.conf()
    arm_fault(emulator.sandbox.sandbox, "start.simple_call", 502)
    async with conf.call_client() as calls:
        with pytest.raises(NovofonOutcomeUnknown) as lost:
            await calls.start_simple_call(
                virtual_phone_number=SANDBOX_VIRTUAL_NUMBER,
                contact="79990000201",
                operator="79990000200",
                external_id=f"lost-answer-{uuid.uuid4().hex[:12]}",
            )
    key = lost.value.external_id
    assert key is not None and key in lost.value.next_step.en  # type: ignore[union-attr]
    async with conf.data_client() as data:
        row = await finished_call(data, key)
        # The call happened exactly once: the client did not repeat it.
        rows = await data.calls_report(*report_window(), external_id=key)
    assert len(rows) == 1 and row.is_lost is False


def test_process_lifecycle_on_a_private_sandbox_dir(tmp_path: Path) -> None:
    # A directory with no sandbox in it: the emulator runs, and telephony answers 503.
    private = Sandbox(tmp_path / "sb")
    status = start_emulator(private)
    try:
        assert status["running"] and stat.S_IMODE((tmp_path / "sb/secrets").stat().st_mode) == 0o700
        key = (tmp_path / "sb/secrets/novofon-rest.key").read_text().strip()
        secret = (tmp_path / "sb/secrets/novofon-rest.secret").read_text().strip()

        async def lines() -> None:
            async with RestV1Client(key, secret, status["url"]) as rest:
                assert (await rest.balance()).currency == "RUB"
                with pytest.raises(NovofonServerError) as down:
                    await rest.sip_numbers()
                assert "sandbox up" in down.value.evidence.en  # type: ignore[union-attr]

        asyncio.run(lines())
        assert stop_emulator(private) is True
        assert emulator_status(private)["running"] is False
        again = start_emulator(private)
        assert again["url"] == status["url"] and again["pid"] != status["pid"]
    finally:
        stop_emulator(private)
    assert stop_emulator(private) is False


async def test_call_api_clients_can_log_in_with_login_and_password(emulator: EmulatorInfo) -> None:
    client = CallApiClient(
        login="sandbox@trunkctl.test",
        password=emulator.secret("password_file"),
        base_url=emulator.url + "/v4.0",
    )
    async with client:
        assert isinstance(await client.list_calls(), list)
        assert client.token_expires_at is not None


@pytest.fixture
def receiver(emulator: EmulatorInfo) -> Iterator[tuple[str, list[WebhookEvent]]]:
    """A webhook receiver (the library's ASGI app) holding the account's REST secret."""
    seen: list[WebhookEvent] = []
    app = webhook_app(emulator.secret("secret_file"), seen.append)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}/hook"
    set_webhook_url(emulator.sandbox.sandbox, url)
    try:
        yield url, seen
    finally:
        set_webhook_url(emulator.sandbox.sandbox, None)
        server.should_exit = True
        thread.join(5)


async def test_calls_send_signed_out_start_and_out_end(
    emulator: EmulatorInfo, receiver: tuple[str, list[WebhookEvent]]
) -> None:
    url, seen = receiver
    assert emulator_status(emulator.sandbox.sandbox)["webhook_url"] == url
    conf = emulator.conf()
    async with conf.call_client() as calls:
        started = await calls.start_simple_call(
            virtual_phone_number=SANDBOX_VIRTUAL_NUMBER,
            contact="79990000486",
            operator="79990000200",
        )
    for _ in range(100):
        if any(e.event == "NOTIFY_OUT_END" for e in seen):
            break
        await asyncio.sleep(0.05)
    # webhook_app only lets through posts whose Signature verifies with the secret.
    assert [e.event for e in seen] == ["NOTIFY_OUT_START", "NOTIFY_OUT_END"]
    start, end = seen
    assert start.pbx_call_id == end.pbx_call_id and start.signature_form == "hex"
    assert (end.get("internal"), end.get("destination")) == ("79990000200", "79990000486")
    assert (end.disposition, end.status_code, end.duration) == ("busy", 17, 0)
    # novofon/user-api-v1 lib/Webhook/NotifyOutEnd.php: caller_id, the caller's number;
    # call_start in the account's zone (Moscow), as NovoFon stamps it.
    assert end.get("caller_id") == SANDBOX_VIRTUAL_NUMBER
    moscow_now = datetime.now(ZoneInfo("Europe/Moscow")).replace(tzinfo=None)
    stamp = datetime.strptime(end.get("call_start") or "", "%Y-%m-%d %H:%M:%S")
    assert abs((moscow_now - stamp).total_seconds()) < 120, (moscow_now, stamp)
    async with conf.data_client() as data:
        row = await finished_call(data, started.external_id)
    assert row.finish_reason == "subscriber_busy"
    assert row.direction == "in"  # start.simple_call's default direction (NovoFon's page)
