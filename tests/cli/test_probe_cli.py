"""`trunkctl probe options|register` as a Nagios plugin, against SIPp and the sandbox provider.

Each verdict is checked against what the far end really did: SIPp's own exit code (it
verifies our Via and digest itself) and the provider Asterisk's log of the binding our
REGISTER added and removed. Verdict rules without a network: tests/doctor/test_nagios.py.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ..conftest import SandboxInfo
from ..sip.conftest import (
    PBX_IP,
    PROVIDER_IP,
    Sipp,
    assert_pbx_registered,
    leave_pbx_registered,
    line_contacts,
    register_pbx,
)
from ._run import TRUNKCTL, js, run

USER, PASSWORD = "0053248", "s3cret-Pa55"


def probe(*args: str, stdin: str = "", lang: str = "en") -> subprocess.CompletedProcess[str]:
    return run([TRUNKCTL, "--lang", lang, "probe", *args], stdin=stdin, timeout=60)


@pytest.fixture
def sipp(tmp_path: Path) -> Sipp:
    return Sipp(tmp_path)


@pytest.fixture
def provider(sandbox: SandboxInfo) -> Iterator[SandboxInfo]:
    """The sandbox provider; afterwards the pbx re-registers whatever our REGISTER displaced
    (the line keeps one contact, like a real provider may)."""
    yield sandbox
    sandbox.sandbox.pbx.rx("pjsip send register *all")


# --- SIPp ------------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_options_ok_reports_where_the_peer_sees_us(sipp: Sipp, transport: str) -> None:
    with sipp.serve("options_200.xml", transport=transport) as run:
        out = probe("options", f"{PROVIDER_IP}:{run.port}", "--transport", transport,
                    "--local-address", PBX_IP, "--timeout", "3")  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert re.fullmatch(
        rf"SIP OPTIONS OK - 200 OK from {PROVIDER_IP}:{run.port}/{transport} in [\d.]+ ms"
        r"\|time=[\d.]+s;;;0;",
        lines[0],
    ), lines[0]
    assert "server: SIPp-provider/3.6" in lines
    # SIPp's Via says received=203.0.113.7;rport=40000 (see the scenario).
    assert "the peer sees us at 203.0.113.7:40000 (Via received/rport)" in lines


def test_options_silence_is_critical(sipp: Sipp) -> None:
    with sipp.serve("options_silence.xml") as run:
        out = probe("options", f"{PROVIDER_IP}:{run.port}", "--timeout", "1", "--json")
    assert out.returncode == 2
    data = js(out)
    assert (data["status"], data["exit_code"]) == ("CRITICAL", 2)
    assert data["probe"]["outcome"] == "timeout" and data["probe"]["transmissions"] == 2
    assert data["status_line"].startswith("SIP OPTIONS CRITICAL - ")


def test_register_md5_verified_by_sipp(sipp: Sipp) -> None:
    with sipp.serve("register_md5.xml", variables={"user": USER, "password": PASSWORD}) as run:
        out = probe("register", f"{PROVIDER_IP}:{run.port}", "--username", USER,
                    "--password-stdin", "--local-address", PBX_IP,
                    stdin=PASSWORD + "\n")  # fmt: skip
    # Leaving the block asserted SIPp's exit 0: it verified our digest itself.
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    # No Contact by default: the password is checked, nothing is bound.
    assert lines[0].startswith(
        f"SIP REGISTER OK - {USER}'s credentials accepted at {PROVIDER_IP}:{run.port}"
    )
    assert "(401 MD5 realm novofon)" in lines[0]
    assert [ln.split(" (")[0] for ln in lines[1:3]] == ["REGISTER → 401 Unauthorized", "REGISTER"]
    assert lines[3:] == [
        "nothing was bound: a REGISTER without Contact only asks for the bindings",
        f"bindings of {USER}: sip:{USER}@203.0.113.9:5060;line=pbx (expires 240 s)",
    ]
    assert PASSWORD not in out.stdout + out.stderr


def test_register_wrong_password_is_critical(sipp: Sipp, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("not-" + PASSWORD + "\n")
    with sipp.serve("register_md5.xml", variables={"user": USER, "password": PASSWORD}) as run:
        out = probe("register", f"{PROVIDER_IP}:{run.port}", "-u", USER,
                    "--password-file", str(secret), "--json")  # fmt: skip
    assert out.returncode == 2
    data = js(out)
    assert data["status"] == "CRITICAL" and data["probe"]["outcome"] == "forbidden"
    assert [s["status_code"] for s in data["probe"]["steps"]] == [401, 403]
    assert "not-" + PASSWORD not in out.stdout


def test_register_unknown_user_over_tcp_is_critical_in_russian(sipp: Sipp) -> None:
    with sipp.serve("register_404.xml", transport="tcp") as run:
        out = probe("register", f"{PROVIDER_IP}:{run.port}", "-u", USER, "--transport", "tcp",
                    "--password-stdin", stdin=PASSWORD, lang="ru")  # fmt: skip
    assert out.returncode == 2, out.stdout
    assert out.stdout.startswith("SIP REGISTER CRITICAL - Регистратор ответил 404 Not Found.")
    assert "REGISTER (с авторизацией) → 404 Not Found" in out.stdout


# --- the sandbox provider (a real Asterisk 22) ---------------------------------------------


def provider_log(sb: SandboxInfo) -> str:
    return Path(sb.status["provider"]["log_file"]).read_text(errors="replace")


@pytest.fixture
async def trunk(pbx: SandboxInfo) -> AsyncIterator[list[str]]:
    """The pbx registered over trunkctl's trunk (the provider's contacts for the line);
    each test must leave it registered (the register probes' reason to exist)."""
    bound = await register_pbx(pbx)
    yield bound
    await leave_pbx_registered(pbx, bound)


def register_at_provider(
    sb: SandboxInfo, *settings: str, bind: bool = False
) -> subprocess.CompletedProcess[str]:
    """`trunkctl [SETTINGS] probe register` at the provider as the line, from the pbx's
    address, JSON."""
    host, port = sb.provider_sip
    return subprocess.run(
        [TRUNKCTL, *settings, "--lang", "en", "probe", "register", f"{host}:{port}", "-u",
         sb.line_login, "--password-file", sb.status["provider"]["line"]["password_file"],
         "--local-address", PBX_IP, "--json", *(["--bind"] if bind else [])],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_register_at_the_provider_keeps_the_pbx_registered(
    pbx: SandboxInfo, trunk: list[str]
) -> None:
    size = len(provider_log(pbx))
    out = register_at_provider(pbx)
    assert out.returncode == 0, out.stdout + out.stderr
    data = js(out)
    assert data["status"] == "OK" and data["probe"]["mode"] == "query"
    assert [s["status_code"] for s in data["probe"]["steps"]] == [401, 200]
    assert data["probe"]["realm"] == pbx.status["provider"]["realm"]
    assert [b["uri"] for b in data["probe"]["bindings"]] == trunk
    assert f"bindings of {pbx.line_login}: {trunk[0]} (expires " in data["details"][-1]
    assert "pbx" not in data  # nothing displaced, nothing to re-register
    # The provider added no contact and removed none: the pbx's binding is untouched.
    log = provider_log(pbx)[size:]
    assert "Added contact" not in log and "Removed contact" not in log
    assert await line_contacts(pbx) == trunk
    assert pbx.line_password not in out.stdout


async def test_register_bind_re_registers_the_displaced_trunk(
    pbx: SandboxInfo, trunk: list[str]
) -> None:
    size = len(provider_log(pbx))
    out = register_at_provider(pbx, "--sandbox", bind=True)
    assert out.returncode == 0, out.stdout + out.stderr
    data = js(out)
    assert data["status"] == "OK" and data["probe"]["mode"] == "bind"
    assert [s["status_code"] for s in data["probe"]["steps"]] == [401, 200, 200, 200]
    assert [b["uri"] for b in data["probe"]["displaced"]] == trunk
    assert data["probe"]["bindings"] == []
    assert data["pbx"]["status"] == "reregistered"
    assert data["pbx"]["registrations"] == {"novofon": "Registered"}
    assert "re-registered trunk novofon (AMI PJSIPRegister)" in data["details"][-1]
    # The provider added our binding and removed it on our request (its log says so) ...
    local = data["probe"]["local_address"]
    contact = f"sip:{pbx.line_login}@{local}"
    log = provider_log(pbx)[size:]
    assert f"Added contact '{contact}' to AOR '{pbx.line_login}'" in log
    assert f"Removed contact '{contact}' from AOR '{pbx.line_login}' due to request" in log
    # ... and holds the pbx's binding again, without anyone nudging the pbx.
    await assert_pbx_registered(pbx, trunk, 3)


async def test_register_bind_without_ami_warns_how_to_fix(
    pbx: SandboxInfo, trunk: list[str], tmp_path: Path
) -> None:
    out = register_at_provider(pbx, "--settings", str(tmp_path / "none.toml"), bind=True)
    # Without trunkctl settings the line stays displaced: WARNING, and how to fix it.
    assert out.returncode == 1, out.stdout + out.stderr
    data = js(out)
    assert data["status"] == "WARNING" and data["pbx"]["status"] == "unavailable"
    assert data["pbx"]["reason"] == "the trunkctl settings file does not exist"
    advice = data["details"][-1]
    assert "may stay displaced until its next refresh" in advice
    assert "`trunkctl apply`" in advice and "asterisk -rx 'pjsip send register" in advice
    assert await line_contacts(pbx) == []  # the damage the warning is about


def test_wrong_password_at_the_provider(provider: SandboxInfo) -> None:
    host, port = provider.provider_sip
    out = probe("register", f"{host}:{port}", "-u", provider.line_login, "--password-stdin",
                "--local-address", PBX_IP, stdin="not-the-password\n")  # fmt: skip
    assert out.returncode == 2
    lines = out.stdout.splitlines()
    refused = f"The registrar refused the password for {provider.line_login}."
    assert lines[0].startswith(f"SIP REGISTER CRITICAL - {refused}|time=")
    assert lines[1].startswith("REGISTER → 401 Unauthorized")
    assert lines[2].startswith("REGISTER (with credentials) → 401 Unauthorized")
    assert "not-the-password" not in out.stdout + out.stderr


def test_options_at_the_provider(provider: SandboxInfo) -> None:
    host, port = provider.provider_sip
    out = probe("options", f"{host}:{port}", "--local-address", PBX_IP, "--json")
    assert out.returncode == 0
    data = js(out)
    # The provider sees the pbx's address: the IP trunk's termination address.
    seen = data["probe"]["seen_address"]
    assert seen == data["probe"]["local_address"]
    assert seen.startswith(provider.status["provider"]["ip_trunk"]["termination_address"] + ":")


# --- UNKNOWN: the probe could not judge --------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "expected"),
    [
        (["register", "127.0.0.1:5060", "-u", USER, "--password", "hunter2"], None,
         "SIP REGISTER UNKNOWN - a password on the command line is refused"),
        (["register", "127.0.0.1:5060", "-u", USER], None,
         "SIP REGISTER UNKNOWN - no password given and no terminal to ask on"),
        (["register", "127.0.0.1:5060", "--password-stdin"], "x\n",
         "SIP REGISTER UNKNOWN - --username is required"),
        (["options", "127.0.0.1:abc"], None, "SIP OPTIONS UNKNOWN - bad target '127.0.0.1:abc'"),
        (["options", "127.0.0.1", "--transport", "sctp"], None,
         "SIP OPTIONS UNKNOWN - unknown transport 'sctp'"),
        (["options", "127.0.0.1", "--local-address", "192.0.2.1"], None,
         "SIP OPTIONS UNKNOWN - "),
    ],
)  # fmt: skip
def test_unknown(args: list[str], stdin: str | None, expected: str) -> None:
    out = probe(*args, stdin=stdin or "")
    assert out.returncode == 3, out.stdout + out.stderr
    assert out.stdout.splitlines()[0].startswith(expected)
    assert "hunter2" not in out.stdout + out.stderr


# Usage errors are UNKNOWN too: click's exit 2 would read as CRITICAL to Nagios.
@pytest.mark.parametrize(
    ("args", "expected", "hint"),
    [
        (["options"], "SIP OPTIONS UNKNOWN - usage: Missing argument 'HOST[:PORT]'.",
         "trunkctl probe options --help"),
        (["register", "-u", USER], "SIP REGISTER UNKNOWN - usage: Missing argument",
         "trunkctl probe register --help"),
        (["options", "127.0.0.1", "-w", "abc"],
         "SIP OPTIONS UNKNOWN - usage: Invalid value for '--warning' / '-w'",
         "trunkctl probe options --help"),
        (["options", "127.0.0.1", "--no-such-option"],
         "SIP OPTIONS UNKNOWN - usage: No such option: --no-such-option",
         "trunkctl probe options --help"),
        (["bogus"], "SIP PROBE UNKNOWN - usage: No such command 'bogus'.",
         "trunkctl probe --help"),
        ([], "SIP PROBE UNKNOWN - usage: no command given", "trunkctl probe --help"),
    ],
)  # fmt: skip
def test_usage_errors_are_unknown(args: list[str], expected: str, hint: str) -> None:
    out = probe(*args)
    assert out.returncode == 3, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(expected), lines
    assert lines[1] == f"See `{hint}`."
    # click's own explanation still goes to stderr.
    assert "Usage: trunkctl probe" in out.stderr


def test_usage_error_as_json_and_in_russian() -> None:
    out = probe("options", "127.0.0.1", "-c", "soon", "--json")
    assert out.returncode == 3
    data = js(out)
    assert (data["status"], data["exit_code"]) == ("UNKNOWN", 3)
    assert data["error"]["code"] == "bad_input"
    assert data["summary"].startswith("usage: Invalid value for '--critical' / '-c'")
    ru = probe("register", lang="ru")
    assert ru.returncode == 3
    assert ru.stdout.startswith("SIP REGISTER UNKNOWN - ошибка в аргументах: Missing argument")
    assert "Справка: `trunkctl probe register --help`." in ru.stdout


def test_other_commands_keep_usage_exit_2() -> None:
    for args in (["api", "call"], ["sandbox", "status", "--no-such-option"]):
        out = subprocess.run(
            [TRUNKCTL, *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert out.returncode == 2, args
        assert "Usage: trunkctl" in out.stderr and out.stdout == ""
