"""A reconnect waits for Asterisk to be fully booted before anything runs on the new session.

Asterisk's AMI listens before its modules are loaded; a client that logs in again at once
after a restart would run actions mid-boot (the sandbox answered "No such command" and
"Permission denied" for not yet registered actions). In-process server here; the real
restart is tests/ami/test_reconnect_live.py.
"""

from __future__ import annotations

import asyncio

import pytest

from trunkctl.ami import AmiClient
from trunkctl.errors import AmiConnectionError

from .fakeami import SECRET, Action, Conn, FakeAmi


def client(server: FakeAmi, **options: object) -> AmiClient:
    opts: dict[str, object] = {"timeout": 5.0, "connect_timeout": 2.0, "keepalive": None}
    opts.update(options)
    return AmiClient("127.0.0.1", server.port, "tester", SECRET, **opts)  # type: ignore[arg-type]


def booting_login(boot_after: float | None) -> object:
    """Login that says FullyBooted only after ``boot_after`` s (never if None), with a system
    and a call event before it, as a booting Asterisk might (installed after the first)."""

    async def handle(conn: Conn, a: Action) -> None:
        conn.reply(a, "Success", ("Message", "Authentication accepted"))
        conn.send(("Event", "Registry"), ("Privilege", "system,all"))
        conn.send(("Event", "Newchannel"), ("Privilege", "call,all"), ("Channel", "X/1"))
        if boot_after is None:
            return
        await asyncio.sleep(boot_after)
        conn.send(("Event", "FullyBooted"), ("Privilege", "system,all"))

    return handle


async def _restart(server: FakeAmi, ami: AmiClient) -> None:
    server.drop_all()
    for _ in range(200):
        if not ami.connected:
            return
        await asyncio.sleep(0.01)


async def test_a_reconnect_holds_actions_until_fully_booted_and_restores_the_mask() -> None:
    async with (
        FakeAmi() as server,
        client(server, events=("call", "user"), backoff=(0.01, 0.05)) as ami,
    ):
        assert server.actions[0]["Events"] == "call,user"  # the first login: as asked
        server.handlers["login"] = booting_login(0.6)  # type: ignore[assignment]
        with ami.subscribe() as seen:
            await _restart(server, ami)
            ping = asyncio.ensure_future(ami.action("Ping"))
            await server.wait_for("Login", 2)
            await asyncio.sleep(0.3)  # logged in, not booted yet: nothing sent
            assert [a["Action"] for a in server.conn.actions] == ["Login"]
            assert server.conn.actions[0]["Events"] == "call,user,system"
            assert not ping.done() and not ami.connected
            assert (await asyncio.wait_for(ping, 5))["Ping"] == "Pong"
            acts = [(a["Action"], a.get("EventMask")) for a in server.conn.actions]
            assert acts == [("Login", None), ("Events", "call,user"), ("Ping", None)]
            assert ami.connected and ami.connections == 2
            # Only the loss came through; the boot window's events were nobody's.
            assert len(seen) == 1


async def test_a_reconnect_with_every_event_passes_them_on_and_needs_no_events_action() -> None:
    async with FakeAmi() as server, client(server, backoff=(0.01, 0.05)) as ami:
        server.handlers["login"] = booting_login(0.2)  # type: ignore[assignment]
        with ami.subscribe({"Event": "FullyBooted"}) as booted:
            await _restart(server, ami)
            assert (await ami.action("Ping"))["Ping"] == "Pong"
            assert [a["Action"] for a in server.conn.actions] == ["Login", "Ping"]
            assert server.conn.actions[0]["Events"] == "on"
            with pytest.raises(AmiConnectionError):  # the loss, once, in order
                await booted.get(timeout=1)
            assert (await booted.get(timeout=1))["Event"] == "FullyBooted"
            assert len(booted) == 0


async def test_no_fully_booted_at_all_goes_on_after_boot_wait() -> None:
    async with (
        FakeAmi() as server,
        client(server, events="call", backoff=(0.01, 0.05), boot_wait=0.4) as ami,
    ):
        server.handlers["login"] = booting_login(None)  # type: ignore[assignment]
        await _restart(server, ami)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert (await ami.action("Ping"))["Ping"] == "Pong"
        assert 0.3 < loop.time() - t0 < 3
        assert ami.connections == 2
