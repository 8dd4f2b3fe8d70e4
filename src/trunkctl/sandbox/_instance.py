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

from ._configs import InstancePaths

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
    def console_log(self) -> Path:
        return self.host_path(self.paths.base) / "log/console.log"

    @property
    def pid_file(self) -> Path:
        return self.host_path(self.paths.base) / "trunkctl.pid"

    def rx_command(self) -> list[str]:
        """The command prefix that reaches this instance's control socket."""
        return ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.paths.conf, "-rx"]

    def prepare(self, files: dict[str, str], *, secret_files: tuple[str, ...] = ()) -> None:
        """Lay out the instance's folders and write its config files."""
        base = self.host_path(self.paths.base)
        for sub in ("etc", "db", "keys", "spool", "run", "log", "cache"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        self.write_configs(files, secret_files=secret_files)

    def write_configs(self, files: dict[str, str], *, secret_files: tuple[str, ...] = ()) -> None:
        """Replace the config dir's content with exactly ``files``."""
        etc = self.etc_dir
        for child in etc.iterdir():
            # Something else may remove files meanwhile (a test cleaning up): that is fine.
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        for name, text in files.items():
            path = etc / name
            path.write_text(text, encoding="utf-8")
            path.chmod(0o600 if name in secret_files else 0o644)

    def pid(self) -> int | None:
        """The running Asterisk's pid, or None (a stale pid file is ignored)."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return None
        if self.paths.conf.encode() not in cmdline or not any(b"asterisk" in a for a in cmdline[:1]):
            return None
        # Every sandbox's instances share the same inner paths: a copied root carries another
        # sandbox's pid file, and that Asterisk is not ours to report or stop.
        try:
            if Path(os.readlink(f"/proc/{pid}/root")) != self.root.resolve():
                return None
        except OSError:
            return None
        return pid

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
                    "-U",
                    "root",
                    "-G",
                    "root",
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
