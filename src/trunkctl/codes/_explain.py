"""Choosing the explanation for a call outcome.

The most specific evidence wins: the SIP code, then the Q.850 cause, then the Dial status,
then trunkctl's own verdict. Asterisk loses detail at each step (401, 403, 407 and 603 all
become Cause 21; DialEnd reports a 403 as NOANSWER), so a coarser signal is only read when the
finer ones are missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..i18n import Text
from ._catalog import CATALOG, NOTES, STATUS
from ._dialstatus import dial_status
from ._outcome import CallOutcome, CallStatus, Explanation
from ._q850 import q850_cause
from ._sip import sip_status

__all__ = ["explain", "situation_for"]

# Final SIP codes with a dedicated explanation; other codes fall back by class below.
_BY_SIP: Mapping[int, str] = MappingProxyType(
    {
        401: "auth_rejected",
        402: "payment_required",
        403: "forbidden",
        404: "number_not_found",
        407: "auth_rejected",
        408: "request_timeout",
        410: "number_not_found",
        480: "temporarily_unavailable",
        484: "number_incomplete",
        485: "number_not_found",
        486: "busy",
        487: "cancelled",
        488: "codecs",
        503: "service_unavailable",
        580: "codecs",
        600: "busy",
        603: "declined",
        604: "number_not_found",
        606: "codecs",
        607: "declined",
        608: "declined",
    }
)
_BY_SIP_CLASS: Mapping[int, str] = MappingProxyType(
    {
        1: "failed",
        2: "answered",
        3: "redirected",
        4: "request_rejected",
        5: "provider_error",
        6: "declined",
    }
)

# Hangup causes worth reading when no SIP code is known. 0, 16 and 31 say nothing about why an
# unanswered call failed, so they are left to the Dial status and trunkctl's verdict.
_BY_Q850: Mapping[int, str] = MappingProxyType(
    {
        1: "number_not_found",
        2: "number_not_found",
        3: "number_not_found",
        5: "number_not_found",
        17: "busy",
        18: "request_timeout",
        19: "no_answer",
        20: "temporarily_unavailable",
        21: "rejected",
        22: "number_not_found",
        27: "provider_error",
        28: "number_incomplete",
        29: "provider_error",
        34: "congestion",
        38: "provider_error",
        41: "congestion",
        42: "congestion",
        44: "congestion",
        50: "forbidden",
        52: "forbidden",
        57: "codecs",
        58: "codecs",
        65: "codecs",
        66: "no_channel_driver",
        88: "codecs",
        102: "provider_error",
        127: "request_rejected",
    }
)

_BY_DIAL: Mapping[str, str] = MappingProxyType(
    {
        "ANSWER": "answered",
        "BUSY": "busy",
        "NOANSWER": "no_answer",
        "CANCEL": "cancelled",
        "CONGESTION": "congestion",
        "CHANUNAVAIL": "unavailable",
        "DONTCALL": "privacy",
        "TORTURE": "privacy",
        "INVALIDARGS": "dial_invalid_args",
    }
)

_BY_STATUS: Mapping[CallStatus, str] = MappingProxyType(
    {
        "answered": "answered",
        "busy": "busy",
        "no_answer": "no_answer",
        "rejected": "rejected",
        "not_found": "number_not_found",
        "congestion": "congestion",
        "unavailable": "unavailable",
        "failed": "failed",
        "timeout": "no_response",
        "interrupted": "interrupted",
    }
)

# After a ring timeout Asterisk CANCELs the INVITE: the far end answers 487 (Cause 127), or
# the Cause is 16/19. With trunkctl's "no_answer" verdict that is "nobody answered".
_RING_TIMEOUT_CAUSES = frozenset({16, 19, 127})


def situation_for(outcome: CallOutcome) -> str:
    """The base explanation id for an outcome, before context variants are applied."""
    if outcome.status in ("answered", "interrupted"):
        return _BY_STATUS[outcome.status]
    if outcome.status == "timeout" and outcome.sip_code in (None, 408):
        return "no_response"
    if outcome.status == "no_answer" and (
        outcome.sip_code == 487
        or (outcome.sip_code is None and outcome.q850 in _RING_TIMEOUT_CAUSES)
    ):
        return "no_answer"
    if outcome.sip_code is not None:
        return _BY_SIP.get(outcome.sip_code) or _BY_SIP_CLASS[outcome.sip_code // 100]
    if outcome.q850 is not None and outcome.q850 in _BY_Q850:
        return _BY_Q850[outcome.q850]
    if outcome.dial_status is not None:
        return _BY_DIAL[outcome.dial_status.upper()]
    return _BY_STATUS[outcome.status]


def _variant(base: str, outcome: CallOutcome) -> str:
    candidates = []
    if outcome.is_verification_call:
        candidates.append(f"{base}.verification")
    if base == "auth_rejected" and outcome.trunk_registered and outcome.mode == "registration":
        # The registration authenticates with the same login: the endpoint is what lacks it.
        candidates.append(f"{base}.registered")
    elif base == "auth_rejected" and outcome.has_outbound_auth and outcome.mode != "ip":
        # The endpoint does answer the challenge: what it answers with is refused.
        candidates.append(f"{base}.credentials")
    if base == "no_answer" and outcome.ring_limited:
        candidates.append(f"{base}.ring_limit")
    if outcome.mode == "ip":
        candidates.append(f"{base}.ip")
    return next((c for c in candidates if c in CATALOG), base)


def _evidence(outcome: CallOutcome) -> Text:
    parts: list[Text] = []
    if outcome.sip_code is not None:
        row = sip_status(outcome.sip_code)
        code = f"SIP {row.code} {row.reason}: "
        parts.append(Text(code, code) + row.meaning)
    if outcome.q850 is not None:
        cause = q850_cause(outcome.q850)
        text = f"Cause {cause.code} ({cause.cause_txt})."
        parts.append(Text(text, text))
    if outcome.dial_status is not None:
        text = f"DIALSTATUS {dial_status(outcome.dial_status).name}."
        parts.append(Text(text, text))
    if not parts:
        return Text(
            f"No SIP code or cause; trunkctl saw: {outcome.status}.",
            f"Ни кода SIP, ни причины; trunkctl зафиксировал: {outcome.status}.",
        )
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + Text(" ", " ") + part
    return joined


def explain(outcome: CallOutcome) -> Explanation:
    """What the outcome means for an Asterisk + NovoFon trunk, and what to do next."""
    situation = _variant(situation_for(outcome), outcome)
    entry = CATALOG[situation]
    meaning, steps, notes = entry.meaning, list(entry.steps), []
    if (
        entry.severity == "fail"
        and outcome.mode == "registration"
        and outcome.trunk_registered is False
    ):
        notes.append("unregistered")
    if (
        outcome.is_verification_call
        and entry.severity == "fail"
        and not situation.endswith(".verification")
    ):
        notes.append("verification_pending")
    for note in notes:
        extra_meaning, extra_step = NOTES[note]
        meaning = meaning + extra_meaning
        # The registration must work before anything else can; pending verification comes last.
        if note == "unregistered":
            # This step already sends the user to `trunkctl status`; don't say it twice.
            steps = [step for step in steps if step is not STATUS]
            steps.insert(0, extra_step)
        else:
            steps.append(extra_step)
    return Explanation(
        id=situation,
        severity=entry.severity,
        headline=entry.headline,
        meaning=meaning,
        next_steps=tuple(steps),
        evidence=_evidence(outcome),
        notes=tuple(notes),
    )
