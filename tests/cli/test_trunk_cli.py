"""The trunk lifecycle through the CLI on the sandbox: init, setup, credentials, apply, status.

Library-level behaviour is in tests/provision/; here the user's view: exit codes, JSON,
messages, and that secrets never reach argv, stdout or JSON.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkctl.conf import ConfigDir

from ..conftest import SandboxInfo, has_option
from ._run import TRUNKCTL, js, run


def tk(*args: str, stdin: str | None = None, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return run([TRUNKCTL, "--sandbox", "--lang", lang, *args], stdin=stdin)


def registered_within(pbx: SandboxInfo, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        st = tk("status", "--json")
        if st.returncode == 0 and js(st)["registration"]["status"] == "Registered":
            return True
        time.sleep(0.5)
    return False


def test_init_setup_apply_status(pbx: SandboxInfo) -> None:
    init = tk("init", "--json")
    assert init.returncode == 0, init.stderr
    assert js(init)["pjsip_loaded"] is True
    # init keeps the [novofon] table `sandbox up` wrote: the API commands still reach the
    # emulator (as after `trunkctl --sandbox demo`, whose init step writes the same file).
    api = tk("api", "settings", "--json")
    assert api.returncode == 0, api.stderr
    assert js(api)["rest_url"] == pbx.status["emulator"]["url"]
    setup = tk(
        "setup",
        "--login",
        pbx.line_login,
        "--password-stdin",
        "--json",
        stdin=pbx.line_password + "\n",
    )
    assert setup.returncode == 0, setup.stderr
    data = js(setup)
    assert data["changed"] == ["pjsip.conf", "extensions.conf"]
    assert pbx.line_password not in setup.stdout and "********" in data["diff"]
    applied = tk("apply", "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert all(p["ok"] for p in js(applied)["proofs"])
    assert js(applied)["registrations"] == {"novofon": "Registered"}
    assert registered_within(pbx, 20)
    reg = js(tk("status", "--json"))["registration"]
    assert reg["status"] == "Registered" and reg["expiration_s"] == 300
    # Asterisk 22 says NextReg 0 for a scheduled refresh: unknown, never "0 s".
    assert reg["next_refresh_s"] is None or reg["next_refresh_s"] > 0


def test_wrong_password_shows_the_rejection_and_the_fix(pbx: SandboxInfo) -> None:
    tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=pbx.line_password)
    assert tk("apply").returncode == 0
    assert registered_within(pbx, 20)
    changed = tk(
        "credentials",
        "set",
        "--username",
        pbx.line_login,
        "--password-stdin",
        "--json",
        stdin="not-the-password\n",
    )
    assert changed.returncode == 0, changed.stderr
    assert "[novofon] type=auth password" in js(changed)["changed"]
    assert "not-the-password" not in changed.stdout
    applied = tk("apply", "--json")
    # The files loaded fine, but the fresh REGISTER apply sends is refused: exit 1.
    assert applied.returncode == 1
    assert js(applied)["ok"] is True and js(applied)["registrations"] == {"novofon": "Rejected"}
    st = tk("status", "--json")
    data = js(st)
    assert st.returncode == 1 and data["healthy"] is False
    assert data["registration"]["status"] in ("Rejected", "Unregistered")
    probe = data["probe"]
    # The SIP evidence: challenged, answered with the configured password, refused again.
    assert [s["status_code"] for s in probe["steps"]][:2] == [401, 401]
    assert probe["outcome"] == "auth_failed"
    assert any("credentials set" in f for f in data["fixes"])
    human = tk("status")
    assert "401" in human.stdout and "credentials set" in human.stdout
    assert "not-the-password" not in human.stdout + st.stdout
    # A call says the credentials are wrong, not "maybe auth = instead of outbound_auth =":
    # the loaded endpoint has outbound_auth.
    assert js(st)["outbound_auth"] == "novofon"
    call = tk("call", "79990000200", "--json")
    assert call.returncode == 12, call.stdout + call.stderr  # rejected
    explanation = js(call)["explanation"]
    assert explanation["id"] == "auth_rejected.credentials"
    assert "outbound_auth =" not in " ".join(explanation["next_steps"])


def test_password_with_semicolon_is_escaped_and_works(pbx: SandboxInfo) -> None:
    original = pbx.line_password
    pbx.sandbox.set_line_password("pa;ss;word")
    try:
        setup = tk("setup", "--login", pbx.line_login, "--password-stdin", stdin="pa;ss;word\n")
        assert setup.returncode == 0, setup.stderr
        text = (pbx.pbx_config_dir / "pjsip.conf").read_text()
        assert has_option(text, "password", "pa\\;ss\\;word")
        assert tk("apply").returncode == 0
        assert registered_within(pbx, 20)
    finally:
        pbx.sandbox.set_line_password(original)


def test_password_on_argv_is_refused_and_nothing_changes(pbx: SandboxInfo) -> None:
    before = (pbx.pbx_config_dir / "pjsip.conf").read_bytes()
    out = tk("setup", "--login", pbx.line_login, "--password", "hunter2")
    assert out.returncode == 2
    assert "--password-stdin" in out.stderr and "hunter2" not in out.stderr
    assert (pbx.pbx_config_dir / "pjsip.conf").read_bytes() == before


def test_bad_inputs_are_refused_with_reasons(pbx: SandboxInfo) -> None:
    before = {f: (pbx.pbx_config_dir / f).read_bytes() for f in ("pjsip.conf", "extensions.conf")}
    cases = [
        (("setup", "--login", "12345", "--password-stdin"), "not a NovoFon SIP login"),
        (("setup", "--login", pbx.line_login, "--password-stdin"), "line break"),
        (("setup", "--mode", "ip", "--name", "nov[ofon]"), "not a usable name"),
        (("setup", "--mode", "ip", "--caller-id", "12"), "caller ID"),
        (("setup", "--mode", "ip", "--provider", "telfin"), "unknown provider"),
        (("setup", "--mode", "weird"), "unknown mode"),
    ]
    for args, needle in cases:
        out = tk(*args, "--json", stdin="pa\rss\n")
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        err = js(out)["error"]
        assert needle.lower() in err["what"].lower(), (args, err)
        assert err["next"], args
    after = {f: (pbx.pbx_config_dir / f).read_bytes() for f in before}
    assert after == before


def test_messages_in_russian(pbx: SandboxInfo) -> None:
    out = tk("setup", "--login", "12345", "--password-stdin", stdin="x\n", lang="ru")
    assert out.returncode == 2
    assert "не похож на SIP-логин" in out.stderr and "Что сделать" in out.stderr


def test_dry_run_writes_nothing(pbx: SandboxInfo) -> None:
    before = (pbx.pbx_config_dir / "pjsip.conf").read_bytes()
    out = tk("setup", "--mode", "ip", "--dry-run")
    assert out.returncode == 0 and "+[novofon]" in out.stdout
    assert (pbx.pbx_config_dir / "pjsip.conf").read_bytes() == before


def test_status_of_missing_trunk_is_down(pbx: SandboxInfo) -> None:
    out = tk("status", "--json")
    assert out.returncode == 1
    assert js(out)["loaded"] is False and js(out)["fixes"]


def _as_nobody(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            TRUNKCTL,
            "--lang",
            "en",
            *args,
        ],
        stdin=stdin,
    )


@pytest.fixture
def plain_dir() -> Iterator[Path]:
    """A config dir and settings file under a directory user nobody can enter."""
    top = Path(tempfile.mkdtemp(prefix="trunkctl-nonroot-"))
    top.chmod(0o755)
    etc = top / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text(
        "[transport-udp]\ntype = transport\nprotocol = udp\nbind = 127.0.0.2:5060\n"
    )
    (etc / "extensions.conf").write_text("[general]\n")
    for f in etc.iterdir():
        f.chmod(0o644)
    settings = top / "settings.toml"
    settings.write_text(f'config_dir = "{etc}"\n[provider]\nserver = "127.0.0.1:5070"\n')
    settings.chmod(0o644)
    try:
        yield top
    finally:
        shutil.rmtree(top)


@pytest.mark.parametrize(
    "command",
    [
        ("setup", "--mode", "ip"),
        ("credentials", "set", "--login", "0053248", "--password-stdin"),
        ("init", "--no-check"),
    ],
)
def test_not_root_on_roots_config_exits_3_naming_sudo(
    plain_dir: Path, command: tuple[str, ...]
) -> None:
    before = {f.name: f.read_bytes() for f in (plain_dir / "etc").iterdir()}
    settings = str(plain_dir / "settings.toml")
    proc = _as_nobody("--settings", settings, *command, "--json", stdin="pw\n")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    err = js(proc)["error"]
    assert err["code"] == "environment" and f"sudo trunkctl {command[0]}" in err["next"]
    assert "Traceback" not in proc.stderr
    assert {f.name: f.read_bytes() for f in (plain_dir / "etc").iterdir()} == before


def test_not_root_on_a_config_dir_it_may_write_works(plain_dir: Path) -> None:
    etc = plain_dir / "etc"
    for p in (etc, *etc.iterdir()):
        os.chown(p, 65534, 65534)
    settings = str(plain_dir / "settings.toml")
    proc = _as_nobody("--settings", settings, "setup", "--mode", "ip", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert js(proc)["changed"] == ["pjsip.conf", "extensions.conf"]
    assert "type = endpoint" in (etc / "pjsip.conf").read_text()


def test_setup_tightens_a_world_readable_pjsip_conf_and_says_so(pbx: SandboxInfo) -> None:
    pjsip = pbx.pbx_config_dir / "pjsip.conf"
    pjsip.chmod(0o644)
    gid = pjsip.stat().st_gid
    setup = tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=pbx.line_password)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert pjsip.stat().st_mode & 0o777 == 0o640 and pjsip.stat().st_gid == gid
    assert f"{pjsip} holds a secret" in " ".join(setup.stdout.split()), setup.stdout
    assert "now 0640" in setup.stdout
    # credentials set into a file made world-readable again: the same, in --json.
    pjsip.chmod(0o644)
    creds = tk(
        "credentials",
        "set",
        "--login",
        pbx.line_login,
        "--password-stdin",
        "--json",
        stdin="Another-pass-123\n",
    )
    assert creds.returncode == 0, creds.stdout + creds.stderr
    assert js(creds)["tightened"] == [
        {"file": str(pjsip), "mode_before": "0644", "mode_after": "0640", "changed": True}
    ]
    assert pjsip.stat().st_mode & 0o777 == 0o640


def _set_option(conf: Path, key: str, old: str, new: str) -> None:
    """The first whole option line ``key = old`` (any spacing) set to ``new``."""
    lines = conf.read_text().splitlines(keepends=True)
    line_re = re.compile(rf"^\s*{re.escape(key)}\s*=>?\s*{re.escape(old)}\s*$")
    i = next(i for i, line in enumerate(lines) if line_re.match(line))
    lines[i] = f"{key} = {new}\n"
    conf.write_text("".join(lines))


def test_apply_says_needs_a_restart_with_how_and_exits_1(pbx: SandboxInfo) -> None:
    tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=pbx.line_password)
    assert tk("apply").returncode == 0
    res = ConfigDir(pbx.pbx_config_dir).resolve("pjsip.conf")
    endpoint = res.find("novofon", "endpoint")
    assert endpoint is not None
    transport = res.find(endpoint.get("transport") or "", "transport")
    assert transport is not None
    old_bind = transport.get("bind") or ""
    host = old_bind.rsplit(":", 1)[0]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    conf = Path(transport.file)
    _set_option(
        conf if conf.is_absolute() else pbx.pbx_config_dir / conf,
        "bind",
        old_bind,
        f"{host}:{port}",
    )
    proc = tk("apply")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    text = " ".join(proc.stdout.split())
    assert "Needs a restart: " in text and f"{host}:{port}" in text
    assert "core restart gracefully" in text and "systemctl restart asterisk" in text
    assert text.count("trunkctl apply --no-reload") == 1  # said once, not twice
    assert "Not proven" not in text and "Applied" not in text
    data = js(tk("apply", "--no-reload", "--json"))
    assert data["outcome"] == "needs_restart" and data["ok"] is False


def test_apply_names_the_users_leftover_registration(pbx: SandboxInfo) -> None:
    setup = tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=pbx.line_password)
    assert setup.returncode == 0, setup.stderr
    pjsip = pbx.pbx_config_dir / "pjsip.conf"
    server = re.search(r"^server_uri\s*=\s*(\S+)", pjsip.read_text(), re.M)
    assert server is not None
    before = pjsip.read_text()
    first = len(before.splitlines()) + 2
    pjsip.write_text(
        before
        + "\n[novofon-reg]\ntype = registration\n"
        + f"server_uri = {server[1]}\nclient_uri = sip:0099999@{server[1][4:]}\n"
        + "retry_interval = 60\n"
    )
    proc = tk("apply", "--json")
    leftovers = js(proc)["leftovers"]
    assert [(lo["file"], lo["first_line"], lo["last_line"], lo["name"]) for lo in leftovers] == [
        ("pjsip.conf", first, first + 4, "novofon-reg")
    ], leftovers
    text = tk("apply").stdout
    assert f"pjsip.conf:{first}-{first + 4}: [novofon-reg] type=registration" in text


def test_status_says_unknown_not_down_when_the_ami_does_not_report_it(pbx: SandboxInfo) -> None:
    # Written but never applied: Asterisk has no such endpoint or registration loaded.
    tk("setup", "--login", pbx.line_login, "--password-stdin", stdin=pbx.line_password)
    data = js(tk("status", "--json"))
    assert data["state"] == "unknown" and data["registration"]["next_refresh"] == "unknown"
    proc = tk("status")
    assert proc.returncode == 1
    assert "Trunk novofon: UNKNOWN" in proc.stdout and "DOWN" not in proc.stdout
    assert "registration: not loaded, next refresh unknown" in proc.stdout
    ru = tk("status", lang="ru").stdout
    assert "Транк novofon: НЕИЗВЕСТНО" in ru and "время обновления неизвестно" in ru


BROAD_AMI_USER = (
    "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n[trunkctl]\nsecret = s3cret-value-1\n"
    "read = call,user,system,reporting\nwrite = originate,system,reporting,command\n"
)


def test_init_narrow_ami_narrows_a_broader_existing_user(tmp_path: Path) -> None:
    etc = tmp_path / "asterisk"
    etc.mkdir()
    (etc / "asterisk.conf").write_text("[directories]\n")
    manager = etc / "manager.conf"
    manager.write_text(BROAD_AMI_USER)
    manager.chmod(0o640)

    def init(*flags: str) -> subprocess.CompletedProcess[str]:
        settings = str(tmp_path / "config.toml")
        head = (TRUNKCTL, "--lang", "en", "--settings", settings, "init", "--no-check")
        return run([*head, "--config-dir", str(etc), *flags])

    asked = init()
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert manager.read_text() == BROAD_AMI_USER  # only named, not changed
    assert "--narrow-ami" in asked.stdout
    narrowed = init("--narrow-ami", "--json")
    assert narrowed.returncode == 0, narrowed.stdout + narrowed.stderr
    assert js(narrowed)["ami_narrowed"] is True
    text = manager.read_text()
    assert "write = originate,call,reporting" in text and "secret = s3cret-value-1" in text
    assert "command" not in text


def _killed_setup_then(
    plain_dir: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`setup --mode ip` SIGKILLed between its two files, then ``args`` (which repairs)."""
    settings = str(plain_dir / "settings.toml")
    env = {**os.environ, "TRUNKCTL_TEST_KILL_AT": "write-1"}
    killed = run([TRUNKCTL, "--settings", settings, "setup", "--mode", "ip"], env=env)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    return run([TRUNKCTL, "--settings", settings, *args], stdin=stdin)


