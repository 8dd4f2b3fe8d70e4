"""RestV1Client against the emulator (in-process ASGI) and against scripted faults.

Signature vectors: test_sign.py. Emulator protocol details: test_emulator.py.
"""

from __future__ import annotations

import json

import httpx
import pytest

from trunkctl.novofon import (
    NovofonApiError,
    NovofonAuthError,
    NovofonConnectionError,
    NovofonForbidden,
    NovofonOutcomeUnknown,
    NovofonProtocolError,
    NovofonRateLimited,
    NovofonServerError,
    NovofonTimeout,
    RestV1Client,
    RetryPolicy,
)
from trunkctl.novofon.emulator import EmulatorLimits

from .conftest import LINE_LOGIN, REST_KEY, REST_SECRET, FakeClock, World, make_world, mock

# --- happy paths through the emulator ----------------------------------------------------


async def test_balance_and_rate_limit_headers(world: World) -> None:
    async with world.rest() as client:
        balance = await client.balance()
        assert (balance.balance, balance.currency) == (100.0, "RUB")
        assert client.rate_limits is not None
        assert client.rate_limits.limit == 100
        assert client.rate_limits.remaining == 99
        await client.balance()
        assert client.rate_limits.remaining == 98


async def test_sip_numbers_and_status_follow_registration(world: World) -> None:
    async with world.rest() as client:
        numbers = await client.sip_numbers()
        assert [s.id for s in numbers.sips] == [LINE_LOGIN, "123456-100"]
        assert numbers.sips[0].lines == 2
        assert (await client.sip_status(LINE_LOGIN)).is_online is False
        world.backend.register(LINE_LOGIN, "198.51.100.7")
        status = await client.sip_status(LINE_LOGIN)
        assert (status.sip, status.is_online) == (LINE_LOGIN, True)


async def test_pbx_internal_and_extension_status(world: World) -> None:
    world.backend.register("123456-101")
    async with world.rest() as client:
        pbx = await client.pbx_internal()
        assert (pbx.pbx_id, pbx.numbers) == (123456, (100, 101))
        assert (await client.pbx_internal_status(100)).is_online is False
        assert (await client.pbx_internal_status("101")).is_online is True


async def test_callback_places_a_call_and_statistics_report_it(world: World) -> None:
    async with world.rest() as client:
        result = await client.request_callback(LINE_LOGIN, "8 (999) 123-45-67")
        assert (result.from_number, result.to_number) == (LINE_LOGIN, "79991234567")
        assert result.time == int(world.clock.now)
        [call] = await world.backend.active_calls()
        assert (call.first, call.second, call.source) == (LINE_LOGIN, "79991234567", "callback")
        world.clock.advance(30)
        world.backend.finish(call.id, "busy")
        stats = await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
        assert [(s.from_number, s.to_number, s.disposition) for s in stats.stats] == [
            (LINE_LOGIN, "79991234567", "busy")
        ]
        assert stats.stats[0].sip == LINE_LOGIN


async def test_statistics_period_is_cut_to_30_days_by_the_server(world: World) -> None:
    async with world.rest() as client:
        stats = await client.statistics("2026-01-01 00:00:00", "2026-03-01 00:00:00")
    assert (stats.start, stats.end) == ("2026-01-01 00:00:00", "2026-01-31 00:00:00")


# --- faults through the emulator ---------------------------------------------------------


async def test_wrong_secret_is_an_auth_error_without_the_secret_in_it(world: World) -> None:
    wrong = "WRONGsecret000000000"
    async with world.rest(secret=wrong) as client:
        with pytest.raises(NovofonAuthError) as caught:
            await client.balance()
    error = caught.value
    assert error.http_status == 401
    assert "Auth error" in str(error.evidence)
    assert error.what.ru and error.next_step and error.next_step.ru
    dumped = json.dumps(error.to_dict("en")) + json.dumps(error.to_dict("ru")) + repr(error)
    for secret in (wrong, REST_KEY):
        assert secret not in dumped
    assert wrong not in repr(client) and REST_KEY not in repr(client)


async def test_wrong_key_is_an_auth_error(world: World) -> None:
    async with world.rest(key="KEYxxxxxxxxxx0000000") as client:
        with pytest.raises(NovofonAuthError):
            await client.sip_numbers()


async def test_unknown_method_is_an_api_error(world: World) -> None:
    async with world.rest() as client:
        with pytest.raises(NovofonApiError) as caught:
            await client.call("no/such/method", idempotent=True)
    assert caught.value.http_status == 404


async def test_statistics_limit_backs_off_and_succeeds(world: World) -> None:
    async with world.rest(retry=RetryPolicy(max_delay=60.0)) as client:
        for _ in range(3):
            await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
        # The 4th within a minute is refused with 429; the client waits as told and retries.
        await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
    assert world.clock.sleeps == [60.0]


async def test_statistics_limit_raises_when_the_wait_is_too_long(world: World) -> None:
    async with world.rest() as client:  # the default max_delay (20 s) is below the 60 s asked
        for _ in range(3):
            await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
        with pytest.raises(NovofonRateLimited) as caught:
            await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
    assert caught.value.retry_after == pytest.approx(60.0)
    assert world.clock.sleeps == []


