"""`trunkctl support-request` on the sandbox: the seed's message filled with real facts, and
a bundle with no secret inside. Wording per situation: tests/doctor/test_support.py."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from ..conftest import SandboxInfo, has_option, replace_option
from ..doctor.conftest import CALLER_ID, set_up
from .test_doctor_cli import tk


def extracted(bundle: Path) -> dict[str, str]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {
            m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def assert_no_secret(files: dict[str, str], *secrets: str) -> None:
    for name, text in files.items():
        for secret in secrets:
            assert secret not in text, f"{name} holds a secret"


async def test_seed_situation_unverified_ip_trunk(pbx: SandboxInfo, tmp_path: Path) -> None:
    """The seed's case: an IP trunk NovoFon has not verified, no login or password yet."""
    await set_up(pbx, "ip")
    pbx.sandbox.set_ip_verified(False)
    try:
        call = tk("call", "79990000200", "--json")
    finally:
        pbx.sandbox.set_ip_verified(True)
    assert call.returncode == 12, call.stdout + call.stderr  # rejected
    call_file = tmp_path / "call.json"
    call_file.write_text(call.stdout)
    bundle = tmp_path / "support.tar.gz"
    out = tk("support-request", "--call-json", str(call_file), "--bundle", str(bundle))
    assert out.returncode == 0, out.stdout + out.stderr
    termination = pbx.status["provider"]["ip_trunk"]["termination_address"]
    text = out.stdout
    assert text.startswith("Верификация IP SIP-транка: нет логина и пароля для тестового звонка")
    assert f"указал адрес терминации {termination}." in text
    assert "Тестовый звонок с этого адреса на 79990000200 (около " in text
    assert "отклонён: 403 Forbidden" in text
    assert "- SIP-логин: ещё не выдан" in text
    assert f"- Номер телефона: +{CALLER_ID}" in text
    version = pbx.status["asterisk_version"].removeprefix("Asterisk ")
    assert f"- АТС: Asterisk {version}" in text
    assert "    INVITE 79990000200 → 403 Forbidden" in text
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    files = extracted(bundle)
    assert sorted(files) == [
        "call.json",
        "config/extensions.conf",
        "config/pjsip.conf",
        "doctor.json",
        "facts.json",
        "message.ru.txt",
        "probe.json",
    ]
    assert json.loads(files["facts.json"])["termination_ip"] == termination
    assert json.loads(files["probe.json"])["options"]["status_code"] == 200
    assert "[outgoing]" in files["config/extensions.conf"]
    ami = Path(pbx.status["pbx"]["ami"]["secret_file"]).read_text().strip()
    assert_no_secret(files, ami, pbx.line_password)


