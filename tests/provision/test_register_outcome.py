"""apply's fresh REGISTER: which ``Registry`` event is the registration's own outcome.

A real Asterisk sends a stale event only under load (the removed registration of the same
URIs reporting its last REGISTER after apply subscribed; seen in a loaded test run), so the
order is played by the wire-level fake AMI here; the normal path runs against the sandbox
in test_setup_apply.py.
"""

from __future__ import annotations

import asyncio

from trunkctl.ami import AmiClient
from trunkctl.provision import ApplyResult
from trunkctl.provision._apply import _register

from ..ami.fakeami import SECRET, Action, Conn, FakeAmi


def registry(status: str) -> tuple[tuple[str, str], ...]:
    return (
        ("Event", "Registry"),
        ("ChannelType", "PJSIP"),
        ("Username", "sip:0627136@127.0.0.1"),
        ("Domain", "sip:127.0.0.1:5060"),
        ("Status", status),
    )


class Pbx:
    """PJSIPRegister: a stale Rejected (another object's), then ours; Status on demand."""

    def __init__(self, events: list[str], final: str) -> None:
        self.events = events
        self.status = "Unregistered"
        self.final = final
        self.shown = 0

    def install(self, server: FakeAmi) -> None:
        server.handlers["pjsipunregister"] = self.unregister
        server.handlers["pjsipregister"] = self.register
        server.handlers["pjsipshowregistrationsoutbound"] = self.show

    def unregister(self, conn: Conn, a: Action) -> None:
        conn.reply(a, "Success", ("Message", "Unregistration sent"))

    async def register(self, conn: Conn, a: Action) -> None:
        conn.reply(a, "Success", ("Message", "Register sent"))
        for status in self.events:
            await asyncio.sleep(0.05)
            if status == self.final:
                self.status = status
            conn.send(*registry(status))

    def show(self, conn: Conn, a: Action) -> None:
        self.shown += 1
        conn.reply(a, "Success", ("EventList", "start"), ("Message", "follows"))
        conn.send(
            ("Event", "OutboundRegistrationDetail"),
            ("ActionID", a["ActionID"]),
            ("ObjectName", "novofon"),
            ("Status", self.status),
        )
        conn.send(
            ("Event", "OutboundRegistrationDetailComplete"),
            ("ActionID", a["ActionID"]),
            ("EventList", "Complete"),
            ("ListItems", "1"),
        )


async def outcome(pbx: Pbx, timeout: float = 2.0) -> str:
    async with FakeAmi() as server:
        pbx.install(server)
        ami = AmiClient("127.0.0.1", server.port, "tester", SECRET, timeout=2.0, keepalive=None)
        async with ami:
            result = ApplyResult()
            await _register(ami, ["novofon"], result, timeout=timeout)
    return result.registrations["novofon"]


async def test_a_stale_rejected_of_another_registration_does_not_count() -> None:
    pbx = Pbx(["Rejected", "Registered"], final="Registered")
    assert await outcome(pbx) == "Registered"
    assert pbx.shown == 2  # each event was checked against the registration itself


async def test_a_real_rejection_counts() -> None:
    assert await outcome(Pbx(["Rejected"], final="Rejected")) == "Rejected"


async def test_no_trusted_event_leaves_no_answer_unless_the_registration_says_otherwise() -> None:
    assert await outcome(Pbx(["Rejected"], final="none"), timeout=0.5) == "NoAnswer"
