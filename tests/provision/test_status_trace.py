"""A failing registration shows Asterisk's own REGISTER exchange, traced on the wire.

On the sandbox: the line's password is changed the way a user does it (`trunkctl
credentials set`, then `apply`); the emulated NovoFon refuses it, and `status --json`,
`status` and the doctor show that exchange — challenge, credentials (masked), refusal — and
the provider's answer first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trunkctl.doctor import LIVE_CHECKS, run_doctor
from trunkctl.provision import apply

from ..conftest import SandboxInfo
from .test_setup_apply import settings_of, setup, spec_for

pytestmark = pytest.mark.sandbox

WRONG = "Not-The-Line-Password-7"


def trunkctl(
    pbx: SandboxInfo, *args: str, stdin: str = "", prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *prefix,
            str(Path(sys.executable).parent / "trunkctl"),
            "--lang",
            "en",
            "--settings",
            pbx.status["settings_file"],
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "400"},  # rich wraps nothing the test looks for
    )


async def wrong_password(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx))
    done = trunkctl(
        pbx,
        "credentials",
        "set",
        "--username",
        pbx.line_login,
        "--password-stdin",
        stdin=WRONG + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert (await apply(settings_of(pbx))).registrations == {"novofon": "Rejected"}


def exchange(trace: dict[str, object]) -> list[str]:
    return [str(m["first_line"]).split(" sip:")[0] for m in trace["messages"]]  # type: ignore[attr-defined]


async def test_status_json_has_the_register_exchange(pbx: SandboxInfo) -> None:
    await wrong_password(pbx)
    done = trunkctl(pbx, "status", "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    trace = data["register_trace"]
    assert trace is not None and trace["available"], trace
    assert trace["subject"] == "registration"
    # Asterisk's REGISTER, the challenge, the REGISTER with credentials, the refusal.
    assert exchange(trace) == [
        "REGISTER",
        "SIP/2.0 401 Unauthorized",
        "REGISTER",
        "SIP/2.0 401 Unauthorized",
    ], trace["messages"]
    assert [m["direction"] for m in trace["messages"]] == ["out", "in", "out", "in"]
    authorization = [
        line
        for line in trace["messages"][2]["raw"].splitlines()
        if line.lower().startswith("authorization:")
    ]
    assert authorization and 'response="***"' in authorization[0], authorization
    assert data["problems"][0] == "NovoFon said: 401 Unauthorized"
    assert WRONG not in done.stdout
    # The text output prints the ladder.
    text = trunkctl(pbx, "status")
    assert "SIP trace (→ sent by Asterisk" in text.stdout, text.stdout
    assert text.stdout.index("NovoFon said: 401 Unauthorized") > text.stdout.index("SIP trace")
    assert text.stdout.count("401 Unauthorized") >= 3


async def test_status_without_capture_rights_says_why(pbx: SandboxInfo) -> None:
    """No CAP_NET_RAW: no trace and the reason; the rest of status is unchanged."""
    await wrong_password(pbx)
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is missing"
    done = trunkctl(
        pbx,
        "status",
        "--json",
        prefix=(setpriv, "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--"),
    )
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    trace = data["register_trace"]
    assert trace is not None and not trace["available"] and "root" in trace["unavailable"]
    assert trace["messages"] == []
    assert data["registration"]["status"] == "Rejected"
    assert data["problems"][0] == "registration novofon is Rejected"
    # trunkctl's own REGISTER check still says why.
    assert [s["status_code"] for s in data["probe"]["steps"]] == [401, 401]
    text = trunkctl(
        pbx, "status", prefix=(setpriv, "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--")
    )
    assert "No SIP trace:" in text.stdout and "root" in text.stdout, text.stdout


async def test_doctor_evidence_has_the_providers_answer_then_the_ladder(
    pbx: SandboxInfo,
) -> None:
    await wrong_password(pbx)
    only = [c for c in LIVE_CHECKS if c.id in ("ami", "trunk_loaded", "registration")]
    report = await run_doctor(settings_of(pbx), checks=only)
    reg = report.check("registration")
    assert reg is not None and reg.status == "fail", report.to_dict("en")
    shown = [e.en for e in reg.evidence]
    assert shown[0] == "NovoFon said: 401 Unauthorized"
    assert shown[1].startswith("SIP trace (→ sent by Asterisk")
    assert any("←  SIP/2.0 401 Unauthorized" in line for line in shown[2:])
    assert reg.data["register_trace"]["messages"], reg.data
    assert reg.data["provider_answer"]["code"] == 401
    assert WRONG not in json.dumps(report.to_dict("en"))


async def test_a_healthy_doctor_run_does_not_trace(pbx: SandboxInfo, tmp_path: Path) -> None:
    setup(pbx, spec_for(pbx))
    assert (await apply(settings_of(pbx))).registrations == {"novofon": "Registered"}
    only = [c for c in LIVE_CHECKS if c.id == "registration"]
    report = await run_doctor(settings_of(pbx), checks=only)
    reg = report.check("registration")
    assert reg is not None and reg.status == "ok", report.to_dict("en")
    assert "register_trace" not in reg.data and report.duration < 1.0
