"""Fixtures for calls on the sandbox: the real NovoFon-style trunk, and the provider's view.

The trunk is set up exactly as a user would (tests/provision/test_setup_apply.py: spec_for +
setup + apply, registration mode), so calls take the generated `outgoing` context with its
UserEvent. The provider's own AMI tells what really reached it: one Newchannel per INVITE.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient, Message
from trunkctl.provision import apply
from trunkctl.sandbox import TEST_NUMBERS
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from ..provision.test_setup_apply import settings_of, setup, spec_for

# The provider answers any number outside its table with 404 at once (sandbox/_configs.py),
# so numbers no other test dials are easy to make: 7999 + 7 random digits, avoiding the table.
_TABLE = {t.number for t in TEST_NUMBERS}


# Test-only dialplan appended after trunkctl's own: a second before the real `outgoing`
# context, so that calls stay in progress long enough to be limited, stopped or killed.
SLOW_OUT = """
[slow-out]
exten => _X.,1,Wait(1)
 same => n,Goto(outgoing,${EXTEN},1)
"""


def unique_numbers(count: int) -> list[str]:
    """``count`` distinct valid Russian mobile numbers no test number collides with."""
    out: set[str] = set()
    while len(out) < count:
        n = f"7999{secrets.randbelow(10**7):07d}"
        if n not in _TABLE and not n.startswith("79990000"):
            out.add(n)
    return sorted(out)


async def install_trunk(pbx: SandboxInfo, *, extra_dialplan: str = "") -> Settings:
    """setup + apply the registration trunk (and any extra contexts); wait until registered."""
    setup(pbx, spec_for(pbx))
    if extra_dialplan:
        with (pbx.pbx_config_dir / "extensions.conf").open("a") as fh:
            fh.write(extra_dialplan)
    settings = settings_of(pbx)
    result = await apply(settings)
    assert result.ok, result.to_dict()
    assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    return settings


@pytest.fixture
async def trunk(pbx: SandboxInfo) -> Settings:
    """The pbx with the NovoFon trunk set up by trunkctl's own setup + apply."""
    return await install_trunk(pbx)


class ProviderView:
    """INVITEs that reached the provider, per dialled number (its Newchannel events)."""

    def __init__(self) -> None:
        self.invites: Counter[str] = Counter()
        self.arrivals: list[tuple[float, str]] = []

    def on_event(self, msg: Message) -> None:
        channel = msg.get("Channel") or ""
        if msg.get("Event") == "Newchannel" and channel.startswith("PJSIP/"):
            number = msg.get("Exten") or ""
            self.invites[number] += 1
            self.arrivals.append((time.monotonic(), number))

    def on_connection_lost(self, error: object) -> None:
        raise AssertionError(f"lost the provider's AMI: {error}")


@pytest.fixture
async def provider_view(pbx: SandboxInfo) -> AsyncIterator[ProviderView]:
    """Count what reaches the provider while the test runs."""
    a = pbx.provider_ami
    view = ProviderView()
    async with AmiClient(a["host"], a["port"], a["username"], a["secret"], events=("call",)) as c:
        c.add_listener(view)
        yield view


def add_ami_user(pbx: SandboxInfo, name: str, *, read: str, write: str) -> str:
    """A restricted AMI user appended to the pbx's manager.conf (the `pbx` fixture resets
    the file for the next test); returns its secret."""
    secret = secrets.token_urlsafe(12)
    with (pbx.pbx_config_dir / "manager.conf").open("a") as fh:
        fh.write(
            f"\n[{name}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
            f"permit = 127.0.0.0/255.0.0.0\nread = {read}\nwrite = {write}\n"
        )
    pbx.sandbox.pbx.rx("manager reload")
    return secret


def write_list(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
