"""Asterisk-exact reading (trunkctl.conf.resolve) against hand-derived expectations.

The tricky corpus (tests/conf/tricky/, expectations written by hand from main/config.c)
and a generated corpus (strategies.asterisk_conf, expectations from its own model). The
same inputs are meant for the sandbox Asterisk's GetConfig (the lead's differential test).
Document-level tests: test_document.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from trunkctl.conf import ConfMissingError, resolve, resolve_text
from trunkctl.conf._lexer import strip_comments
from trunkctl.errors import ConfParseError

from .strategies import GeneratedConf, asterisk_conf

TRICKY = Path(__file__).parent / "tricky"
CASES = sorted(p.stem for p in TRICKY.glob("tricky-*.json"))


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40
    why = json.loads((TRICKY / "WHY.json").read_text())
    assert sorted("tricky-" + k for k in why) == CASES


@pytest.mark.parametrize("case", CASES)
def test_tricky_corpus(case: str) -> None:
    expected = json.loads((TRICKY / f"{case}.json").read_text())
    if expected == {"error": "invalid"}:
        with pytest.raises(ConfParseError):
            resolve(f"{case}.conf", config_dir=TRICKY)
        return
    assert resolve(f"{case}.conf", config_dir=TRICKY).to_json() == expected


@settings(settings.get_profile("conf-fast"))
@given(asterisk_conf())
def test_generated_corpus(conf: GeneratedConf) -> None:
    assert resolve_text(conf.to_bytes(), config_dir="/nonexistent").to_json() == conf.expected


@pytest.mark.parametrize(
    ("line", "depth", "content", "after"),
    [
        ("a=1\n", 0, "a=1\n", 0),
        ("a=1 ; c\n", 0, "a=1 ", 0),
        ("a=p\\;w\n", 0, "a=p;w\n", 0),
        ("a=p\\\\;w\n", 0, "a=p\\;w\n", 0),
        ("a=1 ;-- x --; b\n", 0, "a=1  b\n", 0),
        ("a=1 ;-- x\n", 0, "a=1 ", 1),
        ("x --; a=1\n", 1, " a=1\n", 0),
        ("hidden\n", 1, None, 1),
        (";-- a ;-- b --; c --; d\n", 0, " d\n", 0),
        (";--- not a block\n", 0, "", 0),
        ("--;--\n", 0, "--", 1),  # ";--" is checked first: this opens a block
        ("a = x --; y\n", 0, "a = x --; y\n", -1),  # a stray end goes negative
        (";--;\n", 0, "", 1),
    ],
)
def test_strip_comments(line: str, depth: int, content: str | None, after: int) -> None:
    assert strip_comments(line, depth) == (content, after)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfMissingError):
        resolve("nope.conf", config_dir=tmp_path)


def test_staged_files_stand_in_for_disk(tmp_path: Path) -> None:
    (tmp_path / "main.conf").write_text("[a]\n#include inc.conf\n")
    staged = {str(tmp_path / "inc.conf"): b"x=staged\n"}
    got = resolve("main.conf", config_dir=tmp_path, files=staged)
    assert got.to_json() == [{"name": "a", "templates": [], "options": [["x", "staged"]]}]
    with pytest.raises(ConfParseError):
        resolve("main.conf", config_dir=tmp_path)  # the include is missing on disk


def test_invalid_file_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("[ok]\na=1\n[broken\n")
    with pytest.raises(ConfParseError) as err:
        resolve("bad.conf", config_dir=tmp_path)
    assert err.value.line == 3
    assert "']'" in err.value.what.en and "']'" in err.value.what.ru


def test_resolution_helpers(tmp_path: Path) -> None:
    got = resolve("tricky-same-name-types.conf", config_dir=TRICKY)
    ep = got.find("NOVOFON", "endpoint")
    assert ep is not None and ep.get("auth") == "novofon"
    auth = got.find("novofon", "auth")
    assert auth is not None and auth.get_all("password") == ["p;w"]
    assert got.find("novofon", "registration") is None
    warn = resolve("tricky-no-equals.conf", config_dir=TRICKY).problems
    assert [(p.code, p.line, p.severity) for p in warn] == [
        ("no_equals", 3, "warning"),
        ("no_name", 5, "warning"),
    ]
