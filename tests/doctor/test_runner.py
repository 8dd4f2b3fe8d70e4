"""The runner: checks run at once, each bounded by its own timeout, none able to hide another.

Live checks against the sandbox are in test_live.py; these use small stand-in checks and a
closed AMI port, so they need no Asterisk.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from trunkctl.doctor import (
    LIVE_CHECKS,
    CheckResult,
    DoctorContext,
    LiveCheck,
    Skip,
    TrunkFacts,
    run_checks,
    run_doctor,
)
from trunkctl.errors import AmiConnectionError
from trunkctl.i18n import Text
from trunkctl.settings import AmiSettings, Settings

T = Text("t", "т")


def ok(check_id: str) -> CheckResult:
    return CheckResult(check_id, T, "ok", Text("fine", "хорошо"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def context(tmp_path: Path) -> DoctorContext:
    secret = tmp_path / "ami.secret"
    secret.write_text("x" * 20)
    settings = Settings(
        config_dir=tmp_path,
        ami=AmiSettings(host="127.0.0.1", port=closed_port(), secret_file=secret),
    )
    return DoctorContext(settings, TrunkFacts("novofon"))


async def test_checks_run_concurrently_and_keep_their_order(tmp_path: Path) -> None:
    async def slow(ctx: DoctorContext) -> CheckResult:
        await asyncio.sleep(0.3)
        return ok("slow")

    checks = [LiveCheck(f"c{i}", T, slow, 5.0) for i in range(5)]
    start = time.perf_counter()
    results = await run_checks(context(tmp_path), checks)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.6  # five 0.3 s checks, side by side
    assert [r.status for r in results] == ["ok"] * 5
    assert all(0.25 < r.duration < 0.6 for r in results)


async def test_timeout_skip_error_and_bug_become_results(tmp_path: Path) -> None:
    async def hangs(ctx: DoctorContext) -> CheckResult:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    async def skips(ctx: DoctorContext) -> CheckResult:
        raise Skip(Text("not here", "не здесь"), Text("do X", "сделайте X"))

    async def errs(ctx: DoctorContext) -> CheckResult:
        raise AmiConnectionError(Text("refused", "отказ"), evidence="127.0.0.1:1", next_step="up")

    async def bug(ctx: DoctorContext) -> CheckResult:
        return {}["missing"]  # type: ignore[no-any-return]

    checks = [
        LiveCheck("hangs", Text("Hangs", "Виснет"), hangs, 0.2),
        LiveCheck("skips", T, skips, 1.0),
        LiveCheck("errs", T, errs, 1.0),
        LiveCheck("bug", T, bug, 1.0),
    ]
    start = time.perf_counter()
    hung, skipped, failed, buggy = await run_checks(context(tmp_path), checks)
    assert time.perf_counter() - start < 1.0
    assert (hung.status, hung.title.en) == ("fail", "Hangs")
    assert hung.message.en == "no answer within 0.2 s" and hung.fix is not None
    assert (skipped.status, skipped.message.ru, skipped.fix) == (
        "skip",
        "не здесь",
        Text("do X", "сделайте X"),
    )
    assert (failed.status, failed.message.en, failed.data) == (
        "fail",
        "refused",
        {"error": "ami_connection"},
    )
    assert failed.evidence == (Text("127.0.0.1:1", "127.0.0.1:1"),)
    assert buggy.status == "fail" and "KeyError" in buggy.message.en


async def test_shared_work_survives_one_checks_timeout(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    started = 0

    async def work() -> str:
        nonlocal started
        started += 1
        await asyncio.sleep(0.3)
        return "done"

    async def impatient(c: DoctorContext) -> CheckResult:
        await c._once("shared", work)
        return ok("impatient")

    async def patient(c: DoctorContext) -> CheckResult:
        value = await c._once("shared", work)
        return CheckResult("patient", T, "ok", Text(value, value))

    results = await run_checks(
        ctx, [LiveCheck("impatient", T, impatient, 0.1), LiveCheck("patient", T, patient, 2.0)]
    )
    assert [r.status for r in results] == ["fail", "ok"]
    assert results[1].message.en == "done" and started == 1
    await ctx.aclose()


async def test_ami_down_fails_one_check_and_skips_those_that_need_it(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    ctx.trunk = TrunkFacts("novofon", found=True, mode="registration", host="127.0.0.1")
    wanted = {"ami", "asterisk_version", "pjsip_modules", "registration", "qualify"}
    results = {r.id: r for r in await run_checks(ctx, [c for c in LIVE_CHECKS if c.id in wanted])}
    await ctx.aclose()
    assert results["ami"].status == "fail"
    assert results["ami"].data == {"error": "ami_connection"}
    assert all(results[i].status == "skip" for i in wanted - {"ami"}), results
    assert "AMI" in results["qualify"].message.en


async def test_offline_doctor_never_touches_ami(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, ami=AmiSettings(port=closed_port()))
    report = await run_doctor(settings, offline=True)
    assert report.offline and report.checks == ()
    assert report.lint is not None and report.lint.config_dir == str(tmp_path)
    assert "lint" not in [i.id for i in report.items]  # the summary is not an item
    assert report.to_dict("en")["lint"]["summary"].startswith("Config lint: ")
