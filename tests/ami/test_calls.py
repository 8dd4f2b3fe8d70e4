"""originate_and_track on recorded and hand-made event sequences (the same on the live
sandbox: test_live.py).

The replay server answers each Originate, then plays back a window of the real Asterisk 22
recording (data/asterisk22_events.bin) with each recorded call's ids swapped for the ids
the tracker chose, interleaved exactly as Asterisk interleaved the concurrent calls.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient, CallResult, originate_and_track
from trunkctl.errors import AmiConnectionError, AmiPermissionError, BadInput

from .fakeami import SECRET, Action, Conn, FakeAmi
from .outcomes import EXPECTED

DATA = Path(__file__).parent / "data" / "asterisk22_events.bin"

_LOCAL = re.compile(rb"Channel: Local/(\d+)@outgoing-[0-9a-f]+;1\r\n")
_ID = re.compile(rb"Uniqueid: trunkctl-([0-9a-f]{32})\r\n")


def recorded_blocks() -> list[bytes]:
    data = DATA.read_bytes()
    return data[data.index(b"\r\n") + 2 :].split(b"\r\n\r\n")[:-1]


def first_round() -> tuple[dict[str, bytes], list[bytes]]:
    """number -> recorded call hex id, and the event blocks spanning those calls."""
    blocks = recorded_blocks()
    calls: dict[str, bytes] = {}
    for block in blocks:
        if block.startswith(b"Event: Newchannel\r\n"):
            local, uid = _LOCAL.search(block), _ID.search(block)
            if local and uid and local.group(1).decode() not in calls:
                calls[local.group(1).decode()] = uid.group(1)
    assert set(calls) == set(EXPECTED), "the recording lacks some test numbers"
    hexes = set(calls.values())
    touching = [i for i, b in enumerate(blocks) if any(h in b for h in hexes)]
    window = blocks[touching[0] : touching[-1] + 1]
    return calls, [b for b in window if b.startswith(b"Event: ")]


class Replay:
    """Acknowledge Originates; once ``expect`` have come, play the window back."""

    def __init__(self, server: FakeAmi, expect: int, *, cut_after: int | None = None) -> None:
        self.server = server
        self.expect = expect
        self.cut_after = cut_after
        self.calls, self.window = first_round()
        self.new_ids: dict[bytes, bytes] = {}
        self.edit: list[tuple[bytes, bytes]] = []
        server.handlers["originate"] = self.originate

    async def originate(self, conn: Conn, action: Action) -> None:
        conn.reply(action, "Success", ("Message", "Originate successfully queued"))
        number = action["Channel"].removeprefix("Local/").split("@")[0]
        new = action["ChannelId"].removeprefix("trunkctl-").encode()
        assert action["OtherChannelId"] == action["ChannelId"] + "-2"
        assert action["Async"] == "true" and len(action["ChannelId"]) <= 149
        self.new_ids[self.calls[number]] = new
        if len(self.new_ids) == self.expect:
            for i, block in enumerate(self.window):
                if self.cut_after is not None and i == self.cut_after:
                    conn.abort()
                    return
                for old, replacement in self.new_ids.items():
                    block = block.replace(old, replacement)
                for old, replacement in self.edit:
                    block = block.replace(old, replacement)
                conn.send_raw(block + b"\r\n\r\n")
                if i % 50 == 0:
                    await asyncio.sleep(0)


def ami_for(server: FakeAmi, **options: object) -> AmiClient:
    opts: dict[str, object] = {"timeout": 2.0, "keepalive": None, "backoff": (0.05, 0.1)}
    opts.update(options)
    return AmiClient("127.0.0.1", server.port, "tester", SECRET, **opts)  # type: ignore[arg-type]


async def track(ami: AmiClient, number: str, timeout: float = 5.0) -> CallResult:
    return await originate_and_track(
        ami, f"Local/{number}@outgoing", app="Playback", data="hello-world", timeout=timeout
    )


async def test_recorded_concurrent_calls_each_get_their_verdict_and_only_their_events() -> None:
    async with FakeAmi() as server, ami_for(server) as ami:
        replay = Replay(server, len(EXPECTED))
        numbers = list(EXPECTED)
        started = time.monotonic()
        results = await asyncio.gather(*(track(ami, n) for n in numbers))
        assert time.monotonic() - started < 3  # verdicts come from events, not timeouts
    for number, result in zip(numbers, results, strict=True):
        assert (result.status, result.sip_code, result.q850) == EXPECTED[number], number
        own = replay.new_ids[replay.calls[number]].decode()
        for event in result.events:
            assert own in event.encode().decode(), (number, event)
    busy = results[numbers.index("79990000486")]
    assert busy.sip_reason == "Busy Here" and busy.dial_status == "BUSY"
    assert [c.name.split("/")[0] for c in busy.channels] == ["Local", "Local", "PJSIP"]
    trunk = busy.channels[2]
    assert (trunk.cause, trunk.cause_txt, trunk.tech_cause) == (17, "User busy", 486)
    answered = results[numbers.index("79990000200")]
    assert answered.time_to_answer is not None and answered.talk_duration is not None
    assert results[numbers.index("79990000480")].originate_reason == 3


async def test_without_techcause_the_user_event_still_gives_the_sip_code() -> None:
    # Asterisk before 20.17/22.7 has no TechCause; the sandbox's first dialplan named the
    # header "Cause" instead of "SipCause": both must still give 486 Busy Here.
    async with FakeAmi() as server, ami_for(server) as ami:
        replay = Replay(server, 1)
        replay.edit = [(b"\r\nTechCause: 486", b""), (b"SipCause: SIP 486", b"Cause: SIP 486")]
        result = await track(ami, "79990000486")
    assert (result.status, result.sip_code, result.sip_reason) == ("busy", 486, "Busy Here")
    assert all(c.tech_cause is None for c in result.channels)


async def test_a_connection_lost_mid_call_ends_unfinished_calls_as_interrupted() -> None:
    calls, window = first_round()
    busy_id = calls["79990000486"]
    busy_end = max(i for i, b in enumerate(window) if busy_id in b)
    ringing_id = calls["79990000480"]
    assert any(ringing_id in b for b in window[busy_end + 1 :])  # still ringing then
    async with FakeAmi() as server, ami_for(server) as ami:
        Replay(server, 2, cut_after=busy_end + 1)
        started = time.monotonic()
        busy, ringing = await asyncio.gather(
            track(ami, "79990000486", timeout=10), track(ami, "79990000480", timeout=10)
        )
        assert time.monotonic() - started < 3
        assert busy.status == "busy"
        assert ringing.status == "interrupted"
        assert isinstance(ringing.error, AmiConnectionError)
        assert ringing.time_to_ring is not None
        await asyncio.wait_for(_reconnected(ami), 3)


async def _reconnected(ami: AmiClient) -> None:
    while ami.connections < 2:
        await asyncio.sleep(0.01)


# -- hand-made sequences ------------------------------------------------------------------
def chan(prefix: str, name: str, uid: str, state: str = "Down") -> list[tuple[str, str]]:
    return [
        (f"{prefix}Channel", name),
        (f"{prefix}ChannelStateDesc", state),
        (f"{prefix}Uniqueid", uid),
        (f"{prefix}Linkedid", uid),
    ]


def send_originate_response(conn: Conn, a: Action, response: str, reason: str) -> None:
    """OriginateResponse for action ``a``; Asterisk 22 names our ChannelId as Uniqueid even
    when no channel was made."""
    conn.send(
        ("Event", "OriginateResponse"),
        ("ActionID", a["ActionID"]),
        ("Response", response),
        ("Reason", reason),
        ("Uniqueid", a["ChannelId"]),
    )


async def test_direct_pjsip_originate_busy_from_reason_and_hangup() -> None:
    async with FakeAmi() as server, ami_for(server) as ami:

        def originate(conn: Conn, a: Action) -> None:
            uid, name = a["ChannelId"], "PJSIP/novofon-00000001"
            conn.reply(a, "Success", ("Message", "Originate successfully queued"))
            conn.send(("Event", "Newchannel"), *chan("", name, uid))
            conn.send(("Event", "Newstate"), *chan("", name, uid, "Ringing"))
            conn.send(
                ("Event", "Hangup"),
                *chan("", name, uid, "Ringing"),
                ("Cause", "17"),
                ("Cause-txt", "User busy"),
            )
            send_originate_response(conn, a, "Failure", "5")

        server.handlers["originate"] = originate
        result = await originate_and_track(
            ami, "PJSIP/79990000486@novofon", context="default", exten="s", timeout=5
        )
    assert (result.status, result.sip_code, result.q850) == ("busy", None, 17)
    assert result.q850_text == "User busy" and result.originate_reason == 5
    assert result.time_to_ring is not None and result.time_to_answer is None


async def test_originate_failing_before_any_channel() -> None:
    async with FakeAmi() as server, ami_for(server) as ami:

        def originate(conn: Conn, a: Action) -> None:
            conn.reply(a, "Success", ("Message", "Originate successfully queued"))
            send_originate_response(conn, a, "Failure", "0")

        server.handlers["originate"] = originate
        started = time.monotonic()
        result = await originate_and_track(ami, "Foo/bar", app="Wait", data="1", timeout=5)
    assert (result.status, result.channels, result.originate_reason) == ("failed", (), 0)
    # It waited the grace for a late Newchannel, and not the whole timeout.
    assert 0.5 <= time.monotonic() - started < 2


def _trunk_call(a: Action) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    uid = a["ChannelId"]
    return chan("", "Local/79990000200@outgoing-0001;1", uid), [
        ("Channel", "PJSIP/novofon-00000001"),
        ("ChannelStateDesc", "Up"),
        ("Uniqueid", "pbx-1.5"),
        ("Linkedid", uid),
    ]


async def test_a_success_overtaking_the_newchannel_still_follows_the_call() -> None:
    # Asterisk writes OriginateResponse to AMI at once, channel events go through Stasis:
    # under load the response can come first (seen in CI with an instant answer).
    async with FakeAmi() as server, ami_for(server) as ami:

        async def originate(conn: Conn, a: Action) -> None:
            local, trunk = _trunk_call(a)
            conn.reply(a, "Success", ("Message", "Originate successfully queued"))
            send_originate_response(conn, a, "Success", "4")
            await asyncio.sleep(0.05)
            conn.send(("Event", "Newchannel"), *local)
            conn.send(("Event", "Newchannel"), *trunk)
            conn.send(("Event", "Newstate"), *trunk)
            await asyncio.sleep(0.2)
            conn.send(("Event", "Hangup"), *trunk, ("Cause", "16"))
            conn.send(("Event", "Hangup"), *local, ("Cause", "16"))

        server.handlers["originate"] = originate
        result = await track(ami, "79990000200")
    assert result.status == "answered" and len(result.channels) == 2
    assert result.q850 == 16 and result.talk_duration is not None
    assert result.talk_duration >= 0.15


async def test_a_failure_overtaking_its_channel_waits_for_the_channel() -> None:
    async with FakeAmi() as server, ami_for(server) as ami:

        async def originate(conn: Conn, a: Action) -> None:
            local, _ = _trunk_call(a)
            conn.reply(a, "Success", ("Message", "Originate successfully queued"))
            send_originate_response(conn, a, "Failure", "0")
            await asyncio.sleep(0.1)
            conn.send(("Event", "Newchannel"), *local)
            conn.send(("Event", "Hangup"), *local, ("Cause", "1"), ("Cause-txt", "Unallocated"))

        server.handlers["originate"] = originate
        result = await track(ami, "79990000200")
    assert (result.status, result.q850, len(result.channels)) == ("not_found", 1, 1)


@pytest.mark.parametrize(("ringing", "status"), [(False, "timeout"), (True, "no_answer")])
async def test_a_call_still_going_at_the_deadline_is_hung_up(ringing: bool, status: str) -> None:
    async with FakeAmi() as server, ami_for(server) as ami:

        def originate(conn: Conn, a: Action) -> None:
            conn.reply(a, "Success", ("Message", "Originate successfully queued"))
            if ringing:
                conn.send(("Event", "Newchannel"), *chan("", "PJSIP/x-1", a["ChannelId"]))
                conn.send(("Event", "Newstate"), *chan("", "PJSIP/x-1", a["ChannelId"], "Ringing"))

        server.handlers["originate"] = originate
        server.handlers["hangup"] = lambda conn, a: conn.reply(a, "Success")
        started = time.monotonic()
        result = await originate_and_track(ami, "PJSIP/1@x", app="Wait", data="9", timeout=0.5)
        assert 0.4 < time.monotonic() - started < 2
        hangup = await server.wait_for("Hangup")
    assert result.status == status
    assert hangup["Channel"] == result.channel_id
    assert (result.error is None) == ringing  # no event at all: hint at read classes
    if not ringing:
        assert "read = call,user" in result.error.next_step.en  # type: ignore[union-attr]


async def test_originate_without_permission_raises() -> None:
    async with FakeAmi() as server, ami_for(server) as ami:
        server.handlers["originate"] = lambda conn, a: conn.reply(
            a, "Error", ("Message", "Permission denied")
        )
        with pytest.raises(AmiPermissionError):
            await track(ami, "79990000200")


@pytest.mark.parametrize(
    "target",
    [
        {},
        {"app": "Playback", "context": "default", "exten": "s"},
        {"context": "default"},
        {"exten": "s"},
    ],
)
async def test_originate_needs_one_target(target: dict[str, str]) -> None:
    ami = AmiClient("127.0.0.1", 1, "u", "s")
    with pytest.raises(BadInput):
        await originate_and_track(ami, "Local/1@x", **target)  # type: ignore[arg-type]


async def test_never_connected_raises_instead_of_reporting_a_call() -> None:
    with pytest.raises(AmiConnectionError):
        await originate_and_track(AmiClient("127.0.0.1", 1, "u", "s"), "Local/1@x", app="Wait")


async def test_an_originate_sent_on_a_reconnected_session_then_lost_is_interrupted() -> None:
    # The client was disconnected when the call started; it reconnected, sent the
    # Originate, and lost the connection before the reply. The call may be ringing, so it
    # must end as interrupted (never "nothing was sent", which invites a second call).
    async with FakeAmi() as server, ami_for(server, timeout=3.0) as ami:
        server.accepting = False  # keep it disconnected until the call has started
        server.drop_all()
        async with asyncio.timeout(2):
            while ami.connected:
                await asyncio.sleep(0.01)

        def originate(conn: Conn, a: Action) -> None:
            conn.abort()

        server.handlers["originate"] = originate
        call = asyncio.ensure_future(
            originate_and_track(
                ami, "Local/79990000200@outgoing", app="Playback", data="hello-world", timeout=3
            )
        )
        await asyncio.sleep(0.05)
        server.accepting = True
        result = await call
    assert result.status == "interrupted", result.to_dict()
    originates = [a for a in server.actions if (a.get("Action") or "").lower() == "originate"]
    assert len(originates) == 1


async def test_an_originate_without_a_reply_is_interrupted_not_lost() -> None:
    async with FakeAmi() as server, ami_for(server, timeout=1.0) as ami:
        server.handlers["originate"] = lambda conn, a: None  # swallowed: no response
        result = await originate_and_track(
            ami, "Local/79990000200@outgoing", app="Playback", data="hello-world", timeout=2
        )
    assert result.status == "interrupted", result.to_dict()
