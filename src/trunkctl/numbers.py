"""Phone numbers as NovoFon and Asterisk need them: E.164 digits, safe in a channel string.

Parsing and validity come from ``phonenumbers`` (libphonenumber's metadata), imported inside
the functions so that starting the CLI does not pay for it. What this module adds is an
allow-list in front of it: phonenumbers happily skips trailing text ("79991234567&x" parses
as a number), while a stray ``@ / & , ; |`` or a line break in a dial string changes what
Asterisk dials. So only digits, one leading ``+``, spaces, dashes, dots and one pair of
parentheses are accepted, and anything else is refused naming the character.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .errors import BadInput
from .i18n import Text

__all__ = [
    "PhoneNumber",
    "local_channel",
    "normalize_number",
    "parse_caller_id",
    "parse_number",
    "pjsip_dial_string",
]

# Longer input is not a phone number (E.164 caps numbers at 15 digits); checked before any
# parsing so that pasting a whole file gives a short, clear refusal.
_MAX_INPUT = 40
_SEPARATORS = frozenset(" -.\u00a0\u2009\u202f\u2010\u2011\u2012\u2013\u2014\u2212")
_DIGITS = frozenset("0123456789")
# Asterisk section and context names trunkctl writes: letters, digits, - _ . (no spaces,
# none of the characters that split a dial string: / @ & , ; | ( ) and quotes).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# main/config.c keeps category names in char[80]; contexts are AST_MAX_CONTEXT (80) too.
_MAX_NAME = 79

_EXAMPLE = Text(
    "Type the number with digits only, e.g. 79991234567, 89991234567 or +7 (999) 123-45-67; "
    "for a number abroad start with + and the country code.",
    "Введите номер только цифрами, например 79991234567, 89991234567 или +7 (999) 123-45-67; "
    "зарубежный номер начните с + и кода страны.",
)


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A parsed number. ``digits`` is E.164 without '+', the form NovoFon's APIs take."""

    digits: str
    region: str | None
    valid: bool

    @classmethod
    def from_e164(cls, digits: str) -> PhoneNumber:
        """A number already parsed once (E.164 digits without '+', as the call log and
        number lists keep them): never read again as a Russian 10-digit or 8… number,
        which would turn ``4930901820`` (Berlin) into ``74930901820``."""
        if not digits.isascii() or not digits.isdigit() or not 2 <= len(digits) <= 15:
            raise _refuse(
                digits,
                Text("Not E.164 digits.", "Это не цифры номера в формате E.164."),
            )
        return cls(digits, None, True)

    @property
    def e164(self) -> str:
        """``+79991234567``."""
        return "+" + self.digits

    def dial(self, *, plus: bool = False) -> str:
        """The number for a dial string: ``79991234567`` (or ``+79991234567`` with ``plus``)."""
        return self.e164 if plus else self.digits

    def display(self) -> str:
        """Human-readable international form, e.g. ``+7 999 123-45-67``."""
        import phonenumbers

        parsed = phonenumbers.parse(self.e164, None)
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def __str__(self) -> str:
        return self.e164


def _shown(char: str) -> str:
    """A character as the user can see it in a message: visible ones quoted, others by name."""
    if char.isprintable() and not char.isspace():
        return f"'{char}'"
    name = unicodedata.name(char, "")
    escaped = char.encode("unicode_escape").decode("ascii")
    return f"{escaped} (U+{ord(char):04X}{' ' + name if name else ''})"


def _refuse(raw: str, what: Text, *, position: int | None = None, **details: object) -> BadInput:
    # repr() shows control characters as \n, \x00 … and keeps Cyrillic readable.
    if position is None:
        evidence = Text(f"input: {raw!r}", f"введено: {raw!r}")
    else:
        evidence = Text(
            f"input: {raw!r}, position {position + 1}",
            f"введено: {raw!r}, позиция {position + 1}",
        )
    return BadInput(what, evidence=evidence, next_step=_EXAMPLE, **details)


