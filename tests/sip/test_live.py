"""trunkctl.sip against the sandbox's emulated NovoFon: a real Asterisk 22 (res_pjsip).

The ground truth behind test_sipp.py's scenarios: what Asterisk answers to OPTIONS and to
REGISTER with right, wrong and unknown credentials, and what a probe does to the PBX's own
registration on a line that keeps one contact. We probe from 127.0.0.2, the PBX's
address, which the provider knows as the IP trunk's termination address. The CLI's
re-registration after ``--bind``: tests/cli/test_probe_cli.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from trunkctl.sip import SipAuthError, diagnose_nat, options, register_check

from ..conftest import SandboxInfo
from .conftest import PBX_IP, leave_pbx_registered, line_contacts, register_pbx

# An address the provider knows nothing about.
STRANGER_IP = "127.0.0.3"

pytestmark = pytest.mark.sandbox


@pytest.fixture
def provider(sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    """The running sandbox; afterwards the pbx re-registers any line our REGISTER displaced.

    The provider's line keeps one contact (max_contacts=1, remove_existing=yes), like a
    real provider may: registering there as the line removes the PBX's own binding.
    """
    yield sandbox
    sandbox.sandbox.pbx.rx("pjsip send register *all")


async def test_options_to_provider(provider: SandboxInfo) -> None:
    host, port = provider.provider_sip
    result = await options(host, port, local_address=PBX_IP, timeout=3)
    assert result.outcome == "answered", result.to_dict()
    assert (result.status_code, result.reason) == (200, "OK")
    assert result.server  # Asterisk's user_agent
    assert {"OPTIONS", "REGISTER", "INVITE"} <= set(result.allow)
    assert result.latency_ms is not None and result.latency_ms < 500
    # Asterisk fills in received/rport: it sees us at our own loopback address and port.
    assert result.seen_address == result.local_address
    termination = provider.status["provider"]["ip_trunk"]["termination_address"]
    nat = diagnose_nat(
        result.seen_address, local=result.local_address, termination_addresses=[termination]
    )
    assert nat.ok and [f.code for f in nat.findings] == ["no_nat", "termination_matches"]


@pytest.fixture
async def trunk(pbx: SandboxInfo) -> AsyncIterator[list[str]]:
    """The pbx registered over trunkctl's own trunk; yields the provider's contacts for
    the line (the pbx's one binding). Afterwards the pbx must be registered again."""
    bound = await register_pbx(pbx)
    yield bound
    await leave_pbx_registered(pbx, bound)


async def test_register_query_leaves_the_pbx_registered(pbx: SandboxInfo, trunk: list[str]) -> None:
    host, port = pbx.provider_sip
    result = await register_check(
        host, port, username=pbx.line_login, password=pbx.line_password,
        local_address=PBX_IP, timeout=3,
    )  # fmt: skip
    assert result.outcome == "registered", result.to_dict()
    assert [s.status_code for s in result.steps] == [401, 200]
    assert (result.challenge_code, result.realm) == (401, pbx.status["provider"]["realm"])
    assert result.algorithm == "MD5"
    assert result.seen_address == result.local_address
    # Asterisk listed the pbx's binding in its 200 and kept it: nothing was displaced.
    assert [b.uri for b in result.bindings] == trunk
    assert all(b.expires is not None and 0 < b.expires <= 300 for b in result.bindings)
    assert result.displaced == [] and result.unregistered
    assert await line_contacts(pbx) == trunk


async def test_register_bind_displaces_the_pbx_binding_and_says_so(
    pbx: SandboxInfo, trunk: list[str]
) -> None:
    # The reason --bind is not the default: max_contacts=1 + remove_existing=yes replaces
    # the pbx's binding, and our unregister leaves the line with none.
    host, port = pbx.provider_sip
    result = await register_check(
        host, port, username=pbx.line_login, password=pbx.line_password,
        local_address=PBX_IP, timeout=3, bind=True,
    )  # fmt: skip
    assert result.outcome == "registered", result.to_dict()
    assert [s.status_code for s in result.steps] == [401, 200, 200, 200]
    # Asterisk accepted the cached nonce again with nc=2 and nc=3.
    assert [s.credentials and s.credentials["nc"] for s in result.steps] == [
        None, "00000001", "00000002", "00000003",
    ]  # fmt: skip
    assert result.unregistered
    assert [b.uri for b in result.displaced or []] == trunk
    assert result.bindings == [] and await line_contacts(pbx) == []


async def test_register_with_a_wrong_password(provider: SandboxInfo) -> None:
    host, port = provider.provider_sip
    result = await register_check(
        host, port, username=provider.line_login, password="not-the-password",
        local_address=PBX_IP, timeout=3,
    )  # fmt: skip
    assert result.outcome in ("auth_failed", "forbidden"), result.to_dict()
    assert result.final_code in (401, 403)
    assert [s.credentials is not None for s in result.steps] == [False, True]
    assert isinstance(result.error, SipAuthError)
    assert result.unregister_code is None


async def test_register_unknown_user_from_an_unknown_host(provider: SandboxInfo) -> None:
    # From an address the provider does not know, Asterisk challenges an unknown user with
    # an artificial auth and refuses it with a new 401, exactly like a wrong password: the
    # probe must not claim more than that.
    host, port = provider.provider_sip
    result = await register_check(
        host, port, username="0000000", password="whatever", local_address=STRANGER_IP,
        timeout=3,
    )  # fmt: skip
    assert result.outcome == "auth_failed", result.to_dict()
    assert [s.status_code for s in result.steps] == [401, 401]
    assert isinstance(result.error, SipAuthError)
    assert result.error.next_step is not None and "unknown" in result.error.next_step.en


async def test_register_unknown_user_from_the_trunk_address(provider: SandboxInfo) -> None:
    # From the termination address the request matches the IP trunk endpoint, which has no
    # AOR: Asterisk answers 403 at once ("has no configured AORs"), with no challenge.
    host, port = provider.provider_sip
    result = await register_check(
        host, port, username="0000000", password="whatever", local_address=PBX_IP, timeout=3
    )
    assert result.outcome == "forbidden", result.to_dict()
    assert [(s.status_code, s.credentials) for s in result.steps] == [(403, None)]
    assert isinstance(result.error, SipAuthError)
    assert result.error.next_step is not None and "does not know the login" in (
        result.error.next_step.en
    )
