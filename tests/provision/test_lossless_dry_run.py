"""`setup --dry-run` and `credentials set --dry-run` leave nothing behind, not even the lock.

Through the CLI on the sandbox (the flags live there); what a real setup writes is in
test_lossless_setup.py and tests/cli/test_trunk_cli.py.
"""

from __future__ import annotations

import subprocess

from ..cli._run import TRUNKCTL, run
from ..conftest import SandboxInfo


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run([TRUNKCTL, "--sandbox", "--lang", "en", *args], stdin=stdin)


def test_dry_runs_leave_no_lock_file(pbx: SandboxInfo) -> None:
    folder = pbx.pbx_config_dir
    (folder / ".trunkctl.lock").unlink(missing_ok=True)
    before = sorted(p.name for p in folder.iterdir())
    out = tk("setup", "--mode", "ip", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "+[novofon]" in out.stdout
    out = tk(
        "setup",
        "--login",
        pbx.line_login,
        "--password-stdin",
        "--caller-id",
        "79581114585",
        "--dry-run",
        stdin=pbx.line_password + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in folder.iterdir()) == before
    assert not (folder / ".trunkctl.lock").exists()


def test_credentials_dry_run_leaves_no_lock_file(pbx: SandboxInfo) -> None:
    folder = pbx.pbx_config_dir
    setup = tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=pbx.line_password)
    assert setup.returncode == 0, setup.stderr
    # The lock file exists only while held (conf/_files.py): a real run leaves none.
    assert not (folder / ".trunkctl.lock").exists()
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    out = tk(
        "credentials",
        "set",
        "--login",
        pbx.line_login,
        "--password-stdin",
        "--dry-run",
        stdin="Another-secret-123\n",
    )
    assert out.returncode == 0, out.stderr
    assert "Dry run" in out.stdout
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
