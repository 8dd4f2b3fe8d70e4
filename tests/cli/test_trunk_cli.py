"""The trunk lifecycle through the CLI on the sandbox: init, setup, credentials, apply, status.

Library-level behaviour is in tests/provision/; here the user's view: exit codes, JSON,
messages, and that secrets never reach argv, stdout or JSON.
"""

from __future__ import annotations

import subprocess
import time

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
