"""One line of an Asterisk .conf file, read exactly as Asterisk 22's main/config.c reads it.

No kept Python library reads this format faithfully: pyst2 and asterisklint drop comments
and templates, and Asterisk's own contrib/scripts/astconfigparser.py ignores ``;-- --;``
blocks, ``\\;`` escapes and ``(+)``. So the rules are re-derived here from main/config.c
(read, never copied), each with the C function it comes from. Both the lossless document
(``_document.py``) and the resolver (``_resolve.py``) use these functions, so an edit and a
read can never disagree about what a line means.

Strings here are either real text or bytes decoded as latin-1 (the resolver), so that
"character" and "byte" coincide when byte-exact limits matter.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BLANKS",
    "MAX_LINE_BYTES",
    "MAX_NAME_BYTES",
    "Directive",
    "Header",
    "Option",
    "ascii_lower",
    "parse_content",
    "strip_comments",
    "strip_comments_positions",
]

# ast_strip()/ast_skip_blanks()/ast_trim_blanks() (include/asterisk/strings.h) drop every
# byte whose unsigned value is below 33: space, tab, CR, LF and all other controls, NUL too.
BLANKS: Final = "".join(map(chr, range(33)))

# config_text_file_load(): lines are read with fgets() into char buf[8192]; a read that
# fills 8191 bytes without ending in '\n' is "too long" and skipped with its continuation.
MAX_LINE_BYTES: Final = 8191

# new_category(): ast_copy_string(category->name, name, 80) keeps at most 79 bytes.
MAX_NAME_BYTES: Final = 79

# MAX_NESTED_COMMENTS in config.c: ";--" deeper than this logs an error (and, in C, loops).
_MAX_NESTED: Final = 128

_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(s: str) -> str:
    """Fold ASCII letters only, as C strcasecmp() does in Asterisk's C locale."""
    return s.translate(_LOWER) if not s.isascii() else s.lower()


def strip_comments(line: str, depth: int) -> tuple[str | None, int]:
    """The part of ``line`` Asterisk processes, and the block-comment depth after it.

    Returns ``(None, depth)`` when the whole line lies inside a ``;-- --;`` block. The text
    is not yet trimmed. Mirrors the comment loop of config_text_file_load().
    """
    if ";" not in line:
        # No ';' at all: nothing to strip, the depth cannot change.
        return (line if depth == 0 else None), depth
    if depth == 0:
        i = line.index(";")
        if (i == 0 or line[i - 1] not in "\\-") and line[i + 1 : i + 3] != "--":
            # The first ';' is neither escaped, nor "--;", nor ";--": a plain comment, and
            # everything from it on is dropped.
            return line[:i], 0
    positions, depth = strip_comments_positions(line, depth)
    if positions is None:
        return None, depth
    return "".join([line[i] for i in positions]), depth


def strip_comments_positions(line: str, depth: int) -> tuple[list[int] | None, int]:
    """Like :func:`strip_comments`, but give the index in ``line`` of each kept character.

    This is the slow, exact path (escapes and block comments); edits use the positions
    to know which characters of the raw line hold the key and the value.
    """
    # The C code works in place on a NUL-terminated buffer; ``buf`` holds the original
    # index of each remaining character, -1 standing for a NUL the loop wrote.
    buf: list[int] = list(range(len(line)))
    # "if (comment) process_buf = NULL; else process_buf = buf;"
    process: int | None = 0 if depth == 0 else None
    new = 0

    def char(k: int) -> str:
        # What C sees at buf[k]: past the end is the terminating NUL.
        if k >= len(buf) or buf[k] < 0:
            return "\0"
        return line[buf[k]]

    while True:
        # strchr(new_buf, ';') stops at the first NUL.
        p = new
        while p < len(buf) and buf[p] >= 0 and line[buf[p]] != ";":
            p += 1
        if p >= len(buf) or buf[p] < 0:
            break
        if p > new and char(p - 1) == "\\":
            # "Escaped semicolons aren't comments": the backslash is removed (memmove) and
            # scanning resumes after the ';'. Only the one backslash right before goes.
            del buf[p - 1]
            new = p
        elif char(p + 1) == "-" and char(p + 2) == "-" and char(p + 3) != "-":
            # ";--" (but not ";---") opens a block comment, nesting allowed. Checked before
            # "--;", so "--;--" opens rather than closes.
            if depth < _MAX_NESTED:
                buf[p] = -1
                new = p + 3
                depth += 1
            else:  # C logs "Maximum nest limit" and would spin; we just move on.
                new = p + 1
        elif p >= new + 2 and char(p - 1) == "-" and char(p - 2) == "-":
            # "--;" closes one level. C decrements unconditionally: a stray "--;" outside
            # any block drives the depth negative and hides the following lines.
            depth -= 1
            new = p + 1
            if depth == 0:
                if process is not None:
                    # Move what follows over the commented part, joined without a space.
                    oldptr = process
                    while oldptr < len(buf) and buf[oldptr] >= 0:
                        oldptr += 1
                    del buf[oldptr:new]
                    new = oldptr
                else:
                    process = new
        elif depth == 0:
            # A plain ';' outside a block ends the line; nothing after it counts.
            del buf[p:]
            new = p
            break
        else:
            new = p + 1
    if process is None:
        return None, depth
    end = process
    while end < len(buf) and buf[end] >= 0:
        end += 1
    return buf[process:end], depth


