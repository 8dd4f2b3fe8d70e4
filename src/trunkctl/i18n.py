"""Bilingual (Russian/English) user-facing text.

trunkctl is built for Russian-speaking admins as much as English-speaking ones, so every
message carries both languages side by side at the place it is written (``Text(en, ru)``)
instead of living in a far-away catalog keyed by ids that drift out of sync.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Lang = Literal["en", "ru"]
LANGS: tuple[Lang, ...] = ("en", "ru")

__all__ = ["LANGS", "Lang", "Text", "detect_lang", "get_lang", "set_lang"]

_current: Lang | None = None


@dataclass(frozen=True, slots=True)
class Text:
    """One message in both languages; ``{name}`` fields are filled by :meth:`format`."""

    en: str
    ru: str

    def render(self, lang: Lang | None = None) -> str:
        """The message in ``lang`` (default: the process-wide language)."""
        return self.ru if (lang or get_lang()) == "ru" else self.en

    def format(self, **fields: object) -> Text:
        """Both languages with the same fields filled in."""
        return Text(self.en.format(**fields), self.ru.format(**fields))

    def __add__(self, other: Text) -> Text:
        return Text(self.en + other.en, self.ru + other.ru)

    def __str__(self) -> str:
        return self.render()


def detect_lang(environ: dict[str, str] | None = None) -> Lang:
    """The language POSIX locale variables ask for: LC_ALL, then LC_MESSAGES, then LANG."""
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"


def get_lang() -> Lang:
    """The process-wide language (set by the CLI's ``--lang``, else detected)."""
    global _current
    if _current is None:
        _current = detect_lang()
    return _current


def set_lang(lang: Lang | None) -> None:
    """Set the process-wide language; ``None`` goes back to detection."""
    global _current
    _current = lang
