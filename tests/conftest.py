"""Session-wide fixtures: one real sandbox per test session, a fresh pbx per test.

A test that needs the sandbox fails loudly when it cannot get it (never skips): the sandbox
is the ground truth of this suite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trunkctl.sandbox import Sandbox


@dataclass(frozen=True)
class SandboxInfo:
    """The sandbox plus its status, handy in tests."""

    sandbox: Sandbox
    status: dict[str, Any]

    @property
    def pbx_config_dir(self) -> Path:
        return Path(self.status["pbx"]["config_dir"])

    @property
    def line_login(self) -> str:
        return str(self.status["provider"]["line"]["login"])

    @property
    def line_password(self) -> str:
        return Path(self.status["provider"]["line"]["password_file"]).read_text().strip()

    @property
    def provider_sip(self) -> tuple[str, int]:
        prov = self.status["provider"]
        return prov["sip_host"], int(prov["sip_port"])

    @property
    def ami(self) -> dict[str, Any]:
        ami = dict(self.status["pbx"]["ami"])
        ami["secret"] = Path(ami["secret_file"]).read_text().strip()
        return ami

    @property
    def provider_ami(self) -> dict[str, Any]:
        ami = dict(self.status["provider"]["ami"])
        ami["secret"] = Path(ami["secret_file"]).read_text().strip()
        return ami


@pytest.fixture(scope="session")
def sandbox() -> SandboxInfo:
    """Build (once) and start the sandbox pair; an error here fails every test using it."""
    sb = Sandbox()
    status = sb.up()
    assert status["running"], json.dumps(status, indent=2)
    return SandboxInfo(sb, status)


@pytest.fixture
def pbx(sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    """The sandbox with the pbx reset to its fresh-install state (and the provider too)."""
    sandbox.sandbox.reset_pbx()
    sandbox.sandbox.reset_provider()
    yield sandbox
