"""A pristine Debian 12 root for the install test: debootstrap'd once (minbase plus python3,
python3-venv and CA certificates, nothing of trunkctl's) and cached; each test installs into
a fresh copy of it, with /proc, /dev and the host's DNS and pip settings made available.

Run ``python -m tests.install._root`` to build the cache ahead of the tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from trunkctl.sandbox._build import debian_mirror

CACHE = Path(os.environ.get("TRUNKCTL_INSTALL_ROOT_CACHE", "/var/cache/trunkctl/install-root"))
ROOT = CACHE / "root"
STAMP = ROOT / ".trunkctl-install-root.json"
PACKAGES = ("python3", "python3-venv", "ca-certificates")


def build_root() -> Path:
    """The cached root, built once (a few minutes; a partial root is rebuilt)."""
    if STAMP.is_file():
        return ROOT
    assert shutil.which("debootstrap"), "debootstrap is missing: apt-get install debootstrap"
    partial = CACHE / "root.partial"
    shutil.rmtree(partial, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = subprocess.run(
        [
            *("debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}"),
            *("bookworm", str(partial), debian_mirror()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (partial / STAMP.name).write_text(
        json.dumps({"suite": "bookworm", "packages": PACKAGES, "took": time.monotonic() - started})
    )
    shutil.rmtree(ROOT, ignore_errors=True)
    partial.rename(ROOT)
    return ROOT


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


@contextlib.contextmanager
def fresh_copy(where: Path) -> Iterator[Path]:
    """A copy of the cached root at ``where`` with /proc and /dev mounted, DNS and pip's
    settings copied in; unmounted and removed afterwards."""
    source = build_root()
    subprocess.run(["cp", "-ax", str(source), str(where)], check=True)
    mounts: list[Path] = []
    try:
        for src, dst, opts in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--bind"])):
            target = where / dst
            _mount(*opts, src, str(target))
            mounts.append(target)
        shutil.copy2("/etc/resolv.conf", where / "etc/resolv.conf")
        # pip's settings and the CA bundle they name (this machine may reach PyPI through
        # a TLS-inspecting proxy whose CA only the host's bundle has).
        for conf in ("/etc/pip.conf", "/etc/xdg/pip", "/etc/ssl/certs/ca-certificates.crt"):
            src_path = Path(conf)
            dst_path = where / conf.lstrip("/")
            if src_path.is_dir():
                shutil.copytree(src_path, dst_path, dirs_exist_ok=True)
            elif src_path.is_file():
                shutil.copy2(src_path, dst_path)
        yield where
    finally:
        for target in reversed(mounts):
            subprocess.run(["umount", "--lazy", str(target)], check=False)
        if not any(m.is_mount() for m in mounts):
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    print(build_root())
