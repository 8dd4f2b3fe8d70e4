"""How Asterisk 22 translates between SIP codes, Q.850 causes and Dial statuses.

Each table restates one switch of the Asterisk source (named at the table), so that an
explanation can say which SIP answer a Cause or a DIALSTATUS may have come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "Q850_TO_SIP",
    "SIP_TO_Q850",
    "dial_status_for_cause",
    "dialend_status_for_cause",
    "q850_to_sip",
    "sip_response_for_hangup",
    "sip_to_q850",
]

# res/res_pjsip.c ast_sip_hangup_sip2cause(): the Cause a PJSIP channel gets from the final
# SIP response to its INVITE (and the ast_cause kept for HANGUPCAUSE()).
SIP_TO_Q850: Mapping[int, int] = MappingProxyType(
    {
        302: 23,
        401: 21,
        403: 21,
        404: 1,
        405: 127,
        407: 21,
        408: 18,
        409: 41,
        410: 22,
        411: 127,
        413: 127,
        414: 127,
        415: 127,
        420: 3,
        480: 19,
        481: 127,
        482: 127,
        483: 19,
        484: 28,
        485: 1,
        486: 17,
        487: 127,
        488: 58,
        491: 127,
        493: 127,
        500: 38,
        501: 29,
        502: 27,
        503: 34,
        504: 102,
        505: 127,
        600: 17,
        603: 21,
        604: 1,
        606: 58,
    }
)


def sip_to_q850(code: int) -> int:
    """The Q.850 cause Asterisk 22 sets for a final SIP response ``code``."""
    cause = SIP_TO_Q850.get(code)
    if cause is not None:
        return cause
    # The switch's default branch: unlisted 4xx and 6xx → 127 Interworking, 5xx → 34
    # Congestion, anything else → 16 Normal Clearing.
    if 400 <= code < 500 or 600 <= code < 700:
        return 127
    if 500 <= code < 600:
        return 34
    return 16


# channels/chan_pjsip.c hangup_cause2sip(): the SIP response chan_pjsip sends when our side
# ends a call that is not answered yet with this Cause (Hangup(17), Congestion(), ...).
Q850_TO_SIP: Mapping[int, int] = MappingProxyType(
    {
        1: 404,
        2: 404,
        3: 404,
        17: 486,
        18: 408,
        19: 480,
        20: 480,
        21: 403,
        22: 410,
        23: 302,
        27: 502,
        28: 484,
        29: 501,
        31: 480,
        34: 503,
        38: 500,
        42: 503,
        58: 488,
        66: 503,
        127: 500,
    }
)


def q850_to_sip(cause: int) -> int | None:
    """The SIP code chan_pjsip derives from a Cause, or None where it has no match."""
    return Q850_TO_SIP.get(cause)


def sip_response_for_hangup(cause: int) -> int:
    """The final response an unanswered incoming INVITE really gets when we hang up with ``cause``.

    res_pjsip_session.c ast_sip_session_terminate() turns "no match" (0) into 603 Decline.
    """
    return Q850_TO_SIP.get(cause, 603)


# apps/app_dial.c handle_cause() counts 17 as busy, 34 as congestion, 16 and 19 as nothing
# (Dial's starting value NOANSWER stays) and every other cause as "no channel".
_DIALSTATUS_BY_CAUSE: Mapping[int, str] = MappingProxyType(
    {17: "BUSY", 34: "CONGESTION", 16: "NOANSWER", 19: "NOANSWER"}
)
# main/dial.c ast_hangup_cause_to_dial_status(), which fills DialEnd's DialStatus.
_DIALEND_BY_CAUSE: Mapping[int, str] = MappingProxyType(
    {17: "BUSY", 34: "CONGESTION", 3: "CHANUNAVAIL", 20: "CHANUNAVAIL"}
)


def dial_status_for_cause(cause: int) -> str:
    """``${DIALSTATUS}`` after ``Dial()`` of one PJSIP channel that hung up with ``cause``."""
    return _DIALSTATUS_BY_CAUSE.get(cause, "CHANUNAVAIL")


def dialend_status_for_cause(cause: int) -> str:
    """``DialStatus`` of the AMI DialEnd event for a callee channel that hung up with ``cause``.

    Differs from ``${DIALSTATUS}``: a 403 (Cause 21) shows as NOANSWER here, so DialEnd's
    status alone never proves "no answer".
    """
    return _DIALEND_BY_CAUSE.get(cause, "NOANSWER")