def test_setup_says_once_which_interrupted_commit_it_repaired(plain_dir: Path) -> None:
    before = {f: (plain_dir / "etc" / f).read_bytes() for f in ("pjsip.conf", "extensions.conf")}
    proc = _killed_setup_then(plain_dir, "--lang", "ru", "setup", "--mode", "ip", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (rec,) = js(proc)["recovered"]
    assert rec["action"] == "rolled_back" and rec["files"] == ["pjsip.conf", "extensions.conf"]
    assert rec["restored"] == ["pjsip.conf"]
    # Said once, in the user's language, on stderr; not again by Python's logger.
    err = " ".join(proc.stderr.split())
    assert err.count("прерванная запись pjsip.conf, extensions.conf") == 1, proc.stderr
    assert "Сначала исправлено" in err and "interrupted commit" not in err
    # The repaired set was the old one; this run then wrote both files of one run.
    assert js(proc)["changed"] == ["pjsip.conf", "extensions.conf"]
    assert all((plain_dir / "etc" / f).read_bytes() != b for f, b in before.items())


def test_credentials_set_error_carries_the_repair_in_json(plain_dir: Path) -> None:
    # No registration trunk to change: an error, but the repair is still reported.
    proc = _killed_setup_then(
        plain_dir,
        *("credentials", "set", "--login", "0012345", "--password-stdin", "--json"),
        stdin="Pw-1234567\n",
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    details = js(proc)["error"]["details"]
    assert [r["action"] for r in details["recovered"]] == ["rolled_back"]
    assert proc.stderr.count("an interrupted commit of pjsip.conf, extensions.conf") == 1
