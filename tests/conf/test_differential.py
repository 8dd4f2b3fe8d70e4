"""trunkctl.conf.resolve against the sandbox's real Asterisk 22 (AMI GetConfig, _oracle.py).

Every file is written into the pbx config dir under a unique name, read by both, and
removed. Corpora: the hand-written tricky corpus (tests/conf/tricky/, whose expectations
must also match Asterisk), strategies.asterisk_conf (whose model must match too), and two
differential-only fuzzers here: line soup biased toward config.c's corners, and trees of
files that #include each other; plus fixed lists of #include argument forms and glob(3)
corners, and the cases the fuzzers found.
Hand-derived expectations alone: test_resolve.py; glob(3) against glibc: test_glob.py.

A bigger one-off run: ``TRUNKCTL_CONF_DIFF_EXAMPLES=2000 pytest tests/conf/test_differential.py
--hypothesis-seed=0`` (examples per generated test; default 150).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ..conftest import SandboxInfo
from ._oracle import INVALID, MISSING, UNIQ, Oracle, Reading, read_with_trunkctl
from .strategies import GeneratedConf, asterisk_conf

pytestmark = pytest.mark.sandbox

TRICKY = Path(__file__).parent / "tricky"
CASES = sorted(p.stem for p in TRICKY.glob("tricky-*.conf"))
INCLUDED = {
    f"tricky-inc/{p.name}": p.read_bytes() for p in sorted((TRICKY / "tricky-inc").iterdir())
}

EXAMPLES = int(os.environ.get("TRUNKCTL_CONF_DIFF_EXAMPLES", "150"))
DIFF = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="session")
async def oracle(sandbox: SandboxInfo) -> AsyncIterator[Oracle]:
    """One AMI session for the whole run (a missing sandbox fails here, loudly)."""
    ami = sandbox.ami
    async with Oracle(
        sandbox.pbx_config_dir, ami["host"], int(ami["port"]), ami["username"], ami["secret"]
    ) as found:
        yield found


def _show(reading: Reading) -> str:
    return json.dumps(reading.sections or reading.error, ensure_ascii=False, indent=1)


async def _agree(oracle: Oracle, files: dict[str, bytes], main: str = f"{UNIQ}.conf") -> Reading:
    verdict = await oracle.check(files, main)
    assert verdict.trunkctl == verdict.asterisk, (
        f"files: {verdict.files!r}\nAsterisk: {_show(verdict.asterisk)}\n"
        f"trunkctl: {_show(verdict.trunkctl)}"
    )
    return verdict.asterisk


# --- the oracle itself ----------------------------------------------------------------


async def test_oracle_reads_the_raw_answer(oracle: Oracle) -> None:
    # Leading blanks in a name, a key that starts with '=', a tab and a non-UTF-8 byte in
    # a value, a template with its record: what the AMI client's Message would blur.
    text = b"[ sp]\n\\==x=y\nv = a\tb\xff\n[t](!)\nk=1\n[c]( sp,t)\n"
    got = await _agree(oracle, {f"{UNIQ}.conf": text})
    assert got == Reading(
        [
            {"name": " sp", "templates": [], "options": [["=", "x=y"], ["v", "a\tb\udcff"]]},
            {
                "name": "c",
                "templates": [" sp", "t"],
                "options": [["=", "x=y"], ["v", "a\tb\udcff"], ["k", "1"]],
            },
        ]
    )


async def test_getconfig_reads_the_file_every_time(oracle: Oracle) -> None:
    # action_getconfig() passes CONFIG_FLAG_NOCACHE: same size, same mtime, new answer.
    name = f"trunkctl-diff-{os.getpid()}-nocache.conf"
    path = oracle.config_dir / name
    try:
        path.write_bytes(b"[s]\nk=first\n")
        stamp = path.stat().st_mtime_ns
        assert (await oracle.get_config(name)).sections == [
            {"name": "s", "templates": [], "options": [["k", "first"]]}
        ]
        path.write_bytes(b"[s]\nk=again\n")
        os.utime(path, ns=(stamp, stamp))
        assert (await oracle.get_config(name)).sections == [
            {"name": "s", "templates": [], "options": [["k", "again"]]}
        ]
    finally:
        path.unlink(missing_ok=True)


async def test_missing_file_both_ways(oracle: Oracle) -> None:
    name = f"trunkctl-diff-{os.getpid()}-absent.conf"
    assert await oracle.get_config(name) == Reading(None, MISSING)
    assert read_with_trunkctl(name, oracle.config_dir) == Reading(None, MISSING)


# --- the hand-written corpus ----------------------------------------------------------


def test_tricky_corpus_is_all_here() -> None:
    assert len(CASES) >= 44
    assert sorted(p.stem for p in TRICKY.glob("tricky-*.json")) == CASES


@pytest.mark.parametrize("case", CASES)
async def test_tricky_corpus_against_asterisk(oracle: Oracle, case: str) -> None:
    files = {f"{UNIQ}.conf": (TRICKY / f"{case}.conf").read_bytes(), **INCLUDED}
    got = await _agree(oracle, files)
    expected = json.loads((TRICKY / f"{case}.json").read_text())
    if expected == {"error": "invalid"}:
        assert got == Reading(None, INVALID)
    else:
        assert got == Reading(expected)


# --- what the generated corpora found, kept as fixed cases ------------------------------

FOUND = {
    # config.c counts one more line for the fgets() that meets EOF after a final newline
    # (or in an empty file), so only the first file of a glob can lose its BOM: here the
    # second file's "<BOM>[a]" is an option line without '=' and k=1 stays in [m].
    "bom-in-second-glob-file": (
        {
            f"{UNIQ}.conf": f"[m]\n#include {UNIQ}-{{2,1}}.conf\n".encode(),
            f"{UNIQ}-2.conf": b"",
            f"{UNIQ}-1.conf": b"\xef\xbb\xbf[a]\nk=1\n",
        },
        [{"name": "m", "templates": [], "options": [["k", "1"]]}],
    ),
    # ";--=" opens a block comment (only ";---" does not): the last header is hidden.
    "comment-dash-dash-equals": (
        {f"{UNIQ}.conf": b"[a]\nx=1\n;--=\n[b]\n"},
        [{"name": "a", "templates": [], "options": [["x", "1"]]}],
    ),
}


@pytest.mark.parametrize("case", sorted(FOUND))
async def test_found_cases_against_asterisk(oracle: Oracle, case: str) -> None:
    files, expected = FOUND[case]
    assert await _agree(oracle, files) == Reading(expected)


# --- generated corpora ----------------------------------------------------------------


@DIFF
@given(asterisk_conf())
async def test_generated_corpus_against_asterisk(oracle: Oracle, conf: GeneratedConf) -> None:
    got = await _agree(oracle, {f"{UNIQ}.conf": conf.to_bytes()})
    assert got == Reading(conf.expected)


# Byte 79 of the last name falls inside "é": new_category() keeps half of it.
NAMES = ["a", "A", "b", "t", "T", " a", "a ", "", "é", "n\udcff", "x y", "n" * 78 + "é"]
_TOKENS = ["!", "+", "+ ", "+k=", "+k=x", "+x", "+TEMPLATES=include", "+k=[", "", " t", *NAMES]
_KEYS = ["k", "K", "k", "allow", "a", "x y", "\\[k", "\\#k", "\\;k", "\\=", "\\", "k+", "+", "é"]
_OPS = ["=", "=", "=>", "+=", "+=", " = ", "= >", "==", "+=>", "=+", "", "\t=\t"]
_VALUE_BITS = [
    *"xyz #[]()!=>+,\t",
    "ab",
    "\\;",
    "\\\\;",
    ";c",
    ";",
    ";--",
    "--;",
    ";---",
    "\\",
    "\x0b",
    "\x0c",
    "\x01",
    "\r",
    "\0",
    "é",
    "\udcff",
    "\udcef\udcbb\udcbf",
    " ",
]


def _pieces(options: list[str], max_size: int = 4) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(options), max_size=max_size).map("".join)


def _header(odd: bool) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        name = draw(st.sampled_from(NAMES))
        if not odd:
            return "[" + name + "]" + draw(st.sampled_from(["", "", "", " ;c", "(!)"]))
        tokens = draw(st.lists(st.sampled_from(_TOKENS), max_size=3))
        close = draw(st.sampled_from(["]", "]", "]", "]", "", "]]", "] "]))
        end = draw(st.sampled_from([")", ")", ")", ")x", ""]))
        return "[" + name + close + "(" + ",".join(tokens) + end + draw(_pieces(_VALUE_BITS, 2))

    return build()


@st.composite
def _line(draw: st.DrawFn) -> str:
    # Mostly options (the first kind is also where hypothesis shrinks to).
    kind = draw(
        st.sampled_from(
            ["option"] * 11
            + ["header"] * 3
            + ["odd", "comment", "comment"]
            + ["directive", "blank", "long"]
        )
    )
    indent = draw(st.sampled_from(["", "", "", " ", "\t", "\x0c"]))
    if kind in ("header", "odd"):
        return indent + draw(_header(odd=kind == "odd"))
    if kind == "option":
        key = draw(st.sampled_from(_KEYS))
        return indent + key + draw(st.sampled_from(_OPS)) + draw(_pieces(_VALUE_BITS, 6))
    if kind == "comment":
        return indent + draw(st.sampled_from([";", ";--", "--;", ";-- x --;", ";---", "--;--"]))
    if kind == "directive":
        word = draw(st.sampled_from(["#foo", "#exec", "#", "#inclxde", "#\x01x", "#é"]))
        return indent + word + draw(_pieces(_VALUE_BITS, 3))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t", "\0"]))
    # A line at fgets()' 8191-byte edge (with its newline it fits, or not).
    return "k=" + "x" * draw(st.integers(8185, 8192))


@st.composite
def _soup(draw: st.DrawFn) -> str:
    lines = draw(st.lists(_line(), min_size=2, max_size=20))
    if draw(st.sampled_from([True] * 9 + [False])):
        lines.insert(0, draw(_header(odd=False)))
    eols = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"])
    text = "".join(line + draw(eols) for line in lines)
    if draw(st.integers(0, 5)) == 0:
        text = text.rstrip("\n")
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text


def line_soup() -> st.SearchStrategy[bytes]:
    """Lines of headers, options, comments and directives mixing config.c's corner cases."""
    return _soup().map(lambda text: text.encode("utf-8", "surrogateescape"))


