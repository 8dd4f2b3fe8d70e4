"""Reading the SIP code out of what Asterisk reports after a call.

Two shapes exist in Asterisk 22: ``${HANGUPCAUSE(<channel>,tech)}`` gives
``"SIP <code> <reason>"`` (chan_pjsip.c builds it with ``"SIP %d %.*s"`` from the response's
status line), and the AMI ``Hangup`` event carries ``TechCause: <code>`` since 20.17/22.7,
omitted (or 0) for calls that ended normally.
"""

from __future__ import annotations

from ..errors import BadInput
from ..i18n import Text

__all__ = ["CauseParseError", "parse_hangupcause_tech", "parse_tech_cause"]

_NEXT = Text(
    "Pass the value exactly as Asterisk printed it, e.g. 'SIP 486 Busy Here' or '486'.",
    "Передайте значение ровно так, как его выдал Asterisk, например 'SIP 486 Busy Here' или '486'.",
)


class CauseParseError(BadInput):
    """A cause value from Asterisk (HANGUPCAUSE, TechCause) is not in the shape it should be."""

    code = "cause_parse"


def _fail(what: Text, value: str) -> CauseParseError:
    return CauseParseError(
        what, evidence=Text(f"value: {value!r}", f"значение: {value!r}"), next_step=_NEXT
    )


def _sip_code(digits: str, value: str) -> int:
    if not (len(digits) == 3 and digits.isascii() and digits.isdigit()):
        raise _fail(Text("Not a three-digit SIP code.", "Это не трёхзначный код SIP."), value)
    code = int(digits)
    if not 100 <= code <= 699:
        raise _fail(Text("SIP codes run from 100 to 699.", "Коды SIP бывают от 100 до 699."), value)
    return code


def parse_hangupcause_tech(value: str) -> tuple[int, str]:
    """``"SIP 486 Busy Here"`` → ``(486, "Busy Here")``; the reason may be empty.

    Raises CauseParseError for anything else, including the empty string HANGUPCAUSE gives
    when it has no record for the channel.
    """
    text = value.strip()
    prefix, _, rest = text.partition(" ")
    if prefix.upper() != "SIP":
        raise _fail(
            Text("Expected 'SIP <code> <reason>'.", "Ожидалось 'SIP <код> <причина>'."), value
        )
    digits, _, reason = rest.partition(" ")
    return _sip_code(digits, value), reason.strip()


def parse_tech_cause(value: str | None) -> int | None:
    """The SIP code in a Hangup event's ``TechCause``; ``None`` when absent, empty or 0."""
    if value is None:
        return None
    text = value.strip()
    if text in ("", "0"):
        return None
    return _sip_code(text, value)
