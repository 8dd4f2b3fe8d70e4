"""One Asterisk process run from the sandbox root with its own folders.

Asterisk is started in the foreground (``-f``) without a console: with ``-c`` and no terminal
its console loop spins a whole CPU. ``chroot`` execs asterisk, so the pid we record is
Asterisk's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from trunkctl.errors import SandboxError
from trunkctl.i18n import Text

from ._configs import ConfigTree, InstancePaths, user_ids

__all__ = ["Instance", "ensure_proc", "release_proc", "stop_pid", "tail"]


def _mounted(path: Path) -> bool:
    target = str(path.resolve())
    with Path("/proc/mounts").open() as fh:
        return any(line.split()[1] == target for line in fh)


def ensure_proc(root: Path) -> None:
    """Asterisk reads /proc (CPU count, limits); mount it once inside the root."""
    proc = root / "proc"
    proc.mkdir(exist_ok=True)
    if not _mounted(proc):
        subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True, capture_output=True)


def release_proc(root: Path) -> None:
    """Unmount the root's /proc (when no instance runs)."""
    proc = root / "proc"
    if proc.exists() and _mounted(proc):
        subprocess.run(["umount", "-l", str(proc)], check=False, capture_output=True)


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """Stop a process of ours: TERM, wait up to ``timeout``, then KILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    if Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _own(path: Path, mode: int, uid: int, gid: int) -> None:
    """Give ``path`` this mode and owner, touching it only when they differ."""
    st = path.stat()
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
    if st.st_mode & 0o7777 != mode:
        path.chmod(mode)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, or a note that there is none."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} does not exist)"


LOG_ROTATE_BYTES = 32 * 1024 * 1024
"""A sandbox log bigger than this is set aside (``.1``) when its Asterisk starts: test runs
log every call at verbose 3, and a development machine starts the sandbox many times."""


def _rotate(path: Path, limit: int = LOG_ROTATE_BYTES) -> None:
    """Move ``path`` to ``path.1`` (replacing an older one) if it is over ``limit`` bytes."""
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > limit:
            path.replace(path.with_name(path.name + ".1"))


# An instance's folders and the package's folder each copies (its subfolders are made too).
_INSTANCE_DIRS = {
    "db": "",
    "keys": "",
    "spool": "var/spool/asterisk",
    "run": "",
    "log": "var/log/asterisk",
    "cache": "var/cache/asterisk",
}


@dataclass(slots=True)
class Instance:
    """An Asterisk instance: ``name`` is ``pbx`` or ``provider``."""

    name: str
    root: Path
    paths: InstancePaths

    def host_path(self, inner: str) -> Path:
        """Where a path inside the root lies on this machine."""
        return self.root / inner.lstrip("/")

    @property
    def etc_dir(self) -> Path:
        return self.host_path(self.paths.etc)

    @property
    def log_file(self) -> Path:
        return self.host_path(self.paths.base) / "log/messages.log"

    @property
    def cdr_file(self) -> Path:
        """The package's cdr_csv record of every finished call (stock cdr.conf)."""
        return self.host_path(self.paths.base) / "log/cdr-csv/Master.csv"

    @property
    def console_log(self) -> Path:
        return self.host_path(self.paths.base) / "log/console.log"

    @property
    def pid_file(self) -> Path:
        return self.host_path(self.paths.base) / "trunkctl.pid"

    def rx_command(self) -> list[str]:
        """The command prefix that reaches this instance's control socket."""
        return ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.paths.conf, "-rx"]

    def prepare(self, tree: ConfigTree | None, *, keep: tuple[str, ...] = ()) -> None:
        """Lay out the instance's folders (Asterisk's user owns them) and write its config.

        ``tree`` None keeps the config dir as it is (a restart); ``keep``: top-level names in
        the config dir that survive a new tree (the backups folder).
        """
        base = self.host_path(self.paths.base)
        uid, gid = user_ids(self.root)
        for sub, packaged in _INSTANCE_DIRS.items():
            (base / sub).mkdir(parents=True, exist_ok=True)
            # The package's own subfolders (log/cdr-csv, spool/outgoing, …) too.
            if packaged:
                for dirpath, dirnames, _files in os.walk(self.root / packaged):
                    rel = Path(dirpath).relative_to(self.root / packaged)
                    for name in dirnames:
                        (base / sub / rel / name).mkdir(exist_ok=True)
            # The package gives the asterisk user its run/log/spool/lib folders; these are
            # this instance's copies of them.
            for dirpath, _dirs, names in os.walk(base / sub):
                os.chown(dirpath, uid, gid, follow_symlinks=False)
                if sub in ("spool", "cache"):  # postinst: "these hold some sensitive information"
                    Path(dirpath).chmod(0o750)
                for name in names:
                    os.chown(Path(dirpath) / name, uid, gid, follow_symlinks=False)
        self.etc_dir.mkdir(parents=True, exist_ok=True)
        if tree is not None:
            self.write_tree(tree, keep=keep)

    def has_config(self) -> bool:
        """True when the config dir holds an asterisk.conf (a restart can use it as it is)."""
        return (self.etc_dir / "asterisk.conf").is_file()

    def write_tree(self, tree: ConfigTree, *, keep: tuple[str, ...] = ()) -> list[str]:
        """Make the config dir exactly ``tree`` (bytes, modes, owners); return what changed.

        Files already equal are left alone, so a reset after a test that touched two files
        writes two files. Anything not in the tree goes, except the top-level names in ``keep``.
        """
        etc = self.etc_dir
        changed: list[str] = []
        for dirpath, dirnames, filenames in os.walk(etc, topdown=True):
            rel_dir = os.path.relpath(dirpath, etc)
            rel_dir = "" if rel_dir == "." else rel_dir
            for name in list(dirnames):
                rel = f"{rel_dir}/{name}" if rel_dir else name
                target = Path(dirpath, name)
                if not rel_dir and name in keep:
                    dirnames.remove(name)
                    continue
                if rel in tree.dirs and not target.is_symlink():
                    continue
                dirnames.remove(name)
                changed.append(rel)
                if target.is_symlink():
                    target.unlink(missing_ok=True)
                else:
                    # Something else may remove files meanwhile (a test cleaning up): fine.
                    shutil.rmtree(target, ignore_errors=True)
            for name in filenames:
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if rel not in tree.files and not (not rel_dir and name in keep):
                    changed.append(rel)
                    Path(dirpath, name).unlink(missing_ok=True)
        for rel, (mode, uid, gid) in sorted(tree.dirs.items()):
            path = etc / rel if rel else etc
            path.mkdir(parents=True, exist_ok=True)
            _own(path, mode, uid, gid)
        for rel, file in tree.files.items():
            path = etc / rel
            try:
                same = not path.is_symlink() and path.read_bytes() == file.data
            except OSError:
                same = False
            if not same:
                changed.append(rel)
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    path.unlink()
                if path.is_dir():
                    shutil.rmtree(path)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(file.data)
            _own(path, file.mode, file.uid, file.gid)
        return changed

    def _is_ours(self, pid: int) -> bool:
        """True when ``pid`` is this instance's Asterisk daemon (not a ``-rx`` client)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if not cmdline or b"asterisk" not in cmdline[0]:
                return False
            if self.paths.conf.encode() not in cmdline or b"-rx" in cmdline:
                return False
            # Every sandbox's instances share the same inner paths: a copied root carries
            # another sandbox's pid file, and that Asterisk is not ours to report or stop.
            return Path(f"/proc/{pid}/root").readlink() == self.root.resolve()
        except (OSError, ValueError):
            return False

    def pid(self) -> int | None:
        """The running Asterisk's pid, or None.

        A stale or lost pid file does not hide a running instance (it still holds the
        instance's ports): it is found in /proc and the pid file written again.
        """
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is not None and self._is_ours(pid):
            return pid
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and self._is_ours(int(entry.name)):
                with contextlib.suppress(OSError):
                    self.pid_file.write_text(f"{entry.name}\n")
                return int(entry.name)
        return None

    def start(self, timeout: float = 60.0) -> int:
        """Start Asterisk and wait until it is fully booted; return its pid."""
        if (pid := self.pid()) is not None:
            return pid
        ensure_proc(self.root)
        for log_path in (self.log_file, self.console_log):
            _rotate(log_path)
        run_dir = self.host_path(self.paths.base) / "run"
        for stale in ("asterisk.ctl", "asterisk.pid"):
            with contextlib.suppress(FileNotFoundError):
                (run_dir / stale).unlink()
        with self.console_log.open("ab") as log:
            proc = subprocess.Popen(
                [
                    "chroot",
                    str(self.root),
                    "/usr/sbin/asterisk",
                    "-C",
                    self.paths.conf,
                    "-f",
                    # As Debian's asterisk.service runs it (without -g -p: no core dumps,
                    # no realtime priority on a shared machine).
                    "-U",
                    "asterisk",
                    "-G",
                    "asterisk",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise self._start_failed(f"exited with code {proc.returncode}")
            done = subprocess.run(
                [*self.rx_command(), "core waitfullybooted"],
                capture_output=True,
                text=True,
                timeout=max(1.0, deadline - time.monotonic()),
                check=False,
                stdin=subprocess.DEVNULL,
            )
            if done.returncode == 0 and "fully booted" in done.stdout:
                return proc.pid
            time.sleep(0.1)
        self.stop()
        raise self._start_failed(f"not fully booted after {timeout:.0f} s")

    def _start_failed(self, why: str) -> SandboxError:
        return SandboxError(
            Text(
                f"the sandbox {self.name} Asterisk did not come up ({why})",
                f"Asterisk песочницы ({self.name}) не запустился ({why})",
            ),
            evidence=f"{self.log_file}:\n{tail(self.log_file)}\n{self.console_log}:\n"
            f"{tail(self.console_log, 10)}",
            next_step=Text(
                "Read the log above; `trunkctl sandbox up --rebuild` rebuilds the root.",
                "Посмотрите журнал выше; `trunkctl sandbox up --rebuild` пересоберёт корень.",
            ),
        )

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop by pid (TERM, then KILL); True when something was running."""
        pid = self.pid()
        if pid is None:
            with contextlib.suppress(FileNotFoundError):
                self.pid_file.unlink()
            return False
        stop_pid(pid, timeout)
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()
        return True

    def rx(self, command: str, timeout: float = 15.0) -> str:
        """Run one CLI command on the instance (``asterisk -rx``)."""
        try:
            done = subprocess.run(
                [*self.rx_command(), command],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(
                Text(
                    f"the {self.name} Asterisk did not answer `{command}`",
                    f"Asterisk ({self.name}) не ответил на `{command}`",
                ),
                evidence=tail(self.log_file, 10),
                next_step=Text(
                    "Restart it: `trunkctl sandbox down && trunkctl sandbox up`.",
                    "Перезапустите: `trunkctl sandbox down && trunkctl sandbox up`.",
                ),
            ) from exc
        if done.returncode != 0:
            raise SandboxError(
                Text(
                    f"the {self.name} Asterisk is not running", f"Asterisk ({self.name}) не запущен"
                ),
                evidence=(done.stderr or done.stdout).strip()[-500:],
                next_step=Text(
                    "Start it: `trunkctl sandbox up`.", "Запустите: `trunkctl sandbox up`."
                ),
            )
        return done.stdout

    def rss_kb(self) -> int | None:
        """Resident memory of the running instance in KiB."""
        pid = self.pid()
        if pid is None:
            return None
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None
