"""A test call's result (``CallOutcome``) and what trunkctl tells the user (``Explanation``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from ..errors import BadInput
from ..i18n import Lang, Text
from ._dialstatus import DIAL_STATUSES

__all__ = ["CallOutcome", "CallStatus", "Explanation", "Severity", "TrunkMode"]

CallStatus = Literal[
    "answered",
    "busy",
    "no_answer",
    "rejected",
    "not_found",
    "congestion",
    "unavailable",
    "failed",
    "timeout",
    "interrupted",
]
TrunkMode = Literal["ip", "registration"]
Severity = Literal["ok", "warn", "fail"]

_STATUSES: frozenset[str] = frozenset(get_args(CallStatus))
_MODES: frozenset[str] = frozenset(get_args(TrunkMode))


def _bad(what: str, value: object, allowed: str) -> BadInput:
    return BadInput(
        Text(
            f"Invalid call outcome: {what} = {value!r}.",
            f"Неверный итог звонка: {what} = {value!r}.",
        ),
        next_step=Text(f"Use {allowed}.", f"Допустимо: {allowed}."),
    )


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """How a call ended, as trunkctl observed it, plus the context that changes the advice.

    ``status`` is trunkctl's own verdict; ``timeout`` means the INVITE got no answer at all
    and ``interrupted`` that trunkctl stopped watching before the call ended. ``sip_code`` is
    the final SIP response (TechCause), ``q850`` the Hangup ``Cause``, ``dial_status``
    ``${DIALSTATUS}`` or DialEnd's ``DialStatus``. ``trunk_registered`` is None when unknown.
    """

    status: CallStatus
    sip_code: int | None = None
    q850: int | None = None
    dial_status: str | None = None
    trunk_registered: bool | None = None
    mode: TrunkMode | None = None
    is_verification_call: bool = False
    provider: Literal["novofon"] = "novofon"
    has_outbound_auth: bool | None = None
    """Whether the trunk's loaded endpoint has ``outbound_auth`` (None: unknown)."""
    ring_limited: bool = False
    """The ringing was ended by trunkctl's own limit (Originate's ring timeout, i.e.
    ``--timeout``/``--ring-timeout``), not by the far end or the dialplan's Dial timeout."""

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise _bad("status", self.status, ", ".join(sorted(_STATUSES)))
        if self.sip_code is not None and not 100 <= self.sip_code <= 699:
            raise _bad("sip_code", self.sip_code, "100–699")
        if self.q850 is not None and not 0 <= self.q850 <= 127:
            raise _bad("q850", self.q850, "0–127")
        if self.dial_status is not None and self.dial_status.upper() not in DIAL_STATUSES:
            raise _bad("dial_status", self.dial_status, ", ".join(DIAL_STATUSES))
        if self.mode is not None and self.mode not in _MODES:
            raise _bad("mode", self.mode, "ip, registration")
        if self.provider != "novofon":
            raise _bad("provider", self.provider, "novofon")


@dataclass(frozen=True, slots=True)
class Explanation:
    """What a call outcome means and what to do next, in English and Russian.

    ``id`` is stable (docs and scripts key on it); ``notes`` names the context remarks that
    were added (``unregistered``, ``verification_pending``). ``evidence`` lists the codes seen.
    """

    id: str
    severity: Severity
    headline: Text
    meaning: Text
    next_steps: tuple[Text, ...]
    evidence: Text
    notes: tuple[str, ...] = ()

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view in one language (default: the process-wide one)."""
        return {
            "id": self.id,
            "severity": self.severity,
            "headline": self.headline.render(lang),
            "meaning": self.meaning.render(lang),
            "next_steps": [step.render(lang) for step in self.next_steps],
            "evidence": self.evidence.render(lang),
            "notes": list(self.notes),
        }
