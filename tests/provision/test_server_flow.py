"""README's "Using it on your server", step by step, through the console script, on the
stock-Debian sandbox pbx (the asterisk package's own /etc/asterisk, 0640, owner asterisk).

After every step the config dir is checked against the stock files taken at the start:
every stock line of a file trunkctl writes is still there, in the same order (bytes, line
endings included); every other file is byte-identical; modes and owners are unchanged (the
stock files are already 0640, so there is nothing to tighten); nothing new appears outside
trunkctl's backup folder.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkctl.conf._files import LOCK_NAME

from ..cli._run import TRUNKCTL, js, run
from ..conftest import SandboxInfo

# The files the server flow lets trunkctl write (pjsip.conf for the trunk, extensions.conf
# for its contexts); init finds the sandbox's AMI user in manager.d/ and writes nothing.
WRITTEN = frozenset({"pjsip.conf", "extensions.conf"})
BACKUPS = ".trunkctl-backups"
CALLER_ID = "+79581114585"
VERIFICATION_NUMBER = "79991234567"  # the sandbox provider's verification number
ANSWERING_NUMBER = "79990000200"  # answers and plays audio


@dataclass(frozen=True)
class Stat:
    """One file of the config dir: its bytes, mode and owner."""

    data: bytes
    mode: int
    uid: int
    gid: int


def snapshot(config_dir: Path, *, backups: bool = False) -> dict[str, Stat]:
    """Every file under ``config_dir`` (trunkctl's backup folder only when asked)."""
    found: dict[str, Stat] = {}
    for path in sorted(config_dir.rglob("*")):
        rel = path.relative_to(config_dir).as_posix()
        if not backups and rel.split("/")[0] == BACKUPS:
            continue
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else b""
        found[rel] = Stat(data, st.st_mode, st.st_uid, st.st_gid)
    return found


def is_subsequence(needle: Sequence[bytes], haystack: Sequence[bytes]) -> bool:
    """True when every line of ``needle`` occurs in ``haystack`` in the same order."""
    it = iter(haystack)
    return all(any(line == other for other in it) for line in needle)


def lines(data: bytes) -> list[bytes]:
    """The file's lines with their own endings (``\\n``, ``\\r\\n``, …)."""
    return data.splitlines(keepends=True)


def assert_user_lines_kept(step: str, stock: dict[str, Stat], config_dir: Path) -> None:
    """The check after every step: no stock byte moved or vanished; modes and owners kept."""
    now = snapshot(config_dir)
    assert set(now) == set(stock), f"{step}: files added/removed: {set(now) ^ set(stock)}"
    for rel, before in stock.items():
        after = now[rel]
        assert (after.mode, after.uid, after.gid) == (before.mode, before.uid, before.gid), (
            f"{step}: {rel} mode/owner {oct(before.mode)} {before.uid}:{before.gid} -> "
            f"{oct(after.mode)} {after.uid}:{after.gid}"
        )
        if rel in WRITTEN:
            assert is_subsequence(lines(before.data), lines(after.data)), (
                f"{step}: a stock line of {rel} moved or vanished"
            )
        else:
            assert after.data == before.data, f"{step}: {rel} changed, trunkctl does not write it"
    assert not (config_dir / LOCK_NAME).exists(), f"{step}: {LOCK_NAME} left behind"


def changed_lines(before: bytes, after: bytes) -> tuple[list[bytes], list[bytes]]:
    """The lines a change removed and the lines it added."""
    removed: list[bytes] = []
    added: list[bytes] = []
    a, b = lines(before), lines(after)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += a[i1:i2]
            added += b[j1:j2]
    return removed, added


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``trunkctl --sandbox --lang en ARGS --json``: the sandbox's settings, as a user runs it."""
    return run([TRUNKCTL, "--sandbox", "--lang", "en", *args, "--json"], stdin=stdin)


def ok(proc: subprocess.CompletedProcess[str], code: int = 0) -> Any:
    """The JSON of a step that exited with ``code``."""
    assert proc.returncode == code, (proc.args, proc.returncode, proc.stdout, proc.stderr)
    return js(proc)


def test_the_readme_server_flow_keeps_every_user_line(pbx: SandboxInfo) -> None:
    cfg = pbx.pbx_config_dir
    stock = snapshot(cfg)
    assert set(stock) >= WRITTEN and len([r for r in stock if r.endswith(".conf")]) > 90
    password = pbx.line_password + "\n"

    def check(step: str) -> None:
        assert_user_lines_kept(step, stock, cfg)

    # sudo trunkctl init
    init = ok(tk("init"))
    assert init["pjsip_loaded"] is True and init["chan_sip_loaded"] is False
    # The sandbox's AMI user is where Debian's manager.conf says users go; init finds it.
    assert init["ami_user_created"] is False and init["ami_user_file"] == "manager.d/trunkctl.conf"
    assert init["settings_written"] is False and init["tightened"] == []
    check("init")

    # sudo trunkctl setup --mode ip --caller-id +79581114585
    setup = ok(tk("setup", "--mode", "ip", "--caller-id", CALLER_ID))
    assert setup["mode"] == "ip" and setup["caller_id"] == CALLER_ID.lstrip("+")
    assert setup["changed"] == ["pjsip.conf", "extensions.conf"]
    # The stock files are 0640 already: nothing to tighten; the lab's transport is reused.
    assert setup["tightened"] == [] and setup["created_transport"] is False
    assert setup["transport"] == "transport-udp"
    check("setup --mode ip")
    # In the file's own style: the stock dialplan writes `exten => …` (and `static=yes`).
    dialplan = (cfg / "extensions.conf").read_bytes()
    assert b"\nexten => _+X.,1,NoOp(" in dialplan and b"exten=>" not in dialplan
    pjsip_ip_mode = (cfg / "pjsip.conf").read_bytes()

    # sudo trunkctl apply
    applied = ok(tk("apply"))
    assert applied["outcome"] == "applied" and applied["snapshot_saved"] is True
    assert applied["proofs"] and all(p["ok"] for p in applied["proofs"])
    check("apply (ip)")

    # sudo trunkctl call 79991234567 --verification
    verify = ok(tk("call", VERIFICATION_NUMBER, "--verification"))
    assert verify["mode"] == "ip" and verify["result"]["status"] == "answered"
    assert verify["explanation"]["id"] == "answered.verification"
    # It advises the step README runs next (`credentials set` has no auth to change yet).
    advice = " ".join(verify["explanation"]["next_steps"])
    assert "`trunkctl setup --login <LOGIN> --password-stdin`" in advice
    check("call --verification")

    # sudo trunkctl call 79991234567 --trace (as root: a passive capture of the SIP port)
    assert os.geteuid() == 0, "the flow runs as root, as README's sudo does"
    traced = ok(tk("call", ANSWERING_NUMBER, "--trace"))
    assert traced["result"]["status"] == "answered"
    trace = traced["sip_trace"]
    assert trace["available"] is True
    ladder = [(m["direction"], m["status"] or m["method"]) for m in trace["messages"]]
    assert ("out", "INVITE") in ladder and ("in", 200) in ladder and ("out", "BYE") in ladder
    check("call --trace")

    # `credentials set` on the IP-mode trunk is refused and points at setup --login.
    refused = tk(
        "credentials", "set", "--username", pbx.line_login, "--password-stdin", stdin=password
    )
    assert refused.returncode == 2 and "setup --name novofon --login" in refused.stdout
    check("credentials set (ip mode, refused)")

    # sudo trunkctl setup --login 0053248 --password-stdin < pass.txt
    setup = ok(tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=password))
    assert setup["mode"] == "registration" and setup["changed"] == ["pjsip.conf"]
    assert setup["caller_id"] == CALLER_ID.lstrip("+") and "caller_id" in setup["kept"]
    assert pbx.line_password not in setup["diff"]
    check("setup --login")

    # sudo trunkctl apply && trunkctl status
    applied = ok(tk("apply"))
    assert applied["outcome"] == "applied" and applied["registrations"] == {"novofon": "Registered"}
    check("apply (registration)")
    status = ok(tk("status"))
    assert status["healthy"] is True and status["registration"]["status"] == "Registered"
    check("status")

    # A user's later runs. setup --caller-id alone: only the caller-ID line changes.
    before = snapshot(cfg)
    setup = ok(tk("setup", "--caller-id", "+79581110000"))
    assert setup["mode"] == "registration" and setup["changed"] == ["extensions.conf"]
    assert set(setup["kept"]) >= {"mode", "login", "password"}
    after = snapshot(cfg)
    assert after["pjsip.conf"] == before["pjsip.conf"]
    assert changed_lines(before["extensions.conf"].data, after["extensions.conf"].data) == (
        [b" same => n,Set(CALLERID(num)=79581114585)\n"],
        [b" same => n,Set(CALLERID(num)=79581110000)\n"],
    )
    check("setup --caller-id")

    # NovoFon resets the line's password; credentials set changes only that line.
    new_password = pbx.line_password + "-new"
    pbx.sandbox.set_line_password(new_password)
    try:
        reset_password(pbx, cfg, stock, new_password)
    finally:
        pbx.sandbox.set_line_password(password.strip())

    # Back to IP mode: trunkctl's auth and registration go, with their markers; nothing else.
    setup = ok(tk("setup", "--mode", "ip"))
    assert setup["mode"] == "ip" and setup["changed"] == ["pjsip.conf"]
    pjsip = (cfg / "pjsip.conf").read_bytes()
    assert pjsip == pjsip_ip_mode  # exactly the IP-mode file of the first setup
    assert b"type=registration" not in pjsip.split(b"trunkctl: novofon")[-1]
    check("setup --mode ip (switch back)")
    applied = ok(tk("apply"))
    assert applied["outcome"] == "applied" and applied["registrations"] == {}
    check("apply (ip again)")

    # A dry run changes nothing at all: not a byte, not a backup, no lock file left.
    before = snapshot(cfg, backups=True)
    dry = ok(tk("setup", "--caller-id", "+79581112222", "--dry-run"))
    assert dry["dry_run"] is True and dry["changed"] == ["extensions.conf"] and dry["backups"] == []
    assert "79581112222" in dry["diff"]
    assert snapshot(cfg, backups=True) == before
    check("setup --dry-run")