async def test_callback_is_never_retried_on_429() -> None:
    world = make_world(limits=EmulatorLimits(rest_per_minute=1))
    async with world.rest() as client:
        await client.balance()
        with pytest.raises(NovofonRateLimited):
            await client.request_callback(LINE_LOGIN, "79991234567")
    assert world.clock.sleeps == []
    assert await world.backend.active_calls() == []


async def test_callback_answer_lost_after_commit_is_outcome_unknown(world: World) -> None:
    world.emulator.fail_after_commit("request/callback", 502)
    async with world.rest() as client:
        with pytest.raises(NovofonOutcomeUnknown) as caught:
            await client.request_callback(LINE_LOGIN, "79991234567")
    assert caught.value.method == "request/callback"
    assert "statistics" in caught.value.next_step.en  # type: ignore[union-attr]
    assert "statistics" in caught.value.next_step.ru  # type: ignore[union-attr]
    # The call really was placed: exactly why the client must not repeat it.
    assert len(await world.backend.active_calls()) == 1


# --- faults the emulator cannot make: MockTransport --------------------------------------


def _client(transport: httpx.MockTransport, clock: FakeClock | None = None) -> RestV1Client:
    clock = clock or FakeClock()
    return RestV1Client(
        REST_KEY,
        REST_SECRET,
        "https://api.novofon.com",
        transport=transport,
        clock=clock,
        sleep=clock.sleep,
    )


OK = {"status": "success", "balance": 1.5, "currency": "RUB"}


async def test_429_sequence_honours_retry_after_then_succeeds() -> None:
    clock = FakeClock()
    transport, seen = mock(
        httpx.Response(429, headers={"Retry-After": "2"}, json={"status": "error"}),
        httpx.Response(429, headers={"X-RateLimit-Reset": str(int(clock.now) + 5)}),  # epoch
        httpx.Response(200, json=OK, headers={"X-RateLimit-Remaining": "7"}),
    )
    async with _client(transport, clock) as client:
        balance = await client.balance()
    assert balance.balance == 1.5
    assert clock.sleeps == [2.0, 3.0]
    assert len(seen) == 3
    assert client.rate_limits is not None and client.rate_limits.remaining == 7
    # Every retry carries the same signed request.
    assert len({r.headers["Authorization"] for r in seen}) == 1


async def test_429_retries_are_bounded() -> None:
    clock = FakeClock()
    transport, seen = mock(*[httpx.Response(429, json={"status": "error"}) for _ in range(3)])
    async with _client(transport, clock) as client:
        with pytest.raises(NovofonRateLimited):
            await client.balance()
    assert len(seen) == 3
    assert clock.sleeps == [1.0, 2.0]  # exponential without a server hint


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_on_read_is_server_error(status: int) -> None:
    transport, _ = mock(httpx.Response(status, text="<html>oops</html>"))
    async with _client(transport) as client:
        with pytest.raises(NovofonServerError) as caught:
            await client.sip_numbers()
    assert caught.value.details["http_status"] == status


async def test_5xx_on_callback_is_outcome_unknown() -> None:
    transport, seen = mock(httpx.Response(503))
    async with _client(transport) as client:
        with pytest.raises(NovofonOutcomeUnknown):
            await client.request_callback("100", "79991234567")
    assert len(seen) == 1


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.RemoteProtocolError("x"),
    ],
)
async def test_lost_answer_on_callback_is_outcome_unknown(exc: Exception) -> None:
    transport, seen = mock(exc)
    async with _client(transport) as client:
        with pytest.raises(NovofonOutcomeUnknown) as caught:
            await client.request_callback("100", "79991234567")
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert len(seen) == 1


async def test_timeout_on_read_is_a_timeout() -> None:
    transport, _ = mock(httpx.ReadTimeout("timed out"))
    async with _client(transport) as client:
        with pytest.raises(NovofonTimeout):
            await client.balance()


async def test_connect_error_is_a_connection_error_even_for_callbacks() -> None:
    transport, _ = mock(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    async with _client(transport) as client:
        with pytest.raises(NovofonConnectionError):
            await client.balance()
        with pytest.raises(NovofonConnectionError) as caught:
            await client.request_callback("100", "79991234567")
    assert "nothing was sent" in caught.value.what.en


async def test_non_json_body() -> None:
    transport, _ = mock(
        httpx.Response(200, text="<html>captive portal</html>"),
        httpx.Response(200, text="<html>captive portal</html>"),
    )
    async with _client(transport) as client:
        with pytest.raises(NovofonProtocolError) as caught:
            await client.balance()
        assert "captive portal" in str(caught.value.evidence)
        with pytest.raises(NovofonOutcomeUnknown):
            await client.request_callback("100", "79991234567")


async def test_html_4xx_from_a_proxy_is_still_a_refusal() -> None:
    transport, _ = mock(httpx.Response(403, text="<html>Forbidden by proxy</html>"))
    async with _client(transport) as client:
        with pytest.raises(NovofonForbidden) as caught:
            await client.request_callback("100", "79991234567")
    assert "Forbidden by proxy" in str(caught.value.evidence)


async def test_status_error_with_http_200_is_an_api_error() -> None:
    transport, _ = mock(httpx.Response(200, json={"status": "error", "message": "Wrong SIP"}))
    async with _client(transport) as client:
        with pytest.raises(NovofonApiError) as caught:
            await client.sip_status("100000")
    assert "Wrong SIP" in str(caught.value.evidence)
