"""Asterisk 22's translations, typed by hand from the source (release branch 22):
res/res_pjsip.c ast_sip_hangup_sip2cause(), channels/chan_pjsip.c hangup_cause2sip(),
res/res_pjsip_session.c ast_sip_session_terminate(), apps/app_dial.c handle_cause() and
main/dial.c ast_hangup_cause_to_dial_status()."""

import pytest

from trunkctl.codes import (
    Q850_TO_SIP,
    SIP_TO_Q850,
    dial_status_for_cause,
    dialend_status_for_cause,
    q850_to_sip,
    sip_response_for_hangup,
    sip_to_q850,
)

SIP2CAUSE = [
    (302, 23), (401, 21), (403, 21), (404, 1), (405, 127), (407, 21), (408, 18), (409, 41),
    (410, 22), (411, 127), (413, 127), (414, 127), (415, 127), (420, 3), (480, 19), (481, 127),
    (482, 127), (483, 19), (484, 28), (485, 1), (486, 17), (487, 127), (488, 58), (491, 127),
    (493, 127), (500, 38), (501, 29), (502, 27), (503, 34), (504, 102), (505, 127), (600, 17),
    (603, 21), (604, 1), (606, 58),
]  # fmt: skip

# The switch's default branch.
SIP2CAUSE_DEFAULTS = [
    (400, 127), (402, 127), (406, 127), (422, 127), (499, 127),
    (513, 34), (580, 34), (599, 34),
    (601, 127), (607, 127), (699, 127),
    (100, 16), (180, 16), (200, 16), (301, 16),
]  # fmt: skip

CAUSE2SIP = [
    (1, 404), (2, 404), (3, 404), (17, 486), (18, 408), (19, 480), (20, 480), (21, 403),
    (22, 410), (23, 302), (27, 502), (28, 484), (29, 501), (31, 480), (34, 503), (38, 500),
    (42, 503), (58, 488), (66, 503), (127, 500),
]  # fmt: skip


@pytest.mark.parametrize(("sip", "cause"), SIP2CAUSE + SIP2CAUSE_DEFAULTS)
def test_sip_to_q850(sip: int, cause: int) -> None:
    assert sip_to_q850(sip) == cause


def test_sip_table_holds_exactly_the_explicit_cases() -> None:
    assert dict(SIP_TO_Q850) == dict(SIP2CAUSE)


def test_reference_summary_agrees() -> None:
    # The project's reference notes (asterisk.md, "Originate and following a call").
    summary = {401: 21, 403: 21, 407: 21, 603: 21, 404: 1, 485: 1, 604: 1, 408: 18, 480: 19,
               483: 19, 484: 28, 486: 17, 600: 17, 487: 127, 488: 58, 606: 58, 500: 38, 501: 29,
               502: 27, 503: 34, 504: 102, 499: 127, 598: 34}  # fmt: skip
    assert {code: sip_to_q850(code) for code in summary} == summary


@pytest.mark.parametrize(("cause", "sip"), CAUSE2SIP)
def test_q850_to_sip(cause: int, sip: int) -> None:
    assert q850_to_sip(cause) == sip
    assert sip_response_for_hangup(cause) == sip


def test_cause_table_holds_exactly_the_explicit_cases() -> None:
    assert dict(Q850_TO_SIP) == dict(CAUSE2SIP)


@pytest.mark.parametrize("cause", [0, 16, 41, 44, 50, 52, 102, 111])
def test_unmatched_cause_sends_603_decline(cause: int) -> None:
    # hangup_cause2sip() returns 0; ast_sip_session_terminate() turns 0 into 603.
    assert q850_to_sip(cause) is None
    assert sip_response_for_hangup(cause) == 603


@pytest.mark.parametrize(
    ("cause", "dialstatus", "dialend"),
    [
        (17, "BUSY", "BUSY"),  # 486
        (34, "CONGESTION", "CONGESTION"),  # 503
        (19, "NOANSWER", "NOANSWER"),  # 480
        (16, "NOANSWER", "NOANSWER"),
        (21, "CHANUNAVAIL", "NOANSWER"),  # 403: DialEnd says NOANSWER
        (1, "CHANUNAVAIL", "NOANSWER"),  # 404
        (18, "CHANUNAVAIL", "NOANSWER"),  # 408
        (127, "CHANUNAVAIL", "NOANSWER"),  # 487
        (58, "CHANUNAVAIL", "NOANSWER"),  # 488
        (3, "CHANUNAVAIL", "CHANUNAVAIL"),
        (20, "CHANUNAVAIL", "CHANUNAVAIL"),
    ],
)
def test_dial_status_for_cause(cause: int, dialstatus: str, dialend: str) -> None:
    assert dial_status_for_cause(cause) == dialstatus
    assert dialend_status_for_cause(cause) == dialend


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        SIP_TO_Q850[486] = 1  # type: ignore[index]
