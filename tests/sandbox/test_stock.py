"""The sandbox pbx is a stock Debian install: the package's /etc/asterisk, owned and moded
as the package leaves it, Asterisk running as its own user, the stock log format, and only
the lab's addresses and ports changed.

The reference is dpkg's own record of the package (its conffiles and their md5 sums in the
root's /var/lib/dpkg/status), not trunkctl's code.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import subprocess
from pathlib import Path

from ..conftest import SandboxInfo

# What README's "The sandbox pbx" lists as the lab's changes; nothing else may differ.
CHANGED = {"asterisk.conf", "manager.conf", "modules.conf", "pjsip.conf"}
ADDED = {"manager.d/trunkctl.conf"}


def _conffiles(root: Path) -> dict[str, str]:
    status = (root / "var/lib/dpkg/status").read_text()
    block = next(b for b in status.split("\n\n") if b.startswith("Package: asterisk-config\n"))
    found = re.findall(r"^ /etc/asterisk/(\S+) ([0-9a-f]{32})$", block, re.M)
    return dict(found)


def _ids(root: Path, name: str = "asterisk") -> tuple[int, int]:
    uid = next(
        int(x.split(":")[2])
        for x in (root / "etc/passwd").read_text().splitlines()
        if x.startswith(name + ":")
    )
    gid = next(
        int(x.split(":")[2])
        for x in (root / "etc/group").read_text().splitlines()
        if x.startswith(name + ":")
    )
    return uid, gid


def _tree(etc: Path) -> set[str]:
    return {
        str(p.relative_to(etc))
        for p in etc.rglob("*")
        if p.is_file() and not p.relative_to(etc).parts[0].startswith(".")
    }


def _debian_dpkg_modes(root: Path) -> dict[str, int]:
    """File modes as the .deb ships them (dpkg-deb -c of the cached package)."""
    debs = sorted((root / "var/cache/apt/archives").glob("asterisk-config_*.deb"))
    assert debs, "the root keeps the asterisk-config .deb it installed"
    out = subprocess.run(
        ["dpkg-deb", "-c", str(debs[-1])], capture_output=True, text=True, check=True
    )
    modes: dict[str, int] = {}
    for line in out.stdout.splitlines():
        perms, *_rest, path = line.split()
        if path.startswith("./etc/asterisk/") and perms.startswith("-"):
            bits = perms[1:]
            mode = sum(1 << (8 - i) for i, c in enumerate(bits) if c != "-")
            modes[path.removeprefix("./etc/asterisk/")] = mode
    return modes


def test_every_package_file_is_there_byte_for_byte_or_a_listed_change(pbx: SandboxInfo) -> None:
    root, etc = pbx.sandbox.root, pbx.pbx_config_dir
    listed = {c["file"] for c in pbx.sandbox.status()["pbx"]["stock_changes"]}
    assert listed == CHANGED | ADDED  # what `sandbox status` tells a user it changed
    conffiles = _conffiles(root)
    assert len(conffiles) > 100  # the whole package, manager.d/ included
    assert "manager.d/README.conf" in conffiles
    assert _tree(etc) == set(conffiles) | ADDED
    for rel, md5 in conffiles.items():
        same = hashlib.md5((etc / rel).read_bytes()).hexdigest() == md5
        assert same == (rel not in CHANGED), rel


def test_the_changed_files_keep_every_stock_line_in_order(pbx: SandboxInfo) -> None:
    root, etc = pbx.sandbox.root, pbx.pbx_config_dir
    for rel in CHANGED:
        stock = (root / "etc/asterisk" / rel).read_text().split("\n")
        lab = (etc / rel).read_text().split("\n")
        # Every stock line is still there, in order, except the few edited in place.
        missing = [d[2:] for d in difflib.ndiff(stock, lab) if d.startswith("- ")]
        edited = {
            "asterisk.conf": 8,  # [directories](!) and seven folders made this instance's
            "manager.conf": 2,  # port, bindaddr
            "modules.conf": 0,
            "pjsip.conf": 0,
        }[rel]
        assert len(missing) == edited, (rel, missing)
    manager = (etc / "manager.conf").read_text()
    ami_port = pbx.status["pbx"]["ami"]["port"]
    assert f"\nport = {ami_port}\n" in manager and "\nbindaddr = 127.0.0.2\n" in manager
    assert '#include "manager.d/*.conf"' in manager
    sip_port = pbx.status["pbx"]["sip_port"]
    assert f"bind=127.0.0.2:{sip_port}" in (etc / "pjsip.conf").read_text()
    # The package's samples are all still in the dialplan.
    assert (etc / "extensions.conf").read_bytes() == (
        root / "etc/asterisk/extensions.conf"
    ).read_bytes()


def test_modes_and_owners_are_the_packages(pbx: SandboxInfo) -> None:
    root, etc = pbx.sandbox.root, pbx.pbx_config_dir
    uid, gid = _ids(root)
    shipped = _debian_dpkg_modes(root)
    assert set(shipped.values()) == {0o640, 0o644}
    for rel in _tree(etc):
        st = (etc / rel).stat()
        assert (st.st_uid, st.st_gid) == (uid, gid), rel
        assert st.st_mode & 0o7777 == shipped.get(rel, 0o640), rel
    # postinst chowns /etc/asterisk itself; subfolders keep the package's root owner.
    assert (etc.stat().st_uid, etc.stat().st_gid) == (uid, gid)
    assert (etc / "manager.d").stat().st_uid == 0


def test_asterisk_runs_as_the_asterisk_user_and_writes_its_folders(pbx: SandboxInfo) -> None:
    root = pbx.sandbox.root
    uid, gid = _ids(root)
    pid = pbx.sandbox.pbx.pid()
    status = Path(f"/proc/{pid}/status").read_text()
    assert re.search(rf"^Uid:\s+{uid}\s+{uid}\s+{uid}\s+{uid}$", status, re.M), status
    assert re.search(rf"^Gid:\s+{gid}\s", status, re.M)
    # Its folders are the package's, owned as its postinst leaves them.
    base = pbx.sandbox.pbx.log_file.parents[1]
    for sub, mode in (("log", 0o755), ("spool", 0o750), ("spool/outgoing", 0o750), ("run", 0o755)):
        st = (base / sub).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, gid, mode), sub
    assert (base / "log/cdr-csv").is_dir()
    # The control socket answers root (as `asterisk -rx` on a server does) ...
    assert "Asterisk 22" in pbx.sandbox.pbx.rx("core show version")
    # ... the astdb is writable in the instance's own db folder ...
    pbx.sandbox.pbx.rx("database put trunkctl-test stock yes")
    assert "Value: yes" in pbx.sandbox.pbx.rx("database get trunkctl-test stock")
    pbx.sandbox.pbx.rx("database del trunkctl-test stock")
    # ... and the log is written, in the package's stock format (no custom dateformat).
    log = pbx.sandbox.pbx.log_file
    assert log.stat().st_uid == uid
    pbx.sandbox.pbx.rx("module reload res_pjsip.so")
    last = [line for line in log.read_text(errors="replace").splitlines() if "]" in line][-1]
    assert re.match(
        r"^\[[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\] (NOTICE|WARNING|ERROR)\[\d+\]", last
    ), last


def test_reset_restores_bytes_modes_and_owners(pbx: SandboxInfo) -> None:
    sb, etc = pbx.sandbox, pbx.pbx_config_dir
    before = {rel: ((etc / rel).read_bytes(), (etc / rel).stat()) for rel in _tree(etc)}
    (etc / "extensions.conf").write_text("[only]\n")
    (etc / "cdr.conf").chmod(0o666)
    (etc / "manager.d/extra.conf").write_text("[x]\n")
    (etc / "pjsip_trunks.conf").write_text("[y]\n")
    (etc / "modules.conf").unlink()
    (etc / ".trunkctl-backups").mkdir(exist_ok=True)
    sb.reset_pbx()
    assert _tree(etc) == set(before)
    assert not (etc / ".trunkctl-backups").exists()
    for rel, (data, st) in before.items():
        now = (etc / rel).stat()
        assert (etc / rel).read_bytes() == data, rel
        assert (now.st_mode, now.st_uid, now.st_gid) == (st.st_mode, st.st_uid, st.st_gid), rel
    assert "There is no existence of 'only' context" in sb.pbx.rx("dialplan show only")


def test_trunkctls_ami_user_in_the_sandbox_is_exactly_what_init_grants(pbx: SandboxInfo) -> None:
    # The demo and every `trunkctl --sandbox` command log in as this user: it must be the
    # least-privilege one a real server gets from `trunkctl init` (issue 16 item 4).
    from trunkctl.provision._init import AMI_READ, AMI_WRITE
    from trunkctl.sandbox._configs import TRUNKCTL_AMI_READ, TRUNKCTL_AMI_WRITE

    assert (TRUNKCTL_AMI_READ, TRUNKCTL_AMI_WRITE) == (AMI_READ, AMI_WRITE)
    text = (pbx.pbx_config_dir / "manager.d/trunkctl.conf").read_text()
    section = text.split("[trunkctl]", 1)[1].split("\n[", 1)[0]
    assert f"read = {AMI_READ}\n" in section and f"write = {AMI_WRITE}\n" in section
    assert pbx.status["pbx"]["ami"]["username"] == "trunkctl"
