"""Session-wide fixtures: one real sandbox per test session, a fresh pbx per test.

A test that needs the sandbox fails loudly when it cannot get it (never skips): the sandbox
is the ground truth of this suite.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from trunkctl.sandbox import Sandbox

# CI (CI=true) runs every property test on a fixed, seed-derived set of examples, so a
# submission passes or fails on its own merits; runs elsewhere explore new examples each
# time, and what they find becomes a named regression test.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


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
        """The pbx's AMI as the lab's admin user (Command, PJSIPShow*): tests drive the pbx
        with it; trunkctl itself (``--sandbox`` settings) logs in as the narrow "trunkctl"."""
        ami = dict(self.status["pbx"]["ami_admin"])
        ami["secret"] = Path(ami["secret_file"]).read_text().strip()
        return ami

    @property
    def provider_ami(self) -> dict[str, Any]:
        ami = dict(self.status["provider"]["ami"])
        ami["secret"] = Path(ami["secret_file"]).read_text().strip()
        return ami


def option_pattern(key: str, value: str) -> re.Pattern[str]:
    """A ``key = value`` line in whatever spacing the file uses.

    trunkctl writes in the file's own style: the stock pjsip.conf's is ``key=value``.
    """
    return re.compile(rf"^{re.escape(key)}[ \t]*=[ \t]*{re.escape(value)}[ \t]*$", re.M)


def has_option(text: str, key: str, value: str) -> bool:
    """True when ``text`` has a ``key = value`` line (any spacing)."""
    return option_pattern(key, value).search(text) is not None


def count_option(text: str, key: str, value: str) -> int:
    """How many ``key = value`` lines ``text`` has (any spacing)."""
    return len(option_pattern(key, value).findall(text))


def replace_option(text: str, key: str, old: str, new: str, count: int = 0) -> str:
    """``text`` with its ``key = old`` lines set to ``new``, spacing kept; at least one."""
    pattern = re.compile(rf"^({re.escape(key)}[ \t]*=[ \t]*){re.escape(old)}([ \t]*)$", re.M)
    result, n = pattern.subn(lambda m: m.group(1) + new + m.group(2), text, count=count)
    assert n, f"no {key} = {old} line"
    return result


def squash(text: str) -> str:
    """``text`` with the blanks around ``=`` and ``=>`` removed, line by line.

    For comparing dialplan and option lines whatever style the file uses: the stock
    extensions.conf writes ``same=>n,…``, a hand-written one ``same => n,…``.
    """
    return re.sub(r"[ \t]*(=>|=)[ \t]*", r"\1", text)


def cdr_position(info: SandboxInfo) -> int:
    """Where the pbx's CDR file (the package's cdr_csv, Master.csv) ends now."""
    try:
        return info.sandbox.pbx.cdr_file.stat().st_size
    except FileNotFoundError:
        return 0


def inbound_cdrs(info: SandboxInfo, position: int, wait: float = 5.0) -> list[list[str]]:
    """CDR rows added since ``position`` of calls that came in over a trunk.

    The stock logger keeps no verbose lines, so a finished inbound call is proven by its CDR
    (dcontext ``from-<trunk>``, channel ``PJSIP/<trunk>-…``), written when it hangs up.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            with info.sandbox.pbx.cdr_file.open("rb") as fh:
                fh.seek(position)
                added = fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            added = ""
        rows = [r for r in csv.reader(io.StringIO(added)) if len(r) > 5]
        inbound = [r for r in rows if r[3].startswith("from-") and r[5].startswith("PJSIP/")]
        if inbound or time.monotonic() > deadline:
            return inbound
        time.sleep(0.1)


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
