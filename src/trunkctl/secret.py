"""A string that never shows itself: repr, str and f-strings print a mask.

Passwords and secrets travel through trunkctl inside :class:`Secret`, so an accidental
``print``, log line, exception message or traceback shows ``********``, not the value.
"""

from __future__ import annotations

__all__ = ["MASK", "Secret"]

MASK = "********"


class Secret:
    """Holds a secret value; only :meth:`reveal` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: call it only where it is written to a 0600 file or the wire."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret values are not pickled")
