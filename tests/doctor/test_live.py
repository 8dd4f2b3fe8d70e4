"""The doctor against the sandbox: a real Asterisk 22 pbx and the emulated NovoFon.

Each verdict is compared with what the sandbox really is or did: its Asterisk version, the
pbx's address as the provider's termination address, the provider's own log. Unit tests of
the runner and the report: test_runner.py, test_model.py.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from trunkctl.doctor import (
    LIVE_CHECKS,
    DoctorContext,
    DoctorReport,
    read_trunk,
    run_checks,
    run_doctor,
)
from trunkctl.provision import apply
from trunkctl.secret import Secret

from ..conftest import SandboxInfo, replace_option
from ..provision.test_setup_apply import settings_of, setup, spec_for
from ..sip.conftest import Sipp
from .conftest import pending_warnings, set_up

pytestmark = pytest.mark.sandbox


def statuses(report: DoctorReport) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


async def test_healthy_trunk_has_no_failures_within_two_seconds(healthy: SandboxInfo) -> None:
    report = await run_doctor(settings_of(healthy))
    assert statuses(report) == dict.fromkeys(
        [
            "ami",
            "asterisk_version",
            "pjsip_modules",
            "transports",
            "trunk_loaded",
            "registration",
            "qualify",
            "dns",
            "sip_options",
            "nat",
        ],
        "ok",
    ), report.to_dict("en")["groups"]
    warned = {i.id for i in report.items if i.status == "warn"}
    assert report.counts()["fail"] == 0 and warned == pending_warnings(healthy.pbx_config_dir)
    assert report.exit_code == (1 if warned else 0)
    assert report.duration < 2.0, report.duration
    # The facts are the sandbox's own.
    version = report.check("asterisk_version")
    assert version is not None
    assert healthy.status["asterisk_version"].endswith(version.data["version"])
    options = report.check("sip_options")
    assert options is not None and options.data["status_code"] == 200
    termination = healthy.status["provider"]["ip_trunk"]["termination_address"]
    assert options.data["seen_address"].startswith(f"{termination}:")
    reg = report.check("registration")
    host, port = healthy.provider_sip
    assert reg is not None and reg.data["registration"]["server_uri"] == f"sip:{host}:{port}"
    qualify = report.check("qualify")
    assert qualify is not None and qualify.data["contacts"][0]["rtt_ms"] is not None
    assert report.lint is not None and report.lint.ok


async def test_wrong_password_fails_with_the_providers_answer(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx, password=Secret("not-the-password")))
    settings = settings_of(pbx)
    assert (await apply(settings)).registrations == {"novofon": "Rejected"}
    report = await run_doctor(settings)
    reg = report.check("registration")
    assert reg is not None and reg.status == "fail", report.to_dict("en")
    assert reg.message.en == "registration novofon is Rejected"
    # What the provider answered to our own REGISTER: challenged, refused again.
    assert [s["status_code"] for s in reg.data["probe"]["steps"]] == [401, 401]
    assert any(e.en.startswith("REGISTER → 401 Unauthorized") for e in reg.evidence)
    assert reg.fix is not None and "credentials set" in reg.fix.en
    assert "not-the-password" not in str(report.to_dict("en"))
    assert report.exit_code == 2
    # The other checks are unaffected.
    assert statuses(report)["sip_options"] == statuses(report)["ami"] == "ok"


async def test_seed_placeholder_login_is_caught_twice(pbx: SandboxInfo) -> None:
    """The seed guide's YOUR_SIP_LOGIN_HERE: the lint names it, the provider refuses it."""
    await set_up(pbx)
    conf = pbx.pbx_config_dir / "pjsip.conf"
    conf.write_text(
        replace_option(conf.read_text(), "username", pbx.line_login, "YOUR_SIP_LOGIN_HERE")
    )
    settings = settings_of(pbx)
    await apply(settings)
    report = await run_doctor(settings)
    fails = {i.id for i in report.groups()["fail"]}
    assert {"CONF002", "registration"} <= fails, report.to_dict("en")["groups"]


async def test_ip_mode_has_nothing_to_register(pbx: SandboxInfo) -> None:
    await set_up(pbx, "ip")
    report = await run_doctor(settings_of(pbx))
    reg = report.check("registration")
    assert reg is not None and reg.status == "skip" and "IP mode" in reg.message.en
    warned = {i.id for i in report.items if i.status == "warn"}
    assert warned == pending_warnings(pbx.pbx_config_dir), report.to_dict("en")["groups"]
    assert report.exit_code == (1 if warned else 0), report.to_dict("en")["groups"]


