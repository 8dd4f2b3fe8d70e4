"""trunkctl.conf's glob(3)/fnmatch(3) (_glob.py) against this machine's glibc, via ctypes.

Asterisk expands #include names with glibc's ``glob(GLOB_NOMAGIC | GLOB_BRACE)`` in the
C.UTF-8 locale; here both calls are made for real (host glibc) on the same patterns. The
whole path through Asterisk itself: test_differential.py (include trees, glob corners).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import locale
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trunkctl.conf import resolve
from trunkctl.conf._glob import fnmatch
from trunkctl.conf._resolve import _Loader

_LIBC = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
# <fnmatch.h> and <glob.h> (glibc).
FNM_PERIOD = 1 << 2
GLOB_BRACE, GLOB_NOMAGIC, GLOB_NOMATCH = 1 << 10, 1 << 11, 3


class _GlobT(ctypes.Structure):
    _fields_ = [
        ("gl_pathc", ctypes.c_size_t),
        ("gl_pathv", ctypes.POINTER(ctypes.c_char_p)),
        ("gl_offs", ctypes.c_size_t),
        ("gl_flags", ctypes.c_int),
        ("gl_closedir", ctypes.c_void_p),
        ("gl_readdir", ctypes.c_void_p),
        ("gl_opendir", ctypes.c_void_p),
        ("gl_lstat", ctypes.c_void_p),
        ("gl_stat", ctypes.c_void_p),
    ]


def _latin(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def libc_glob(pattern: bytes) -> list[bytes]:
    found = _GlobT()
    rc = _LIBC.glob(pattern, GLOB_NOMAGIC | GLOB_BRACE, None, ctypes.byref(found))
    try:
        assert rc in (0, GLOB_NOMATCH), rc
        return [found.gl_pathv[i] for i in range(found.gl_pathc)]
    finally:
        _LIBC.globfree(ctypes.byref(found))


@pytest.fixture(scope="module", autouse=True)
def _c_utf8() -> Iterator[None]:
    # main/asterisk.c: setlocale(LC_ALL, "C.UTF-8"); restored for the rest of the suite.
    old = locale.setlocale(locale.LC_ALL)
    locale.setlocale(locale.LC_ALL, "C.UTF-8")
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, old)


FAST = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_ATOMS = [*"*?[]!^-\\{},:=.aAbzé/", "[:alpha:]", "[:upper:]", "[:digit:]", "[:punct:]"]
_ATOMS += ["[=a=]", "[.a.]", "[:", ":]", "[.", ".]", "a-z", "{a,b}"]
_NAME = st.text("abzAÉé.-[]!^\\*?{},=:", max_size=5)


@FAST
@given(st.lists(st.sampled_from(_ATOMS), max_size=8).map("".join), _NAME)
def test_fnmatch_is_glibcs(pattern: str, name: str) -> None:
    assume("/" not in name)
    want = _LIBC.fnmatch(pattern.encode(), name.encode(), FNM_PERIOD) == 0
    assert fnmatch(_latin(pattern), _latin(name)) is want


@pytest.mark.parametrize(
    ("pattern", "name", "hit"),
    [
        ("[^1]", "2", True),  # glibc negates with '^' too
        ("\\*", "*", True),
        ("\\*", "a", False),
        ("[[:alpha:]]", "é", True),
        ("[[:z:]]", "z", False),  # class names stop before 'z' (a malformed class)
        ("*", ".h", False),  # FNM_PERIOD
        ("[]]", "]", True),
        ("[a-]", "-", True),
        ("[", "[", True),  # unterminated: literal
        ("a\\", "a\\", False),  # a trailing backslash never matches
        ("?", "\udcff", True),  # a stray byte is one character
        ("??", "É", True),  # no match by characters: glibc tries again by bytes
        ("[À-Ö]", "É", True),
        ("[a-ɏ]", "É", False),  # no collation sequence beyond U+00FF
        ("[!a-ɏ]", "x", True),
    ],
)
def test_fnmatch_corners(pattern: str, name: str, hit: bool) -> None:
    assert fnmatch(_latin(pattern), _latin(name)) is hit


_TREE = ["a", "b.conf", "B.conf", ".h", "{x}", "\\", "*", "[a]", "a,b", "d/a", "d/.h", "e/a"]
_PATH_ATOMS = [*"*?[]!^\\{},/.", "a", "b", "d", "e", ".conf", "{a,b}", "{d,e}", "[!a]", "/"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("globtree")
    for name in _TREE:
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text("x=1\n")
    (root / "link").symlink_to("d")
    return root


@FAST
@given(st.lists(st.sampled_from(_PATH_ATOMS), min_size=1, max_size=6).map("".join))
def test_glob_is_glibcs(tree: Path, pattern: str) -> None:
    assume(not pattern.startswith("/"))  # relative to the config dir, as includes mostly are
    full = f"{tree}/{pattern}"
    want = [p.decode() for p in libc_glob(full.encode())]
    assert _Loader(str(tree), {}).paths(pattern) == want


def test_staged_files_join_a_glob(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "b.conf").write_text("from=disk\n")
    (tmp_path / "main.conf").write_text("[s]\n#include inc/*.conf\n")
    staged = {str(tmp_path / "inc" / "a.conf"): b"from=staged\n"}
    got = resolve("main.conf", config_dir=tmp_path, files=staged)
    assert got.to_json() == [
        {"name": "s", "templates": [], "options": [["from", "staged"], ["from", "disk"]]}
    ]
