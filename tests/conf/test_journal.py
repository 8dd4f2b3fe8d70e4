"""Crash-consistent multi-file commits: the intent journal and its recovery.

A commit runs in a child process that SIGKILLs itself at one named step (the test seam
``TRUNKCTL_TEST_KILL_AT``); the next lock of the directory must leave every file wholly old
or wholly new and the *set* consistent, and say what it did. Also: a replace that fails on
the second file, ENOSPC in the lock itself, and a read-only run that leaves nothing behind.
Needs root (tmpfs mounts, chattr).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli._run import TRUNKCTL, run
from trunkctl.conf import ConfigDir, ConfRecoveryError, Recovery
from trunkctl.errors import ConfWriteError

OLD = {
    "pjsip.conf": b"; run 1\n[novofon]\ntype=endpoint\ncontext=from-novofon-1\n",
    "extensions.conf": b"; run 1\n[from-novofon-1]\nexten => _X.,1,Answer()\n",
    "rtp.conf": None,  # absent before the commit: after a roll back it must be absent again
}
NEW = {
    "pjsip.conf": b"; run 2\n[novofon]\ntype=endpoint\ncontext=from-novofon-2\n",
    "extensions.conf": b"; run 2\n[from-novofon-2]\nexten => _X.,1,Hangup()\n",
    "rtp.conf": b"; run 2\n[general]\nrtpstart=10000\n",
}
NAMES = tuple(OLD)

_CHILD = """
import sys
from trunkctl.conf import ConfigDir
new = {k: bytes.fromhex(v) for k, v in (a.split("=") for a in sys.argv[3:])}
with ConfigDir(sys.argv[1]).transaction() as tx:
    for name, data in new.items():
        tx.stage(name, data)
    tx.commit()
    if sys.argv[2] == "rollback":
        tx.rollback()
