"""A list action that never completes cannot grow without bound (issue 16, item 5).

An in-process AMI (fakeami.py) answers PJSIPShowEndpoints with ``EventList: start`` and then
sends items for ever; the client must stop at its item or byte cap with a typed error, drop
the list's late items (never hand them to listeners), and keep the connection usable.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from trunkctl.ami import MAX_LIST_BYTES, MAX_LIST_ITEMS, AmiClient, AmiListTooLongError
from trunkctl.errors import AmiError

from .fakeami import SECRET, Action, Conn, FakeAmi


def endless(item_size: int = 0) -> tuple[object, asyncio.Event]:
    stop = asyncio.Event()

    async def handle(conn: Conn, a: Action) -> None:
        conn.reply(a, "Success", ("EventList", "start"), ("Message", "follows"))
        pad = "p" * item_size
        i = 0
        while not stop.is_set() and not conn.writer.is_closing():
            chunk = b"".join(
                f"Event: EndpointList\r\nActionID: {a['ActionID']}\r\nObjectName: e{i + j}\r\n"
                f"Pad: {pad}\r\n\r\n".encode()
                for j in range(500)
            )
            i += 500
            conn.send_raw(chunk)
            try:
                await conn.writer.drain()
            except ConnectionError:
                return

    return handle, stop


def client(server: FakeAmi, **options: object) -> AmiClient:
    opts: dict[str, object] = {"timeout": 30.0, "connect_timeout": 2.0, "keepalive": None}
    opts.update(options)
    return AmiClient("127.0.0.1", server.port, "tester", SECRET, **opts)  # type: ignore[arg-type]


async def test_an_endless_list_stops_at_the_item_cap_and_the_connection_lives_on() -> None:
    async with FakeAmi() as server:
        handle, stop = endless()
        server.handlers["pjsipshowendpoints"] = handle  # type: ignore[assignment]
        async with client(server, max_list_items=2000) as ami:
            with ami.subscribe() as events:
                with pytest.raises(AmiListTooLongError) as info:
                    await ami.list_action("PJSIPShowEndpoints")
                err = info.value
                assert isinstance(err, AmiError) and err.exit_code == 6
                assert err.details["items"] == 2001 and "PJSIPShowEndpoints" in err.what.en
                assert err.evidence is not None and "2000 events" in err.evidence.en
                assert err.next_step is not None and err.next_step.ru
                await asyncio.sleep(0.3)  # more items keep coming: dropped, not events
                assert len(events) == 0
                stop.set()
                await ami.ping(timeout=5)  # the connection still answers
                assert ami.connected


async def test_an_endless_list_stops_at_the_byte_cap() -> None:
    async with FakeAmi() as server:
        handle, stop = endless(item_size=900)
        server.handlers["pjsipshowendpoints"] = handle  # type: ignore[assignment]
        async with client(server, max_list_bytes=1_000_000) as ami:
            with pytest.raises(AmiListTooLongError) as info:
                await ami.list_action("PJSIPShowEndpoints")
            stop.set()
    assert info.value.details["bytes"] > 1_000_000
    assert info.value.details["items"] < 1100  # ~950-byte items


@pytest.mark.slow
async def test_the_default_caps_stop_an_endless_list_in_bounded_time() -> None:
    assert (MAX_LIST_ITEMS, MAX_LIST_BYTES) == (100_000, 64 * 1024 * 1024)
    async with FakeAmi() as server:
        handle, stop = endless()
        server.handlers["pjsipshowendpoints"] = handle  # type: ignore[assignment]
        async with client(server) as ami:
            t0 = time.monotonic()
            with pytest.raises(AmiListTooLongError) as info:
                await ami.list_action("PJSIPShowEndpoints")
            stop.set()
    assert info.value.details["items"] == MAX_LIST_ITEMS + 1
    assert time.monotonic() - t0 < 30