@DIFF
@given(line_soup())
async def test_line_soup_against_asterisk(oracle: Oracle, text: bytes) -> None:
    got = await _agree(oracle, {f"{UNIQ}.conf": text})
    event(f"Asterisk: {got.error or 'read'}")
    event(f"options read: {min(sum(len(s['options']) for s in got.sections or ()), 5)}")


# Files whose names tempt glob(3): magic characters, braces, a backslash, a hidden one,
# a folder, a non-ASCII name and a byte that is not UTF-8.
_GLOB_FILES = {
    f"{UNIQ}-{name}.conf": f"from={value}\n".encode()
    for name, value in [
        ("1", "1"),
        ("2", "2"),
        ("a", "a"),
        ("B", "B"),
        ("*", "star"),
        ("^", "caret"),
        ("\\1", "backslash1"),
        ("{1}", "brace1"),
        ("{2,nope}", "literal-braces"),
        (".h", "hidden"),
        ("É", "E-acute"),
        ("\udcff", "byte-ff"),
        ("d/x", "d"),
        ("e/x", "e"),
    ]
}
GLOBS = [
    "*",
    "*.conf",
    "?.conf",
    "??.conf",  # no match by characters, so glibc retries by bytes: takes "É"
    "[^1].conf",
    "[!1].conf",
    "\\1.conf",
    "\\*.conf",
    "{1}.conf",
    "{2,nope}.conf",
    "{nope,none}.conf",
    "{2,1}.conf",
    "{*,1}.conf",
    "{1,{2,a}}.conf",
    "{1,2.conf",
    "\\{1\\}.conf",
    "[[:alpha:]].conf",
    "[[:upper:]].conf",
    "[[:z:]].conf",
    "[[=a=]].conf",
    "[[.a.]].conf",
    "[a-z].conf",
    "[À-Ö].conf",
    "[a-ɏ].conf",
    "[!a-ɏ].conf",
    "[]].conf",
    "[1.conf",
    ".*.conf",
    "[.]h.conf",
    "1.conf/",
    "d/",
    "*/x.conf",
    "{d,e}/x.conf",
]


