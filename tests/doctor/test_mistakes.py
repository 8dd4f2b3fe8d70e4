"""The real mistakes (tests/lint/test_real_mistakes.py) as the doctor reports them: each one
a failure or warning under its rule's id, offline; and the live facts sharpening the lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkctl.doctor import LIVE_CHECKS, run_doctor
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from ..lint.conftest import HEALTHY, variant, write
from ..lint.test_real_mistakes import MISTAKES, NAT
from ..provision.test_setup_apply import settings_of


@pytest.mark.parametrize("mistake", list(MISTAKES))
async def test_real_mistake_is_reported_under_its_rule(mistake: str, tmp_path: Path) -> None:
    files, rule_id = MISTAKES[mistake]
    write(tmp_path, files)
    report = await run_doctor(Settings(config_dir=tmp_path), offline=True, public_ip=NAT.public_ip)
    items = [i for i in report.items if i.id == rule_id]
    assert items, (mistake, [i.id for i in report.items])
    assert {i.status for i in items} <= {"fail", "warn"}
    assert all(i.fix is not None and i.evidence for i in items)
    assert report.exit_code in (1, 2)


async def test_healthy_files_give_a_clean_offline_report(tmp_path: Path) -> None:
    write(tmp_path, HEALTHY)
    report = await run_doctor(Settings(config_dir=tmp_path), offline=True)
    assert report.exit_code == 0, [(i.id, i.message.en) for i in report.items]


@pytest.mark.sandbox
async def test_live_facts_make_dial_sip_a_failure(sandbox: SandboxInfo, tmp_path: Path) -> None:
    """Dial(SIP/…) is only suspicious offline beside a sip.conf (an old chan_sip Asterisk
    may read it); the running Asterisk 22 proves chan_sip is absent, so the doctor fails
    it. Only the AMI checks run: the copy's trunk points at the real sip.novofon.ru, which
    tests never contact."""
    files = variant(
        HEALTHY,
        "extensions.conf",
        "Dial(PJSIP/${EXTEN}@novofon,60)",
        "Dial(SIP/${EXTEN}@novofon,60)",
    )
    write(tmp_path, dict(files, **{"sip.conf": "[general]\n"}))
    offline = await run_doctor(Settings(config_dir=tmp_path), offline=True)
    assert [i.status for i in offline.items if i.id == "DIAL003"] == ["warn"]
    ami_only = [c for c in LIVE_CHECKS if c.id in ("ami", "asterisk_version", "pjsip_modules")]
    live = await run_doctor(settings_of(sandbox), config_dir=tmp_path, checks=ami_only)
    assert [c.status for c in live.checks] == ["ok", "ok", "ok"]
    assert [i.status for i in live.items if i.id == "DIAL003"] == ["fail"]
