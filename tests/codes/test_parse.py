"""Reading SIP codes from ``HANGUPCAUSE(...,tech)`` and the Hangup event's ``TechCause``."""

import pytest

from trunkctl.codes import CauseParseError, parse_hangupcause_tech, parse_tech_cause
from trunkctl.errors import BadInput


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SIP 486 Busy Here", (486, "Busy Here")),
        ("SIP 403 Forbidden", (403, "Forbidden")),
        ("SIP 407 Proxy Authentication Required", (407, "Proxy Authentication Required")),
        ("SIP 481 Call/Transaction Does Not Exist", (481, "Call/Transaction Does Not Exist")),
        ("SIP 200 OK", (200, "OK")),
        ("SIP 503 ", (503, "")),  # "SIP %d %.*s" with an empty reason phrase
        ("SIP 503", (503, "")),
        ("SIP 480 Временно недоступен", (480, "Временно недоступен")),
        ("  SIP 487 Request Terminated\r\n", (487, "Request Terminated")),
        ("sip 486 Busy Here", (486, "Busy Here")),
    ],
)
def test_parse_hangupcause_tech(value: str, expected: tuple[int, str]) -> None:
    assert parse_hangupcause_tech(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "486", "SIP", "SIP Busy", "SIP 48 Busy", "SIP 4860 Busy", "SIP 099 x", "SIP 700 x",
     "IAX2 486 Busy", "SIP ４８６ Busy", "SIP -86 x"],
)  # fmt: skip
def test_parse_hangupcause_tech_refuses(value: str) -> None:
    with pytest.raises(CauseParseError) as info:
        parse_hangupcause_tech(value)
    assert isinstance(info.value, BadInput)
    assert repr(value) in info.value.evidence.en  # type: ignore[union-attr]
    assert info.value.what.ru and info.value.next_step


@pytest.mark.parametrize(
    ("value", "expected"),
    [("486", 486), (" 503\r", 503), ("", None), ("0", None), (None, None), ("699", 699)],
)
def test_parse_tech_cause(value: str | None, expected: int | None) -> None:
    assert parse_tech_cause(value) == expected


@pytest.mark.parametrize("value", ["SIP 486 Busy Here", "4861", "99", "700", "abc", "48 6"])
def test_parse_tech_cause_refuses(value: str) -> None:
    with pytest.raises(CauseParseError):
        parse_tech_cause(value)
