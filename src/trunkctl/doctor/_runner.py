"""Running the doctor: live checks concurrently, each under its own timeout, then the lint.

The lint runs after the live checks so that it gets their facts (the Asterisk version and
loaded modules decide rules like DIAL003 and PJSIP014); it takes about 0.1 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from trunkctl.errors import TrunkctlError
from trunkctl.i18n import Text
from trunkctl.lint import LintFacts, lint
from trunkctl.providers import ProviderProfile, get_profile
from trunkctl.settings import Settings

from ._config import read_trunk, split_host_port
from ._context import DoctorContext, Skip
from ._model import CheckResult, DoctorReport
from .checks import LIVE_CHECKS, LiveCheck

__all__ = ["provider_profile", "run_checks", "run_doctor"]


def provider_profile(name: str, settings: Settings) -> ProviderProfile:
    """The provider profile ``name``, pointed at the settings' provider server if one is set."""
    profile = get_profile(name)
    if settings.provider_server:
        host, port = split_host_port(settings.provider_server)
        profile = profile.with_server(host, port, None)
    return profile


async def _guarded(ctx: DoctorContext, check: LiveCheck) -> CheckResult:
    """Run one check; its timeout, a Skip or an error become its result, never an exception."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(check.timeout):
            result = await check.func(ctx)
    except Skip as skip:
        result = CheckResult(check.id, check.title, "skip", skip.message, fix=skip.fix)
    except TimeoutError:
        result = CheckResult(
            check.id,
            check.title,
            "fail",
            Text(
                f"no answer within {check.timeout:g} s",
                f"нет ответа за {check.timeout:g} с",
            ),
            fix=Text(
                "Something on the way hangs (Asterisk busy, a firewall dropping packets, "
                "slow DNS); the other checks still ran.",
                "Что-то по пути зависает (Asterisk занят, файрвол глотает пакеты, медленный "
                "DNS); остальные проверки выполнены.",
            ),
        )
    except TrunkctlError as exc:
        result = CheckResult(
            check.id,
            check.title,
            "fail",
            exc.what,
            (exc.evidence,) if exc.evidence else (),
            exc.next_step,
            data={"error": exc.code},
        )
    except Exception as exc:  # a bug in one check must not hide the others' results
        result = CheckResult(
            check.id,
            check.title,
            "fail",
            Text(
                f"the check itself failed ({type(exc).__name__})",
                f"сама проверка упала ({type(exc).__name__})",
            ),
            fix=Text(
                "This is a trunkctl bug: please report it with the check id.",
                "Это ошибка trunkctl: сообщите о ней, указав id проверки.",
            ),
        )
    return replace(result, duration=time.perf_counter() - start)


async def run_checks(
    ctx: DoctorContext, checks: Sequence[LiveCheck] = LIVE_CHECKS
) -> tuple[CheckResult, ...]:
    """Every check at once; results in the order of ``checks``."""
    return tuple(await asyncio.gather(*(_guarded(ctx, c) for c in checks)))


async def run_doctor(
    settings: Settings,
    *,
    trunk: str | None = None,
    offline: bool = False,
    config_dir: str | Path | None = None,
    provider: str = "novofon",
    public_ip: str | None = None,
    checks: Sequence[LiveCheck] = LIVE_CHECKS,
    probe_timeout: float = 2.0,
) -> DoctorReport:
    """Lint the config dir and, unless ``offline``, check the running system.

    ``config_dir`` examines another directory (a copy of /etc/asterisk) instead of the
    settings' one; the live checks then take the trunk's facts from it too. ``trunk`` is
    the endpoint's name (default: ``novofon``, or the only trunk-like endpoint).
    """
    if config_dir is not None:
        settings = replace(settings, config_dir=Path(config_dir))
    profile = provider_profile(provider, settings)
    started_at = datetime.now().astimezone()
    start = time.perf_counter()
    facts = read_trunk(settings.config_dir, trunk)
    results: tuple[CheckResult, ...] = ()
    learned: dict[str, object] = {}
    if not offline:
        ctx = DoctorContext(
            settings, facts, provider=profile, public_ip=public_ip, probe_timeout=probe_timeout
        )
        try:
            results = await run_checks(ctx, checks)
        finally:
            await ctx.aclose()
        learned = ctx.facts
    version = learned.get("asterisk_version")
    modules = learned.get("modules")
    lint_report = lint(
        settings.config_dir,
        facts=LintFacts(
            asterisk_version=version if isinstance(version, str) else None,
            modules=modules if isinstance(modules, frozenset) else None,
            provider=profile,
            public_ip=public_ip,
        ),
    )
    return DoctorReport(
        config_dir=str(settings.config_dir),
        trunk=facts.name if facts.found else trunk,
        offline=offline,
        started_at=started_at,
        duration=time.perf_counter() - start,
        checks=results,
        lint=lint_report,
    )
