"""DataApiClient and CallApiClient against the emulator and against scripted faults.

Emulator protocol details: test_emulator.py. REST v1: test_rest_client.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from trunkctl.errors import BadInput
from trunkctl.novofon import (
    CallApiClient,
    DataApiClient,
    NovofonAccountInactive,
    NovofonAuthError,
    NovofonBadParams,
    NovofonBlocked,
    NovofonComponentDisabled,
    NovofonIpNotWhitelisted,
    NovofonOutcomeUnknown,
    NovofonProtocolError,
    NovofonRateLimited,
    NovofonServerError,
    NovofonVirtualNumberError,
    RetryPolicy,
)
from trunkctl.novofon.emulator import EmulatorLimits
from trunkctl.secret import Secret

from .conftest import (
    API_KEY,
    BLOCKED_KEY,
    EXPIRED_KEY,
    LINE_LOGIN,
    PASSWORD,
    VIRTUAL,
    FakeClock,
    World,
    account,
    make_world,
    mock,
)

# --- tokens ------------------------------------------------------------------------------


async def test_login_once_then_reuse_the_token(world: World) -> None:
    async with world.data() as client:
        await client.account()
        await client.virtual_numbers()
        assert len(world.emulator.data_api.tokens) == 1
        assert client.token_expires_at == world.clock.now + 3600


async def test_token_is_renewed_before_it_expires(world: World) -> None:
    async with world.data(renew_before=300) as client:
        await client.account()
        world.clock.advance(3600 - 299)  # inside the renewal margin
        await client.account()
    assert len(world.emulator.data_api.tokens) == 2


async def test_token_the_server_dropped_is_renewed_by_one_relogin(world: World) -> None:
    async with world.calls() as client:
        await client.list_calls()
        world.emulator.call_api.tokens.clear()  # the server forgets it: access_token_invalid
        assert await client.list_calls() == []
    assert len(world.emulator.call_api.tokens) == 1


async def test_token_expiring_at_the_edge_is_renewed(world: World) -> None:
    async with world.calls(renew_before=0) as client:
        await client.list_calls()
        world.clock.advance(3600)
        assert await client.list_calls() == []
    assert len(world.emulator.call_api.tokens) == 2


async def test_relogin_happens_at_most_once() -> None:
    clock = FakeClock()
    login_ok = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"data": {"access_token": "t1", "expire_at": clock.now + 3600}},
    }
    invalid = {
        "jsonrpc": "2.0",
        "id": 2,
        "error": {
            "code": -32001,
            "message": "Access token is invalid",
            "data": {"mnemonic": "access_token_invalid"},
        },
    }
    responses = [login_ok, invalid, {**login_ok, "id": 3}, {**invalid, "id": 4}]
    transport, seen = mock(*[httpx.Response(200, json=r) for r in responses])
    client = CallApiClient(login="u", password=PASSWORD, transport=transport, clock=clock)
    with pytest.raises(NovofonAuthError) as caught:
        await client.list_calls()
    assert caught.value.mnemonic == "access_token_invalid"
    assert [json.loads(r.content)["method"] for r in seen] == [
        "login.user",
        "list.calls",
        "login.user",
        "list.calls",
    ]


async def test_permanent_api_key_needs_no_login(world: World) -> None:
    async with world.data(api_key=API_KEY) as client:
        assert (await client.account()).app_id == 100001
    assert world.emulator.data_api.tokens == {}


@pytest.mark.parametrize(
    ("key", "mnemonic"),
    [
        (EXPIRED_KEY, "access_token_expired"),
        (BLOCKED_KEY, "access_token_blocked"),
        ("nonsense-key", "access_token_invalid"),
    ],
)
async def test_bad_api_keys_are_auth_errors(world: World, key: str, mnemonic: str) -> None:
    async with world.data(api_key=key) as client:
        with pytest.raises(NovofonAuthError) as caught:
            await client.sip_lines()
    assert (caught.value.api_code, caught.value.mnemonic) == (-32001, mnemonic)
    assert key not in json.dumps(caught.value.to_dict()) + repr(client)


async def test_wrong_password_is_auth_error_without_the_password(world: World) -> None:
    wrong = "not-the-password-123"
    async with world.data(password=wrong) as client:
        with pytest.raises(NovofonAuthError) as caught:
            await client.account()
    assert caught.value.mnemonic == "auth_error"
    assert wrong not in json.dumps(caught.value.to_dict("ru")) + repr(client)


def test_credentials_must_be_one_mode() -> None:
    with pytest.raises(BadInput):
        DataApiClient(login="x")
    with pytest.raises(BadInput):
        DataApiClient(login="x", password="y", api_key="z")


# --- account-level faults ----------------------------------------------------------------


async def test_ip_not_whitelisted() -> None:
    world = make_world(account(ip_whitelist=("192.0.2.0/24",)))
    world.client_ip = "203.0.113.9"
    async with world.data() as client:
        with pytest.raises(NovofonIpNotWhitelisted) as caught:
            await client.account()
    assert caught.value.api_code == -32003
    assert "203.0.113.9" in str(caught.value.evidence)
    assert "API" in caught.value.next_step.ru  # type: ignore[union-attr]


async def test_whitelisted_network_passes() -> None:
    world = make_world(account(ip_whitelist=("192.0.2.0/24",)))
    world.client_ip = "192.0.2.77"
    async with world.data() as client:
        assert (await client.account()).name == "trunkctl emulator"


async def test_account_inactive() -> None:
    world = make_world(account(active=False))
    async with world.data(api_key=API_KEY) as client:
        with pytest.raises(NovofonAccountInactive):
            await client.sip_lines()


async def test_component_disabled() -> None:
    world = make_world(account(components=frozenset({"call_api_basic"})))
    async with world.calls(api_key=API_KEY) as client:
        with pytest.raises(NovofonComponentDisabled) as caught:
            await client.list_calls()
    assert caught.value.api_code == -32008


async def test_minute_limit_backs_off_for_reads() -> None:
    world = make_world(limits=EmulatorLimits(jsonrpc_per_minute=2))
    async with world.data(api_key=API_KEY, retry=RetryPolicy(max_delay=60)) as client:
        await client.account()
        await client.account()
        assert client.limits is not None and client.limits.minute_remaining == 0
        await client.account()  # refused with -32029, waits minute_reset, then passes
    assert world.clock.sleeps == [60.0]


async def test_minute_limit_is_not_retried_for_calls() -> None:
    world = make_world(limits=EmulatorLimits(jsonrpc_per_minute=1))
    async with world.calls(api_key=API_KEY) as client:
        await client.list_calls()
        with pytest.raises(NovofonRateLimited) as caught:
            await client.start_simple_call(
                virtual_phone_number=VIRTUAL, contact="79991234567", operator="79160000001"
            )
    assert caught.value.retry_after == 60
    assert world.clock.sleeps == []
    assert await world.backend.active_calls() == []


# --- Data API ----------------------------------------------------------------------------


async def test_sip_lines_show_registration(world: World) -> None:
    world.backend.register(LINE_LOGIN, "198.51.100.7")
    async with world.data() as client:
        lines = {line.phone_number: line for line in await client.sip_lines()}
    assert lines[LINE_LOGIN].registered is True
    assert lines[LINE_LOGIN].ip_addresses[0].ip == "198.51.100.7"
    assert lines[LINE_LOGIN].virtual_phone_number == VIRTUAL
    assert lines["123456-100"].registered is False


async def test_update_sip_line_password_changes_the_backend(world: World) -> None:
    async with world.data() as client:
        password = await client.update_sip_line_password(11)
    assert isinstance(password, Secret)
    assert password.reveal() == world.backend.password(LINE_LOGIN)
    assert password.reveal() not in repr(password)


async def test_update_sip_line_password_unknown_line(world: World) -> None:
    async with world.data() as client:
        with pytest.raises(NovofonBadParams) as caught:
            await client.update_sip_line_password(999)
    assert (caught.value.mnemonic, caught.value.field) == ("entity_not_found", "id")


async def test_password_answer_lost_is_outcome_unknown(world: World) -> None:
    world.emulator.fail_after_commit("update.sip_line_password", 504)
    async with world.data() as client:
        with pytest.raises(NovofonOutcomeUnknown) as caught:
            await client.update_sip_line_password(11)
    assert "pjsip.conf" in caught.value.next_step.en  # type: ignore[union-attr]
    assert world.backend.password(LINE_LOGIN) is not None  # it did change


async def test_virtual_numbers_and_account(world: World) -> None:
    async with world.data() as client:
        [number] = await client.virtual_numbers()
        assert (number.id, number.virtual_phone_number, number.status) == (21, VIRTUAL, "active")
        acc = await client.account()
    assert (acc.app_id, acc.timezone) == (100001, "Europe/Moscow")


async def test_calls_report_longer_than_3_months_is_refused(world: World) -> None:
    async with world.data() as client:
        with pytest.raises(NovofonBadParams) as caught:
            await client.calls_report("2026-01-01 00:00:00", "2026-04-02 00:00:00")
    assert caught.value.mnemonic == "date_interval_limit_reached"
    assert "3" in caught.value.what.ru


# --- Call API ----------------------------------------------------------------------------


async def test_simple_call_lifecycle(world: World) -> None:
    async with world.calls() as client:
        call = await client.start_simple_call(
            virtual_phone_number=VIRTUAL,
            contact="+7 999 123-45-67",
            operator="8 916 000 00 01",
            external_id="order-42",
        )
        assert call.external_id == "order-42"
        [backend_call] = await world.backend.active_calls()
        assert (backend_call.first, backend_call.second, backend_call.caller_id) == (
            "79160000001",
            "79991234567",
            VIRTUAL,
        )
        [active] = await client.list_calls()
        assert (active.call_session_id, active.external_id) == (call.call_session_id, "order-42")
        assert [leg.called_phone_number for leg in active.legs] == ["79160000001", "79991234567"]
        await client.release_call(call.call_session_id)
        assert await client.list_calls() == []
        with pytest.raises(NovofonBadParams) as caught:
            await client.release_call(call.call_session_id)
    assert caught.value.mnemonic == "call_session_not_found"


async def test_simple_call_gets_an_external_id_by_default(world: World) -> None:
    async with world.calls() as client:
        call = await client.start_simple_call(
            virtual_phone_number=VIRTUAL, contact="79991234567", operator="79160000001"
        )
    assert call.external_id.startswith("trunkctl-")
    [backend_call] = await world.backend.active_calls()
    assert backend_call.external_id == call.external_id


@pytest.mark.parametrize(
    ("changes", "error", "mnemonic"),
    [
        (
            {"virtual_phone_number": "74990000000"},
            NovofonVirtualNumberError,
            "virtual_phone_number_not_found",
        ),
        ({"contact": VIRTUAL}, NovofonBadParams, "own_virtual_phone_number_not_allowed"),
        ({"contact": "79990000666"}, NovofonBlocked, "contact_in_blacklist"),
        ({"contact": "442071234567"}, NovofonBlocked, "call_direction_prohibited"),
    ],
)
async def test_simple_call_refusals(
    world: World, changes: dict[str, str], error: type[Exception], mnemonic: str
) -> None:
    params: dict[str, Any] = {
        "virtual_phone_number": VIRTUAL,
        "contact": "79991234567",
        "operator": "79160000001",
        **changes,
    }
    async with world.calls() as client:
        with pytest.raises(error) as caught:
            await client.start_simple_call(**params)
    assert caught.value.mnemonic == mnemonic  # type: ignore[attr-defined]
    assert await world.backend.active_calls() == []


async def test_lost_answer_then_check_the_report_before_retrying(world: World) -> None:
    """The documented recovery: OutcomeUnknown carries external_id; the report finds it."""
    world.emulator.fail_after_commit("start.simple_call", 502)
    async with world.calls() as calls, world.data() as data:
        with pytest.raises(NovofonOutcomeUnknown) as caught:
            await calls.start_simple_call(
                virtual_phone_number=VIRTUAL, contact="79991234567", operator="79160000001"
            )
        external_id = caught.value.external_id
        assert external_id and external_id in caught.value.next_step.en  # type: ignore[union-attr]
        [active] = await calls.list_calls()
        assert active.external_id == external_id
        world.clock.advance(40)
        [placed] = await world.backend.active_calls()
        world.backend.finish(placed.id)
        rows = await data.calls_report(
            "2026-01-01 00:00:00", "2026-01-02 00:00:00", external_id=external_id
        )
        other = await data.calls_report(
            "2026-01-01 00:00:00", "2026-01-02 00:00:00", external_id="someone-else"
        )
    assert [(r.call_api_external_id, r.talk_duration, r.is_lost) for r in rows] == [
        (external_id, 40, False)
    ]
    assert other == []


# --- MockTransport faults ----------------------------------------------------------------


def _calls(*responses: httpx.Response | Exception) -> tuple[CallApiClient, list[httpx.Request]]:
    transport, seen = mock(*responses)
    return CallApiClient(api_key=API_KEY, transport=transport, clock=FakeClock()), seen


SIMPLE: dict[str, Any] = {
    "virtual_phone_number": VIRTUAL,
    "contact": "79991234567",
    "operator": "79160000001",
    "external_id": "x-1",
}


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ReadTimeout("timed out"),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(
            200,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "error": {
                    "code": -32603,
                    "message": "Internal error",
                    "data": {"mnemonic": "internal_error"},
                },
            },
        ),
        httpx.Response(200, json={"jsonrpc": "2.0", "id": 1}),
        httpx.Response(200, json={"jsonrpc": "2.0", "id": 1, "result": {"data": {}}}),
    ],
)
async def test_simple_call_unknown_outcomes_are_never_retried(answer: Any) -> None:
    client, seen = _calls(answer)
    with pytest.raises(NovofonOutcomeUnknown) as caught:
        await client.start_simple_call(**SIMPLE)
    assert caught.value.external_id == "x-1"
    assert len(seen) == 1


async def test_reads_report_faults_plainly() -> None:
    client, _ = _calls(
        httpx.Response(503),
        httpx.Response(200, text="nope"),
        httpx.Response(200, json={"jsonrpc": "2.0", "id": 99, "result": {}}),
    )
    with pytest.raises(NovofonServerError):
        await client.list_calls()
    with pytest.raises(NovofonProtocolError):
        await client.list_calls()
    with pytest.raises(NovofonProtocolError):  # id mismatch
        await client.list_calls()


async def test_bare_http_429_backs_off_reads_and_refuses_calls() -> None:
    clock = FakeClock()
    ok = {"jsonrpc": "2.0", "id": 2, "result": {"data": []}}
    transport, seen = mock(
        httpx.Response(429, text="slow down", headers={"Retry-After": "4"}),
        httpx.Response(200, json=ok),
        httpx.Response(429, text="slow down", headers={"Retry-After": "4"}),
    )
    client = CallApiClient(api_key=API_KEY, transport=transport, clock=clock, sleep=clock.sleep)
    assert await client.list_calls() == []
    assert clock.sleeps == [4.0]
    with pytest.raises(NovofonRateLimited) as caught:
        await client.start_simple_call(**SIMPLE)
    assert caught.value.retry_after == 4.0
    assert len(seen) == 3


async def test_echoed_secrets_never_reach_evidence() -> None:
    clock = FakeClock()
    error = {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {
            "code": -32602,
            "message": f"bad value {PASSWORD}",
            "data": {"mnemonic": "invalid_parameter_value", "field": "password", "value": PASSWORD},
        },
    }
    transport, _ = mock(httpx.Response(200, json=error))
    client = DataApiClient(login="u", password=PASSWORD, transport=transport, clock=clock)
    with pytest.raises(NovofonBadParams) as caught:
        await client.account()
    dumped = json.dumps(caught.value.to_dict("en")) + str(caught.value) + repr(caught.value)
    assert PASSWORD not in dumped
    assert "bad value" in dumped


async def test_login_expiry_from_the_documented_expire_field_too() -> None:
    clock = FakeClock()
    login = {
        "jsonrpc": "2.0",
        "id": 1,
        "result": {"data": {"access_token": "tok-123456", "expire": clock.now + 1800}},
    }
    ok = {"jsonrpc": "2.0", "id": 2, "result": {"data": [{"app_id": 7}]}}
    transport, seen = mock(httpx.Response(200, json=login), httpx.Response(200, json=ok))
    client = DataApiClient(login="u", password=PASSWORD, transport=transport, clock=clock)
    assert (await client.account()).app_id == 7
    assert client.token_expires_at == clock.now + 1800
    assert json.loads(seen[1].content)["params"]["access_token"] == "tok-123456"
