"""The lead-in rule: comments and blank lines leading into a header are that section's.

Edits on whole sections (add, remove, rewrite in place) must never take or move a line of
another section's. setup's use of it, on whole files, is in
tests/provision/test_lossless_setup.py; the rest of the document model in test_document.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.conf import Line, parse

from .strategies import GeneratedConf, asterisk_conf, conf_like_text

FAST = settings.get_profile("conf-fast")


def texts(lines: list[Line]) -> list[str]:
    return [ln.text for ln in lines]


@pytest.mark.parametrize(
    ("text", "lead", "above"),
    [
        # Comments touching the header are its lead-in.
        ("[a]\nx=1\n; about b\n[b]\n", ["; about b\n"], ["x=1\n"]),
        # ... with the blank lines right above them.
        ("[a]\nx=1\n\n; about b\n; more\n[b]\n", ["\n", "; about b\n", "; more\n"], ["x=1\n"]),
        # A comment block with a blank line under it stays with the section above.
        ("[a]\nx=1\n;==== B ====\n\n[b]\n", ["\n"], ["x=1\n", ";==== B ====\n"]),
        # Commented-out options after the last key are the section's own trailing lines.
        ("[a]\nx=1\n;y=2\n\n; about b\n[b]\n", ["\n", "; about b\n"], ["x=1\n", ";y=2\n"]),
        # trunkctl's marker and a user's note above it: both lead into the header.
        (
            "[a]\nx=1\n\n; mine\n; trunkctl: t endpoint, managed\n[t]\n",
            ["\n", "; mine\n", "; trunkctl: t endpoint, managed\n"],
            ["x=1\n"],
        ),
        # CRLF is kept on every line.
        ("[a]\r\nx=1\r\n\r\n; b\r\n[b]\r\n", ["\r\n", "; b\r\n"], ["x=1\r\n"]),
        # A ;-- --; block is taken whole or not at all.
        ("[a]\nx=1\n;-- off\n[z]\n--;\n[b]\n", [";-- off\n", "[z]\n", "--;\n"], ["x=1\n"]),
        ("[a]\nx=1\n;-- off\n\nmid --;\n[b]\n", [], ["x=1\n", ";-- off\n", "\n", "mid --;\n"]),
        # A directive ends the lead-in.
        ("[a]\n#include x.conf\n; b\n[b]\n", ["; b\n"], ["#include x.conf\n"]),
    ],
)
def test_lead_in_rule(text: str, lead: list[str], above: list[str]) -> None:
    doc = parse(text)
    a, b = doc.sections_
    assert texts(b.lead) == lead
    assert texts(a.body) == above
    assert doc.render() == text


@pytest.mark.parametrize(
    ("text", "preamble", "lead"),
    [
        ("; the file's heading\n[a]\nx=1\n", ["; the file's heading\n"], []),
        ("; heading\n\n[a]\n", ["; heading\n"], ["\n"]),
        ("; heading\n\n; about a\n[a]\n", ["; heading\n"], ["\n", "; about a\n"]),
        ("\n\n[a]\n", ["\n", "\n"], []),
    ],
)
def test_the_first_section_never_takes_the_files_heading(
    text: str, preamble: list[str], lead: list[str]
) -> None:
    doc = parse(text)
    assert texts(doc.preamble) == preamble
    assert texts(doc.sections_[0].lead) == lead


def test_removing_a_section_takes_its_lead_in_and_nothing_else() -> None:
    text = "[a]\nx=1\n;y=2\n\n; about b\n[b]\nz=1\n; about c\n[c]\nw=1\n"
    doc = parse(text)
    assert doc.remove_section("b")
    assert doc.render() == "[a]\nx=1\n;y=2\n; about c\n[c]\nw=1\n"


def test_keep_comments_removes_only_header_options_and_owned_lines() -> None:
    text = "[a]\nx=1\n\n; a user note\n; MARK\n[b]\nz=1\n; inside\n#include b.conf\nq=2\n\n[c]\n"
    doc = parse(text)
    assert doc.remove_section("b", keep_comments=True, owned=lambda ln: ln.text == "; MARK\n")
    assert doc.render() == "[a]\nx=1\n\n; a user note\n; inside\n#include b.conf\n\n[c]\n"


def test_keep_comments_takes_an_owned_line_from_the_files_heading() -> None:
    doc = parse("; my file\n; MARK\n[b]\nz=1\n\n[c]\n")
    assert doc.remove_section("b", keep_comments=True, owned=lambda ln: ln.text == "; MARK\n")
    assert doc.render() == "; my file\n\n[c]\n"


@pytest.mark.parametrize(
    "text",
    [
        "[a]\nx=1\n",
        "[a]\nx=1",
        "[a]\nx=1\n\n\n\n",
        "[a]\nx=1\n; trailing 1\n; trailing 2\n",
        "[a]\nx=1\n; about c\n[c]\n",
        "[a]\nx=1\n[c]\n",
        "[a]\r\nx = 1\r\n\r\n\r\n[c]\r\n",
        "",
        "; only a heading\n",
    ],
)
def test_add_then_remove_keeping_comments_is_stable(text: str) -> None:
    """Adding and removing an owned section again and again never grows or loses a line."""
    doc = parse(text)
    after = doc.sections_[0] if doc.sections_ else None
    seen = set()
    for _ in range(3):
        new = doc.add_section("t", [("type", "aor")], after=after, comment="MARK")
        lines = doc.render().splitlines()
        assert lines[lines.index("[t]") - 1] == "; MARK"
        assert doc.remove_section(new, keep_comments=True, owned=lambda ln: "MARK" in ln.text)
        seen.add(doc.render())
        assert all(line in doc.render().splitlines() for line in text.splitlines())
    assert len(seen) == 1  # at most one separator line added, once


def test_replace_options_keeps_comments_and_unchanged_lines() -> None:
    text = (
        "; about ctx\n[ctx]\nexten => s,1,NoOp()\n; the caller id\n same => n,Set(X=1)\n"
        " same => n,Dial(PJSIP/x)\n; done\n\n[next]\n"
    )
    doc = parse(text)
    sec = doc.find("ctx")
    assert sec is not None
    sec.replace_options(
        [
            ("exten", "s,1,NoOp()"),
            ("same", "n,Set(X=2)"),
            ("same", "n,Set(Y=1)"),
            ("same", "n,Dial(PJSIP/x)"),
        ]
    )
    assert doc.render() == text.replace(
        " same => n,Set(X=1)\n", " same => n,Set(X=2)\n same => n,Set(Y=1)\n"
    )
    sec.replace_options([("exten", "s,1,NoOp()")])
    assert (
        doc.render()
        == "; about ctx\n[ctx]\nexten => s,1,NoOp()\n; the caller id\n; done\n\n[next]\n"
    )


def test_replace_options_without_final_newline() -> None:
    doc = parse("[ctx]\nexten => s,1,NoOp()")
    sec = doc.find("ctx")
    assert sec is not None
    sec.replace_options([("exten", "s,1,NoOp()"), ("same", "n,Hangup()")])
    assert doc.render() == "[ctx]\nexten => s,1,NoOp()\n same => n,Hangup()"


def test_mark_goes_right_above_the_header_below_user_comments() -> None:
    doc = parse("[a]\nx=1\n\n; my context\n[ctx]\nexten => s,1,NoOp()\n")
    sec = doc.find("ctx")
    assert sec is not None
    sec.mark("trunkctl: t context", lambda ln: "trunkctl:" in ln.text)
    assert doc.render() == (
        "[a]\nx=1\n\n; my context\n; trunkctl: t context\n[ctx]\nexten => s,1,NoOp()\n"
    )
    sec.mark("trunkctl: t context v2", lambda ln: "trunkctl:" in ln.text)
    assert doc.render().count("trunkctl:") == 1 and "v2" in doc.render()


def test_source_line_is_the_line_as_read() -> None:
    doc = parse("[a]\nx=1\n\n; b\n[b]\n")
    a, b = doc.sections_
    assert (a.source_line, b.source_line) == (1, 5)
    new = doc.add_section("n", [("k", "v")], after=a)
    assert new.source_line is None and b.source_line == 5


# --- properties ---------------------------------------------------------------------------


@settings(FAST)
@given(conf_like_text())
def test_every_lead_in_is_comments_and_blanks_from_depth_zero(text: str) -> None:
    doc = parse(text)
    assert "".join(ln.text for ln in doc.lines()) == text
    for sec in doc.sections_:
        assert all(ln.kind in ("comment", "blank") for ln in sec.lead)
        assert not sec.lead or sec.lead[0].depth == 0


@settings(FAST)
@given(asterisk_conf(), st.data())
def test_add_then_remove_gives_the_text_back(conf: GeneratedConf, data: st.DataObject) -> None:
    doc = parse(conf.text)
    if doc.depth_end:
        return
    anchors = [None, *doc.sections_]
    after = data.draw(st.sampled_from(anchors))
    # The first section's comments are the file's heading, not its lead-in: no comment then.
    comment = "note" if doc.sections_ else None
    try:
        new = doc.add_section("added", [("type", "aor")], after=after, comment=comment)
    except Exception as exc:  # only a ;-- --; block at the place may refuse
        assert "comment" in str(exc)
        return
    lines = doc.render().splitlines()
    assert comment is None or lines[lines.index("[added]") - 1] == "; note"
    assert doc.remove_section(new)
    assert doc.render() == conf.text
