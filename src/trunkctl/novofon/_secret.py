"""Keeping credentials out of evidence: wrap them in :class:`trunkctl.secret.Secret`, and
scrub any that a server echoes back.
"""

from __future__ import annotations

from collections.abc import Iterable

from trunkctl.secret import MASK, Secret

__all__ = ["Secret", "as_secret", "reveal", "scrub"]


def as_secret(value: str | Secret) -> Secret:
    """``value`` wrapped once (a Secret passes through)."""
    return value if isinstance(value, Secret) else Secret(str(value))


def reveal(value: str | Secret) -> str:
    """The plain text of a str or a Secret (for signing only)."""
    return value.reveal() if isinstance(value, Secret) else value


def scrub(text: str, secrets: Iterable[Secret | str | None]) -> str:
    """``text`` with every occurrence of each known secret (4+ characters) masked.

    Servers echo request values back in error messages (the Data API's ``data.value`` is
    documented as "what the user sent, unchanged"), so evidence is scrubbed before it is
    stored in an exception.
    """
    for secret in secrets:
        if secret is None:
            continue
        plain = reveal(secret)
        if len(plain) >= 4:
            text = text.replace(plain, MASK)
    return text
