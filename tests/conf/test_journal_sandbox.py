"""The issue's own case on the sandbox: `trunkctl setup` SIGKILLed in the middle of its
commit (pjsip.conf written, extensions.conf not) must not leave two files from two runs;
the next command that takes the config dir's lock puts the set back and says so.
"""

from __future__ import annotations

import os
import signal
import subprocess

from tests.cli._run import TRUNKCTL, js, run

from ..conftest import SandboxInfo

FILES = ("pjsip.conf", "extensions.conf")


def tk(
    *args: str, stdin: str | None = None, kill_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if kill_at is not None:
        env["TRUNKCTL_TEST_KILL_AT"] = kill_at
    return run([TRUNKCTL, "--sandbox", "--lang", "en", *args], stdin=stdin, env=env)


def test_setup_killed_between_its_two_files_is_rolled_back_by_the_next_command(
    pbx: SandboxInfo,
) -> None:
    d = pbx.pbx_config_dir
    assert tk("init", "--json").returncode == 0
    before = {f: (d / f).read_bytes() for f in FILES}
    setup = ("setup", "--login", pbx.line_login, "--password-stdin", "--json")
    killed = tk(*setup, stdin=pbx.line_password + "\n", kill_at="write-1")
    assert killed.returncode == -signal.SIGKILL
    assert (d / "pjsip.conf").read_bytes() != before["pjsip.conf"]  # one file of the new run
    assert (d / "extensions.conf").read_bytes() == before["extensions.conf"]
    # The next command that takes the lock (a dry run here) repairs first and says so.
    dry = tk(*setup, "--dry-run", stdin=pbx.line_password + "\n")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "interrupted commit of pjsip.conf, extensions.conf" in dry.stderr
    assert "rolled back" in dry.stderr
    assert {f: (d / f).read_bytes() for f in FILES} == before
    assert not (d / ".trunkctl.lock").exists()  # the dry run left no lock file behind
    # A full setup now writes both files of one run.
    done = tk(*setup, stdin=pbx.line_password + "\n")
    assert done.returncode == 0, done.stderr
    assert js(done)["changed"] == list(FILES)
    assert all((d / f).read_bytes() != before[f] for f in FILES)
