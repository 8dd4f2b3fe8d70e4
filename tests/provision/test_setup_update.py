"""`setup` updates the trunk: what is not given keeps its current value, read from the files.

README's server flow through the CLI on the sandbox pbx (the caller ID of the first run
survives the second), a lone `--caller-id`, explicit removal, the user's inbound context
(never replaced, even with --force), what --force shows, leftover registrations, and the
"generated, do not edit" header.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput
from trunkctl.provision import SetupArgs, find_leftovers, generated_header, run_setup
from trunkctl.secret import Secret

from ..cli._run import TRUNKCTL, js, run
from ..conftest import SandboxInfo, squash


def tk(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run([TRUNKCTL, "--sandbox", "--lang", "en", *args], stdin=stdin)


def setup_with_login(
    pbx: SandboxInfo, *extra: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`setup --login <the line's login> --password-stdin <extra> --json`, the password on stdin."""
    secret = pbx.line_password if password is None else password
    return tk(
        "setup",
        "--login",
        pbx.line_login,
        "--password-stdin",
        *extra,
        "--json",
        stdin=secret + "\n",
    )


def files(pbx: SandboxInfo) -> dict[str, list[str]]:
    return {
        f: (pbx.pbx_config_dir / f).read_text().splitlines()
        for f in ("pjsip.conf", "extensions.conf")
    }


def changes(old: list[str], new: list[str]) -> list[str]:
    return [
        ln
        for ln in difflib.unified_diff(old, new, lineterm="", n=0)
        if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
    ]