async def test_unreachable_provider(pbx: SandboxInfo) -> None:
    # A trunk pointing at a port where nothing listens: ICMP port unreachable on loopback.
    host, _ = pbx.provider_sip
    closed = _closed_udp_port()
    spec = spec_for(pbx, mode="ip")
    spec = replace(spec, profile=spec.profile.with_server(host, closed, None))
    setup(pbx, spec)
    settings = settings_of(pbx)
    await apply(settings)
    report = await run_doctor(settings)
    got = statuses(report)
    assert got["sip_options"] == "fail" and got["nat"] == "skip"
    options = report.check("sip_options")
    assert options is not None and options.data["outcome"] == "unreachable"
    assert got["qualify"] in ("fail", "warn"), report.to_dict("en")["groups"]
    assert report.exit_code == 2


def _closed_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_wrong_ami_secret_fails_ami_but_not_the_sip_checks(
    healthy: SandboxInfo, tmp_path: Path
) -> None:
    settings = settings_of(healthy)
    wrong = tmp_path / "ami.secret"
    wrong.write_text("not-the-ami-secret\n")
    settings = replace(settings, ami=replace(settings.ami, secret_file=wrong))
    report = await run_doctor(settings)
    got = statuses(report)
    assert got["ami"] == "fail" and report.checks[0].data == {"error": "ami_auth"}
    assert got["asterisk_version"] == got["registration"] == got["qualify"] == "skip"
    assert got["sip_options"] == got["nat"] == got["dns"] == "ok"
    assert "not-the-ami-secret" not in str(report.to_dict("en"))


async def test_nat_is_seen_through_the_providers_via(
    pbx: SandboxInfo, tmp_path: Path, sipp: Sipp
) -> None:
    """SIPp answers OPTIONS saying it sees us at 203.0.113.7:40000: behind NAT, and the
    transport has no external address: one-way audio ahead."""
    await set_up(pbx)
    copy = tmp_path / "etc"
    shutil.copytree(pbx.pbx_config_dir, copy)
    host, port = pbx.provider_sip
    with sipp.serve("options_200.xml") as run:
        conf = copy / "pjsip.conf"
        conf.write_text(conf.read_text().replace(f"{host}:{port}", f"{host}:{run.port}"))
        settings = replace(settings_of(pbx), config_dir=copy)
        ctx = DoctorContext(settings, read_trunk(copy))
        wanted = [c for c in LIVE_CHECKS if c.id in ("sip_options", "nat")]
        options, nat = await run_checks(ctx, wanted)
        await ctx.aclose()
    assert options.status == "ok" and options.data["seen_address"] == "203.0.113.7:40000"
    assert options.data["server"] == "SIPp-provider/3.6"
    assert nat.status == "warn" and nat.data["behind_nat"] is True
    assert [f["code"] for f in nat.data["findings"]] == ["nat_no_external", "port_translated"]


async def test_checks_survive_a_concurrent_reload(healthy: SandboxInfo) -> None:
    """A reload while the doctor runs (another admin, `trunkctl apply`) breaks nothing."""
    settings = settings_of(healthy)
    reload = asyncio.to_thread(healthy.sandbox.pbx.rx, "module reload res_pjsip.so")
    report, _ = await asyncio.gather(run_doctor(settings), reload)
    assert statuses(report)["ami"] == "ok" and statuses(report)["sip_options"] == "ok"
    assert report.check("pjsip_modules") is not None


async def test_transport_bind_changed_in_the_file_needs_a_restart(pbx: SandboxInfo) -> None:
    """A reload keeps a running transport's socket: the file's new bind is not in use."""
    conf = pbx.pbx_config_dir / "pjsip.conf"
    text = conf.read_text()
    running = re.search(r"^bind[ \t]*=[ \t]*(\S+)[ \t]*$", text, re.M)
    assert running is not None, "no bind line in the pbx's pjsip.conf"
    try:
        conf.write_text(replace_option(text, "bind", running.group(1), "127.0.0.2:5999", 1))
        pbx.sandbox.pbx.rx("module reload res_pjsip.so")
        only = [c for c in LIVE_CHECKS if c.id in ("ami", "transports")]
        report = await run_doctor(settings_of(pbx), checks=only)
    finally:
        pbx.sandbox.reset_pbx()
    check = report.check("transports")
    assert check is not None and check.status == "warn", report.to_dict("en")["checks"]
    assert (
        f"runs on {running.group(1)}" in check.message.en and "127.0.0.2:5999" in check.message.en
    )
    assert "restart" in (check.fix.en if check.fix else "")
    fine = await run_doctor(settings_of(pbx), checks=only)
    transports = fine.check("transports")
    assert transports is not None and transports.status == "ok"
