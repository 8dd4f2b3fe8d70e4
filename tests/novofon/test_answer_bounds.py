"""Issue 13, items 1-2: a REST answer is success only with ``status: "success"``; every
request has one deadline (connect to last byte) and a cap on the answer's size.

The slow and the huge answers come from real servers on 127.0.0.1 (asyncio streams): a
server that drips one byte every 2 s and one that floods 50 MB, as a broken proxy would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from trunkctl.novofon import (
    DataApiClient,
    NovofonApiError,
    NovofonConfig,
    NovofonOutcomeUnknown,
    NovofonProtocolError,
    NovofonServerError,
    NovofonTimeout,
    RestV1Client,
)
from trunkctl.secret import Secret

from .conftest import REST_KEY, REST_SECRET, FakeClock, mock

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _client(transport: httpx.MockTransport) -> RestV1Client:
    clock = FakeClock()
    return RestV1Client(
        REST_KEY, REST_SECRET, "https://api.novofon.com", transport=transport, clock=clock
    )


# --- item 1: nothing but status "success" is a success -----------------------------------


async def test_a_proxys_200_empty_object_is_not_a_zero_balance() -> None:
    # Before: Balance(0.0, "") and exit 0.
    transport, _ = mock(httpx.Response(200, json={}))
    async with _client(transport) as client:
        with pytest.raises(NovofonProtocolError) as caught:
            await client.balance()
    assert "success" in caught.value.what.en
    assert "proxy" in str(caught.value.next_step)


async def test_a_proxys_200_empty_object_on_a_callback_is_an_unknown_outcome() -> None:
    # Before: "NovoFon accepted the call". The call may or may not have been placed.
    transport, _ = mock(httpx.Response(200, json={}))
    async with _client(transport) as client:
        with pytest.raises(NovofonOutcomeUnknown) as caught:
            await client.request_callback("100", "79991234567")
    assert caught.value.method == "request/callback"
    assert "statistics" in caught.value.next_step.en  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json={"status": "ok", "balance": 1, "currency": "RUB"}),
        httpx.Response(200, json=[{"status": "success"}]),
        httpx.Response(302, json={"status": "success", "balance": 1, "currency": "RUB"}),
        httpx.Response(204),
    ],
    ids=["status-ok", "a-list", "redirect", "no-content"],
)
async def test_anything_but_status_success_is_an_error(response: httpx.Response) -> None:
    transport, _ = mock(response)
    async with _client(transport) as client:
        with pytest.raises(NovofonProtocolError):
            await client.balance()


@pytest.mark.parametrize("missing", ["balance", "currency"])
async def test_balance_without_a_required_field_is_not_defaulted(missing: str) -> None:
    body = {"status": "success", "balance": 12.5, "currency": "RUB"}
    del body[missing]
    transport, _ = mock(httpx.Response(200, json=body))
    async with _client(transport) as client:
        with pytest.raises(NovofonProtocolError) as caught:
            await client.balance()
    assert caught.value.details["field"] == missing


async def test_callback_success_without_its_fields_is_an_unknown_outcome() -> None:
    transport, _ = mock(httpx.Response(200, json={"status": "success"}))
    async with _client(transport) as client:
        with pytest.raises(NovofonOutcomeUnknown):
            await client.request_callback("100", "79991234567")


async def test_statistics_without_its_period_is_an_error() -> None:
    transport, _ = mock(httpx.Response(200, json={"status": "success", "stats": []}))
    async with _client(transport) as client:
        with pytest.raises(NovofonProtocolError) as caught:
            await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
    assert caught.value.details["field"] == "start"


# --- item 2: one deadline, one size cap; real servers on loopback -------------------------


@asynccontextmanager
async def _server(serve: Serve) -> AsyncIterator[str]:
    handlers: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)  # type: ignore[arg-type]
        with contextlib.suppress(asyncio.CancelledError):  # cancelled at the test's end
            await serve(reader, writer)

    server = await asyncio.start_server(tracked, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        for task in handlers:  # a dripping handler would sleep on for minutes
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()


def _conf(url: str, **fields: object) -> NovofonConfig:
    values = {"key": Secret(REST_KEY), "secret": Secret(REST_SECRET)}
    return NovofonConfig(api_url=url, values=values, **fields)  # type: ignore[arg-type]


BALANCE = json.dumps({"status": "success", "balance": 1.5, "currency": "RUB"}).encode()


def _dripper(body: bytes, every: float = 2.0) -> Serve:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(every)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return serve


async def test_a_dripping_server_is_cut_at_the_total_deadline() -> None:
    # Before: each byte arrived within the per-read timeout, so `api balance` took
    # 2 s x len(body) (49 s measured) and then blamed a 10 s timeout.
    async with _server(_dripper(BALANCE)) as url, _conf(url, timeout=3.0).rest_client() as client:
        started = time.monotonic()
        with pytest.raises(NovofonTimeout) as caught:
            await client.balance()
        elapsed = time.monotonic() - started
    assert 2.9 <= elapsed < 4.5, elapsed
    assert "3 s" in caught.value.what.en
    assert "connect to the last byte" in str(caught.value.evidence)


async def test_a_dripping_server_on_a_callback_is_an_unknown_outcome() -> None:
    body = json.dumps({"status": "success", "from": "100", "to": "79991234567", "time": 1})
    async with (
        _server(_dripper(body.encode())) as url,
        _conf(url, timeout=2.0).rest_client() as client,
    ):
        started = time.monotonic()
        with pytest.raises(NovofonOutcomeUnknown):
            await client.request_callback("100", "79991234567")
    assert time.monotonic() - started < 3.5


FLOOD = 50 << 20


def _flooder(sent: list[int], *, declare: bool, prefix: bytes = b"") -> Serve:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            length = f"Content-Length: {FLOOD}\r\n" if declare else "Connection: close\r\n"
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}\r\n".encode()
            )
            chunk = b" " * (64 << 10)
            writer.write(prefix)
            while sent[0] < FLOOD:
                writer.write(chunk)
                await writer.drain()
                sent[0] += len(chunk)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return serve


@pytest.mark.parametrize("declare", [False, True], ids=["streamed", "content-length"])
async def test_a_flooding_server_is_cut_at_the_size_cap(declare: bool) -> None:
    # Before: all 50 MB were read into memory (RSS 199 MB measured).
    sent = [0]
    async with (
        _server(_flooder(sent, declare=declare)) as url,
        _conf(url, timeout=30.0).rest_client() as client,
    ):
        with pytest.raises(NovofonProtocolError) as caught:
            await client.balance()
    assert "larger than 4 MB" in caught.value.what.en
    # The client stopped reading: the server could not push much past the cap (the
    # rest would have to fit in the kernel's socket buffers).
    assert sent[0] < 16 << 20, sent[0]


async def test_reports_get_a_larger_cap_and_the_caps_are_configurable() -> None:
    stats = {"status": "success", "start": "2026-01-01 00:00:00", "end": "2026-01-02 00:00:00"}
    big = json.dumps({**stats, "stats": [], "pad": "x" * (6 << 20)}).encode()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(big)}\r\n\r\n".encode() + big)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async with _server(serve) as url:
        async with _conf(url).rest_client() as client:
            served = await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
            assert served.start == "2026-01-01 00:00:00"
        async with _conf(url, max_report_answer=1 << 20).rest_client() as client:
            with pytest.raises(NovofonProtocolError) as caught:
                await client.statistics("2026-01-01 00:00:00", "2026-01-02 00:00:00")
            assert "1 MB" in caught.value.what.en


def test_the_caps_come_from_the_settings_file(tmp_path: object) -> None:
    from pathlib import Path

    from trunkctl.novofon import load_novofon_config

    assert isinstance(tmp_path, Path)
    settings = tmp_path / "settings.toml"
    settings.write_text("[novofon]\nmax_answer_mb = 1\nmax_report_answer_mb = 64\n")
    conf = load_novofon_config(settings, environ={})
    assert (conf.max_answer, conf.max_report_answer) == (1 << 20, 64 << 20)


# --- issue 13 item 5 (REST side): an echoed Authorization never reaches evidence ----------


@pytest.mark.parametrize("status", [200, 401, 502])
async def test_an_echoed_authorization_is_masked_in_every_error(status: int) -> None:
    # Before: a server echoing the request's Authorization put key:signature into the
    # error; the signature replays that very request.
    seen: list[str] = []

    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        seen.append(auth)
        return httpx.Response(status, text=f"<html>bad request, Authorization: {auth}</html>")

    async with _client(httpx.MockTransport(echo)) as client:
        with pytest.raises((NovofonProtocolError, NovofonApiError, NovofonServerError)) as caught:
            await client.balance()
    (auth,) = seen
    signature = auth.partition(":")[2]
    shown = json.dumps(caught.value.to_dict()) + str(caught.value.evidence)
    assert signature not in shown and REST_KEY not in shown
    assert "Authorization: ********" in shown


async def test_a_jsonrpc_row_without_its_id_is_not_id_zero() -> None:
    # Before: get.sip_lines rows without "id" became SipLine(id=0), and a password reset
    # would then have been asked for line 0.
    answer = {"jsonrpc": "2.0", "id": 1, "result": {"data": [{"phone_number": "0053248"}]}}
    transport, _ = mock(httpx.Response(200, json=answer))
    async with DataApiClient(
        api_key="k" * 20, base_url="https://x.test/v2.0", transport=transport
    ) as data:
        with pytest.raises(NovofonProtocolError) as caught:
            await data.sip_lines()
    assert caught.value.details["field"] == "id"
