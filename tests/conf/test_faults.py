"""Faults during writes: kill -9, a full disk, read-only places, two writers at once.

After each, a config file is exactly its old or its new version, never partial, never
lost. Needs root (tmpfs mounts, another uid). Normal behaviour: test_files.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkctl.conf import ConfigDir
from trunkctl.errors import ConfLockError, ConfWriteError

pytestmark = pytest.mark.slow

# Big enough that a write takes a while (so kills land mid-write), distinct per version.
VERSIONS = [f"; version {v}\n".encode() + bytes([65 + v]) * (1 << 20) for v in range(4)]


def _child_writer(path: Path, rounds: int) -> None:
    cfg = ConfigDir(path, lock_timeout=30, keep=3)
    for i in range(rounds):
        cfg.write("pjsip.conf", VERSIONS[i % len(VERSIONS)])


def test_kill_minus_nine_never_leaves_a_partial_file(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_bytes(VERSIONS[0])
    rng = random.Random(1234)
    trials = 120
    mid_write = 0
    for _ in range(trials):
        pid = os.fork()
        if pid == 0:  # child: write until killed
            try:
                _child_writer(tmp_path, 1000)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert (tmp_path / "pjsip.conf").read_bytes() in VERSIONS
        temps = [p for p in tmp_path.rglob("*") if "trunkctl-tmp" in p.name]
        mid_write += bool(temps)
    assert mid_write >= 10, mid_write  # the kills did land in the middle of writes
    cfg = ConfigDir(tmp_path, keep=3)
    for b in cfg.backups("pjsip.conf"):
        assert b.read() in VERSIONS, b.path  # backups are whole too
    cfg.write("pjsip.conf", VERSIONS[1])  # the lock is free; stale temp files are swept
    left = [p.name for p in tmp_path.iterdir() if "trunkctl-tmp" in p.name]
    assert left == []


@contextlib.contextmanager
def _tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "small", "2m") as d:
        old = b"[a]\nx=1\n" * 20_000  # ~160 KB
        (d / "pjsip.conf").write_bytes(old)
        cfg = ConfigDir(d)
        with pytest.raises(ConfWriteError) as err:
            cfg.write("pjsip.conf", b"[a]\nx=2\n" * 400_000)  # ~3.2 MB > 2 MB
        assert "full" in err.value.what.en and err.value.what.ru
        assert (d / "pjsip.conf").read_bytes() == old
        assert [p.name for p in d.iterdir() if "trunkctl-tmp" in p.name] == []
        # A multi-file commit that runs out of room in the middle is undone.
        (d / "extensions.conf").write_bytes(b"[x]\n")
        with cfg.transaction() as tx:
            tx.stage("extensions.conf", b"[x]\nexten => 1,1,Answer()\n")
            tx.stage("pjsip.conf", b"[a]\nx=3\n" * 400_000)
            with pytest.raises(ConfWriteError):
                tx.commit()
        assert (d / "extensions.conf").read_bytes() == b"[x]\n"
        assert (d / "pjsip.conf").read_bytes() == old


def test_read_only_file_system(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "ro", "1m") as d:
        (d / "pjsip.conf").write_bytes(b"[a]\n")
        (d / ".trunkctl.lock").touch()
        subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True)
        with pytest.raises(ConfWriteError) as err:
            ConfigDir(d).write("pjsip.conf", b"[b]\n")
        assert "read-only" in err.value.what.en
        assert (d / "pjsip.conf").read_bytes() == b"[a]\n"


def test_immutable_file(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "imm", "1m") as d:
        (d / "pjsip.conf").write_bytes(b"[a]\n")
        subprocess.run(["chattr", "+i", str(d / "pjsip.conf")], check=True)
        try:
            with pytest.raises(ConfWriteError):
                ConfigDir(d).write("pjsip.conf", b"[b]\n")
            assert (d / "pjsip.conf").read_bytes() == b"[a]\n"
        finally:
            subprocess.run(["chattr", "-i", str(d / "pjsip.conf")], check=True)


def test_permission_denied_as_another_user(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    (tmp_path / "pjsip.conf").write_bytes(b"[a]\n")
    (tmp_path / ".trunkctl.lock").touch()
    (tmp_path / ".trunkctl.lock").chmod(0o666)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                ConfigDir(tmp_path).write("pjsip.conf", b"[b]\n")
                os.write(w, b"wrote")
            except ConfWriteError as exc:
                os.write(w, b"ConfWriteError:" + exc.what.en.encode())
            except BaseException as exc:
                os.write(w, type(exc).__name__.encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        got = f.read().decode()
    assert got.startswith("ConfWriteError:") and "permission" in got
    assert (tmp_path / "pjsip.conf").read_bytes() == b"[a]\n"


def _counter_worker(path: Path, n: int) -> None:
    cfg = ConfigDir(path, lock_timeout=60)
    for _ in range(n):
        with cfg.transaction() as tx:
            doc = tx.read("counter.conf")
            sec = doc.find("c")
            assert sec is not None
            sec.set("n", str(int(sec.get("n") or "0") + 1))
            tx.stage("counter.conf", doc)
            tx.commit()


def test_two_writers_serialise_without_lost_updates(tmp_path: Path) -> None:
    (tmp_path / "counter.conf").write_text("; shared\n[c]\nn = 0\n")
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _counter_worker(tmp_path, 25)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        pids.append(pid)
    codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in pids]
    assert codes == [0, 0, 0, 0]
    assert (tmp_path / "counter.conf").read_text() == "; shared\n[c]\nn = 100\n"


def test_second_writer_waits_then_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text("[a]\n")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # holds the lock for 1.5 s
        os.close(r)
        with ConfigDir(tmp_path).lock():
            os.write(w, b"1")
            time.sleep(1.5)
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    t0 = time.monotonic()
    with pytest.raises(ConfLockError):
        ConfigDir(tmp_path, lock_timeout=0.5).write("pjsip.conf", "[b]\n")
    assert 0.4 < time.monotonic() - t0 < 1.4
    ConfigDir(tmp_path, lock_timeout=5).write("pjsip.conf", "[b]\n")  # waits, then works
    os.waitpid(pid, 0)
    os.close(r)
    assert (tmp_path / "pjsip.conf").read_text() == "[b]\n"
