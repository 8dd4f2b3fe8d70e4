"""The doctor with trunkctl's own narrow AMI user (read call,user,system,reporting; write
originate,call,reporting — what `trunkctl init` creates), on the sandbox pbx.

Every live check must get its answer without ``command``/``system``: Getvar of the PJSIP
functions over AMI, CLI-only facts through the control socket, and a clear skip (never a
failure) when the control socket is out of reach too.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

import pytest

from trunkctl.doctor import DoctorReport, run_doctor
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from ..provision.test_ami_privilege import narrow_settings
from ..provision.test_setup_apply import settings_of
from .conftest import set_up

pytestmark = pytest.mark.sandbox

LIVE = (
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
)


def statuses(report: DoctorReport) -> dict[str, str]:
    return {c.id: c.status for c in report.checks}


def extra_user(pbx: SandboxInfo, tmp_path: Path, read: str, write: str) -> Settings:
    """Settings for a new AMI user with exactly these classes (the pbx fixture restores
    manager.conf for the next test)."""
    name, secret = f"doctor-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    with (pbx.pbx_config_dir / "manager.conf").open("a") as fh:
        fh.write(
            f"\n[{name}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
            f"permit = 127.0.0.0/255.0.0.0\nread = {read}\nwrite = {write}\n"
        )
    pbx.sandbox.pbx.rx("manager reload")
    (tmp_path / "extra.secret").write_text(secret + "\n")
    base = settings_of(pbx)
    return dataclasses.replace(
        base,
        ami=dataclasses.replace(base.ami, username=name, secret_file=tmp_path / "extra.secret"),
    )


async def test_every_live_check_passes_with_the_narrow_user(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await set_up(pbx)
    mine = narrow_settings(pbx, tmp_path)
    report = await run_doctor(mine)
    assert statuses(report) == dict.fromkeys(LIVE, "ok"), report.to_dict("en")["checks"]
    ami = report.check("ami")
    assert ami is not None and not ami.evidence
    # The read classes were read (through the control socket), not assumed.
    assert ami.data["read_classes"] == ["call", "reporting", "system", "user"]


async def test_without_the_control_socket_cli_only_checks_skip_and_say_why(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await set_up(pbx)
    mine = dataclasses.replace(
        narrow_settings(pbx, tmp_path), asterisk_command=(str(tmp_path / "no-asterisk"),)
    )
    report = await run_doctor(mine)
    got = statuses(report)
    assert got == {
        **dict.fromkeys(LIVE, "ok"),
        "pjsip_modules": "skip",
        "transports": "skip",
    }, report.to_dict("en")["checks"]
    for check_id, command in (
        ("pjsip_modules", "module show"),
        ("transports", "pjsip show transports"),
    ):
        check = report.check(check_id)
        assert check is not None and f"needs `{command}`" in check.message.en
        assert check.fix is not None and "root" in check.fix.en


async def test_a_user_missing_a_narrow_class_is_named(pbx: SandboxInfo, tmp_path: Path) -> None:
    """write without reporting: status's PJSIPShowRegistrationsOutbound is refused."""
    await set_up(pbx)
    mine = extra_user(pbx, tmp_path, read="call,system,reporting", write="originate,call")
    report = await run_doctor(mine)
    ami = report.check("ami")
    assert ami is not None and ami.status == "warn", report.to_dict("en")["checks"]
    shown = [e.en for e in ami.evidence]
    needed = "needed by trunkctl status, apply, doctor"
    assert f"write: PJSIPShowRegistrationsOutbound refused ({needed})" in shown
    assert "read: class user missing (its events are not sent)" in shown
    assert not any("Getvar" in e or "Originate" in e for e in shown), shown
    assert ami.fix is not None and "write = originate,call,reporting" in ami.fix.en
