"""NovoFon's words for how a call ended, as trunkctl's call verdicts (``trunkctl.codes``).

REST v1 statistics and webhooks say ``disposition`` (answered, busy, cancel, no answer,
failed, no money, unallocated number, line limit…, novofon.md); the Data API's calls
report says ``finish_reason`` plus ``is_lost``. The call log and the CLI speak one
vocabulary, :data:`trunkctl.codes.CallStatus`.
"""

from __future__ import annotations

from trunkctl.codes import CallStatus

from ._models import CallReportRow

__all__ = ["disposition_status", "report_status"]

_DISPOSITIONS: dict[str, CallStatus] = {
    "answered": "answered",
    "busy": "busy",
    "no answer": "no_answer",
    "cancel": "no_answer",  # the caller gave up while it rang
    "unallocated number": "not_found",
    "failed": "failed",
    "no money": "rejected",
    "no limit": "rejected",
    "no day limit": "rejected",
    "line limit": "rejected",
    # The spec's spelling has the comma (zadarma/openapi statistics disposition enum); the
    # account had no money or limit, so the call was never placed: failed, not rejected.
    "no money, no limit": "failed",
    "call failed": "failed",
}

_FINISH_REASONS: dict[str, CallStatus] = {
    "subscriber_busy": "busy",
    "subscriber_not_responsible": "no_answer",
    "sip_offline": "unavailable",
    # NovoFon uses it for an unallocated number and for other failures alike.
    "subscriber_number_problems": "failed",
    "no_money": "rejected",
    "out_call_not_allowed": "rejected",
}


def disposition_status(disposition: str | None) -> CallStatus:
    """REST v1 / webhook ``disposition`` → verdict (``failed`` when unknown)."""
    return _DISPOSITIONS.get((disposition or "").strip().lower(), "failed")


def report_status(row: CallReportRow) -> CallStatus:
    """A Data API calls-report row → verdict: not lost means answered."""
    if row.is_lost is False:
        return "answered"
    return _FINISH_REASONS.get(row.finish_reason or "", "failed")
