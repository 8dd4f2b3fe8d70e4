"""Hypothesis strategies for .conf text that Asterisk accepts, with its expected reading.

``asterisk_conf()`` draws a small semantic model (sections, templates, ``(+)`` appends,
``=``/``=>``/``+=`` options), writes it as text with random but harmless noise (spacing,
tabs, CRLF, BOM, trailing and block comments, ``\\;`` escapes), and computes the expected
GetConfig-style result from the MODEL, never from trunkctl's reader. The lead reuses it to
compare trunkctl against a real Asterisk (tests/conf/test_resolve.py uses it against ours).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

BLANKS = "".join(map(chr, range(33)))

NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8).filter(
    lambda s: s[0].isalpha()
)
KEY = st.sampled_from(
    [
        "type",
        "allow",
        "context",
        "auth",
        "aors",
        "username",
        "password",
        "match",
        "host",
        "Allow",
        "CONTEXT",
        "x_y",
        "k1",
        "callerid",
    ]
)
# Value characters: ';' is escaped as '\;' when written; '\\' only where safe (see below).
_VALUE_CHARS = st.sampled_from(
    [*"abcxyzABC019 ,.:@/=>[]#()!+*'\"-_%&", ";", "\\", "\t", "é", "Ж", "ü"]
)


def _value() -> st.SearchStrategy[str]:
    return st.lists(_VALUE_CHARS, max_size=12).map("".join).map(lambda s: s.strip(BLANKS))


def _lower(s: str) -> str:
    return (
        s.lower()
        if s.isascii()
        else s.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
    )


@dataclass
class _Sec:
    name: str
    template: bool = False
    append: bool = False
    bases: list[str] = field(default_factory=list)
    lines: list[tuple[str, str, str, str]] = field(default_factory=list)  # key, op, value, raw


@dataclass(frozen=True)
class GeneratedConf:
    """Generated text and what Asterisk's GetConfig should list for it."""

    text: str
    expected: list[dict[str, Any]]

    def to_bytes(self) -> bytes:
        return self.text.encode("utf-8")


def _escape(value: str) -> str:
    return value.replace(";", "\\;")


@st.composite
def _comment_text(draw: st.DrawFn) -> str:
    # No "--" at all: ";" + "--x" would open a block comment (replace("--", "-") once
    # left "---" as "--"; the sandbox's GetConfig showed the model wrong there).
    return re.sub("-{2,}", "-", draw(st.text("abc xyz=[]#.,!-", max_size=10))).rstrip("-")