def reset_password(pbx: SandboxInfo, cfg: Path, stock: dict[str, Stat], new_password: str) -> None:
    """`credentials set` after NovoFon reset the line's password: one line changes."""
    before = snapshot(cfg)
    creds = ok(
        tk(
            "credentials",
            "set",
            "--username",
            pbx.line_login,
            "--password-stdin",
            stdin=new_password + "\n",
        )
    )
    assert creds["changed"] == ["[novofon] type=auth password"] and new_password not in str(creds)
    after = snapshot(cfg)
    assert after["extensions.conf"] == before["extensions.conf"]
    removed, added = changed_lines(before["pjsip.conf"].data, after["pjsip.conf"].data)
    assert [r.split(b"=")[0] for r in removed + added] == [b"password", b"password"]
    assert added == [f"password={new_password}\n".encode()]
    assert_user_lines_kept("credentials set", stock, cfg)
    applied = ok(tk("apply"))
    assert applied["outcome"] == "applied" and applied["registrations"] == {"novofon": "Registered"}
    assert_user_lines_kept("apply (new password)", stock, cfg)


def test_init_on_the_packages_own_etc_asterisk(pbx: SandboxInfo, tmp_path: Path) -> None:
    """init against a copy of the package's /etc/asterisk as installed (no AMI user yet).

    The sandbox's config dir already has the lab's AMI user, so `init --sandbox` only finds
    it; a real server's first init creates one. Debian's manager.conf includes manager.d/:
    the user goes there, manager.conf and every other file stay byte-identical.
    """
    etc = tmp_path / "asterisk"
    shutil.copytree(pbx.sandbox.root / "etc/asterisk", etc, symlinks=True)
    stock = snapshot(etc)
    assert "manager.d/trunkctl.conf" not in stock
    settings = tmp_path / "config.toml"
    proc = run(
        [
            TRUNKCTL,
            "--lang",
            "en",
            "--settings",
            str(settings),
            "init",
            "--config-dir",
            str(etc),
            "--secret-file",
            str(tmp_path / "ami.secret"),
            "--no-check",
            "--json",
        ]
    )
    data = ok(proc)
    assert data["ami_user_created"] is True and data["ami_user_file"] == "manager.d/trunkctl.conf"
    # Debian's AMI is on and bound to 127.0.0.1 already: init does not touch [general].
    assert data["ami_enabled"] is False and data["ami_bindaddr"] == "127.0.0.1"
    now = snapshot(etc)
    assert {r: s for r, s in now.items() if r != "manager.d/trunkctl.conf"} == stock
    user = now["manager.d/trunkctl.conf"]
    assert user.mode & 0o777 == 0o640 and user.gid == stock["manager.conf"].gid
    text = user.data.decode()
    assert "[trunkctl]" in text and "write = originate,call,reporting" in text
    assert (tmp_path / "ami.secret").stat().st_mode & 0o777 == 0o600
    secret = (tmp_path / "ami.secret").read_text().strip()
    assert secret and secret not in proc.stdout