"""


def _seed(d: Path) -> None:
    for name, data in OLD.items():
        if data is not None:
            (d / name).write_bytes(data)


def _state(d: Path) -> dict[str, bytes | None]:
    return {n: (d / n).read_bytes() if (d / n).exists() else None for n in NAMES}


def _commit_killed_at(d: Path, step: str, then: str = "") -> int:
    argv = [f"{n}={v.hex()}" for n, v in NEW.items()]
    env = {**os.environ, "TRUNKCTL_TEST_KILL_AT": step}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(d), then, *argv], env=env, timeout=60, check=False
    )
    return proc.returncode


# step → (what the next lock does, which files it restores, the set it leaves)
COMMIT_STEPS: dict[str, tuple[str | None, tuple[str, ...], dict[str, bytes | None]]] = {
    "backup-1": (None, (), OLD),
    "backup-2": (None, (), OLD),
    "backup-3": (None, (), OLD),
    "journal": ("rolled_back", (), OLD),
    "tmp-1": ("rolled_back", (), OLD),
    "write-1": ("rolled_back", ("pjsip.conf",), OLD),
    "tmp-2": ("rolled_back", ("pjsip.conf",), OLD),
    "write-2": ("rolled_back", ("pjsip.conf", "extensions.conf"), OLD),
    "tmp-3": ("rolled_back", ("pjsip.conf", "extensions.conf"), OLD),
    "write-3": ("completed", (), NEW),
    "journal-removed": (None, (), NEW),
}
# kill points inside Transaction.rollback() (undo runs newest first: rtp.conf is deleted first)
ROLLBACK_STEPS: dict[str, tuple[str | None, tuple[str, ...], dict[str, bytes | None]]] = {
    "undo-1": ("rolled_back", ("pjsip.conf", "extensions.conf"), OLD),
    "undo-2": ("rolled_back", ("pjsip.conf",), OLD),
    "undo-3": ("rolled_back", (), OLD),
}


def _check_recovered(
    d: Path, want: tuple[str | None, tuple[str, ...], dict[str, bytes | None]]
) -> None:
    action, restored, final = want
    cfg = ConfigDir(d)
    rec = cfg.recover()
    assert _state(d) == final
    if action is None:
        assert rec is None
    else:
        assert isinstance(rec, Recovery)
        assert (rec.action, rec.restored, rec.files, rec.left) == (action, restored, NAMES, ())
        msg = rec.message()
        assert "pjsip.conf, extensions.conf, rtp.conf" in msg.en and msg.ru
        assert ("rolled back" if action == "rolled_back" else "completed") in msg.en
        assert json.dumps(rec.to_dict())  # reportable as --json
    assert not cfg.journal_path.exists()
    assert not (d / ".trunkctl.lock").exists()
    assert [p.name for p in d.rglob("*") if "trunkctl-tmp" in p.name] == []
    assert ConfigDir(d).recover() is None  # done once, for good
    for b in cfg.backups():  # every backup is a whole version
        assert b.read() in (OLD[b.name], NEW[b.name])


@pytest.mark.slow
@pytest.mark.parametrize("step", list(COMMIT_STEPS))
def test_sigkill_at_every_commit_step_leaves_a_consistent_set(tmp_path: Path, step: str) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, step) == -signal.SIGKILL  # the kill point fired
    _check_recovered(tmp_path, COMMIT_STEPS[step])


@pytest.mark.slow
@pytest.mark.parametrize("step", list(ROLLBACK_STEPS))
def test_sigkill_inside_a_rollback_is_finished_by_the_next_lock(tmp_path: Path, step: str) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, step, "rollback") == -signal.SIGKILL
    _check_recovered(tmp_path, ROLLBACK_STEPS[step])


def test_without_a_kill_the_commit_completes_and_leaves_no_journal(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, "no-such-step") == 0
    _check_recovered(tmp_path, (None, (), NEW))


def test_the_journal_names_files_digests_and_backups_privately(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, "write-1") == -signal.SIGKILL
    cfg = ConfigDir(tmp_path)
    path = cfg.journal_path
    assert path.parent == cfg.backup_dir  # next to the backups, not among the user's files
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    journal = json.loads(path.read_bytes())
    assert [e["name"] for e in journal["files"]] == list(NAMES)
    for e in journal["files"]:
        old = OLD[e["name"]]
        assert e["old"] == (None if old is None else hashlib.sha256(old).hexdigest())
        assert e["new"] == hashlib.sha256(NEW[e["name"]]).hexdigest()
        assert (cfg.backup_dir / e["backup"]).read_bytes() == (old or b"")
    assert journal["pid"] > 0 and journal["started"].endswith("Z")
    # Any transaction start repairs it and keeps the report for the caller to print.
    with cfg.transaction():
        pass
    assert [r.action for r in cfg.recoveries] == ["rolled_back"]
    assert _state(tmp_path) == OLD
    # The unfinished new text is kept as a backup too (a roll back can be undone by hand).
    assert NEW["pjsip.conf"] in [b.read() for b in cfg.backups("pjsip.conf")]


def test_a_file_edited_after_the_crash_is_left_alone_and_named(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, "write-2") == -signal.SIGKILL
    (tmp_path / "extensions.conf").write_bytes(b"; fixed by hand\n")
    rec = ConfigDir(tmp_path).recover()
    assert rec is not None and rec.action == "rolled_back"
    assert rec.restored == ("pjsip.conf",) and rec.left == ("extensions.conf",)
    assert "left as they are: extensions.conf" in rec.message().en
    assert (tmp_path / "extensions.conf").read_bytes() == b"; fixed by hand\n"
    assert (tmp_path / "pjsip.conf").read_bytes() == OLD["pjsip.conf"]


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_replace_failing_on_the_second_file_restores_the_first(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "imm", "1m") as d:
        _seed(d)
        subprocess.run(["chattr", "+i", str(d / "extensions.conf")], check=True)
        try:
            cfg = ConfigDir(d)
            with cfg.transaction() as tx:
                for name in ("pjsip.conf", "extensions.conf"):
                    tx.stage(name, NEW[name])
                with pytest.raises(ConfWriteError) as err:
                    tx.commit()
            assert "extensions.conf" in err.value.what.en and "immutable" in err.value.what.en
            assert err.value.exit_code == 4
            assert _state(d) == OLD
            assert not cfg.journal_path.exists()
            assert cfg.recover() is None
        finally:
            subprocess.run(["chattr", "-i", str(d / "extensions.conf")], check=True)


def _fill(d: Path) -> None:
    fd = os.open(d / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 1024)
    finally:
        os.close(fd)
    assert os.statvfs(d).f_bavail == 0


def test_enospc_in_the_lock_is_the_typed_write_error(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "full", "16k") as d:
        (d / "pjsip.conf").write_bytes(b"[a]\n")
        _fill(d)
        with pytest.raises(ConfWriteError) as err:
            ConfigDir(d).write("pjsip.conf", b"[b]\n")
        assert "full" in err.value.what.en and err.value.exit_code == 4
        assert (d / "pjsip.conf").read_bytes() == b"[a]\n"
        assert not (d / ".trunkctl.lock").exists()


def test_enospc_from_the_cli_is_exit_4_not_an_internal_error(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "full", "16k") as d:
        (d / "pjsip.conf").write_bytes(b"[a]\n")
        ConfigDir(d).write("pjsip.conf", b"[b]\n")  # a backup to restore
        _fill(d)
        proc = run([TRUNKCTL, "config", "restore", "pjsip.conf", "--config-dir", str(d), "--json"])
        assert proc.returncode == 4, (proc.stdout, proc.stderr)
        assert "internal" not in (proc.stdout + proc.stderr).lower()
        assert (d / "pjsip.conf").read_bytes() == b"[b]\n"


def test_a_read_only_run_leaves_nothing_in_the_config_dir(tmp_path: Path) -> None:
    _seed(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    cfg = ConfigDir(tmp_path)
    with cfg.transaction() as tx:  # a dry run: stage, diff, never commit
        tx.stage("pjsip.conf", NEW["pjsip.conf"])
        assert "+; run 2" in tx.diff()
        assert (tmp_path / ".trunkctl.lock").exists()  # held while in use
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_the_lock_still_serialises_when_its_file_is_removed_on_release(tmp_path: Path) -> None:
    # A waiter that opened the old lock file must not share the lock with a newcomer.
    (tmp_path / "n.conf").write_text("0")
    code = (
        "import sys\n"
        "from trunkctl.conf import ConfigDir\n"
        "c = ConfigDir(sys.argv[1], lock_timeout=60)\n"
        "for _ in range(40):\n"
        "    with c.lock():\n"
        "        n = int(c.read_bytes('n.conf') or b'0')\n"
        "        (c.path / 'n.conf').write_text(str(n + 1))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert (tmp_path / "n.conf").read_text() == "160"


def test_the_cli_says_on_stderr_that_it_repaired_an_interrupted_commit(tmp_path: Path) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, "write-2") == -signal.SIGKILL
    # Any command that takes the lock repairs first; `config restore` is one of them (the
    # killed commit left rtp.conf's ".absent" backup for it to restore).
    proc = run([TRUNKCTL, "config", "restore", "rtp.conf", "--config-dir", str(tmp_path), "--json"])
    assert "an interrupted commit of pjsip.conf, extensions.conf, rtp.conf" in proc.stderr
    assert "rolled back" in proc.stderr
    json.loads(proc.stdout)  # stdout stays JSON
    assert proc.returncode == 0 and _state(tmp_path) == OLD


def test_a_lost_backup_stops_recovery_with_a_typed_error_and_keeps_the_journal(
    tmp_path: Path,
) -> None:
    _seed(tmp_path)
    assert _commit_killed_at(tmp_path, "write-1") == -signal.SIGKILL
    cfg = ConfigDir(tmp_path)
    journal = json.loads(cfg.journal_path.read_bytes())
    (cfg.backup_dir / journal["files"][0]["backup"]).write_bytes(b"; not what it was\n")
    with pytest.raises(ConfRecoveryError) as err:
        cfg.recover()
    assert err.value.exit_code == 4 and "backup changed" in err.value.what.en
    assert err.value.next_step is not None and "journal" in err.value.next_step.en
    assert cfg.journal_path.exists()  # a person decides; nothing was guessed
    assert (tmp_path / "pjsip.conf").read_bytes() == NEW["pjsip.conf"]
    assert not (tmp_path / ".trunkctl.lock").exists()
