"""End-to-end proof that the sandbox plays NovoFon: registration, answer, busy, verification.

The trunk here is written by hand, on purpose independent of trunkctl's own renderer
(tests/provision/ prove that one), so these tests prove the lab itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from trunkctl.ami import AmiClient, originate_and_track

from ..conftest import SandboxInfo

REGISTRATION_TRUNK = """
; hand-written NovoFon trunk, registration mode: should register and place calls
[novofon]
type = auth
auth_type = userpass
username = {login}
password = {password}

[novofon]
type = aor
contact = sip:{host}:{port}

[novofon]
type = endpoint
transport = transport-udp
context = from-novofon
disallow = all
allow = alaw,ulaw
outbound_auth = novofon
aors = novofon
from_user = {login}
from_domain = {host}

[novofon]
type = registration
transport = transport-udp
outbound_auth = novofon
server_uri = sip:{host}:{port}
client_uri = sip:{login}@{host}:{port}
retry_interval = 5
max_random_initial_delay = 1
"""

IP_TRUNK = """
; hand-written IP trunk (no credentials): the provider knows us by our address
[novofon-ip]
type = aor
contact = sip:{host}:{port}

[novofon-ip]
type = endpoint
transport = transport-udp
context = from-novofon
disallow = all
allow = alaw,ulaw
aors = novofon-ip
"""

DIALPLAN = r"""
[outgoing]
exten => _X.,1,Dial(PJSIP/${{EXTEN}}@{endpoint},20)
 same => n,Hangup()

[from-novofon]
exten => _X.,1,Hangup()
"""


def _install(pbx: SandboxInfo, pjsip: str, endpoint: str) -> None:
    host, port = pbx.provider_sip
    fields = {"login": pbx.line_login, "password": pbx.line_password, "host": host, "port": port}
    with (pbx.pbx_config_dir / "pjsip.conf").open("a") as fh:
        fh.write(pjsip.format(**fields))
    with (pbx.pbx_config_dir / "extensions.conf").open("a") as fh:
        fh.write(DIALPLAN.format(endpoint=endpoint))
    pbx.sandbox.pbx.rx("module reload res_pjsip.so")
    pbx.sandbox.pbx.rx("dialplan reload")


@pytest.fixture
async def ami(pbx: SandboxInfo) -> AsyncIterator[AmiClient]:
    a = pbx.ami
    async with AmiClient(
        a["host"], a["port"], a["username"], a["secret"], events=("call", "user", "system")
    ) as client:
        yield client


@pytest.fixture
def registered(pbx: SandboxInfo) -> SandboxInfo:
    _install(pbx, REGISTRATION_TRUNK, "novofon")
    assert pbx.sandbox.wait_registered(20), pbx.sandbox.pbx.rx("pjsip show registrations")
    return pbx


def test_pbx_registers_to_the_provider(registered: SandboxInfo) -> None:
    contacts = registered.sandbox.provider.rx("pjsip show contacts")
    # The provider's registrar now holds the pbx's contact for the line, from 127.0.0.2.
    assert f"{registered.line_login}/sip:" in contacts and "127.0.0.2" in contacts


async def test_answering_number_is_answered(registered: SandboxInfo, ami: AmiClient) -> None:
    result = await originate_and_track(
        ami, "Local/79990000200@outgoing", app="Playback", data="hello-world", timeout=20
    )
    assert result.status == "answered", result.to_dict()
    trunk = [c for c in result.channels if c.name.startswith("PJSIP/novofon-")]
    assert trunk and trunk[0].answered_at is not None
    assert result.talk_duration is not None and result.talk_duration >= 1.0


async def test_busy_number_ends_with_sip_486(registered: SandboxInfo, ami: AmiClient) -> None:
    result = await originate_and_track(
        ami, "Local/79990000486@outgoing", app="Playback", data="hello-world", timeout=20
    )
    assert result.status == "busy", result.to_dict()
    hangups = [
        e
        for e in result.events
        if e.get("Event") == "Hangup" and (e.get("Channel") or "").startswith("PJSIP/")
    ]
    assert hangups, "no Hangup event of the PJSIP leg"
    assert hangups[0].get("TechCause") == "486" and hangups[0].get("Cause") == "17"
    assert result.sip_code == 486 and result.q850 == 17


async def test_unverified_ip_trunk_gives_403_then_200(pbx: SandboxInfo, ami: AmiClient) -> None:
    _install(pbx, IP_TRUNK, "novofon-ip")
    pbx.sandbox.set_ip_verified(False)
    try:
        before = await originate_and_track(
            ami, "Local/79990000200@outgoing", app="Playback", data="hello-world", timeout=20
        )
        assert before.sip_code == 403 and before.status == "rejected", before.to_dict()
        assert pbx.sandbox.ip_verified() is False

        verification = await originate_and_track(
            ami, "Local/79991234567@outgoing", app="Playback", data="hello-world", timeout=20
        )
        assert verification.status == "answered", verification.to_dict()
        assert pbx.sandbox.ip_verified() is True

        after = await originate_and_track(
            ami, "Local/79990000200@outgoing", app="Playback", data="hello-world", timeout=20
        )
        assert after.status == "answered", after.to_dict()
    finally:
        pbx.sandbox.set_ip_verified(True)


def test_ip_trunk_refuses_other_addresses(pbx: SandboxInfo) -> None:
    # Only the termination address (127.0.0.2) is the IP trunk: the provider's identify
    # matches nothing else.
    out = pbx.sandbox.provider.rx("pjsip show identifies")
    assert "127.0.0.2/32" in out and "127.0.0.1" not in out.split("Identify:", 1)[-1]