@pytest.mark.parametrize("pattern", GLOBS)
async def test_include_globs_against_asterisk(oracle: Oracle, pattern: str) -> None:
    files = {f"{UNIQ}.conf": f"[m]\n#include {UNIQ}-{pattern}\n".encode(), **_GLOB_FILES}
    await _agree(oracle, files)


# #include/#tryinclude argument forms (process_text_line()'s directive branch).
DIRECTIVES = [
    '#include ""',
    "#include <>",
    '#include "',
    f'#include "{UNIQ}-1.conf',
    f'#include <{UNIQ}-1.conf"',
    f'#include "{UNIQ}-1.conf"x',
    f"#include\t\t{UNIQ}-1.conf\t ",
    f"#include {UNIQ}-1.conf ; comment",
    f"#include {UNIQ}-;-- block --;1.conf",
    f"#include {UNIQ}-\\;1.conf",
    f"#include\x01 {UNIQ}-1.conf",
    f"#TryInclude {UNIQ}-1.conf",
    f"#tryinclude {UNIQ}-nope.conf",
    f"#tryinclude {UNIQ}.conf",
    f"#include {UNIQ}.conf",
    "#include .",
    "#exec /bin/echo x=1",
    f"#include {UNIQ}-2.conf",
]


@pytest.mark.parametrize("line", DIRECTIVES)
async def test_directives_against_asterisk(oracle: Oracle, line: str) -> None:
    files = {
        f"{UNIQ}.conf": f"[m]\nk=1\n{line}\nz=9\n".encode(),
        f"{UNIQ}-1.conf": b"x=1\n",
        f"{UNIQ}-;1.conf": b"semi=1\n",
        f"{UNIQ}-2.conf": b"[m](+)\ny=2\n[n]\nw=3\n",
    }
    await _agree(oracle, files)


