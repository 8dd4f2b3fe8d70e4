"""``trunkctl support-request``: run the doctor, state the facts, write the message and bundle.

A call saved with ``call --json --trace`` brings its SIP exchange: the ladder goes into the
message, the ladder and a pcap into the bundle (``sip-trace.txt``, ``sip-trace.pcap``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trunkctl.i18n import Lang
from trunkctl.settings import Settings

from ._bundle import Bundle, collect_secrets, config_excerpts, scrub, write_bundle
from ._config import TrunkFacts, read_trunk
from ._model import DoctorReport
from ._runner import run_doctor
from ._support import CallFacts, SupportFacts, SupportMessage, support_facts, support_message

if TYPE_CHECKING:
    from trunkctl.trace import SipTrace

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


def _trace_files(trace: SipTrace, secrets: set[str], lang: Lang) -> dict[str, str | bytes]:
    """The failing call's ladder and pcap, built from messages scrubbed of every secret
    first (a pcap's lengths cannot be scrubbed afterwards; the bundle re-checks its bytes)."""
    from trunkctl.trace import SipTrace, ladder_text, pcap_bytes

    data = trace.to_dict(lang)
    data["messages"] = [{**m, "raw": scrub(m["raw"], secrets)} for m in data["messages"]]
    clean = SipTrace.from_dict(data)
    return {"sip-trace.txt": ladder_text(clean, lang), "sip-trace.pcap": pcap_bytes(clean.messages)}


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
        secrets = collect_secrets(settings)
        if call is not None and call.sip_trace is not None and call.sip_trace.messages:
            files.update(_trace_files(call.sip_trace, secrets, lang))
        written = write_bundle(bundle, files, secrets=secrets)
    return SupportRequest(message, facts, report, facts_of_trunk, written)
