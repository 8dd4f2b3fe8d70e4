"""Credentials that refuse to show themselves.

API secrets, passwords and access tokens travel through reprs, logs, tracebacks and JSON
error documents by accident far more often than on purpose; wrapping them makes the
accident print ``***`` and makes the one deliberate use (``reveal()``) easy to grep for.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Secret", "scrub"]

_MASK = "***"


class Secret:
    """A credential whose ``repr``/``str`` is ``***``; ``reveal()`` is the only way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        self._value = value.reveal() if isinstance(value, Secret) else str(value)

    def reveal(self) -> str:
        """The plain value, for signing or for writing into a config file."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


def scrub(text: str, secrets: Iterable[Secret | str | None]) -> str:
    """``text`` with every occurrence of each known secret (4+ characters) masked.

    Servers echo request values back in error messages (the Data API's ``data.value`` is
    documented as "what the user sent, unchanged"), so evidence is scrubbed before it is
    stored in an exception.
    """
    for secret in secrets:
        if secret is None:
            continue
        plain = secret.reveal() if isinstance(secret, Secret) else secret
        if len(plain) >= 4:
            text = text.replace(plain, _MASK)
    return text
