"""AmiClient and its protocol adapter on in-process servers: framing, faults, timeouts,
reconnects, subscriptions. The same client against the real Asterisk: test_live.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from trunkctl.ami import AmiClient, AmiProtocolError, Message
from trunkctl.errors import (
    AmiActionError,
    AmiAuthError,
    AmiConnectionError,
    AmiError,
    AmiPermissionError,
    AmiTimeoutError,
    BadInput,
)

from .fakeami import SECRET, Action, Conn, FakeAmi


def client(server: FakeAmi, **options: object) -> AmiClient:
    opts: dict[str, object] = {"timeout": 2.0, "connect_timeout": 2.0, "keepalive": None}
    opts.update(options)
    return AmiClient("127.0.0.1", server.port, "tester", SECRET, **opts)  # type: ignore[arg-type]


async def eventually(check: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


# -- connect and login --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("events", "sent"),
    [(True, "on"), (False, "off"), (("call", "user"), "call,user"), ("system", "system")],
)
async def test_login_sends_user_secret_and_events(events: object, sent: str) -> None:
    async with FakeAmi() as server, client(server, events=events) as ami:
        assert ami.connected and ami.version == "11.0.0" and ami.connections == 1
        login = server.actions[0]
        assert (login["Action"], login["Username"], login["Secret"]) == ("Login", "tester", SECRET)
        assert login["Events"] == sent and login["ActionID"]


async def test_wrong_secret_is_an_auth_error() -> None:
    async with FakeAmi(secret="other") as server:
        with pytest.raises(AmiAuthError) as info:
            await client(server).connect()
    err = info.value
    assert f"127.0.0.1:{server.port}" in err.what.en and "tester" in err.what.en
    assert "[tester]" in err.next_step.en and "permit" in err.next_step.en  # type: ignore[union-attr]
    assert err.next_step.ru and "manager.conf" in err.next_step.ru  # type: ignore[union-attr]


async def test_refused_names_host_port_and_what_to_check() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(AmiConnectionError) as info:
        await AmiClient("127.0.0.1", port, "u", "s", connect_timeout=2).connect()
    assert f"127.0.0.1:{port}" in info.value.what.en and "refused" in info.value.what.en
    assert "enabled = yes" in info.value.next_step.en  # type: ignore[union-attr]
    assert isinstance(info.value.__cause__, OSError)


async def test_a_non_ami_greeting_is_a_protocol_error() -> None:
    async with FakeAmi(banner=b"SSH-2.0-OpenSSH_9.2\r\n") as server:
        with pytest.raises(AmiProtocolError) as info:
            await client(server).connect()
    assert "SSH-2.0" in str(info.value.evidence)


async def test_a_silent_peer_times_out_on_the_greeting() -> None:
    async with FakeAmi(banner=b"") as server:
        started = time.monotonic()
        with pytest.raises(AmiTimeoutError) as info:
            await client(server, connect_timeout=0.3).connect()
        assert time.monotonic() - started < 2
    assert "greeting" in info.value.what.en


async def test_a_peer_that_never_answers_login_times_out() -> None:
    async with FakeAmi(login_delay=10) as server:
        with pytest.raises(AmiTimeoutError) as info:
            await client(server, timeout=0.3).connect()
    assert "Login" in info.value.what.en


async def test_a_dribbling_peer_works() -> None:
    async with FakeAmi() as server:

        async def slow_ping(conn: Conn, action: Action) -> None:
            data = (
                f"Response: Success\r\nActionID: {action['ActionID']}\r\nPing: Pong\r\n\r\n"
            ).encode()
            for byte in data:
                conn.send_raw(bytes([byte]))
                await conn.writer.drain()
                await asyncio.sleep(0.001)

        server.handlers["ping"] = slow_ping
        async with client(server) as ami:
            assert (await ami.action("Ping"))["Ping"] == "Pong"


# -- actions ------------------------------------------------------------------------------
async def test_headers_from_mapping_pairs_keywords_lists_and_variables() -> None:
    async with FakeAmi() as server:
        server.handlers["originate"] = lambda conn, a: conn.reply(a, "Success")
        async with client(server) as ami:
            await ami.action(
                "Originate",
                {"Channel": "Local/1@x", "Cause-txt": "x"},
                Async=True,
                Variable={"A": "1", "B": "2"},
                Codecs=["alaw", "ulaw"],
                CallerID=None,
            )
    assert server.raw.decode().split("Action: Originate\r\n")[1].split("\r\n\r\n")[0].split("\r\n")[
        :-1
    ] == [
        "Channel: Local/1@x",
        "Cause-txt: x",
        "Async: true",
        "Variable: A=1",
        "Variable: B=2",
        "Codecs: alaw",
        "Codecs: ulaw",
    ]


async def test_responses_out_of_order_reach_their_own_callers() -> None:
    async with FakeAmi() as server:
        held: list[tuple[Conn, Action]] = []

        def hold(conn: Conn, action: Action) -> None:
            held.append((conn, action))
            if len(held) == 2:
                for c, a in reversed(held):
                    c.reply(a, "Success", ("Value", a["Variable"]))

        server.handlers["getvar"] = hold
        async with client(server) as ami:
            first, second = await asyncio.gather(
                ami.action("Getvar", Variable="ONE"), ami.action("Getvar", Variable="TWO")
            )
    assert (first["Value"], second["Value"]) == ("ONE", "TWO")


async def test_action_timeout_then_the_connection_still_works() -> None:
    async with FakeAmi() as server:
        late: list[tuple[Conn, Action]] = []
        server.handlers["slow"] = lambda conn, a: late.append((conn, a))
        async with client(server) as ami:
            started = time.monotonic()
            with pytest.raises(AmiTimeoutError) as info:
                await ami.action("Slow", timeout=0.2)
            assert 0.15 < time.monotonic() - started < 1.5
            assert "Slow" in info.value.what.en and info.value.details["seconds"] == 0.2
            conn, action = late[0]
            conn.reply(action, "Success")  # too late: dropped without harm
            assert (await ami.action("Ping"))["Ping"] == "Pong"


async def test_error_responses_become_typed_errors() -> None:
    async with FakeAmi() as server:
        denied = lambda conn, a: conn.reply(a, "Error", ("Message", "Permission denied"))  # noqa: E731
        server.handlers["originate"] = denied
        server.handlers["frobnicate"] = denied
        server.handlers["pjsipshowendpoint"] = lambda conn, a: conn.reply(
            a, "Error", ("Message", "Unable to retrieve endpoint x")
        )
        async with client(server) as ami:
            with pytest.raises(AmiPermissionError) as info:
                await ami.action("Originate", Channel="Local/1@x")
            assert info.value.details["write_classes"] == ["originate"]
            assert "write = ...,originate" in info.value.next_step.en  # type: ignore[union-attr]
            assert "manager reload" in info.value.next_step.ru  # type: ignore[union-attr]
            with pytest.raises(AmiPermissionError) as info:
                await ami.action("Frobnicate")
            assert "manager show command Frobnicate" in info.value.next_step.en  # type: ignore[union-attr]
            with pytest.raises(AmiActionError) as err:
                await ami.action("PJSIPShowEndpoint", Endpoint="x")
            assert err.value.details["message"] == "Unable to retrieve endpoint x"
            unchecked = await ami.action("PJSIPShowEndpoint", Endpoint="x", check=False)
            assert unchecked["Response"] == "Error"


async def test_command_returns_output_lines() -> None:
    async with FakeAmi() as server:
        server.handlers["command"] = lambda conn, a: conn.reply(
            a,
            "Success",
            ("Message", "Command output follows"),
            ("Output", "Channel              Location"),
            ("Output", ""),
            ("Output", "0 active channels"),
        )
        async with client(server) as ami:
            lines = await ami.command("core show channels")
    assert lines == ["Channel              Location", "", "0 active channels"]
    assert server.actions[-2]["Command"] == "core show channels"


async def test_header_injection_is_refused_before_anything_is_sent() -> None:
    async with FakeAmi() as server, client(server) as ami:
        before = len(server.actions)
        with pytest.raises(BadInput):
            await ami.action("Originate", Channel="Local/1@x\r\nAction: Command\r\nCommand: x")
        assert (await ami.action("Ping"))["Ping"] == "Pong"
        assert [a["Action"] for a in server.actions[before:]] == ["Ping"]


# -- list actions -------------------------------------------------------------------------
def list_handler(items: int, *, complete: bool = True) -> object:
    def handle(conn: Conn, a: Action) -> None:
        conn.reply(a, "Success", ("EventList", "start"), ("Message", "follows"))
        conn.send(("Event", "Unrelated"), ("Uniqueid", "x"))
        for i in range(items):
            conn.send(
                ("Event", "EndpointList"), ("ActionID", a["ActionID"]), ("ObjectName", f"e{i}")
            )
        if complete:
            conn.send(
                ("Event", "EndpointListComplete"),
                ("ActionID", a["ActionID"]),
                ("EventList", "Complete"),
                ("ListItems", str(items)),
            )

    return handle


async def test_list_action_collects_items_and_passes_other_events_on() -> None:
    async with FakeAmi() as server:
        server.handlers["pjsipshowendpoints"] = list_handler(3)  # type: ignore[assignment]
        async with client(server) as ami:
            with ami.subscribe() as events:
                result = await ami.list_action("PJSIPShowEndpoints")
                unrelated = await events.get(timeout=1)
    assert [e["ObjectName"] for e in result.events] == ["e0", "e1", "e2"]
    assert result.complete and result.complete_event is not None
    assert result.complete_event["ListItems"] == "3"
    assert unrelated["Event"] == "Unrelated"


async def test_list_action_timeout_raises_or_returns_what_came() -> None:
    async with FakeAmi() as server:
        server.handlers["pjsipshowendpoints"] = list_handler(2, complete=False)  # type: ignore[assignment]
        async with client(server) as ami:
            with pytest.raises(AmiTimeoutError):
                await ami.list_action("PJSIPShowEndpoints", timeout=0.2)
            partial = await ami.list_action("PJSIPShowEndpoints", timeout=0.2, partial_ok=True)
    assert not partial.complete and [e["ObjectName"] for e in partial.events] == ["e0", "e1"]


async def test_list_action_error_response() -> None:
    async with FakeAmi() as server:
        server.handlers["pjsipshowendpoints"] = lambda conn, a: conn.send_raw(
            f"Response: Error\r\nActionID: {a['ActionID']}\r\nMessage: No endpoints found\n"
            "\r\n\r\n".encode()
        )
        async with client(server) as ami:
            with pytest.raises(AmiActionError) as info:
                await ami.list_action("PJSIPShowEndpoints")
    assert info.value.details["message"] == "No endpoints found"


# -- connection loss, reconnect, keepalive --------------------------------------------------
async def test_a_drop_fails_every_pending_action_with_a_connection_error() -> None:
    async with FakeAmi() as server:
        server.handlers["slow"] = lambda conn, a: None
        async with client(server, reconnect=False) as ami:
            pending = [asyncio.ensure_future(ami.action("Slow", timeout=5)) for _ in range(3)]
            await server.wait_for("Slow", 3)
            server.drop_all()
            results = await asyncio.gather(*pending, return_exceptions=True)
            assert all(isinstance(r, AmiConnectionError) for r in results), results
            assert "Slow" in results[0].what.en  # type: ignore[union-attr]
            with pytest.raises(AmiConnectionError):
                await ami.action("Ping")


async def test_reconnects_with_backoff_and_subscriptions_survive() -> None:
    async with FakeAmi() as server, client(server, backoff=(0.05, 0.2)) as ami:
        with ami.subscribe({"Event": "Tick"}) as ticks:
            server.broadcast(("Event", "Tick"), ("N", "1"))
            assert (await ticks.get(timeout=2))["N"] == "1"
            server.accepting = False
            server.drop_all()
            with pytest.raises(AmiConnectionError):
                await ticks.get(timeout=2)  # the loss, once, in order
            await asyncio.sleep(0.4)  # a few refused attempts
            assert not ami.connected
            server.accepting = True
            # An action waits for the reconnection instead of failing.
            assert (await ami.action("Ping", timeout=3))["Ping"] == "Pong"
            assert ami.connections == 2
            assert [a["Action"] for a in server.conn.actions][:2] == ["Login", "Ping"]
            server.broadcast(("Event", "Tick"), ("N", "2"))
            assert (await ticks.get(timeout=2))["N"] == "2"


async def test_an_action_while_down_fails_after_its_timeout() -> None:
    async with FakeAmi() as server, client(server, backoff=(5.0, 5.0)) as ami:
        server.accepting = False
        server.drop_all()
        await eventually(lambda: not ami.connected)
        started = time.monotonic()
        with pytest.raises(AmiConnectionError) as info:
            await ami.action("Ping", timeout=0.3)
        assert time.monotonic() - started < 1.5
        assert "reconnecting" in info.value.what.en


async def test_closing_during_a_reconnect_leaves_no_connection_behind() -> None:
    async with FakeAmi() as server:
        ami = await client(server, backoff=(0.01, 0.01)).connect()
        server.login_delay = 10  # the reconnection hangs in Login
        server.drop_all()
        await eventually(lambda: len(server.conns) == 2)
        await server.wait_for("Login", 2)
        await ami.close()
        await eventually(lambda: server.conns[1].reader.at_eof())


async def test_keepalive_drops_a_connection_that_stopped_answering() -> None:
    async with FakeAmi(answer_ping=False) as server:
        ami = client(server, keepalive=0.1, timeout=0.2, backoff=(0.05, 0.1))
        async with ami:
            await eventually(lambda: len(server.conns) >= 2)
            await eventually(lambda: ami.connections >= 2)


async def test_garbage_after_login_drops_and_reconnects() -> None:
    async with FakeAmi() as server, client(server, backoff=(0.05, 0.1)) as ami:
        server.conn.send_raw(b"no colon here\r\n\r\n")  # ignored: not an event
        assert (await ami.action("Ping"))["Ping"] == "Pong"
        ami_proto_limit = 16 * 1024 * 1024
        server.conn.send_raw(b"Event: Huge\r\nData: " + b"x" * (ami_proto_limit + 10))
        await eventually(lambda: ami.connections == 2)


# -- events -------------------------------------------------------------------------------
async def test_subscriptions_filter_by_headers_or_predicate() -> None:
    async with FakeAmi() as server, client(server) as ami:
        hangups = ami.subscribe({"Event": "Hangup"})
        dials = ami.subscribe({"event": ("DialBegin", "DialEnd"), "Linkedid": "L1"})
        odd = ami.subscribe(lambda m: m.get("N", "0") in ("1", "3"))
        for n, event, linked in [
            ("1", "DialBegin", "L1"),
            ("2", "Hangup", "L1"),
            ("3", "DialEnd", "L2"),
            ("4", "DialEnd", "L1"),
        ]:
            server.broadcast(("Event", event), ("Linkedid", linked), ("N", n))
        got_hangups = [(await hangups.get(timeout=1))["N"]]
        got_dials = [(await dials.get(timeout=1))["N"] for _ in range(2)]
        got_odd = [(await odd.get(timeout=1))["N"] for _ in range(2)]
        assert (got_hangups, got_dials, got_odd) == (["2"], ["1", "4"], ["1", "3"])
        assert len(hangups) == len(dials) == len(odd) == 0
        with pytest.raises(AmiTimeoutError):
            await hangups.get(timeout=0.05)


async def test_async_iteration_ends_when_the_client_closes() -> None:
    async with FakeAmi() as server:
        ami = await client(server).connect()
        sub = ami.subscribe({"Event": "Tick"})
        for n in range(3):
            server.broadcast(("Event", "Tick"), ("N", str(n)))
        got = []
        async for event in sub:
            got.append(event["N"])
            if len(got) == 3:
                await ami.close()
        assert got == ["0", "1", "2"]
        assert server.actions[-1]["Action"] == "Logoff"
        with pytest.raises(AmiConnectionError):
            await ami.action("Ping")


async def test_a_slow_subscriber_is_told_how_many_events_it_lost() -> None:
    async with FakeAmi() as server, client(server) as ami:
        sub = ami.subscribe({"Event": "Tick"}, maxsize=2)
        for n in range(5):
            server.broadcast(("Event", "Tick"), ("N", str(n)))
        await eventually(lambda: sub.dropped == 3)
        assert [(await sub.get(timeout=1))["N"] for _ in range(2)] == ["0", "1"]
        with pytest.raises(AmiError) as info:
            await sub.get(timeout=1)
        assert info.value.details["dropped"] == 3
        server.broadcast(("Event", "Tick"), ("N", "5"))
        assert (await sub.get(timeout=1))["N"] == "5"


async def test_a_raising_predicate_surfaces_to_its_consumer_only() -> None:
    async with FakeAmi() as server, client(server) as ami:
        broken = ami.subscribe(lambda m: 1 / 0 > 0)
        fine = ami.subscribe({"Event": "Tick"})
        server.broadcast(("Event", "Tick"))
        with pytest.raises(ZeroDivisionError):
            await broken.get(timeout=1)
        assert (await fine.get(timeout=1))["Event"] == "Tick"


async def test_an_event_carrying_our_action_id_after_the_response_is_an_event() -> None:
    async with FakeAmi() as server:

        def originate(conn: Conn, a: Action) -> None:
            conn.reply(a, "Success", ("Message", "Originate successfully queued"))
            conn.send(("Event", "OriginateResponse"), ("ActionID", a["ActionID"]))

        server.handlers["originate"] = originate
        async with client(server) as ami:
            with ami.subscribe({"Event": "OriginateResponse"}) as sub:
                reply = await ami.action("Originate", ActionID="mine-1", Channel="Local/1@x")
                event = await sub.get(timeout=1)
    assert reply["Message"] == "Originate successfully queued"
    assert event["ActionID"] == reply["ActionID"] == "mine-1"


# -- secrets ------------------------------------------------------------------------------
async def test_the_secret_never_reaches_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="trunkctl.ami")
    async with FakeAmi() as server:
        server.handlers["pjsipshowendpoint"] = lambda conn, a: conn.reply(
            a, "Success", ("Password", "pw-Xq1")
        )
        async with client(server) as ami:
            msg: Message = await ami.action("PJSIPShowEndpoint", Endpoint="x", Secret="pw-Xq2")
            server.drop_all()
            await eventually(lambda: ami.connections == 2)
            text = repr(ami) + repr(msg) + caplog.text
    assert SECRET not in text and "pw-Xq1" not in text and "pw-Xq2" not in text
    assert "PJSIPShowEndpoint" in caplog.text  # debug logging did happen


# -- read batching ------------------------------------------------------------------------
async def test_read_batch_gathers_events_into_fewer_reads_and_loses_none() -> None:
    reads: list[float] = []
    async with FakeAmi() as server, client(server, read_batch=0.3) as ami:
        proto = ami._proto
        assert proto is not None and proto.read_batch == 0.3
        original = proto.data_received

        def counting(data: bytes) -> None:
            reads.append(time.monotonic())
            original(data)

        proto.data_received = counting  # type: ignore[method-assign]
        with ami.subscribe({"Event": "Tick"}) as ticks:
            for n in range(12):
                server.broadcast(("Event", "Tick"), ("N", str(n)))
                await asyncio.sleep(0.02)  # 12 writes over ~0.24 s, each its own segment
            got = [(await ticks.get(timeout=2))["N"] for _ in range(12)]
    assert got == [str(n) for n in range(12)]  # every event, in order
    # The first read pauses the connection for 0.3 s: the other eleven come in one or two.
    assert len(reads) <= 3, reads
    assert reads[1] - reads[0] >= 0.25


async def test_without_read_batch_every_write_is_read_at_once() -> None:
    reads = 0
    async with FakeAmi() as server, client(server) as ami:
        proto = ami._proto
        assert proto is not None and proto.read_batch == 0.0
        original = proto.data_received

        def counting(data: bytes) -> None:
            nonlocal reads
            reads += 1
            original(data)

        proto.data_received = counting  # type: ignore[method-assign]
        with ami.subscribe({"Event": "Tick"}) as ticks:
            for n in range(5):
                server.broadcast(("Event", "Tick"), ("N", str(n)))
                assert (await ticks.get(timeout=1))["N"] == str(n)
    assert reads >= 5  # one read per write at least (no pause between them)


async def test_a_drop_while_reading_is_paused_still_fails_pending_actions() -> None:
    async with FakeAmi() as server:
        server.handlers["slow"] = lambda conn, a: None
        async with client(server, reconnect=False, read_batch=0.2) as ami:
            ami.read_batch = 0.2  # the setter reaches the live connection too
            pending = asyncio.ensure_future(ami.action("Slow", timeout=5))
            await server.wait_for("Slow")
            server.broadcast(("Event", "Tick"))  # a read: reading pauses for 0.2 s
            await asyncio.sleep(0.05)
            server.drop_all()
            started = time.monotonic()
            with pytest.raises(AmiConnectionError):
                await pending
            assert time.monotonic() - started < 1.0
