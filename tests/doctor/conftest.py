"""Helpers for the doctor tests: trunks on the sandbox pbx, written by the provision library.

``healthy`` is the pbx with a registration trunk set up and applied the way `trunkctl setup`
and `apply` do it, registered at the emulated NovoFon (tests/provision/test_setup_apply.py
has the same helpers' own tests).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from trunkctl.provision import apply
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from ..provision.test_setup_apply import settings_of, setup, spec_for
from ..sip.conftest import Sipp

CALLER_ID = "79581114585"


def sandbox_settings(pbx: SandboxInfo) -> Settings:
    """The settings `trunkctl --sandbox` uses."""
    return settings_of(pbx)


async def set_up(pbx: SandboxInfo, mode: str = "registration", **kw: object) -> Settings:
    """Write a trunk with the provision library and apply it; wait for the registration."""
    setup(pbx, spec_for(pbx, mode, caller_id=CALLER_ID, **kw))
    settings = settings_of(pbx)
    result = await apply(settings)
    assert result.ok, result.to_dict()
    if mode == "registration":
        assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    # The sandbox writes pjsip.conf 0644 and setup keeps that mode while adding the trunk's
    # password: CONF005 rightly warns. Do what its fix says, as a user would.
    (pbx.pbx_config_dir / "pjsip.conf").chmod(0o640)
    return settings


def pending_warnings(config_dir: Path) -> set[str]:
    """Lint warnings a healthy trunkctl trunk may still get from other parts of trunkctl:
    PJSIP027 until setup writes ``identify_by = ip`` on the trunk's endpoint."""
    text = (config_dir / "pjsip.conf").read_text()
    return set() if re.search(r"^identify_by\s*=", text, re.M) else {"PJSIP027"}


@pytest.fixture
async def healthy(pbx: SandboxInfo) -> SandboxInfo:
    """The pbx with a registered NovoFon trunk (caller ID 79581114585)."""
    await set_up(pbx)
    return pbx


def write_conf(directory: Path, **files: str) -> Path:
    """Write ``pjsip_conf=...`` style keyword texts as files of a config dir."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_conf", ".conf")).write_text(text)
        (directory / name.replace("_conf", ".conf")).chmod(0o640)
    return directory


@pytest.fixture
def sipp(tmp_path: Path) -> Sipp:
    """SIPp playing the provider (tests/sip/conftest.py's launcher and scenarios)."""
    return Sipp(tmp_path)
