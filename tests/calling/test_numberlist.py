"""Reading a list of numbers: line numbers in errors, comments, repeats, the campaign id.

The runner that dials such a list is tested against the sandbox in test_campaign.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trunkctl.calling import load_numbers, read_numbers
from trunkctl.errors import BadInput


def test_forms_comments_blank_lines_and_repeats() -> None:
    text = (
        "\ufeff# my list\n"
        "79990000200\n"
        "\n"
        "8 (999) 000-04-86   # busy one\r\n"
        "+7 999 000 0404\n"
        "89990000200\n"  # the first line again, spelt the Russian way
        "   \t\n"
    )
    nl = read_numbers(text, source="list.txt")
    assert nl.numbers == ["79990000200", "79990000486", "79990000404"]
    assert [e.line for e in nl.entries] == [2, 4, 5]
    assert nl.duplicates == ((6, 2),)
    assert nl.bad == ()
    nl.require_valid()  # nothing to complain about


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("79990000200@evil", "'@'"),
        ("79990000200/1", "'/'"),
        ("79990000200&PJSIP/1@x", "'&'"),
        ("79990000200,1", "','"),
        ("79990000200;x", "';'"),
        ("7999000\r0200", "U+000D"),  # CR inside a line is refused, not a line break
        ("79990000200|", "'|'"),
        ("7999", "11 digits"),
        ("hello", "'h'"),
    ],
)
def test_characters_that_change_the_dial_string_are_refused_with_the_line(
    line: str, needle: str
) -> None:
    nl = read_numbers(f"79990000200\n{line}\n79990000486\n", source="list.txt")
    assert nl.numbers == ["79990000200", "79990000486"]
    (bad,) = nl.bad
    assert bad.line == 2 and needle in bad.error.what.en + str(bad.error.evidence)
    with pytest.raises(BadInput) as info:
        nl.require_valid()
    err = info.value
    assert "nothing was called" in err.what.en and "никому не звонили" in err.what.ru
    assert err.evidence is not None and err.evidence.en.startswith("list.txt:2: ")
    assert err.next_step is not None and "--skip-invalid" in err.next_step.en
    assert err.details["lines"] == [2]


def test_many_bad_lines_are_counted_not_all_listed() -> None:
    nl = read_numbers("\n".join(["x"] * 25), source="f")
    with pytest.raises(BadInput) as info:
        nl.require_valid()
    evidence = info.value.evidence
    assert evidence is not None
    assert evidence.en.count("\n") == 10 and evidence.en.endswith("… and 15 more")


def test_campaign_id_depends_on_the_set_of_numbers_only() -> None:
    a = read_numbers("79990000200\n79990000486\n", source="a.txt")
    b = read_numbers("# reordered\n+7 999 000-04-86\n89990000200\n89990000200\n", source="b")
    c = read_numbers("79990000200\n", source="a.txt")
    assert a.campaign_id() == b.campaign_id() != c.campaign_id()
    assert a.campaign_id().startswith("c-") and len(a.campaign_id()) == 14


def test_strict_refuses_unallocated_ranges_unless_asked() -> None:
    # +7 300… has the right length but no such range exists.
    assert read_numbers("73001234567\n").bad
    assert read_numbers("73001234567\n", strict=False).numbers == ["73001234567"]


def test_load_from_file_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "n.txt"
    path.write_bytes(b"79990000200\n")
    assert load_numbers(path).numbers == ["79990000200"]
    fake = io.TextIOWrapper(io.BytesIO(b"79990000486\n"))
    monkeypatch.setattr(sys, "stdin", fake)
    nl = load_numbers("-")
    assert (nl.source, nl.numbers) == ("stdin", ["79990000486"])


def test_unreadable_files_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as info:
        load_numbers(tmp_path / "missing.txt")
    assert "No such file" in str(info.value.evidence)
    (tmp_path / "latin1.txt").write_bytes("79990000200 # Пётр\n".encode("cp1251"))
    with pytest.raises(BadInput) as info:
        load_numbers(tmp_path / "latin1.txt")
    assert "UTF-8" in info.value.what.en


@given(st.lists(st.text(max_size=30), max_size=20))
def test_every_line_is_a_number_a_bad_line_or_a_repeat(lines: list[str]) -> None:
    text = "\n".join(lines)
    nl = read_numbers(text)
    for entry in nl.entries:
        assert entry.number.isdigit() and 7 <= len(entry.number) <= 15
    meaningful = [
        i
        for i, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1)
        if line.removesuffix("\r").split("#", 1)[0].strip()
    ]
    seen = sorted(
        [e.line for e in nl.entries] + [b.line for b in nl.bad] + [d for d, _ in nl.duplicates]
    )
    assert seen == meaningful
