"""Secret values masked out of .conf text and diffs shown to people.

Asterisk keeps credentials in plain options (pjsip ``password``, ``md5_cred``,
``password_digest``; manager.conf ``secret``; iax ``secret``...), so any text or diff we
print goes through :func:`mask_secrets` / :func:`masked_diff` first.
"""

from __future__ import annotations

import difflib
import re
from typing import Final

from ._document import COMMENT, OPTION, Document, Line, parse
from ._lexer import ascii_lower

__all__ = ["MASK", "is_secret_key", "mask_line", "mask_secrets", "masked_diff"]

MASK: Final = "********"
# Substrings of option names that hold credentials (pjsip auth, manager, iax, ari, http).
_SECRET_WORDS: Final = (
    "secret",
    "password",
    "passwd",
    "md5_cred",
    "token",
    "api_key",
    "apikey",
    "private_key",
)
# "; password = x" or a line inside a ;-- --; block that looks like an option.
_COMMENTED: Final = re.compile(r"^([\s;-]*)([A-Za-z0-9_.-]+)(\s*=>?\s*)(.*?)(\s*(?:--;.*)?)$")


def is_secret_key(key: str) -> bool:
    """True for option names that carry a credential (password, secret, md5_cred...)."""
    low = ascii_lower(key)
    return any(word in low for word in _SECRET_WORDS)


def mask_line(line: Line) -> str:
    """The line's text with a secret value replaced by ``********`` (ending kept)."""
    text = line.text
    if line.kind is OPTION and line.key is not None and is_secret_key(line.key):
        p = line.parsed()
        if p.vstart < p.vend:
            return text[: p.vstart] + MASK + text[p.vend :]
        return text
    if line.kind is COMMENT:
        eol = line.line_ending
        m = _COMMENTED.match(text[: len(text) - len(eol)])
        if m and m.group(4) and is_secret_key(m.group(2)):
            return m.group(1) + m.group(2) + m.group(3) + MASK + m.group(5) + eol
    return text


def mask_secrets(text: str | bytes | Document) -> str:
    """The whole text with every secret value masked."""
    doc = text if isinstance(text, Document) else parse(text)
    return "".join(mask_line(ln) for ln in doc.lines())


def _display(s: str) -> str:
    # Undecodable bytes (surrogate escapes) shown as U+FFFD, never raising on print.
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def masked_diff(
    old: str | bytes | Document | None,
    new: str | bytes | Document | None,
    *,
    name: str = "file",
    context: int = 3,
) -> str:
    """A unified diff from ``old`` to ``new`` (``None``: no file) with secrets masked.

    Lines are compared as they are, then shown masked, so a changed password still shows
    as a changed line, without its value.
    """
    docs = [d if isinstance(d, Document) else parse(d or "") for d in (old, new)]
    raw = [[ln.text for ln in d.lines()] for d in docs]
    shown = [[mask_line(ln) for ln in d.lines()] for d in docs]
    if raw[0] == raw[1]:
        return ""
    out = [
        f"--- {'/dev/null' if old is None else 'a/' + name}\n",
        f"+++ {'/dev/null' if new is None else 'b/' + name}\n",
    ]
    matcher = difflib.SequenceMatcher(None, raw[0], raw[1], autojunk=False)

    def emit(mark: str, side: int, i: int, note: str = "") -> None:
        text = shown[side][i]
        body = text.rstrip("\n")
        body = body[:-1] if body.endswith("\r") else body
        out.append(f"{mark}{_display(body)}{note}\n")
        if not text.endswith("\n"):
            out.append("\\ No newline at end of file\n")

    for group in matcher.get_grouped_opcodes(context):
        i1, j1 = group[0][1], group[0][3]
        i2, j2 = group[-1][2], group[-1][4]
        out.append(f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@\n")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                for i in range(a1, a2):
                    emit(" ", 0, i)
                continue
            removed = {shown[0][i] for i in range(a1, a2) if shown[0][i] != raw[0][i]}
            for i in range(a1, a2):
                emit("-", 0, i)
            for j in range(b1, b2):
                # "-password = ********" then "+password = ********" reads as no change:
                # say that the hidden value did change.
                masked = shown[1][j] != raw[1][j]
                emit("+", 1, j, _CHANGED if masked and shown[1][j] in removed else "")
    return "".join(out)


_CHANGED = "  ; (changed, not shown)"


def _range(start: int, stop: int) -> str:
    # difflib's unified format: "start,length", 1-based; an empty range names the line before.
    length = stop - start
    first = start + 1
    if length == 1:
        return f"{first}"
    if not length:
        first -= 1
    return f"{first},{length}"