@st.composite
def asterisk_conf(draw: st.DrawFn, max_sections: int = 6) -> GeneratedConf:
    """A .conf text Asterisk accepts plus the expected non-template sections."""
    secs: list[_Sec] = []
    # Expected state, computed from the model alone.
    cats: list[dict[str, Any]] = []

    def first(name: str, *, templates_ok: bool) -> dict[str, Any] | None:
        for c in cats:
            if _lower(c["name"]) == _lower(name) and (templates_ok or not c["template"]):
                return c
        return None

    for _ in range(draw(st.integers(0, max_sections))):
        regular = [c for c in cats if not c["template"]]
        if regular and draw(st.integers(0, 5)) == 0:
            target = draw(st.sampled_from(regular))
            sec = _Sec(target["name"], append=True)
            cat = first(target["name"], templates_ok=False)
            assert cat is not None
        else:
            name = draw(NAME)
            template = draw(st.booleans())
            bases = (
                draw(st.lists(st.sampled_from([c["name"] for c in cats]), max_size=2))
                if cats
                else []
            )
            sec = _Sec(name, template=template, bases=bases)
            cat = {"name": name, "template": template, "templates": [], "vars": []}
            for b in bases:
                base = first(b, templates_ok=True)
                assert base is not None
                cat["templates"].append(base["name"])
                cat["vars"].extend(base["vars"])
            cats.append(cat)
        for _ in range(draw(st.integers(0, 6))):
            key = draw(KEY)
            value = draw(_value())
            same = [i for i, (k, _) in enumerate(cat["vars"]) if _lower(k) == _lower(key)]
            exact = [i for i, (k, _) in enumerate(cat["vars"]) if k == key]
            op = draw(st.sampled_from(["=", "=", "=>", "+="]))
            if op == "+=" and not (len(same) == 1 and len(exact) == 1 and value):
                op = "="  # keep "+=" where config.c's first-match update is unambiguous
            if op == "+=":
                i = exact[0]
                lead = draw(st.sampled_from(["", " "]))
                old = cat["vars"][i][1]
                cat["vars"][i] = (key, (old + lead + value).strip(BLANKS))
                raw = lead + _escape(value)
            else:
                cat["vars"].append((key, value))
                raw = _escape(value)
            sec.lines.append((key, op, value, raw))
        secs.append(sec)

    eol = draw(st.sampled_from(["\n", "\r\n"]))
    out: list[str] = ["\ufeff"] if draw(st.integers(0, 9)) == 0 else []

    def noise() -> None:
        kind = draw(st.integers(0, 6))
        if kind == 0:
            out.append(eol)
        elif kind == 1:
            out.append(draw(st.sampled_from(["", "  ", "\t"])) + ";" + draw(_comment_text()) + eol)
        elif kind == 2:
            inner = draw(st.lists(_comment_text(), max_size=3))
            nested = draw(st.booleans())
            body = eol.join(["[fake]", "x = 1", *inner])
            if nested:
                body += eol + ";-- inner " + draw(_comment_text()) + " --;"
            out.append(";--" + eol + body + eol + "--;" + eol)

    for sec in secs:
        noise()
        tokens = (["!"] if sec.template else []) + sec.bases
        if sec.append:
            tokens = ["+"]
        head = f"[{sec.name}]" + (f"({','.join(tokens)})" if tokens else "")
        trail = draw(st.sampled_from(["", " ; header comment", "\t;c"]))
        out.append(head + trail + eol)
        for key, op, _val, raw in sec.lines:
            if draw(st.integers(0, 3)) == 0:
                noise()
            indent = draw(st.sampled_from(["", " ", "\t"]))
            left = draw(st.sampled_from(["", " ", "\t"]))
            right = draw(st.sampled_from(["", " ", "  "]))
            if op == "=" and raw.startswith(">"):
                right = " "
            if op == "+=":
                right = ""  # the raw text after '=' is part of the value
            comment = ""
            pick = draw(st.integers(0, 5))
            if pick == 0:
                comment = " ;" + draw(_comment_text())
            elif pick == 1:
                comment = " ;-- " + draw(_comment_text()) + " --;"
            if not raw and pick == 1:
                comment = ""  # "k = ;-- x --;" is fine, but keep the empty case plain
            if raw.endswith("\\") and comment:
                comment = " " + comment  # "\" right before ';' would escape it
            sp_after = draw(st.sampled_from(["", "  "])) if raw else ""
            out.append(f"{indent}{key}{left}{op}{right}{raw}{sp_after}{comment}{eol}")
    if out and draw(st.integers(0, 4)) == 0:
        out[-1] = out[-1][: -len(eol)] if out[-1].endswith(eol) else out[-1]
    expected = [
        {"name": c["name"], "templates": c["templates"], "options": [[k, v] for k, v in c["vars"]]}
        for c in cats
        if not c["template"]
    ]
    return GeneratedConf("".join(out), expected)


@st.composite
def conf_like_text(draw: st.DrawFn) -> str:
    """Arbitrary text biased toward .conf syntax: for round-trip and edit properties."""
    atoms = st.sampled_from(
        [
            "[",
            "]",
            "(",
            ")",
            "!",
            "+",
            "=",
            "=>",
            "+=",
            ";",
            "\\;",
            ";--",
            "--;",
            "#include",
            "\n",
            "\r\n",
            "\r",
            "\t",
            " ",
            "a",
            "b",
            "type",
            "endpoint",
            "\ufeff",
            "\0",
            "é",
            "\udcff",
            "\x0b",
            "\x0c",
            "\u2028",
            "\x85",
        ]
    )
    parts = draw(st.lists(st.one_of(atoms, st.text(max_size=5)), max_size=60))
    return "".join(parts)