async def test_registration_refused_bundle_holds_no_password(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await set_up(pbx)
    # Now break it: the configured password becomes a wrong one, applied.
    wrong = "Wrong-Pa55word-42"
    conf = pbx.pbx_config_dir / "pjsip.conf"
    text = conf.read_text()
    conf.write_text(replace_option(text, "password", pbx.line_password, wrong))
    tk("apply")
    bundle = tmp_path / "b.tar.gz"
    out = tk("support-request", "--lang", "en", "--bundle", str(bundle), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    data: Any = json.loads(out.stdout)
    assert data["facts"]["situation"] == "register_rejected", data["facts"]
    assert data["subject"] == f"SIP trunk {pbx.line_login}: registration refused (401 Unauthorized)"
    steps = data["facts"]["register_steps"]
    assert [(s["status_code"], s["with_credentials"]) for s in steps] == [
        (401, False),
        (401, True),
    ]
    assert "(with credentials) → 401 Unauthorized" in data["message"]
    files = extracted(bundle)
    assert "message.en.txt" in files
    assert has_option(files["config/pjsip.conf"], "password", "********")
    ami = Path(pbx.status["pbx"]["ami"]["secret_file"]).read_text().strip()
    assert_no_secret(files, wrong, ami, pbx.line_password)
    assert_no_secret({"stdout": out.stdout, "stderr": out.stderr}, wrong, ami)


async def test_failed_call_while_registered_with_the_line_password_present(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    """The pbx's pjsip.conf holds the real line password: grep the bundle for it."""
    await set_up(pbx)
    call = tk("call", "79990000503", "--json")
    call_file = tmp_path / "call.json"
    call_file.write_text(call.stdout)
    bundle = tmp_path / "b.tar.gz"
    out = tk("support-request", "--call-json", str(call_file), "--bundle", str(bundle))
    assert out.returncode == 0, out.stderr
    assert "исходящие звонки отклоняются (503 Service Unavailable)" in out.stdout
    assert "Регистрация при этом проходит успешно." in out.stdout
    files = extracted(bundle)
    assert pbx.line_password in (pbx.pbx_config_dir / "pjsip.conf").read_text()
    ami = Path(pbx.status["pbx"]["ami"]["secret_file"]).read_text().strip()
    assert_no_secret(files, pbx.line_password, ami)


def test_bad_call_json_is_refused(pbx: SandboxInfo, tmp_path: Path) -> None:
    bad = tmp_path / "call.json"
    bad.write_text('{"ok": false}')
    out = tk("support-request", "--call-json", str(bad))
    assert out.returncode == 2
    assert "trunkctl call --json" in out.stderr


NUMBER = "79990000431"  # 403 at once (worded "Caller ID not allowed" where the sandbox can)


def members(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {
            m.name.split("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def tshark_sip(pcap: Path) -> list[str]:
    """What Wireshark's dissector reads: each SIP message's method or status code."""
    tshark = shutil.which("tshark")
    assert tshark, "tshark (Debian package tshark) is missing"
    done = subprocess.run(
        [tshark, "-r", str(pcap), "-Y", "sip", "-T", "fields", "-e", "sip.Method",
         "-e", "sip.Status-Code"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


async def traced_refusal(pbx: SandboxInfo, tmp_path: Path) -> dict[str, Any]:
    """`call --json --trace` of a sandbox number NovoFon refuses with 403."""
    await set_up(pbx)
    call = tk("call", NUMBER, "--trace", "--json")
    data: dict[str, Any] = json.loads(call.stdout)
    assert data["sip_trace"]["available"] and data["sip_trace"]["messages"], call.stderr
    return data


async def test_a_traced_call_brings_its_ladder_and_pcap(pbx: SandboxInfo, tmp_path: Path) -> None:
    data = await traced_refusal(pbx, tmp_path)
    call_file = tmp_path / "call.json"
    call_file.write_text(json.dumps(data))
    bundle = tmp_path / "support.tar.gz"
    out = tk(
        "support-request", "--lang", "en", "--call-json", str(call_file), "--bundle", str(bundle)
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # The message carries the ladder of the failing call, the provider's answer included.
    refusal = next(m for m in data["sip_trace"]["messages"] if m["status"] == 403)
    assert "SIP trace (→ sent by Asterisk" in out.stdout, out.stdout
    assert f"←  {refusal['first_line']}" in out.stdout
    assert f"INVITE sip:{NUMBER}@" in out.stdout
    files = members(bundle)
    assert {"sip-trace.txt", "sip-trace.pcap"} <= set(files), sorted(files)
    assert refusal["first_line"].encode() in files["sip-trace.txt"]
    pcap = tmp_path / "trace.pcap"
    pcap.write_bytes(files["sip-trace.pcap"])
    sent = data["sip_trace"]["messages"]
    seen = tshark_sip(pcap)
    assert len(seen) == len(sent), (seen, [m["first_line"] for m in sent])
    assert seen[0] == "INVITE" and "403" in seen, seen
    # Credentials masked in every member (the INVITE answered a 407/401 challenge, if any).
    for name, content in files.items():
        assert not re.search(rb'response="[0-9a-f]{32}"', content), name
        ami = Path(pbx.status["pbx"]["ami"]["secret_file"]).read_text().strip()
        for secret in (ami, pbx.line_password):
            assert secret.encode() not in content, f"{name} holds a secret"


async def test_a_secret_inside_a_traced_message_is_scrubbed_from_the_pcap(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    """A call.json edited (or a far end echoing it) with the line password in a header: the
    pcap is built from scrubbed messages and still decodes."""
    data = await traced_refusal(pbx, tmp_path)
    first = data["sip_trace"]["messages"][0]
    head, sep, body = first["raw"].partition("\r\n")
    first["raw"] = f"{head}{sep}X-Note: {pbx.line_password}\r\n{body}"
    call_file = tmp_path / "call.json"
    call_file.write_text(json.dumps(data))
    bundle = tmp_path / "support.tar.gz"
    out = tk("support-request", "--call-json", str(call_file), "--bundle", str(bundle))
    assert out.returncode == 0, out.stdout + out.stderr
    files = members(bundle)
    assert pbx.line_password.encode() not in files["sip-trace.pcap"]
    assert b"X-Note: ********" in files["sip-trace.pcap"]
    pcap = tmp_path / "trace.pcap"
    pcap.write_bytes(files["sip-trace.pcap"])
    assert tshark_sip(pcap)[0] == "INVITE"