def _bad_char(raw: str, index: int) -> BadInput:
    shown = _shown(raw[index])
    return _refuse(
        raw,
        Text(
            f"A phone number cannot contain {shown}.",
            f"В номере телефона не может быть символа {shown}.",
        ),
        position=index,
        char=raw[index],
    )


def _clean(raw: str) -> str:
    """Digits with an optional leading '+', or BadInput naming the first offending character."""
    if len(raw) > _MAX_INPUT:
        raise _refuse(
            raw[:_MAX_INPUT] + "…",
            Text(
                f"That is too long for a phone number ({len(raw)} characters).",
                f"Для номера телефона это слишком длинно ({len(raw)} символов).",
            ),
        )
    out: list[str] = []
    paren_open: int | None = None
    parens_seen = False
    for i, char in enumerate(raw):
        if char in _DIGITS:
            out.append(char)
        elif char in _SEPARATORS:
            continue
        elif char == "+":
            # Only as the very first thing typed (leading spaces aside).
            if out or parens_seen or raw[:i].strip(" "):
                raise _bad_char(raw, i)
            out.append("+")
        elif char == "(":
            # One pair, e.g. 8 (999) 123-45-67; never nested, never twice.
            if parens_seen:
                raise _bad_char(raw, i)
            paren_open, parens_seen = i, True
        elif char == ")":
            if paren_open is None or not any(c in _DIGITS for c in raw[paren_open:i]):
                raise _bad_char(raw, i)
            paren_open = None
        else:
            raise _bad_char(raw, i)
    if paren_open is not None:
        raise _bad_char(raw, paren_open)
    cleaned = "".join(out)
    if not cleaned.lstrip("+"):
        raise _refuse(raw, Text("No phone number given.", "Номер телефона не указан."))
    # "00" is the international prefix in most of the world (Russia's own is 810, which
    # phonenumbers already knows); read it as '+'.
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    return cleaned


def _why_invalid(cleaned: str, region: str, *, possible: bool) -> Text:
    if region == "RU" and cleaned[0] in "78" and len(cleaned) != 11:
        # The usual typo: a digit missing or doubled in 8XXXXXXXXXX / 7XXXXXXXXXX.
        return Text(
            f"A Russian number has 11 digits starting with 7 or 8; this one has {len(cleaned)}.",
            f"В российском номере 11 цифр, первая — 7 или 8; здесь цифр {len(cleaned)}.",
        )
    if not possible:
        return Text(
            "Wrong number of digits for a number in that country.",
            "Количество цифр не подходит для номера этой страны.",
        )
    return Text(
        "No such number range exists: check the digits and the country code.",
        "Такого диапазона номеров нет: проверьте цифры и код страны.",
    )


def parse_number(raw: str, *, region: str = "RU", strict: bool = True) -> PhoneNumber:
    """Parse a number typed by a user; ``region`` says how to read numbers without '+'.

    Accepts 8XXXXXXXXXX, 7XXXXXXXXXX, +7XXXXXXXXXX, 10-digit Russian numbers and +E.164, with
    spaces, dashes and one pair of parentheses. ``strict`` also requires phonenumbers'
    is_valid_number (a number in an allocated range); otherwise only a possible length.
    Raises BadInput.
    """
    cleaned = _clean(raw)
    import phonenumbers

    try:
        parsed = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException as exc:
        raise _refuse(
            raw,
            Text(
                "This is not a phone number we can read.",
                "Не удаётся прочитать это как номер телефона.",
            ),
        ) from exc
    valid = bool(phonenumbers.is_valid_number(parsed))
    if not phonenumbers.is_possible_number(parsed) or (strict and not valid):
        raise _refuse(
            raw, _why_invalid(cleaned, region, possible=phonenumbers.is_possible_number(parsed))
        )
    digits = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    region_code = phonenumbers.region_code_for_number(parsed)
    # "001" is libphonenumber's code for non-geographic numbers (+800, +882 …).
    return PhoneNumber(digits, None if region_code in (None, "001") else region_code, valid)


