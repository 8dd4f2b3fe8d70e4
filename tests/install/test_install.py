"""./scripts/install on a pristine Debian 12 (a copy of a debootstrapped minbase root with
python3 and python3-venv): install, run trunkctl there, upgrade in place, uninstall, and
prove nothing is left behind; then the refusals (not root, Python too old, no venv)."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._root import fresh_copy

pytestmark = pytest.mark.slow  # a debootstrap once, then ~30 s per test (PyPI downloads)

REPO = Path(__file__).resolve().parents[2]
SRC_IN_ROOT = "/tmp/trunkctl-src"
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
# Written by the shadow tools whenever a user or group is added or removed (their own
# backups, the login records); the accounts themselves are compared in /etc/passwd & co.
NOISE = {
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/.pwd.lock",
    "var/log/lastlog",
    "var/log/faillog",
}
SKIP_TOP = {"proc", "dev", "sys", "run", "tmp"}


def state(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` (but the virtual and scratch ones): its kind, mode and
    owner, and for a file under /etc its bytes, elsewhere its size and mtime."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in SKIP_TOP]
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel in NOISE:
                continue
            st = path.lstat()
            key: tuple[object, ...] = (stat.S_IFMT(st.st_mode), st.st_mode, st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                if rel.startswith("etc/"):
                    key += (path.read_bytes(),)
                else:
                    key += (st.st_size, st.st_mtime_ns)
            elif stat.S_ISLNK(st.st_mode):
                key += (os.readlink(path),)
            out[rel] = key
    return out


def copy_source(root: Path) -> Path:
    """The clone's files (tracked and new, not ignored) into the root, as a user's clone."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        capture_output=True,
        check=True,
        cwd=REPO,
    ).stdout
    dest = root / SRC_IN_ROOT.lstrip("/")
    dest.mkdir(parents=True)
    pack = subprocess.run(
        ["tar", "-C", str(REPO), "--null", "-T", "-", "-cf", "-"],
        input=files.replace(b"\n", b"\0"),
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-C", str(dest), "-xf", "-"], input=pack.stdout, check=True)
    return dest


def chroot(root: Path, *argv: str, user: str | None = None, env: dict[str, str] | None = None):
    opts = [f"--userspec={user}"] if user else []
    return subprocess.run(
        ["chroot", *opts, str(root), *argv],
        capture_output=True,
        text=True,
        check=False,
        env={**ENV, **(env or {})},
        timeout=600,
    )


@pytest.fixture
def debian(tmp_path: Path) -> Iterator[Path]:
    with fresh_copy(tmp_path / "root") as root:
        yield root


def test_install_run_upgrade_uninstall_leaves_nothing(debian: Path) -> None:
    before = state(debian)
    src = copy_source(debian)
    before_with_src = state(debian)

    started = time.monotonic()
    done = chroot(debian, f"{SRC_IN_ROOT}/scripts/install")
    install_seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installed: trunkctl " in done.stdout

    version = chroot(debian, "trunkctl", "--version")
    assert version.returncode == 0 and version.stdout.startswith("trunkctl "), version
    assert os.readlink(debian / "usr/local/bin/trunkctl") == "/opt/trunkctl/venv/bin/trunkctl"

    init = chroot(debian, "trunkctl", "init")  # no Asterisk on this system: a clear refusal
    assert init.returncode == 2, init.stdout + init.stderr
    assert "/etc/asterisk does not look like an Asterisk config dir" in init.stderr
    assert "Next step:" in init.stderr and "Traceback" not in init.stderr
    doctor = chroot(debian, "trunkctl", "doctor", "--offline")
    assert doctor.returncode == 4, doctor.stdout + doctor.stderr
    assert "Asterisk config directory not found: /etc/asterisk" in doctor.stderr
    assert "Traceback" not in doctor.stderr

    # Completion offers the commands, a group's subcommands and a command's options.
    complete = chroot(
        debian,
        "bash",
        "-c",
        ". /usr/share/bash-completion/completions/trunkctl; "
        "for line in 'trunkctl exp' 'trunkctl sandbox u' 'trunkctl exporter --li'; do "
        "COMP_WORDS=($line); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _trunkctl; "
        'echo "${COMPREPLY[*]}"; done',
    )
    assert complete.stdout.split("\n")[:3] == ["exporter", "up", "--listen"], complete

    # Services are installed, not enabled; the exporter runs as its own user.
    units = debian / "etc/systemd/system"
    exporter_unit = (units / "trunkctl-exporter.service").read_text()
    assert "User=trunkctl-exporter" in exporter_unit and "Group=trunkctl" in exporter_unit
    assert "ExecStart=/usr/local/bin/trunkctl exporter --listen 127.0.0.1:10150" in exporter_unit
    assert "webhook serve" in (units / "trunkctl-webhook.service").read_text()
    assert not list(units.glob("*.wants/trunkctl-*"))
    passwd = (debian / "etc/passwd").read_text()
    assert "trunkctl-exporter:" in passwd and "/usr/sbin/nologin" in passwd.split("trunkctl-")[1]
    assert "\ntrunkctl:" in "\n" + (debian / "etc/group").read_text()
    manifest = (debian / "opt/trunkctl/install-manifest").read_text()

    # Upgrade in place: a new version of the clone replaces the code; nothing is duplicated.
    init_py = src / "src/trunkctl/__init__.py"
    old = version.stdout.split()[1]
    init_py.write_text(init_py.read_text().replace(f'"{old}"', f'"{old}.post1"'))
    again = chroot(debian, f"{SRC_IN_ROOT}/scripts/install")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"upgraded: trunkctl {old} -> trunkctl {old}.post1" in again.stdout
    assert chroot(debian, "trunkctl", "--version").stdout.strip() == f"trunkctl {old}.post1"
    assert (debian / "opt/trunkctl/install-manifest").read_text() == manifest

    started = time.monotonic()
    gone = chroot(debian, f"{SRC_IN_ROOT}/scripts/install", "--uninstall")
    uninstall_seconds = time.monotonic() - started
    assert gone.returncode == 0, gone.stdout + gone.stderr
    init_py.write_text(init_py.read_text().replace(f'"{old}.post1"', f'"{old}"'))
    after = state(debian)
    added = sorted(set(after) - set(before_with_src))
    removed = sorted(set(before_with_src) - set(after))
    changed = sorted(k for k in set(after) & set(before_with_src) if after[k] != before_with_src[k])
    # The source tree may have build leftovers; the rest of the system must be as it was.
    outside = [p for p in added + removed + changed if not p.startswith(SRC_IN_ROOT[1:])]
    assert outside == [], outside
    assert set(before) <= set(after)
    print(f"install {install_seconds:.1f} s, uninstall {uninstall_seconds:.2f} s")


def test_refusals_change_nothing(debian: Path) -> None:
    copy_source(debian)
    before = state(debian)
    script = f"{SRC_IN_ROOT}/scripts/install"

    as_user = chroot(debian, script, user="nobody")
    assert as_user.returncode == 3 and "needs root" in as_user.stderr

    bad = chroot(debian, script, "--frobnicate")
    assert bad.returncode == 2 and "unknown option: --frobnicate" in bad.stderr

    # An old Python, as Debian 11 and Ubuntu 22.04 have: the distro's own next step.
    fake = debian / "tmp/python3.9"
    fake.write_text("#!/bin/sh\necho 3 9\n")
    fake.chmod(0o755)
    for os_release, hint in (
        ('ID=debian\nVERSION_ID="11"\n', "upgrade to Debian 12 (bookworm, Python 3.11)"),
        (
            'ID=ubuntu\nVERSION_ID="22.04"\n',
            "apt-get install -y python3.11 python3.11-venv (Ubuntu 22.04 has them in universe)"
            ", then run: PYTHON=python3.11",
        ),
        ('ID=rocky\nVERSION_ID="9.3"\n', "dnf install -y python3.11"),
    ):
        (debian / "tmp/os-release").write_text(os_release)
        old = chroot(
            debian,
            script,
            env={"PYTHON": "/tmp/python3.9", "TRUNKCTL_OS_RELEASE": "/tmp/os-release"},
        )
        assert old.returncode == 3, old.stderr
        assert "trunkctl needs Python >= 3.11; /tmp/python3.9 is 3.9" in old.stderr
        assert hint in old.stderr, old.stderr
    for scratch in ("tmp/python3.9", "tmp/os-release"):
        (debian / scratch).unlink()

    # No python3-venv (Debian's minimal images lack it): the exact apt command.
    purge = chroot(debian, "dpkg", "--purge", "python3-venv", "python3.11-venv")
    assert purge.returncode == 0, purge.stderr
    before_novenv = state(debian)
    novenv = chroot(debian, script)
    assert novenv.returncode == 3, novenv.stdout + novenv.stderr
    assert "next step: apt-get install -y python3-venv" in novenv.stderr
    assert state(debian) == before_novenv
    assert not (debian / "opt/trunkctl").exists()
    assert set(before) >= {"usr/bin/python3"}


def test_uninstall_keeps_settings_and_log_until_purge(debian: Path) -> None:
    copy_source(debian)
    script = f"{SRC_IN_ROOT}/scripts/install"
    (debian / "etc/asterisk").mkdir()
    before = state(debian)
    done = chroot(debian, script)
    assert done.returncode == 0, done.stdout + done.stderr
    # What trunkctl's own commands write on a server: settings, the call log, backups.
    (debian / "etc/trunkctl/config.toml").write_text('config_dir = "/etc/asterisk"\n')
    (debian / "var/lib/trunkctl/calls.db").write_bytes(b"calls")
    backups = debian / "etc/asterisk/.trunkctl-backups"
    backups.mkdir()
    (backups / "pjsip.conf.20260101T000000.000000000Z").write_text("[x]\n")

    kept = chroot(debian, script, "--uninstall")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "kept (your settings, call log): /var/lib/trunkctl /etc/trunkctl" in kept.stdout
    assert (debian / "etc/trunkctl/config.toml").read_text().startswith("config_dir")
    assert (debian / "var/lib/trunkctl/calls.db").read_bytes() == b"calls"
    assert len(list(backups.iterdir())) == 1
    assert not (debian / "opt/trunkctl").exists()
    assert not (debian / "usr/local/bin/trunkctl").exists()
    assert "trunkctl-exporter" not in (debian / "etc/passwd").read_text()
    assert "\ntrunkctl:" in "\n" + (debian / "etc/group").read_text()  # the files' group

    purged = chroot(debian, script, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    after = state(debian)
    diff = sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))
    assert [p for p in diff if not p.startswith(SRC_IN_ROOT[1:])] == [], diff
