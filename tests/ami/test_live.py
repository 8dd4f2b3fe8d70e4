"""The AMI client and call tracking against the sandbox's real Asterisk 22.

Unit counterparts: test_parser.py (wire format), test_client.py (framing and fault edge
cases on in-process servers), test_calls.py (verdicts from recorded events). The trunk is
the hand-written one of tests/sandbox/test_smoke.py; the dialplan here adds the UserEvent
trunkctl's generated dialplan emits, so both SIP-code sources are exercised.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator

import pytest

from trunkctl.ami import AmiClient, originate_and_track
from trunkctl.errors import AmiActionError, AmiAuthError, AmiPermissionError

from ..conftest import SandboxInfo
from ..sandbox.test_smoke import REGISTRATION_TRUNK
from .outcomes import EXPECTED

pytestmark = pytest.mark.sandbox

USER_EVENT = (
    "UserEvent(TrunkctlDial,DialStatus: ${DIALSTATUS},HangupCause: ${HANGUPCAUSE},"
    "SipCause: ${HANGUPCAUSE(${CUT(TK,\\,,1)},tech)})"
)
DIALPLAN = rf"""
[outgoing]
; every number goes out over the trunk; the UserEvent reports how Dial ended
exten => _X.,1,Dial(PJSIP/${{EXTEN}}@novofon,20)
 same => n,Set(TK=${{HANGUPCAUSE_KEYS()}})
 same => n,{USER_EVENT}
 same => n,Hangup()