_TARGETS = [
    f"{UNIQ}-1.conf",
    f"{UNIQ}-2.conf",
    f'"{UNIQ}-1.conf"',
    f"<{UNIQ}-2.conf>",
    f'"{UNIQ}-2.conf',
    f"{UNIQ}-nope.conf",
    f"{UNIQ}-*.conf",
    f"{UNIQ}-?.conf",
    f"{UNIQ}-[21].conf",
    f"{UNIQ}-{{2,1}}.conf",
    f"{UNIQ}-{{2,nope}}.conf",
    f"{UNIQ}-{{nope,*}}.conf",
    f"{UNIQ}-none*.conf",
    f"{UNIQ}.conf",
    f"{UNIQ}*.conf",
    f"{UNIQ}-\\1.conf",
    f"{UNIQ}-[^1].conf",
    f"{UNIQ}-{{1}}.conf",
    f"{UNIQ}-1.conf/",
    f"{UNIQ}-[[:digit:]].conf",
]


@st.composite
def include_tree(draw: st.DrawFn) -> dict[str, bytes]:
    """A main file and two more that #include / #tryinclude each other (globs, quotes, loops)."""
    files: dict[str, bytes] = {}
    for name in (f"{UNIQ}.conf", f"{UNIQ}-1.conf", f"{UNIQ}-2.conf"):
        body = draw(st.one_of(asterisk_conf(max_sections=3).map(lambda c: c.text), _soup()))
        lines = body.split("\n")
        for _ in range(draw(st.integers(0, 3))):
            word = draw(st.sampled_from(["#include", "#tryinclude", "#INCLUDE", "#include"]))
            line = word + draw(st.sampled_from([" ", "\t", "  "])) + draw(st.sampled_from(_TARGETS))
            lines.insert(draw(st.integers(0, len(lines))), line)
        files[name] = "\n".join(lines).encode("utf-8", "surrogateescape")
    if draw(st.integers(0, 4)) == 0:
        del files[f"{UNIQ}-{draw(st.sampled_from([1, 2]))}.conf"]
    return files


@DIFF
@given(include_tree())
async def test_include_trees_against_asterisk(oracle: Oracle, files: dict[str, bytes]) -> None:
    got = await _agree(oracle, files)
    event(f"Asterisk: {got.error or 'read'}")
