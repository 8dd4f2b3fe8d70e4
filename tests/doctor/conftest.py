"""Helpers for the doctor tests: trunks on the sandbox pbx, written by the provision library.

``healthy`` is the pbx with a registration trunk set up and applied the way `trunkctl setup`
and `apply` do it, registered at the emulated NovoFon (tests/provision/test_setup_apply.py
has the same helpers' own tests).
"""

from __future__ import annotations

import asyncio
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
    return settings


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