[from-novofon]
exten => _X.,1,Hangup()
"""


def install_trunk(pbx: SandboxInfo) -> None:
    """The registration trunk and the outgoing context, then wait until registered."""
    host, port = pbx.provider_sip
    fields = {"login": pbx.line_login, "password": pbx.line_password, "host": host, "port": port}
    with (pbx.pbx_config_dir / "pjsip.conf").open("a") as fh:
        fh.write(REGISTRATION_TRUNK.format(**fields))
    with (pbx.pbx_config_dir / "extensions.conf").open("a") as fh:
        fh.write(DIALPLAN)
    pbx.sandbox.pbx.rx("module reload res_pjsip.so")
    pbx.sandbox.pbx.rx("dialplan reload")
    # A new registration first waits up to max_random_initial_delay (10 s by default), and
    # a reload may run it before its auth object is loaded ("Auth object 'novofon' could
    # not be found", then retry_interval 20 s): both checked. So ask for REGISTERs now,
    # for as long as one retry_interval could take.
    for _ in range(12):
        pbx.sandbox.pbx.rx("pjsip send register *all")
        if pbx.sandbox.wait_registered(2):
            return
    raise AssertionError(pbx.sandbox.pbx.rx("pjsip show registrations"))


def client_for(pbx: SandboxInfo, **options: object) -> AmiClient:
    a = pbx.ami
    return AmiClient(a["host"], a["port"], a["username"], a["secret"], **options)  # type: ignore[arg-type]


@pytest.fixture
async def ami(pbx: SandboxInfo) -> AsyncIterator[AmiClient]:
    async with client_for(pbx) as client:
        yield client


@pytest.fixture
def trunk(pbx: SandboxInfo) -> SandboxInfo:
    install_trunk(pbx)
    return pbx


# -- session basics -----------------------------------------------------------------------
async def test_login_command_and_ping(ami: AmiClient) -> None:
    assert ami.connected and ami.version == "11.0.0"  # AMI 11 is Asterisk 22
    lines = await ami.command("core show version")
    assert lines[0].startswith("Asterisk 22."), lines
    assert 0 < await ami.ping() < 1


async def test_a_failing_cli_command_raises_with_its_output(ami: AmiClient) -> None:
    with pytest.raises(AmiActionError) as info:
        await ami.command("core show no-such-thing")
    assert "No such command" in str(info.value.evidence)


async def test_wrong_secret_is_an_auth_error(pbx: SandboxInfo) -> None:
    a = pbx.ami
    started = time.monotonic()
    with pytest.raises(AmiAuthError) as info:
        async with AmiClient(a["host"], a["port"], a["username"], "not-the-secret"):
            pass
    assert time.monotonic() - started < 5  # Asterisk answers after ~1 s, then closes
    text = f"{info.value.what} {info.value.next_step}"
    assert "manager.conf" in text and "permit" in text and "not-the-secret" not in text


async def test_restricted_user_gets_permission_errors_naming_the_class(pbx: SandboxInfo) -> None:
    secret = secrets.token_urlsafe(12)
    with (pbx.pbx_config_dir / "manager.conf").open("a") as fh:
        fh.write(
            f"\n[limited]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
            "permit = 127.0.0.0/255.0.0.0\nread = call\nwrite = call\n"
        )
    pbx.sandbox.pbx.rx("manager reload")
    a = pbx.ami
    async with AmiClient(a["host"], a["port"], "limited", secret) as limited:
        with pytest.raises(AmiPermissionError) as info:
            await limited.command("core show version")
        assert info.value.details["write_classes"] == ["command"]
        assert "[limited]" in str(info.value.next_step) and "write =" in str(info.value.next_step)
        with pytest.raises(AmiPermissionError) as info:
            await limited.action("Originate", Channel="Local/1@outgoing", Application="Wait")
        assert "originate" in str(info.value.what)
        assert "manager reload" in str(info.value.next_step)


# -- lists and secrets ----------------------------------------------------------------------
async def test_fresh_pbx_has_no_endpoints_which_pjsip_reports_as_an_error(ami: AmiClient) -> None:
    with pytest.raises(AmiActionError) as info:
        await ami.list_action("PJSIPShowEndpoints")
    assert info.value.details["message"] == "No endpoints found"  # stray "\n" dropped


async def test_list_action_collects_until_complete(trunk: SandboxInfo, ami: AmiClient) -> None:
    result = await ami.list_action("PJSIPShowEndpoints")
    assert result.complete and result.response["EventList"] == "start"
    assert result.complete_event is not None
    assert result.complete_event["Event"] == "EndpointListComplete"
    assert int(result.complete_event["ListItems"]) == len(result.events)
    assert {e["ObjectName"] for e in result.events} == {"novofon"}
    regs = await ami.list_action("PJSIPShowRegistrationsOutbound")
    assert regs.complete_event is not None and regs.complete_event["Registered"] == "1"


async def test_endpoint_password_is_readable_but_never_shown(
    trunk: SandboxInfo, ami: AmiClient
) -> None:
    result = await ami.list_action("PJSIPShowEndpoint", Endpoint="novofon")
    (auth,) = [e for e in result.events if e["Event"] == "AuthDetail"]
    password = trunk.line_password
    assert auth["Password"] == password
    assert auth.redacted()["Password"] == "********"
    assert password not in repr(result) and password not in str(auth.to_dict())


# -- calls --------------------------------------------------------------------------------


async def test_concurrent_calls_each_get_their_own_verdict(
    trunk: SandboxInfo, ami: AmiClient
) -> None:
    numbers = list(EXPECTED)
    results = await asyncio.gather(
        *(
            originate_and_track(
                ami,
                f"Local/{n}@outgoing",
                app="Playback",
                data="hello-world",
                timeout=10,
                ring_timeout=3,
            )
            for n in numbers
        )
    )
    for number, result in zip(numbers, results, strict=True):
        got = (result.status, result.sip_code, result.q850)
        assert got == EXPECTED[number], (number, result.to_dict())
        # Every event handed to this call belongs to it: never another call's.
        for event in result.events:
            ids = {event.get(k) for k in ("Linkedid", "DestLinkedid", "Uniqueid")}
            assert result.channel_id in ids or any(c.uniqueid in ids for c in result.channels), (
                number,
                event,
            )
        assert {c.name.split("/")[0] for c in result.channels} == {"Local", "PJSIP"}
    busy = results[numbers.index("79990000486")]
    assert busy.sip_reason == "Busy Here" and busy.dial_status == "BUSY"
    assert busy.time_to_ring is not None and busy.time_to_ring < 1
    answered = results[numbers.index("79990000200")]
    assert answered.time_to_answer is not None and answered.talk_duration is not None
    assert answered.talk_duration > 1  # our Playback(hello-world) plays ~1.4 s


async def test_subscription_sees_the_calls_events(trunk: SandboxInfo, ami: AmiClient) -> None:
    with ami.subscribe({"Event": "Hangup"}) as hangups:
        result = await originate_and_track(
            ami, "Local/79990000486@outgoing", app="Playback", data="hello-world", timeout=10
        )
        seen: list[str] = []
        while len(seen) < 3:
            event = await hangups.get(timeout=5)
            if event["Linkedid"] == result.channel_id:
                seen.append(event["Channel"])
    assert sorted(n.split("/")[0] for n in seen) == ["Local", "Local", "PJSIP"]


@pytest.mark.slow
async def test_asterisk_killed_mid_call_interrupts_it_and_the_client_reconnects(
    trunk: SandboxInfo,
) -> None:
    instance = trunk.sandbox.pbx
    async with client_for(trunk, backoff=(0.2, 1.0)) as client:
        call = asyncio.ensure_future(
            originate_and_track(
                client, "Local/79990000480@outgoing", app="Playback", data="x", timeout=30
            )
        )
        with client.subscribe({"Event": "Newstate", "ChannelStateDesc": "Ringing"}) as ringing:
            await ringing.get(timeout=5)
        pid = instance.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # no Shutdown event, no Hangup: just gone
        started = time.monotonic()
        result = await asyncio.wait_for(call, 30)
        assert result.status == "interrupted", result.to_dict()
        assert time.monotonic() - started < 5
        assert result.error is not None and result.time_to_ring is not None
        await asyncio.to_thread(instance.stop)
        await asyncio.to_thread(instance.start)
        for _ in range(100):
            if client.connected:
                break
            await asyncio.sleep(0.1)
        assert client.connected and client.connections == 2
        assert (await client.command("core show version"))[0].startswith("Asterisk 22.")
