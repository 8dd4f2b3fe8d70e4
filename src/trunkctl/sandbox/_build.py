"""Build (once) the Debian sid root that holds a real Asterisk 22.

Debian 12 ships no Asterisk; Debian unstable does. debootstrap makes a minimal sid root with
asterisk and its English and Russian prompts (about 40 s and 500 MB); it is cached and
reused until ``--rebuild``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from trunkctl.errors import EnvironmentProblem, SandboxError
from trunkctl.i18n import Text

__all__ = ["PACKAGES", "ensure_hosts", "ensure_root", "root_is_ready"]

PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm", "asterisk-core-sounds-ru-gsm")
STAMP = ".trunkctl-root.json"
# Folders whose packaged owner (the asterisk user) does not exist outside the root.
_ROOT_OWNED = ("var/lib/asterisk", "var/log/asterisk", "var/spool/asterisk", "etc/asterisk")

Progress = Callable[[Text], None]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def root_is_ready(root: Path) -> bool:
    """A complete root carries our stamp (written last)."""
    return (root / STAMP).is_file() and (root / "usr/sbin/asterisk").exists()


def debian_mirror() -> str:
    """The Debian archive this machine's apt already uses (``TRUNKCTL_DEBIAN_MIRROR`` wins)."""
    if env := os.environ.get("TRUNKCTL_DEBIAN_MIRROR"):
        return env
    candidates: list[str] = []
    for src in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in src.read_text(errors="replace").splitlines():
            if line.startswith("URIs:"):
                candidates += line.split()[1:]
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text(errors="replace").splitlines():
            parts = line.split()
            if parts[:1] == ["deb"]:
                candidates += [p for p in parts[1:] if "://" in p][:1]
    for uri in candidates:
        if uri.rstrip("/").endswith("/debian"):
            return uri
    raise EnvironmentProblem(
        Text("cannot tell which Debian mirror to use", "не удаётся определить зеркало Debian"),
        evidence="/etc/apt/sources.list(.d) names no .../debian archive",
        next_step=Text(
            "Set TRUNKCTL_DEBIAN_MIRROR to a Debian archive URL and run again.",
            "Задайте TRUNKCTL_DEBIAN_MIRROR (URL архива Debian) и запустите снова.",
        ),
    )


def _ensure_debootstrap(log: Path, progress: Progress) -> str:
    found = shutil.which("debootstrap")
    if found:
        return found
    progress(Text("installing debootstrap with apt…", "устанавливаю debootstrap через apt…"))
    with log.open("ab") as fh:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "debootstrap"]):
            rc = subprocess.run(
                cmd,
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                check=False,
            ).returncode
            if rc != 0:
                raise EnvironmentProblem(
                    Text("could not install debootstrap", "не удалось установить debootstrap"),
                    evidence=f"{' '.join(cmd)} exited {rc}:\n{_tail(log)}",
                    next_step=Text(
                        "Check that apt works (`apt-get update`) and the network reaches the "
                        "Debian mirror, then run again.",
                        "Проверьте, что apt работает (`apt-get update`) и зеркало Debian "
                        "доступно, и запустите снова.",
                    ),
                )
    return shutil.which("debootstrap") or "/usr/sbin/debootstrap"


def ensure_hosts(root: Path) -> None:
    """Give the root an /etc/hosts naming this machine.

    Without one, Asterisk looks its own hostname up in DNS on every call; on a machine with
    no resolver that lookup stalls for seconds under load and freezes calls.
    """
    hosts = root / "etc/hosts"
    name = socket.gethostname()
    if hosts.is_file() and name in hosts.read_text(errors="replace").split():
        return
    hosts.write_text(f"127.0.0.1\tlocalhost {name}\n::1\tlocalhost ip6-localhost\n")


def _finish_root(tmp: Path) -> str:
    """Make the root runnable outside its packaged users; return Asterisk's version."""
    (tmp / "var/run/asterisk").mkdir(parents=True, exist_ok=True)
    ensure_hosts(tmp)
    for rel in _ROOT_OWNED:
        for dirpath, _dirs, files in os.walk(tmp / rel):
            os.chown(dirpath, 0, 0, follow_symlinks=False)
            for f in files:
                os.chown(Path(dirpath) / f, 0, 0, follow_symlinks=False)
    # Language "ru" finds its prompts where Asterisk looks: sounds/ru.
    ru = tmp / "usr/share/asterisk/sounds/ru"
    if not ru.exists() and (tmp / "usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU").is_dir():
        ru.symlink_to("ru_RU_f_IvrvoiceRU")
    out = subprocess.run(
        ["chroot", str(tmp), "/usr/sbin/asterisk", "-V"],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return out.stdout.strip() or "unknown"


def _refuse_if_mounted(root: Path) -> None:
    """Never delete a root through a live mount (its /proc, a bind mount)."""
    prefix = str(root.resolve()) + "/"
    with Path("/proc/mounts").open() as fh:
        mounts = [line.split()[1] for line in fh if line.split()[1].startswith(prefix)]
    if mounts:
        raise SandboxError(
            Text("the old sandbox root still has mounts", "в старом корне песочницы есть mount"),
            evidence="\n".join(mounts),
            next_step=Text(
                "Run `trunkctl sandbox down`, unmount these, then `trunkctl sandbox up --rebuild`.",
                "Выполните `trunkctl sandbox down`, отмонтируйте их и запустите "
                "`trunkctl sandbox up --rebuild`.",
            ),
        )


def ensure_root(sandbox: Path, *, rebuild: bool, progress: Progress) -> Path:
    """Return a ready root under ``sandbox``, building it when missing or asked to."""
    root = sandbox / "root"
    if root_is_ready(root) and not rebuild:
        ensure_hosts(root)  # roots built before this existed lack it
        return root
    sandbox.mkdir(parents=True, exist_ok=True)
    log = sandbox / "build.log"
    log.write_text("")
    debootstrap = _ensure_debootstrap(log, progress)
    mirror = debian_mirror()
    tmp = sandbox / f"root.build-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    progress(
        Text(
            "building the sandbox root (Debian sid + Asterisk 22, ~1 min, once)…",
            "собираю корень песочницы (Debian sid + Asterisk 22, ~1 мин, один раз)…",
        )
    )
    started = time.monotonic()
    cmd = [
        debootstrap,
        "--variant=minbase",
        "--include=" + ",".join(PACKAGES),
        "sid",
        str(tmp),
        mirror,
    ]
    with log.open("ab") as fh:
        rc = subprocess.run(
            cmd, stdout=fh, stderr=subprocess.STDOUT, check=False, stdin=subprocess.DEVNULL
        ).returncode
    if rc != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SandboxError(
            Text(
                "debootstrap failed to build the sandbox root",
                "debootstrap не смог собрать корень песочницы",
            ),
            evidence=f"exit {rc}; {log}:\n{_tail(log)}",
            next_step=Text(
                f"Check the network to {mirror} and free disk space (~600 MB), then run "
                "`trunkctl sandbox up --rebuild`.",
                f"Проверьте доступ к {mirror} и свободное место (~600 МБ), затем выполните "
                "`trunkctl sandbox up --rebuild`.",
            ),
        )
    version = _finish_root(tmp)
    (tmp / STAMP).write_text(
        json.dumps(
            {
                "packages": list(PACKAGES),
                "asterisk": version,
                "mirror": mirror,
                "build_seconds": round(time.monotonic() - started, 1),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )
    )
    if root.exists():
        _refuse_if_mounted(root)
        old = sandbox / f"root.old-{os.getpid()}"
        root.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    tmp.rename(root)
    return root
