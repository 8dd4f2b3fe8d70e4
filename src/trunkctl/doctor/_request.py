"""``trunkctl support-request``: run the doctor, state the facts, write the message and bundle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from trunkctl.i18n import Lang
from trunkctl.settings import Settings

from ._bundle import Bundle, collect_secrets, config_excerpts, write_bundle
from ._config import TrunkFacts, read_trunk
from ._model import DoctorReport
from ._runner import run_doctor
from ._support import CallFacts, SupportFacts, SupportMessage, support_facts, support_message

__all__ = ["SupportRequest", "support_request"]


@dataclass(frozen=True, slots=True)
class SupportRequest:
    """The message, the facts behind it, the doctor run that found them, and the bundle."""

    message: SupportMessage
    facts: SupportFacts
    report: DoctorReport
    trunk: TrunkFacts
    bundle: Bundle | None = None

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """The ``support-request --json`` document (UI texts in ``lang``)."""
        return {
            "ok": True,
            "lang": self.message.lang,
            "subject": self.message.subject,
            "message": self.message.body,
            "facts": self.facts.to_dict(lang),
            "bundle": self.bundle.to_dict() if self.bundle else None,
        }


def _probe_json(report: DoctorReport) -> dict[str, Any]:
    options = report.check("sip_options")
    reg = report.check("registration")
    return {
        "options": dict(options.data) if options else None,
        "register": (reg.data.get("probe") if reg else None),
        "registration": (reg.data.get("registration") if reg else None),
    }


async def support_request(
    settings: Settings,
    *,
    lang: Lang = "ru",
    trunk: str | None = None,
    call: CallFacts | None = None,
    call_json: Mapping[str, Any] | None = None,
    phone: str | None = None,
    provider: str = "novofon",
    config_dir: str | Path | None = None,
    bundle: str | Path | None = None,
) -> SupportRequest:
    """Check the trunk live, then write the message to NovoFon support in ``lang``.

    ``call`` (with its raw ``call_json``) is the last test call; ``phone`` overrides the
    caller ID found in the dialplan; with ``bundle`` a 0600 tar.gz with the evidence is
    written there (no secret inside: scrubbed and checked).
    """
    if config_dir is not None:
        settings = replace(settings, config_dir=Path(config_dir))
    report = await run_doctor(settings, trunk=trunk, provider=provider)
    facts_of_trunk = read_trunk(settings.config_dir, trunk)
    facts = support_facts(report, facts_of_trunk, call=call, phone=phone)
    message = support_message(facts, lang)
    written = None
    if bundle is not None:
        files: dict[str, Any] = {
            f"message.{lang}.txt": message.text(),
            "facts.json": facts.to_dict(lang),
            "doctor.json": report.to_dict(lang),
            "probe.json": _probe_json(report),
        }
        if call_json is not None:
            files["call.json"] = dict(call_json)
        for name, text in config_excerpts(settings, facts_of_trunk).items():
            files[f"config/{name}"] = text
        written = write_bundle(bundle, files, secrets=collect_secrets(settings))
    return SupportRequest(message, facts, report, facts_of_trunk, written)