def ok(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return js(proc)


def test_readme_server_flow_keeps_the_caller_id(pbx: SandboxInfo) -> None:
    first = ok(tk("setup", "--mode", "ip", "--caller-id", "+79581114585", "--json"))
    assert first["mode"] == "ip" and first["caller_id"] == "79581114585"
    second = ok(setup_with_login(pbx))
    assert second["mode"] == "registration"
    assert second["caller_id"] == "79581114585" and "caller_id" in second["kept"]
    ext = (pbx.pbx_config_dir / "extensions.conf").read_text()
    assert squash("same => n,Set(CALLERID(num)=79581114585)") in squash(ext)
    pjsip = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    assert squash(f"username = {pbx.line_login}") in squash(pjsip)
    assert "type=registration" in squash(pjsip)
    text = tk("setup", "--dry-run")
    assert text.returncode == 0 and "Kept as they are (not given this time): mode" in text.stdout
    # A third run with nothing new: the password stays in the file, nothing changes.
    third = ok(tk("setup", "--json"))
    assert third["changed"] == [] and third["mode"] == "registration"
    assert "password" in third["kept"] and pbx.line_password not in json.dumps(third)


def test_caller_id_alone_changes_only_the_caller_id_lines(pbx: SandboxInfo) -> None:
    ok(setup_with_login(pbx, "--caller-id", "+79581114585"))
    before = files(pbx)
    data = ok(tk("setup", "--caller-id", "+79581114586", "--json"))
    assert data["mode"] == "registration" and data["changed"] == ["extensions.conf"]
    after = files(pbx)
    assert after["pjsip.conf"] == before["pjsip.conf"]
    assert [squash(c) for c in changes(before["extensions.conf"], after["extensions.conf"])] == [
        "- same=>n,Set(CALLERID(num)=79581114585)",
        "+ same=>n,Set(CALLERID(num)=79581114586)",
    ]
    # Removing it is explicit, and removes only that line.
    ok(tk("setup", "--no-caller-id", "--json"))
    final = files(pbx)
    assert [squash(c) for c in changes(after["extensions.conf"], final["extensions.conf"])] == [
        "- same=>n,Set(CALLERID(num)=79581114586)"
    ]
    assert final["pjsip.conf"] == before["pjsip.conf"]


def test_caller_id_alone_without_a_trunk_still_asks_for_the_login(pbx: SandboxInfo) -> None:
    proc = tk("setup", "--caller-id", "+79581114585", "--json")
    assert proc.returncode == 2
    assert "--login" in js(proc)["error"]["what"]


def test_public_ip_is_kept_and_removed_explicitly(pbx: SandboxInfo) -> None:
    ok(
        tk(
            "setup",
            "--mode",
            "ip",
            "--public-ip",
            "203.0.113.7",
            "--local-net",
            "10.0.0.0/8",
            "--json",
        )
    )
    text = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    assert "external_signaling_address=203.0.113.7" in squash(text)
    assert "local_net=10.0.0.0/8" in squash(text)
    kept = ok(tk("setup", "--caller-id", "+79581114585", "--json"))
    assert {"public_ip", "local_nets"} <= set(kept["kept"])
    assert (pbx.pbx_config_dir / "pjsip.conf").read_text() == text
    ok(tk("setup", "--no-local-net", "--json"))
    text2 = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    assert not re.search(r"^local_net\s*=", text2, re.M)
    assert "external_signaling_address=203.0.113.7" in squash(text2)
    ok(tk("setup", "--no-public-ip", "--json"))
    text3 = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    assert not re.search(r"^external_\w+\s*=", text3, re.M)


def _args(pbx: SandboxInfo, **kw: Any) -> SetupArgs:
    host, port = pbx.provider_sip
    base: dict[str, Any] = {"settings_server": (host, port)}
    base.update(kw)
    return SetupArgs(**base)


def _run(pbx: SandboxInfo, args: SetupArgs, password: str | None = None) -> Any:
    def secret() -> Secret:
        assert password is not None, "setup asked for a password it should have kept"
        return Secret(password)

    cfg = ConfigDir(pbx.pbx_config_dir)
    with cfg.transaction() as tx:
        spec, plan, kept = run_setup(tx, args, secret)
        if not plan.conflicts:
            tx.commit()
    return spec, plan, kept


BOT = "[from-novofon]\nexten => _X.,1,NoOp(bot)\n same => n,Stasis(bot)\n same => n,Hangup()\n"


def test_users_inbound_context_is_reused_never_replaced(pbx: SandboxInfo) -> None:
    ext = pbx.pbx_config_dir / "extensions.conf"
    ext.write_text(ext.read_text() + "\n; my voice bot\n" + BOT)
    before = ext.read_text()
    spec, plan, _ = _run(
        pbx, _args(pbx, login=pbx.line_login, password_given=True, force=True), pbx.line_password
    )
    assert spec.user_inbound and spec.inbound_context == "from-novofon"
    assert any("your own context [from-novofon]" in n.en for n in plan.notes)
    text = ext.read_text()
    assert BOT in text and text.count("[from-novofon]") == 1
    assert text.startswith(before)  # only trunkctl's [outgoing] was added, after it
    endpoint = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    assert "context=from-novofon" in squash(endpoint)
    # A later run keeps pointing at it (read back from the endpoint).
    spec2, _, kept = _run(pbx, _args(pbx))
    assert spec2.user_inbound and "inbound" in kept
    assert BOT in ext.read_text()


def test_inbound_app_generates_the_context_and_inbound_context_points_at_yours(
    pbx: SandboxInfo,
) -> None:
    _run(pbx, _args(pbx, mode="ip", inbound_app="Stasis(bot)"))
    ext = pbx.pbx_config_dir / "extensions.conf"
    text = ext.read_text()
    assert (
        " same=>n,Stasis(bot)" in squash(text)
        and "Playback(hello-world)" not in text.split("[from-novofon]")[1].split("[")[0]
    )
    spec, _, _ = _run(pbx, _args(pbx, caller_id="+79581114585"))
    assert spec.inbound_app == "Stasis(bot)"  # kept
    ext.write_text(ext.read_text() + "\n[bot-in]\nexten => s,1,Stasis(bot)\n")
    spec, _, _ = _run(pbx, _args(pbx, inbound_context="bot-in"))
    assert spec.user_inbound
    assert "context=bot-in" in squash((pbx.pbx_config_dir / "pjsip.conf").read_text())
    with pytest.raises(BadInput):
        _run(pbx, _args(pbx, inbound_app="Stasis(bot);Dial(x)"))


def test_inbound_app_over_users_context_is_refused(pbx: SandboxInfo) -> None:
    ext = pbx.pbx_config_dir / "extensions.conf"
    ext.write_text(ext.read_text() + "\n" + BOT)
    before = {f: p.read_bytes() for f, p in _conf(pbx).items()}
    with pytest.raises(BadInput, match="does not replace"):
        _run(pbx, _args(pbx, mode="ip", inbound_app="Playback(x)", force=True))
    assert {f: p.read_bytes() for f, p in _conf(pbx).items()} == before


def _conf(pbx: SandboxInfo) -> dict[str, Path]:
    return {f: pbx.pbx_config_dir / f for f in ("pjsip.conf", "extensions.conf")}


def test_force_shows_each_replaced_section_masked(pbx: SandboxInfo) -> None:
    conf = pbx.pbx_config_dir / "pjsip.conf"
    mine = "\n[novofon]\ntype = auth\nusername = old\npassword = hunter2secret\n"
    conf.write_text(conf.read_text() + mine)
    line = conf.read_text().splitlines().index("[novofon]") + 1
    proc = setup_with_login(pbx, "--force")
    data = ok(proc)
    assert "hunter2secret" not in proc.stdout
    [replaced] = data["replaced"]
    assert replaced["file"] == "pjsip.conf" and replaced["line"] == line
    assert replaced["type"] == "auth" and "username = old" in replaced["text"]
    assert "password = ********" in replaced["text"]
    assert "hunter2secret" not in conf.read_text()  # replaced, and kept only in the backup


def test_force_text_output_names_the_section(pbx: SandboxInfo) -> None:
    ext = pbx.pbx_config_dir / "extensions.conf"
    ext.write_text(ext.read_text() + "\n[outgoing]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@old)\n")
    proc = tk("setup", "--mode", "ip", "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--force replaces your extensions.conf:" in proc.stdout
    assert "Dial(PJSIP/${EXTEN}@old)" in proc.stdout


LEFTOVER = """
;=== my old NovoFon registration ===
[novofon-reg]
type = registration
outbound_auth = novofon-auth
server_uri = sip:{host}:{port}
client_uri = sip:0000001@{host}:{port}

[novofon-auth]
type = auth
auth_type = userpass
username = 0000001
password = oldsecret
"""


def test_leftover_registration_to_the_same_provider_is_reported(pbx: SandboxInfo) -> None:
    host, port = pbx.provider_sip
    conf = pbx.pbx_config_dir / "pjsip.conf"
    conf.write_text(conf.read_text() + LEFTOVER.format(host=host, port=port))
    proc = tk("setup", "--mode", "ip", "--json")
    data = ok(proc)
    reg, auth = data["leftovers"]
    assert (reg["file"], reg["name"], reg["type"]) == ("pjsip.conf", "novofon-reg", "registration")
    assert reg["detail"] == f"registers to {host}"
    assert (auth["name"], auth["type"]) == ("novofon-auth", "auth")
    assert auth["detail"] == "the credentials of the registration [novofon-reg]"
    # The line numbers are those of the file as setup left it: exactly the sections' lines.
    lines = conf.read_text().splitlines()
    assert lines[reg["first_line"] - 1] == "[novofon-reg]"
    assert lines[reg["last_line"] - 1] == f"client_uri = sip:0000001@{host}:{port}"
    assert reg["last_line"] - reg["first_line"] == 4
    assert lines[auth["first_line"] - 1] == "[novofon-auth]"
    assert lines[auth["last_line"] - 1] == "password = oldsecret"
    text = tk("setup")
    assert f"pjsip.conf:{reg['first_line']}-{reg['last_line']}: [novofon-reg]" in text.stdout
    assert "oldsecret" not in text.stdout
    # The library function apply and doctor call: the trunk's own sections are not leftovers.
    found = find_leftovers(ConfigDir(pbx.pbx_config_dir), "novofon")
    assert [lo.name for lo in found] == ["novofon-reg", "novofon-auth"]
    # A registration to another provider is none of its business.
    assert find_leftovers(ConfigDir(pbx.pbx_config_dir), "novofon", "sip.example.net") == []


FREEPBX = ";--------------------------------------------------------------------------------;\n"
FREEPBX += ";          Do NOT edit this file as it is auto-generated by FreePBX.            ;\n"


@pytest.mark.parametrize(
    "header",
    [FREEPBX, "; This file is auto-generated by ansible\n", "; DO NOT EDIT\n"],
)
def test_generated_header_is_refused_unless_forced(pbx: SandboxInfo, header: str) -> None:
    conf = pbx.pbx_config_dir / "pjsip.conf"
    conf.write_text(header + conf.read_text())
    before = conf.read_bytes()
    proc = tk("setup", "--mode", "ip", "--json")
    assert proc.returncode == 2, proc.stdout
    err = js(proc)["error"]
    assert "generated" in err["what"] and "_custom.conf" in err["next"]
    assert conf.read_bytes() == before
    ok(tk("setup", "--mode", "ip", "--force", "--json"))
    assert conf.read_bytes().startswith(header.encode())


def test_generated_header_detection() -> None:
    assert generated_header(FREEPBX) is not None
    assert generated_header("; PJSIP configuration\n[global]\n; DO NOT EDIT\n") is None
    assert generated_header("; Static extension configuration file\n") is None


def test_kept_password_with_special_characters_is_rewritten_byte_for_byte(
    pbx: SandboxInfo,
) -> None:
    password = "a;b\\c#d=e"
    ok(setup_with_login(pbx, password=password))
    before = (pbx.pbx_config_dir / "pjsip.conf").read_bytes()
    data = ok(tk("setup", "--caller-id", "+79581114585", "--json"))
    assert data["changed"] == ["extensions.conf"] and "password" in data["kept"]
    assert (pbx.pbx_config_dir / "pjsip.conf").read_bytes() == before


def test_contradicting_flags_are_refused(pbx: SandboxInfo) -> None:
    proc = tk("setup", "--mode", "ip", "--caller-id", "+79581114585", "--no-caller-id", "--json")
    assert proc.returncode == 2 and "contradict" in js(proc)["error"]["what"]


def test_a_mere_mention_of_generated_is_not_a_header() -> None:
    # Debian's stock res_config_sqlite3.conf talks about "auto-generated transactions".
    assert generated_header(";   milliseconds of auto-generated transactions. Any\n") is None
    assert generated_header("; This file was automatically generated by a script\n")


VOICE_BOT_PJSIP = """
;=== old hand-written NovoFon trunk ===
[novofon-reg]
type = registration
outbound_auth = novofon-auth
server_uri = sip:{host}:{port}
client_uri = sip:{login}@{host}:{port}

[novofon-auth]
type = auth
auth_type = userpass
username = {login}
password = oldsecret

[novofon-old]
type = identify
endpoint = novofon-old
match = {host}
"""
VOICE_BOT_EXT = """
;=== voice bot ===
[from-novofon]
exten => _X.,1,NoOp(bot)
 same => n,Stasis(bot)
 same => n,Hangup()
;=== end of voice bot ===
"""


async def test_voice_bot_config_with_force_keeps_the_bot_and_names_the_leftovers(
    pbx: SandboxInfo,
) -> None:
    from trunkctl.provision import apply

    from .test_setup_apply import settings_of

    host, port = pbx.provider_sip
    pjsip = pbx.pbx_config_dir / "pjsip.conf"
    ext = pbx.pbx_config_dir / "extensions.conf"
    pjsip.write_text(
        pjsip.read_text() + VOICE_BOT_PJSIP.format(host=host, port=port, login=pbx.line_login)
    )
    ext.write_text(ext.read_text() + VOICE_BOT_EXT)
    proc = setup_with_login(pbx, "--force")
    data = ok(proc)
    assert VOICE_BOT_EXT in ext.read_text()
    assert data["user_inbound_context"] is True and data["inbound_context"] == "from-novofon"
    assert [(lo["name"], lo["type"]) for lo in data["leftovers"]] == [
        ("novofon-reg", "registration"),
        ("novofon-auth", "auth"),
        ("novofon-old", "identify"),
    ]
    assert "oldsecret" not in proc.stdout
    result = await apply(settings_of(pbx))
    assert all(p.ok for p in result.proofs), result.to_dict()
