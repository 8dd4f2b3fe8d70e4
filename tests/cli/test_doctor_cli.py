"""`trunkctl doctor` as the user runs it: the grouped report, JSON, exit codes 0/1/2, the time.

The checks themselves: tests/doctor/test_live.py (sandbox) and tests/doctor/test_runner.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from ..conftest import SandboxInfo, option_pattern
from ..doctor.conftest import pending_warnings, set_up
from ._run import TRUNKCTL, js, run


def tk(*args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    """``trunkctl --sandbox --lang LANG ARGS`` with empty stdin (shared with the support tests)."""
    return run([TRUNKCTL, "--sandbox", "--lang", lang, *args], stdin="")


async def test_healthy_trunk_exit_0_within_two_seconds(pbx: SandboxInfo) -> None:
    await set_up(pbx)
    if pending_warnings(pbx.pbx_config_dir):
        # Until setup writes identify_by = ip on the trunk, PJSIP027 rightly warns.
        out = tk("doctor", "--json")
        warned = {i["id"] for i in js(out)["groups"]["warn"]}
        assert (out.returncode, warned) == (1, pending_warnings(pbx.pbx_config_dir))
        return
    start = time.perf_counter()
    out = tk("doctor", "--json")
    wall = time.perf_counter() - start
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    data = js(out)
    assert data["ok"] is True and data["exit_code"] == 0
    assert data["counts"]["fail"] == data["counts"]["warn"] == 0, data["groups"]
    # The whole command, interpreter start included, on a healthy sandbox.
    assert wall < 2.0, wall
    assert {c["id"] for c in data["checks"]} >= {"ami", "registration", "qualify", "sip_options"}
    human = tk("doctor")
    assert human.returncode == 0
    assert "OK (" in human.stdout and "✓ Registration with the provider: Registered" in human.stdout


def test_fresh_pbx_warns_and_says_what_next_in_russian(pbx: SandboxInfo) -> None:
    # No trunk yet is the next step, not a failure: exit 1, never 2 (issue: every fresh
    # install "failed").
    out = tk("doctor", lang="ru")
    assert out.returncode == 1, out.stdout + out.stderr
    text = out.stdout
    assert "Ошибки (" not in text and "Предупреждения (1)" in text
    assert "! Транк загружен в Asterisk: в pjsip.conf нет endpoint novofon" in text
    assert "i PJSIP023" in text and "trunkctl setup" in text
    assert "Пропущено (" in text  # registration, qualify… need a trunk
    # The summary line is shown, and counted nowhere.
    assert "Проверка конфигурации: " in text and "ошибок 0, предупреждений 1" in text
    named = tk("doctor", "--trunk", "mytrunk", "--json")
    assert named.returncode == 2  # a trunk the user names that is missing is a failure
    checks = {c["id"]: c for c in js(named)["checks"]}
    assert checks["trunk_loaded"]["status"] == "fail"


async def test_offline_lints_a_broken_copy_without_asterisk(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await set_up(pbx)
    copy = tmp_path / "asterisk"
    shutil.copytree(pbx.pbx_config_dir, copy)
    conf = copy / "pjsip.conf"
    # The classic mistake: auth= instead of outbound_auth= on the provider endpoint.
    text = conf.read_text()
    endpoint = option_pattern("type", "endpoint").search(text)
    assert endpoint is not None
    rest = re.sub(
        r"^outbound_auth([ \t]*=[ \t]*novofon)$",
        r"auth\1",
        text[endpoint.end() :],
        count=1,
        flags=re.M,
    )
    conf.write_text(text[: endpoint.end()] + rest)
    out = tk("doctor", "--offline", "--config-dir", str(copy), "--json")
    assert out.returncode == 2
    data = js(out)
    assert data["offline"] is True and data["checks"] == []
    assert data["config_dir"] == str(copy)
    assert [i["id"] for i in data["groups"]["fail"]] == ["PJSIP001"]  # the summary is no item
    assert data["groups"]["fail"][0]["subject"] == "trunk"
    assert "1 error" in data["lint"]["summary"]
    assert data["groups"]["fail"][0]["evidence"][0].startswith("pjsip.conf:")
    # The live config is untouched and healthy.
    pending = pending_warnings(pbx.pbx_config_dir)
    assert tk("doctor", "--offline", "--json").returncode == (1 if pending else 0)


async def test_config_dir_copy_drives_the_live_checks_too(pbx: SandboxInfo, tmp_path: Path) -> None:
    """A copy with a trunk the running Asterisk does not have: the live checks say so."""
    await set_up(pbx)
    copy = tmp_path / "etc"
    shutil.copytree(pbx.pbx_config_dir, copy)
    for name in ("pjsip.conf", "extensions.conf"):
        path = copy / name
        path.write_text(path.read_text().replace("novofon", "other"))
    out = tk("doctor", "--config-dir", str(copy), "--trunk", "other", "--json")
    data = js(out)
    checks = {c["id"]: c for c in data["checks"]}
    assert checks["trunk_loaded"]["status"] == "fail"
    assert "in pjsip.conf but not loaded" in checks["trunk_loaded"]["message"]
    assert checks["sip_options"]["status"] == "ok"  # the copy's provider address still answers
    assert out.returncode == 2


async def test_warnings_only_exit_1(pbx: SandboxInfo) -> None:
    """An IP trunk whose provider sees another address than the one the user claims."""
    await set_up(pbx, "ip")
    out = tk("doctor", "--public-ip", "198.51.100.7", "--json")
    data = js(out)
    assert out.returncode == 1, data["groups"]
    assert data["counts"]["fail"] == 0
    nat = next(c for c in data["checks"] if c["id"] == "nat")
    assert nat["status"] == "warn"
    assert "not_termination_address" in [f["code"] for f in nat["data"]["findings"]]


def test_missing_config_dir_is_bad_input(pbx: SandboxInfo, tmp_path: Path) -> None:
    out = tk("doctor", "--config-dir", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert "is not a directory" in " ".join(out.stderr.split())  # rich wraps lines


def test_list_rules_is_the_lint_catalogue() -> None:
    from trunkctl.lint import RULES

    out = subprocess.run(
        [TRUNKCTL, "doctor", "--list-rules", "--json"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert out.returncode == 0
    assert [r["id"] for r in js(out)["rules"]] == [r.id for r in RULES]


def test_twenty_phones_read_as_a_few_blocks_not_sixty_lines(tmp_path: Path) -> None:
    """Issue: a 20-phone config must read as blocks per object (trunk, phones, dialplan),
    one line per rule, not one line per phone per rule."""
    phones = "".join(
        f"[{n}]\ntype = endpoint\ncontext = office\nallow = alaw\nauth = {n}\naors = {n}\n"
        f"[{n}]\ntype = auth\nusername = {n}\npassword = pw{n}x\n"
        f"[{n}]\ntype = aor\nmax_contacts = 1\n[{n}-identify]\ntype = identify\nendpoint = {n}\n"
        for n in range(200, 220)
    )
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text("[udp]\ntype = transport\nbind = 0.0.0.0\n" + phones)
    (etc / "extensions.conf").write_text("[office]\nexten => _2XX,1,Dial(PJSIP/${EXTEN})\n")
    for p in etc.iterdir():
        p.chmod(0o640)
    out = run([TRUNKCTL, "--lang", "en", "doctor", "--offline", "--config-dir", str(etc)])
    assert out.returncode == 2, out.stdout
    text = out.stdout
    lines = [ln for ln in text.splitlines() if ln.lstrip().startswith(("✗", "!", "i "))]
    # One line for the 20 weak passwords, one for the 20 identifies, one for "no trunk yet".
    assert len(lines) == 3, text
    assert text.count(" Phones") == 2  # one block under Failures, one under Notes
    assert "Endpoints: phone ×20 (200, 201, 202, …)" in text  # the roles, before the rest
    assert "PJSIP022 Weak password on an auth that callers log in with (×20)" in text
    assert "PJSIP008" in text and "(×20)" in text.split("PJSIP008", 1)[1].splitlines()[0]
    assert "… +" in text  # evidence of the other phones is cut short
    data = js(run([TRUNKCTL, "doctor", "--offline", "--config-dir", str(etc), "--json"]))
    assert data["counts"]["fail"] == 20  # JSON keeps every finding
    assert {i["subject"] for i in data["groups"]["fail"]} == {"phones"}


async def test_a_refused_registration_shows_the_whole_register_ladder(pbx: SandboxInfo) -> None:
    """A live check's evidence is one story: the traced REGISTER exchange is not cut short."""
    import os

    from ..provision.test_status_trace import wrong_password

    await wrong_password(pbx)
    out = run(
        [TRUNKCTL, "--sandbox", "--lang", "en", "doctor"],
        stdin="",
        env={**os.environ, "COLUMNS": "400"},
    )
    assert out.returncode == 2, out.stdout + out.stderr
    text = out.stdout
    start = text.index("NovoFon said: 401 Unauthorized")
    ladder = text[start:]
    assert "SIP trace (→ sent by Asterisk" in ladder
    assert ladder.count("←  SIP/2.0 401 Unauthorized") == 2, ladder
    assert 'response="***"' in ladder
    evidence = ladder.split("\n      → ", 1)[0]  # up to the check's fix line
    assert "… +" not in evidence, evidence
