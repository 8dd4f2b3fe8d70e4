"""glob(3) and fnmatch(3) as Asterisk's ``#include`` uses them, re-derived from glibc.

config_text_file_load() expands every include name with ``glob(fn, GLOB_NOMAGIC |
GLOB_BRACE)`` (MY_GLOB_FLAGS in include/asterisk/compat.h). Python's glob/fnmatch do not
fit: they know no backslash escapes, no ``[^...]``, no ``[:class:]``, no one-alternative
``{a}``, and nothing like GLOB_NOMAGIC's "a pattern without magic is returned as it is" or
glibc's brace fallback. So glibc's posix/glob.c and posix/fnmatch.c are re-derived here
(read, not copied) for the locale Asterisk runs in: main/asterisk.c sets ``C.UTF-8``, where
characters are UTF-8 code points (a byte that is not UTF-8 only matches itself), ranges
and sorting go by code point, and ``[=a=]``/``[.a.]`` name just that character.

Paths in :func:`glob` are bytes decoded as latin-1 (as in the resolver); names are turned
into code points only for matching.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Final, Protocol

__all__ = ["FileSystem", "fnmatch", "glob"]

# __glob_pattern_type() results (posix/glob_internal.h).
_NONE: Final = 0
_SPECIAL: Final = 1
_BACKSLASH: Final = 2
_BRACKET: Final = 4

# CHARCLASS_NAME_MAX: a longer "[:name" is a malformed pattern.
_CLASS_MAX: Final = 2048

# fnmatch() bracket outcomes besides "matched, go on at index k".
_NO: Final = -1  # the character is not in the set
_BAD: Final = -2  # a malformed expression: the whole fnmatch() fails
_OPEN: Final = -3  # no closing ']': the '[' is an ordinary character


class FileSystem(Protocol):
    """What glob() needs to see (paths are latin-1-decoded bytes)."""

    def entries(self, directory: str) -> list[str] | None:
        """readdir(): every name in ``directory`` with "." and "..", or None if unopenable."""

    def lexists(self, path: str) -> bool:
        """lstat() succeeds."""

    def isdir(self, path: str) -> bool:
        """stat() succeeds and finds a directory."""


def _pattern_type(pattern: str) -> int:
    # __glob_pattern_type(pattern, quote=1): '*' or '?' (or a closed '[...]') are magic.
    kind, i, n = _NONE, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c in "*?":
            return _SPECIAL
        if c == "\\":
            if i + 1 < n:
                i += 1
            kind |= _BACKSLASH
        elif c == "[":
            kind |= _BRACKET
        elif c == "]" and kind & _BRACKET:
            return _SPECIAL
        i += 1
    return kind


def _brace_end(p: str, i: int) -> int:
    # next_brace_sub(): where the alternative starting at i ends (its ',' or '}'), or -1.
    depth, n = 0, len(p)
    while i < n:
        c = p[i]
        if c == "\\":
            if i + 1 >= n:
                return -1
            i += 2
            continue
        if c == "}":
            if depth == 0:
                return i
            depth -= 1
        elif c == "," and depth == 0:
            return i
        elif c == "{":
            depth += 1
        i += 1
    return -1


def _alternatives(p: str) -> list[str] | None:
    # glob() with GLOB_BRACE: the first unescaped '{' and its alternatives, each with the
    # rest of the pattern; None when there is none or it is not closed (then the braces
    # are ordinary characters). "{a}" is a brace expression with one alternative.
    i, n = 0, len(p)
    while i < n and p[i] != "{":
        i += 2 if p[i] == "\\" and i + 1 < n else 1
    if i >= n:
        return None
    ends = [_brace_end(p, i + 1)]
    while ends[-1] >= 0 and p[ends[-1]] != "}":
        ends.append(_brace_end(p, ends[-1] + 1))
    if ends[-1] < 0:
        return None
    starts = [i + 1] + [e + 1 for e in ends[:-1]]
    rest = p[ends[-1] + 1 :]
    return [p[:i] + p[s:e] + rest for s, e in zip(starts, ends, strict=True)]


def _drop_final_backslash(dirname: str) -> tuple[str, bool]:
    # "foo\\/bar": an unquoted backslash right before the '/' is removed.
    k = len(dirname)
    while k > 0 and dirname[k - 1] == "\\":
        k -= 1
    if (len(dirname) - k) & 1:
        return dirname[:-1], True
    return dirname, False


def _unescape(s: str) -> str:
    # The dirname unescaping loop of glob(): each backslash goes, the next byte stays.
    out, i, n = [], 0, len(s)
    while i < n:
        if s[i] == "\\":
            i += 1
            if i >= n:
                break
        out.append(s[i])
        i += 1
    return "".join(out)


def _join(directory: str, name: str) -> str:
    # prefix_array(): "/" is not doubled.
    return "/" + name if directory == "/" else f"{directory}/{name}"


def _wide(latin: str) -> str:
    return latin.encode("latin-1").decode("utf-8", "surrogateescape")


def glob(
    pattern: str,
    fs: FileSystem,
    *,
    nomagic: bool = True,
    brace: bool = True,
    onlydir: bool = False,
    mark: bool = False,
    sort: bool = True,
) -> list[str]:
    """glibc's ``glob(pattern, GLOB_NOMAGIC | GLOB_BRACE)``: the paths, in glob's order.

    GLOB_NOCHECK is never set, so "no match" is simply an empty list.
    """
    if pattern.endswith("/"):
        onlydir = True  # "POSIX requires all slashes to be matched"
    if brace:
        alts = _alternatives(pattern)
        if alts is None:
            brace = False
        else:
            # Each alternative is globbed (and sorted) on its own, without GLOB_NOMAGIC;
            # only when none matches does GLOB_NOMAGIC see the whole pattern, braces and all.
            hits = [
                p for alt in alts for p in glob(alt, fs, nomagic=False, onlydir=onlydir, mark=mark)
            ]
            if hits or not nomagic:
                return hits
    slash = pattern.rfind("/")
    prefix = True
    if slash < 0:
        if not pattern:
            return []
        dirname, filename, prefix = ".", pattern, False
    elif slash == 0 or (slash == 1 and pattern[0] == "\\"):
        dirname, filename = "/", pattern[slash + 1 :]
    else:
        dirname, filename = pattern[:slash], pattern[slash + 1 :]
        if not filename and slash > 1:
            # "pattern/": expand "pattern", wanting directories, marked with a '/'.
            dirname, dropped = _drop_final_backslash(dirname)
            while len(dirname) > 1 and dirname.endswith("//"):
                dirname = dirname[:-1]
            return glob(
                dirname,
                fs,
                nomagic=nomagic and not dropped,
                brace=brace,
                onlydir=True,
                mark=True,
                sort=sort,
            )
    meta = _pattern_type(dirname)
    found: list[str] = []
    if meta & (_SPECIAL | _BRACKET):
        # Magic in the directory part: glob the directories (no braces, no NOMAGIC), then
        # the last component in each of them.
        dirname = _drop_final_backslash(dirname)[0]
        for d in glob(dirname, fs, nomagic=False, brace=False, onlydir=True, sort=False):
            found.extend(_join(d, n) for n in _in_dir(filename, d, fs, False, onlydir))
    else:
        if meta & _BACKSLASH:
            dirname, nomagic = _unescape(dirname), False
        names = _in_dir(filename, dirname, fs, nomagic, onlydir)
        found = [_join(dirname, n) for n in names] if prefix else names
    if mark:
        found = [p + "/" if fs.isdir(p) else p for p in found]
    if sort:
        # collated_compare(): strcoll() in C.UTF-8 is strcmp(), i.e. byte order.
        found.sort()
    return found


def _in_dir(
    pattern: str, directory: str, fs: FileSystem, nomagic: bool, onlydir: bool
) -> list[str]:
    # glob_in_dir(): a pattern without magic is returned as it is under GLOB_NOMAGIC,
    # else only if lstat() finds it; a magic one is matched against readdir().
    if _pattern_type(pattern) == _NONE:
        return [pattern] if nomagic or fs.lexists(f"{directory}/{pattern}") else []
    names = fs.entries(directory)
    if names is None:
        return []
    return [
        name
        for name in names
        if fnmatch(pattern, name) and not (onlydir and not fs.isdir(_join(directory, name)))
    ]


def fnmatch(pattern: str, name: str) -> bool:
    """glibc's ``fnmatch(pattern, name, FNM_PERIOD)`` in C.UTF-8 (latin-1-decoded bytes).

    Characters first; on no match, glibc tries again byte by byte (so "??" also matches
    a two-byte "É", and "[Ã]?" does too).
    """
    return _match(_wide(pattern), 0, _wide(name), 0, True) or _match(pattern, 0, name, 0, False)


def _match(p: str, i: int, s: str, j: int, mb: bool) -> bool:
    np_, ns = len(p), len(s)
    while i < np_:
        c = p[i]
        if c == "?":
            # FNM_PERIOD: a leading '.' is only matched by a '.' in the pattern.
            if j == ns or (j == 0 and s[0] == "."):
                return False
            i, j = i + 1, j + 1
        elif c == "\\":
            # An escaped character is literal; a trailing backslash never matches.
            if i + 1 == np_ or j == ns or s[j] != p[i + 1]:
                return False
            i, j = i + 2, j + 1
        elif c == "*":
            if j == 0 and ns and s[0] == ".":
                return False
            i += 1
            while i < np_ and p[i] in "*?":
                if p[i] == "?":
                    if j == ns:
                        return False
                    j += 1
                i += 1
            if i == np_:
                return True
            return any(_match(p, i, s, k, mb) for k in range(j, ns + 1))
        elif c == "[":
            if j == ns or (j == 0 and s[0] == "."):
                return False
            k = _bracket(p, i, s[j], mb)
            if k == _OPEN:
                if s[j] != "[":
                    return False
                k = i + 1
            elif k < 0:
                return False
            i, j = k, j + 1
        else:
            if j == ns or s[j] != c:
                return False
            i, j = i + 1, j + 1
    return j == ns


def _bad_byte(c: str) -> bool:
    # A byte that is not UTF-8 (surrogate-escaped): only ever equal to itself.
    return "\udc80" <= c <= "\udcff"


def _collseq(c: str, mb: bool) -> int | None:
    # Range bounds compare by collation sequence. C.UTF-8 has no collation rules and
    # glibc falls back to the C locale's tables, which know U+0000..U+00FF only (checked
    # against the sandbox: "[À-Ö]" takes "É", "[a-ɏ]" does not). Bytes all have one.
    if mb and (_bad_byte(c) or ord(c) > 0xFF):
        return None
    return ord(c)


def _in_class(name: str, c: str, mb: bool) -> bool | None:
    # None: no such class (the whole match fails). Bytes >= 0x80 are in no class.
    test = _CLASSES.get(name)
    if test is None:
        return None
    return (c.isascii() or (mb and not _bad_byte(c))) and test(c)


def _printable(c: str) -> bool:
    return not _bad_byte(c) and (c.isprintable() or c == " ")


# wctype() classes. ASCII as in every locale; beyond ASCII, Python's Unicode properties
# stand in for glibc's C.UTF-8 tables (digit and xdigit are ASCII-only there too).
_CLASSES: Final[dict[str, Callable[[str], bool]]] = {
    "alpha": lambda c: c.isalpha() or (not c.isascii() and c.isdecimal()),
    "digit": lambda c: c in string.digits,
    "alnum": lambda c: c.isalpha() or c.isdecimal(),
    "upper": str.isupper,
    "lower": str.islower,
    "xdigit": lambda c: c in string.hexdigits,
    "space": lambda c: c in " \t\n\r\f\v" or (not c.isascii() and c.isspace()),
    "blank": lambda c: c in " \t" or (not c.isascii() and c.isspace() and c not in "\x85"),
    "cntrl": lambda c: ord(c) < 32 or 127 <= ord(c) < 160 or c in "\u2028\u2029",
    "punct": lambda c: _printable(c) and not c.isalnum() and not c.isspace(),
    "graph": lambda c: _printable(c) and not c.isspace(),
    "print": _printable,
}


def _bracket(p: str, i: int, c: str, mb: bool) -> int:
    """Match ``c`` against the bracket expression at ``p[i] == '['`` (fnmatch.c's case '[').

    Returns the index after the expression when ``c`` is in it (or, negated, is not), else
    _NO, _BAD (the whole match fails) or _OPEN (no ']': the '[' is literal).
    """
    n = len(p)

    def at(k: int) -> str:
        return p[k] if k < n else ""

    k = i + 1
    negate = at(k) in ("!", "^") and at(k) != ""  # '^' too, unless POSIXLY_CORRECT
    if negate:
        k += 1
    pc = at(k)
    k += 1
    hit = False
    while True:
        low: str | None = None  # a range's lower end, when one may follow
        if pc == "\\":
            if at(k) == "":
                return _BAD
            low = p[k]
            k += 1
            if not (at(k) == "-" and at(k + 1) not in ("", "]")):
                if low == c:
                    hit = True
                    break
                pc = at(k)
                k += 1
                if not (pc == "-" and at(k) != "]"):
                    if pc == "]":
                        break
                    continue
            else:
                pc = at(k)
                k += 1
        elif pc == "[" and at(k) in (":", "="):
            named = _named_set(p, k, c, mb)
            if named is None:  # not a class after all: the '[' is an ordinary character
                low, pc, k = _single("[", c, p, k)
                if low is None:
                    hit = True
                    break
            else:
                member, k = named
                if member is None:
                    return _BAD
                if member:
                    hit = True
                    break
                pc = at(k)
                k += 1
                if pc == "]":
                    break
                continue
        elif pc == "":
            return _OPEN
        elif pc == "[" and at(k) == ".":
            # A collating symbol: with no collation rules, one character.
            end = p.find(".]", k + 1)
            if end < 0:
                return _BAD
            symbol = p[k + 1 : end]
            k = end + 2
            if len(symbol) != 1:
                return _BAD
            if not (at(k) == "-" and at(k + 1) != "") and symbol == c:
                hit = True
                break
            low, pc = symbol, at(k)
            k += 1
        else:
            low, pc, k = _single(pc, c, p, k)
            if low is None:
                hit = True
                break
        if low is not None and pc == "-" and at(k) != "]":
            k, hit = _range(low, c, p, k, mb)
            if k < 0:
                return k
            if hit:
                break
            pc = at(k)
            k += 1
        if pc == "]":
            break
    if hit:
        k = _skip_rest(p, k)
        if k < 0:
            return k
    if hit == negate:
        return _NO
    return k


def _named_set(p: str, k: int, c: str, mb: bool) -> tuple[bool | None, int] | None:
    # "[:class:]" or "[=x=]" with p[k] at ':' or '=': (c is in it, index after it), with
    # None for an unknown class (the whole match fails); None when it is not one.
    n = len(p)
    if p[k] == "=":
        # An equivalence class: with no collation rules, just that character.
        if k + 1 < n and p.startswith("=]", k + 2):
            return p[k + 1] == c, k + 4
        return None
    name = ""
    while len(name) < _CLASS_MAX:
        k += 1
        if p.startswith(":]", k):
            return _in_class(name, c, mb), k + 2
        if not "a" <= (p[k] if k < n else "") < "z":  # sic: glibc stops before 'z'
            return None
        name += p[k]
    return None, k


def _single(pc: str, c: str, p: str, k: int) -> tuple[str | None, str, int]:
    # An ordinary character in the set: (None, ...) if it is c (and starts no range), else
    # (it, next pattern char, index after that).
    nxt = p[k] if k < len(p) else ""
    after = p[k + 1] if k + 1 < len(p) else ""
    if not (nxt == "-" and after not in ("", "]")) and pc == c:
        return None, "", k
    return pc, nxt, k + 1


def _range(low: str, c: str, p: str, k: int, mb: bool) -> tuple[int, bool]:
    # "low-high" with p[k] at high; code point order. Returns (index after high, matched).
    n = len(p)
    if p.startswith("[.", k):
        end = p.find(".]", k + 2)
        if end < 0 or end - (k + 2) != 1:
            return _BAD, False
        high, k = p[k + 2], end + 2
    else:
        if k < n and p[k] == "\\":
            k += 1
        if k >= n:
            return _BAD, False
        high, k = p[k], k + 1
    # fnmatch.c's handle_range: the string's character needs a sequence number; a bound
    # without one only admits the lower bound itself.
    fc, lc, hc = _collseq(c, mb), _collseq(low, mb), _collseq(high, mb)
    if fc is None or lc is None or lc > fc:
        return k, False
    if hc is None:
        return k, lc == fc
    return k, fc <= hc


def _skip_rest(p: str, k: int) -> int:
    # After a match: the rest of the set up to its ']' (fnmatch.c's "matched:" loop).
    n = len(p)
    while True:
        pc = p[k] if k < n else ""
        k += 1
        if pc == "]":
            return k
        if pc == "":
            return _OPEN
        nxt = p[k] if k < n else ""
        if pc == "\\":
            if nxt == "":
                return _BAD
            k += 1
        elif pc == "[" and nxt == ":":
            start, length = k, 0
            while True:
                k += 1
                length += 1
                if length == _CLASS_MAX:
                    return _BAD
                if p.startswith(":]", k):
                    k += 2
                    break
                if not "a" <= (p[k] if k < n else "") < "z":
                    k = start
                    break
        elif pc == "[" and nxt == "=":
            if k + 1 >= n or not p.startswith("=]", k + 2):
                return _BAD
            k += 4
        elif pc == "[" and nxt == ".":
            end = p.find(".]", k + 1)
            if end < 0:
                return _BAD
            k = end + 2
