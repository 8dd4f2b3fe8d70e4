"""Phone numbers in the form NovoFon's APIs take: E.164 digits without '+'.

Both APIs document numbers as bare E.164 digits (79991234567). Russian users also type
the domestic trunk prefix (8 999 123-45-67), which NovoFon would read as another country,
so an 11-digit number starting with 8 becomes 7...; formatting characters are dropped.
"""

from __future__ import annotations

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

__all__ = ["e164_digits"]

_FORMATTING = str.maketrans("", "", " -().\t")


def e164_digits(number: str, *, what: str = "number") -> str:
    """``'+7 (999) 123-45-67'`` or ``'8 999 123 45 67'`` → ``'79991234567'``.

    Raises :class:`BadInput` for anything that is not a phone number after formatting is
    removed (letters, a '+' inside, fewer than 3 digits).
    """
    compact = number.strip().translate(_FORMATTING)
    digits = compact.removeprefix("+")
    if not digits.isdigit() or not digits.isascii() or len(digits) < 3:
        raise BadInput(
            Text(
                "{what} {number!r} is not a phone number",
                "{what} {number!r} — не номер телефона",
            ).format(what=what, number=number),
            next_step=Text(
                "Write it as E.164 digits, e.g. 79991234567 (a leading + or 8 is fine).",
                "Укажите номер цифрами E.164, например 79991234567 (можно с + или 8 в начале).",
            ),
        )
    if len(digits) == 11 and digits.startswith("8") and not compact.startswith("+"):
        digits = "7" + digits[1:]
    return digits
