"""SIP status table: every RFC 3261 §21 code with its reason phrase, common extensions,
and the "unknown" fallback of RFC 3261 §8.1.3.2. Expected values are typed from the RFCs."""

import re

import pytest

from trunkctl.codes import SIP_STATUSES, sip_status

# RFC 3261 §21.1–21.6, phrase for phrase.
RFC3261 = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

# Extensions from the IANA SIP response code registry: (code, phrase, defining RFC).
EXTENSIONS = [
    (199, "Early Dialog Terminated", "RFC 6228"),
    (204, "No Notification", "RFC 5839"),
    (412, "Conditional Request Failed", "RFC 3903"),
    (417, "Unknown Resource-Priority", "RFC 4412"),
    (422, "Session Interval Too Small", "RFC 4028"),
    (428, "Use Identity Header", "RFC 8224"),
    (429, "Provide Referrer Identity", "RFC 3892"),
    (433, "Anonymity Disallowed", "RFC 5079"),
    (438, "Invalid Identity Header", "RFC 8224"),
    (439, "First Hop Lacks Outbound Support", "RFC 5626"),
    (489, "Bad Event", "RFC 6665"),
    (494, "Security Agreement Required", "RFC 3329"),
    (580, "Precondition Failure", "RFC 3312"),
    (607, "Unwanted", "RFC 8197"),
    (608, "Rejected", "RFC 8688"),
]

CYRILLIC = re.compile("[а-яА-ЯёЁ]")


@pytest.mark.parametrize(("code", "reason"), sorted(RFC3261.items()))
def test_rfc3261_code_and_phrase(code: int, reason: str) -> None:
    row = sip_status(code)
    assert (row.code, row.reason, row.rfc, row.known) == (code, reason, "RFC 3261", True)


@pytest.mark.parametrize(("code", "reason", "rfc"), EXTENSIONS)
def test_extension_code(code: int, reason: str, rfc: str) -> None:
    row = sip_status(code)
    assert (row.reason, row.rfc, row.known) == (reason, rfc, True)


def test_mapping_holds_only_known_rows() -> None:
    assert set(RFC3261) <= set(SIP_STATUSES)
    assert 499 not in SIP_STATUSES
    with pytest.raises(KeyError):
        SIP_STATUSES[499]
    assert SIP_STATUSES[486].reason == "Busy Here"


@pytest.mark.parametrize("code", sorted(SIP_STATUSES))
def test_every_row_explains_itself_in_both_languages(code: int) -> None:
    meaning = SIP_STATUSES[code].meaning
    assert meaning.en.strip() and meaning.ru.strip()
    assert CYRILLIC.search(meaning.ru), meaning.ru
    assert not CYRILLIC.search(meaning.en), meaning.en


@pytest.mark.parametrize(
    ("code", "klass", "final"),
    [
        (100, 1, False),
        (183, 1, False),
        (200, 2, True),
        (302, 3, True),
        (486, 4, True),
        (503, 5, True),
        (603, 6, True),
    ],
)
def test_class_and_finality(code: int, klass: int, final: bool) -> None:
    row = sip_status(code)
    assert (row.klass, row.is_final) == (klass, final)


@pytest.mark.parametrize(
    ("code", "treated_as"), [(499, "400"), (599, "500"), (699, "600"), (299, "200"), (189, "100")]
)
def test_unknown_code_is_treated_as_class_x00(code: int, treated_as: str) -> None:
    # RFC 3261 §8.1.3.2: an unrecognised response is treated as the x00 of its class.
    row = sip_status(code)
    assert row.known is False
    assert row.code == code
    assert treated_as in row.meaning.en and treated_as in row.meaning.ru


@pytest.mark.parametrize("code", [0, 99, 700, 1000, -1])
def test_out_of_range_is_not_a_sip_code(code: int) -> None:
    row = sip_status(code)
    assert row.known is False
    assert row.meaning.en == "Not a SIP status code."
