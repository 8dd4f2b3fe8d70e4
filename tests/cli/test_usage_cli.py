"""Wrong options and arguments: nothing runs, exit 2, and under --json a JSON error too
(scripts parse stdout). No Asterisk needed."""

from __future__ import annotations

import json
import subprocess

import pytest

from ._run import TRUNKCTL, run


def tk(*args: str) -> subprocess.CompletedProcess[str]:
    return run([TRUNKCTL, *args], timeout=60)


@pytest.mark.parametrize(
    ("args", "what", "command"),
    [
        (["--json", "call", "79990000200", "--bogus"], "No such option: --bogus", "trunkctl call"),
        (["call", "79990000200", "--bogus", "--json"], "No such option: --bogus", "trunkctl call"),
        (["--json", "config", "show"], "Missing argument", "trunkctl config show"),
        (["--json", "nosuchcmd"], "No such command 'nosuchcmd'", "trunkctl"),
    ],
)
def test_usage_errors_under_json_are_json(args: list[str], what: str, command: str) -> None:
    proc = tk(*args)
    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "bad_input" and what in error["what"]
    assert error["next"] == f"See `{command} --help`."
    assert "Traceback" not in proc.stderr


def test_usage_errors_in_text_are_clicks_own() -> None:
    proc = tk("call", "79990000200", "--bogus")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "No such option: --bogus" in proc.stderr and "trunkctl call --help" in proc.stderr


def test_help_and_version_still_exit_0() -> None:
    assert tk("--help").returncode == 0
    version = tk("--version")
    assert version.returncode == 0 and version.stdout.startswith("trunkctl ")
    assert tk("call", "--help").returncode == 0


def test_an_unknown_via_is_refused_before_any_credential_is_read() -> None:
    proc = tk("--json", "api", "call", "79990000200", "--via", "fax")
    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["what"] == "unknown --via 'fax'"
    assert error["next"] == "Use --via callapi, callback or auto."