def normalize_number(raw: str, *, region: str = "RU", strict: bool = True) -> str:
    """The E.164 digits without '+' (``89991234567`` → ``79991234567``); raises BadInput."""
    return parse_number(raw, region=region, strict=strict).digits


def parse_caller_id(raw: str, *, region: str = "RU") -> PhoneNumber:
    """A caller ID to present on outgoing calls: a real, allocated number (e.g. +7...).

    Format only: NovoFon also requires the number to belong to the account, which only
    the cabinet knows. Raises BadInput.
    """
    try:
        return parse_number(raw, region=region, strict=True)
    except BadInput as exc:
        raise BadInput(
            Text("Invalid caller ID. ", "Неверный номер звонящего (Caller ID). ") + exc.what,
            evidence=exc.evidence,
            next_step=Text(
                "Use one of your NovoFon numbers, e.g. +79991234567.",
                "Укажите один из своих номеров NovoFon, например +79991234567.",
            ),
            **exc.details,
        ) from exc


_NAME_NEXT = Text(
    "Use the name exactly as in the config: Latin letters, digits, '-', '_' and '.', at most "
    f"{_MAX_NAME} characters.",
    "Укажите имя в точности как в конфиге: латинские буквы, цифры, '-', '_' и '.', не длиннее "
    f"{_MAX_NAME} символов.",
)


def _check_name(name: str, kind: Text) -> str:
    """``name`` if it is safe after '@' in a dial string, else BadInput naming the problem."""
    if not name:
        raise BadInput(
            Text(f"No {kind.en} given.", f"Не указано: {kind.ru}."), next_step=_NAME_NEXT
        )
    evidence = Text(f"{kind.en}: {name!r}", f"{kind.ru}: {name!r}")
    for i, char in enumerate(name):
        if char not in _NAME_CHARS:
            shown = _shown(char)
            raise BadInput(
                Text(
                    f"The {kind.en} contains {shown} (position {i + 1}).",
                    f"Недопустимый символ {shown} в поле «{kind.ru}» (позиция {i + 1}).",
                ),
                evidence=evidence,
                next_step=_NAME_NEXT,
                char=char,
            )
    if len(name) > _MAX_NAME:
        raise BadInput(
            Text(
                f"The {kind.en} is longer than {_MAX_NAME} characters.",
                f"Поле «{kind.ru}» длиннее {_MAX_NAME} символов.",
            ),
            evidence=evidence,
            next_step=_NAME_NEXT,
        )
    return name


def _as_number(number: str | PhoneNumber) -> PhoneNumber:
    return number if isinstance(number, PhoneNumber) else parse_number(number)


def pjsip_dial_string(number: str | PhoneNumber, endpoint: str, *, plus: bool = False) -> str:
    """``PJSIP/79991234567@novofon``: dial ``number`` through ``endpoint``; raises BadInput."""
    name = _check_name(endpoint, Text("endpoint name", "имя эндпоинта"))
    return f"PJSIP/{_as_number(number).dial(plus=plus)}@{name}"


def local_channel(number: str | PhoneNumber, context: str, *, plus: bool | None = None) -> str:
    """``Local/79991234567@outgoing``: run ``number`` through dialplan ``context``.

    ``plus`` (default: only for numbers outside +7) sends ``+E.164``. A dialplan that
    rewrites Russian habits (``_8XXXXXXXXXX`` → 7…, ``_9XXXXXXXXX`` → 79…) would also
    rewrite foreign numbers that happen to look like them in bare digits (Japan
    81312345678, Korea 82…, Vietnam 84…); with the '+' they reach trunkctl's ``_+X.``
    extension, which dials them untouched. +7 numbers stay bare digits, the form every
    hand-written ``outgoing`` context matches. Raises BadInput.
    """
    name = _check_name(context, Text("dialplan context", "контекст диалплана"))
    parsed = _as_number(number)
    if plus is None:
        plus = not parsed.digits.startswith("7")
    return f"Local/{parsed.dial(plus=plus)}@{name}"