class Header:
    """A parsed ``[name](tokens)`` line (process_text_line(), category branch)."""

    __slots__ = ("error", "name", "tokens")

    def __init__(self, name: str, tokens: list[str] | None, error: str | None) -> None:
        self.name = name
        self.tokens = tokens
        self.error = error

    @property
    def is_template(self) -> bool:
        """``(!)`` among the tokens: hidden from readers such as GetConfig."""
        return self.tokens is not None and "!" in self.tokens

    @property
    def append_filter(self) -> str | None:
        """``None`` unless a ``+`` token asks to append to an existing section."""
        if self.tokens is None:
            return None
        for tok in self.tokens:
            if tok.startswith("+"):
                return tok[1:]
        return None

    @property
    def templates(self) -> list[str]:
        """The names this header inherits from, in order (``!`` and ``+`` tokens left out)."""
        if self.tokens is None:
            return []
        return [t for t in self.tokens if t != "!" and not t.startswith("+")]


class Directive:
    """A ``#word argument`` line (process_text_line(), directive branch)."""

    __slots__ = ("argument", "word")

    def __init__(self, word: str, argument: str | None) -> None:
        self.word = word
        self.argument = argument


class Option:
    """A ``key = value`` / ``key => value`` / ``key += value`` line (process_text_line())."""

    __slots__ = ("error", "fatal", "key", "op", "value")

    def __init__(
        self, key: str, op: str, value: str, error: str | None = None, fatal: bool = False
    ) -> None:
        self.key = key
        self.op = op
        self.value = value
        self.error = error
        self.fatal = fatal


def parse_content(cur: str) -> Header | Directive | Option:
    """Parse a trimmed, non-empty, comment-free line as process_text_line() does."""
    first = cur[0]
    if first == "[":
        # "c = strchr(cur, ']')": the FIRST ']' ends the name; the name is not trimmed.
        close = cur.find("]")
        if close < 0:
            return Header(cur[1:], None, "no_bracket")
        name = cur[1:close]
        # Only a '(' right after ']' starts the token list: "[a] (!)" is a plain section.
        if cur[close + 1 : close + 2] != "(":
            return Header(name, None, None)
        end = cur.find(")", close + 2)
        if end < 0:
            return Header(name, None, "no_paren")
        # strsep(&c, ","): tokens are not trimmed, so "(a, b)" names a template " b".
        return Header(name, cur[close + 2 : end].split(","), None)
    if first == "#":
        # The directive word runs while "*c > 32" on a signed char: a space, a control
        # or any byte >= 0x80 ends it; that byte is then overwritten and skipped.
        k = 1
        n = len(cur)
        while k < n and 32 < ord(cur[k]) < 128:
            k += 1
        word = cur[1:k]
        arg = cur[k + 1 :].strip(BLANKS) if k < n else ""
        return Directive(word, arg or None)
    # A variable line. A leading '\' escapes the first character ("\[x = 1" is key "[x"),
    # which must then be a printable ASCII character ("cur[0] < 33" on a signed char).
    start = 0
    if first == "\\":
        if len(cur) < 2 or not 32 < ord(cur[1]) < 128:
            return Option("", "=", "", "invalid_escape", True)
        start = 1
        cur = cur[1:]
    # "c = strchr(cur + is_escaped, '=')": after an escape, the escaped char is skipped.
    eq = cur.find("=", start)
    if eq < 0:
        return Option(cur, "=", "", "no_equals")
    if eq > start and cur[eq - 1] == "+":
        # "+=": the value is kept raw (leading blanks included) and appended later.
        return _checked(cur[: eq - 1].strip(BLANKS), "+=", cur[eq + 1 :])
    rest = cur[eq + 1 :]
    if rest[:1] == ">":
        # "Ignore > in =>": sets the object flag, invisible in GetConfig.
        return _checked(cur[:eq].strip(BLANKS), "=>", rest[1:].strip(BLANKS))
    return _checked(cur[:eq].strip(BLANKS), "=", rest.strip(BLANKS))


def _checked(key: str, op: str, value: str) -> Option:
    if not key:
        # "No variable name in line %d": warned and skipped.
        return Option(key, op, value, "no_name")
    return Option(key, op, value)
