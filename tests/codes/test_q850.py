"""Q.850 table against Asterisk 22's include/asterisk/causes.h (numbers, names) and the
``causes[]`` table of main/channel.c (the exact ``Cause-txt`` the Hangup event carries)."""

import re

import pytest

from trunkctl.codes import Q850_CAUSES, q850_cause

# (cause, AST_CAUSE_ name, Cause-txt), copied by hand from the two files named above.
ASTERISK_22 = [
    (1, "UNALLOCATED", "Unallocated (unassigned) number"),
    (2, "NO_ROUTE_TRANSIT_NET", "No route to specified transmit network"),
    (3, "NO_ROUTE_DESTINATION", "No route to destination"),
    (5, "MISDIALLED_TRUNK_PREFIX", "Misdialed trunk prefix"),
    (6, "CHANNEL_UNACCEPTABLE", "Channel unacceptable"),
    (7, "CALL_AWARDED_DELIVERED", "Call awarded and being delivered in an established channel"),
    (8, "PRE_EMPTED", "Pre-empted"),
    (14, "NUMBER_PORTED_NOT_HERE", "Number ported elsewhere"),
    (16, "NORMAL_CLEARING", "Normal Clearing"),
    (17, "USER_BUSY", "User busy"),
    (18, "NO_USER_RESPONSE", "No user responding"),
    (19, "NO_ANSWER", "User alerting, no answer"),
    (20, "SUBSCRIBER_ABSENT", "Subscriber absent"),
    (21, "CALL_REJECTED", "Call Rejected"),
    (22, "NUMBER_CHANGED", "Number changed"),
    (23, "REDIRECTED_TO_NEW_DESTINATION", "Redirected to new destination"),
    (26, "ANSWERED_ELSEWHERE", "Answered elsewhere"),
    (27, "DESTINATION_OUT_OF_ORDER", "Destination out of order"),
    (28, "INVALID_NUMBER_FORMAT", "Invalid number format"),
    (29, "FACILITY_REJECTED", "Facility rejected"),
    (30, "RESPONSE_TO_STATUS_ENQUIRY", "Response to STATus ENQuiry"),
    (31, "NORMAL_UNSPECIFIED", "Normal, unspecified"),
    (34, "NORMAL_CIRCUIT_CONGESTION", "Circuit/channel congestion"),
    (38, "NETWORK_OUT_OF_ORDER", "Network out of order"),
    (41, "NORMAL_TEMPORARY_FAILURE", "Temporary failure"),
    (42, "SWITCH_CONGESTION", "Switching equipment congestion"),
    (43, "ACCESS_INFO_DISCARDED", "Access information discarded"),
    (44, "REQUESTED_CHAN_UNAVAIL", "Requested channel not available"),
    (50, "FACILITY_NOT_SUBSCRIBED", "Facility not subscribed"),
    (52, "OUTGOING_CALL_BARRED", "Outgoing call barred"),
    (54, "INCOMING_CALL_BARRED", "Incoming call barred"),
    (57, "BEARERCAPABILITY_NOTAUTH", "Bearer capability not authorized"),
    (58, "BEARERCAPABILITY_NOTAVAIL", "Bearer capability not available"),
    (65, "BEARERCAPABILITY_NOTIMPL", "Bearer capability not implemented"),
    (66, "CHAN_NOT_IMPLEMENTED", "Channel not implemented"),
    (69, "FACILITY_NOT_IMPLEMENTED", "Facility not implemented"),
    (81, "INVALID_CALL_REFERENCE", "Invalid call reference value"),
    (88, "INCOMPATIBLE_DESTINATION", "Incompatible destination"),
    (95, "INVALID_MSG_UNSPECIFIED", "Invalid message unspecified"),
    (96, "MANDATORY_IE_MISSING", "Mandatory information element is missing"),
    (97, "MESSAGE_TYPE_NONEXIST", "Message type nonexist."),
    (98, "WRONG_MESSAGE", "Wrong message"),
    (99, "IE_NONEXIST", "Info. element nonexist or not implemented"),
    (100, "INVALID_IE_CONTENTS", "Invalid information element contents"),
    (101, "WRONG_CALL_STATE", "Message not compatible with call state"),
    (102, "RECOVERY_ON_TIMER_EXPIRE", "Recover on timer expiry"),
    (103, "MANDATORY_IE_LENGTH_ERROR", "Mandatory IE length error"),
    (111, "PROTOCOL_ERROR", "Protocol error, unspecified"),
    (127, "INTERWORKING", "Interworking, unspecified"),
]

CYRILLIC = re.compile("[а-яА-ЯёЁ]")


@pytest.mark.parametrize(("code", "name", "cause_txt"), ASTERISK_22)
def test_cause_name_and_text_match_asterisk(code: int, name: str, cause_txt: str) -> None:
    row = q850_cause(code)
    assert (row.code, row.name, row.cause_txt, row.known) == (code, name, cause_txt, True)


def test_table_is_exactly_asterisks_causes_plus_notdefined() -> None:
    assert sorted(Q850_CAUSES) == [0] + [code for code, _, _ in ASTERISK_22]
    # AST_CAUSE_NOTDEFINED: ast_cause2str(0) has no row and answers "Unknown".
    assert (Q850_CAUSES[0].name, Q850_CAUSES[0].cause_txt) == ("NOTDEFINED", "Unknown")


@pytest.mark.parametrize("code", sorted(Q850_CAUSES))
def test_every_cause_explains_itself_in_both_languages(code: int) -> None:
    meaning = Q850_CAUSES[code].meaning
    assert meaning.en.strip() and CYRILLIC.search(meaning.ru)
    assert not CYRILLIC.search(meaning.en)


@pytest.mark.parametrize(
    ("code", "klass_en"),
    [
        (9, "normal event"),
        (25, "normal event"),
        (39, "resource unavailable"),
        (47, "resource unavailable"),
        (49, "service or option not available"),
        (70, "service or option not implemented"),
        (91, "invalid message"),
        (110, "protocol error"),
        (112, "interworking"),
    ],
)
def test_unnamed_cause_falls_back_to_its_q850_class(code: int, klass_en: str) -> None:
    row = q850_cause(code)
    assert (row.known, row.name, row.cause_txt) == (False, "UNKNOWN", "Unknown")
    assert row.meaning.en.endswith(f"Q.850 class: {klass_en}.")


@pytest.mark.parametrize("code", [-1, 128, 255])
def test_out_of_range_is_not_a_cause(code: int) -> None:
    assert q850_cause(code).meaning.en == "Not a Q.850 cause value."
