"""The lint against the real Asterisk 22 of the sandbox.

A fresh-install pbx (tests/conftest.py ``pbx`` resets it) must give no error except the
missing [outgoing]; the committed option lists must be what that Asterisk documents.
Offline rules are in test_rules_*.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from trunkctl.lint import LintFacts, lint, parse_module_list
from trunkctl.lint._asterisk_options import OPTIONS
from trunkctl.providers import get_profile

from ..conftest import SandboxInfo

pytestmark = pytest.mark.sandbox
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _rx(info: SandboxInfo, command: str) -> str:
    argv = [*info.status["pbx"]["asterisk_command"], "-rx", command]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30)
    return _ANSI.sub("", done.stdout)


def test_fresh_install_has_no_error_but_the_missing_outgoing(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    # Copy at once: other tests may reconfigure the live pbx after this one.
    etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
    facts = LintFacts(
        asterisk_version=_rx(pbx, "core show version"),
        modules=parse_module_list(_rx(pbx, "module show")),
        provider=get_profile("novofon"),
    )
    assert facts.modules is not None and "res_pjsip" in facts.modules
    assert "chan_sip" not in facts.modules
    report = lint(etc, facts=facts)
    errors = [f.rule_id for f in report.findings if f.severity == "error"]
    assert errors == ["DIAL001"], report.to_dict("en")
    assert report.files["pjsip.conf"] == report.files["manager.conf"] == "ok"


@pytest.mark.parametrize(
    ("module", "type_"),
    [
        ("res_pjsip", "endpoint"),
        ("res_pjsip", "aor"),
        ("res_pjsip", "auth"),
        ("res_pjsip", "transport"),
        ("res_pjsip_outbound_registration", "registration"),
        ("res_pjsip_endpoint_identifier_ip", "identify"),
    ],
)
def test_committed_option_lists_match_the_sandbox_asterisk(
    sandbox: SandboxInfo, module: str, type_: str
) -> None:
    out = _rx(sandbox, f"config show help {module} {type_}")
    listed = out.split("[Config Options]", 1)[1]
    names = {m.group(1) for m in re.finditer(r"^(\S+)\s+-- ", listed, flags=re.M)}
    assert names == set(OPTIONS[module][type_])
