"""The sandbox's NovoFon API emulator for tests: start it (idempotent), settings that point
at it, a registered pbx, and the line password kept as it was.

Used by tests/novofon/test_sandbox_emulator.py (library) and tests/cli/test_api_cli.py
(the real ``trunkctl`` command).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkctl.conf import ConfigDir
from trunkctl.novofon import CallReportRow, DataApiClient, NovofonConfig, load_novofon_config
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import apply, plan_setup
from trunkctl.sandbox import Sandbox
from trunkctl.sandbox._emulator import emulator_settings_toml, start_emulator
from trunkctl.secret import Secret
from trunkctl.settings import load_settings

from ..conftest import SandboxInfo


@dataclass(frozen=True)
class EmulatorInfo:
    """The running emulator, its status, and a settings file whose [novofon] points at it."""

    sandbox: SandboxInfo
    status: dict[str, Any]
    settings_file: Path

    @property
    def url(self) -> str:
        return str(self.status["url"])

    @property
    def line(self) -> str:
        return str(self.status["line"]["login"])

    def secret(self, name: str) -> str:
        return Path(self.status["account"][name]).read_text().strip()

    def conf(self, **kw: Any) -> NovofonConfig:
        return load_novofon_config(self.settings_file, environ={}, **kw)


def emulator_info(sandbox: SandboxInfo, folder: Path) -> EmulatorInfo:
    """Start the emulator (a no-op when ``sandbox up`` already did) and describe it.

    Until ``sandbox up`` writes the [novofon] table itself, the settings file used is the
    sandbox's plus :func:`emulator_settings_toml`.
    """
    status = start_emulator(sandbox.sandbox)
    assert status["running"], status
    base = Path(sandbox.status["settings_file"])
    text = base.read_text()
    if "[novofon]" in text:
        return EmulatorInfo(sandbox, status, base)
    combined = folder / "settings.toml"
    combined.write_text(text + "\n" + emulator_settings_toml(sandbox.sandbox))
    combined.chmod(0o600)
    return EmulatorInfo(sandbox, status, combined)


def settings_uses_sandbox_file(info: EmulatorInfo) -> bool:
    """True once `sandbox up` writes [novofon] itself (then `--sandbox` is the way in)."""
    return info.settings_file == Path(info.sandbox.status["settings_file"])


async def register_pbx(sb: SandboxInfo, password: str | None = None) -> str:
    """Write the NovoFon trunk into the pbx (registration mode) and apply it.

    Returns what the fresh REGISTER ended as (``Registered``, ``Rejected``...).
    """
    host, port = sb.provider_sip
    spec = TrunkSpec(
        profile=PROFILES["novofon"].with_server(host, port, None),
        mode="registration",
        login=sb.line_login,
        password=Secret(password if password is not None else sb.line_password),
    )
    cfg = ConfigDir(sb.pbx_config_dir)
    with cfg.transaction() as tx:
        plan_setup(tx, render_trunk(spec), force=True)
        tx.commit()
    result = await apply(load_settings(Path(sb.status["settings_file"])))
    return result.registrations.get("novofon", "none")


@contextmanager
def line_password_kept(sandbox: Sandbox) -> Iterator[str]:
    """Yield the line password as found; put it back afterwards if anything changed it.

    ``Sandbox.set_line_password`` rewrites the secrets file that ``reset_provider``
    restores from, so the original is kept here and set again explicitly.
    """
    original = sandbox.line_password_file.read_text().strip()
    try:
        yield original
    finally:
        if sandbox.line_password_file.read_text().strip() != original:
            sandbox.set_line_password(original)


def report_window() -> tuple[str, str]:
    """A calls-report window around now (UTC stamps, as the emulator reads them)."""
    now = time.time()
    fmt = "%Y-%m-%d %H:%M:%S"
    return time.strftime(fmt, time.gmtime(now - 3600)), time.strftime(fmt, time.gmtime(now + 3600))


async def finished_call(
    data: DataApiClient, external_id: str, timeout: float = 20.0
) -> CallReportRow:
    """Poll the calls report until the call with ``external_id`` has ended."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await data.calls_report(*report_window(), external_id=external_id)
        if rows and rows[-1].finish_time:
            return rows[-1]
        assert time.monotonic() < deadline, f"no finished call {external_id}: {rows}"
        await asyncio.sleep(0.3)
