"""The lossless document: exact round trips, minimal edits, safe values, problems.

Reading as Asterisk does is tested in test_resolve.py; files on disk in test_files.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.conf import parse, resolve_text
from trunkctl.errors import ConfValueError

from .strategies import GeneratedConf, asterisk_conf, conf_like_text

TRICKY = Path(__file__).parent / "tricky"
FAST = settings.get_profile("conf-fast")


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(TRICKY.rglob("*.conf")), ids=lambda p: p.name)
def test_corpus_round_trips_byte_for_byte(path: Path) -> None:
    data = path.read_bytes()
    assert parse(data).to_bytes() == data


@settings(FAST)
@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    assert parse(text).render() == text


@settings(FAST)
@given(conf_like_text())
def test_conf_like_text_round_trips(text: str) -> None:
    doc = parse(text)
    assert doc.render() == text
    assert isinstance(doc.problems, list)  # never raises either


@settings(FAST)
@given(st.binary())
def test_any_bytes_parse_and_round_trip(data: bytes) -> None:
    assert parse(data).to_bytes() == data


def test_odd_inputs_round_trip() -> None:
    for text in [
        "",
        "\n",
        "[a]",
        "\ufeff[a]\r\nx=1",
        "a\rb\n",
        "[a]\n;-- open",
        "\0\0",
        "x" * 9000,
    ]:
        assert parse(text).render() == text


# --- reading ----------------------------------------------------------------------------

PJSIP = (
    "; trunk\n"
    "\n"
    "[novofon]\n"
    "type=auth\n"
    "username = 0012345\n"
    "password = p\\;w ; keep\n"
    "\n"
    "[novofon]\n"
    "type=endpoint\n"
    "allow=ulaw\n"
    "allow=alaw\n"
    "outbound_auth=novofon\n"
    "\n"
    "[tpl](!)\n"
    "type=aor\n"
    "\n"
    "[office](tpl)\n"
    "contact=sip:office@127.0.0.2\n"
)


def test_find_by_name_and_type() -> None:
    doc = parse(PJSIP)
    auth = doc.find("NovoFon", "auth")
    ep = doc.find("novofon", "endpoint")
    assert auth is not None and ep is not None and auth is not ep
    assert auth.get("password") == "p;w"
    assert ep.get_all("allow") == ["ulaw", "alaw"]
    assert ep["outbound_auth"] == "novofon"
    assert "allow" in ep and "password" not in ep
    assert doc.find("novofon", "aor") is None
    office = doc.find("office")
    assert office is not None and office.type == "aor" and office.templates == ["tpl"]
    assert [s.name for s in doc.sections("novofon")] == ["novofon", "novofon"]
    assert [s.name for s in doc.sections(type="aor")] == ["tpl", "office"]
    tpl = doc.find("tpl")
    assert tpl is not None and tpl.is_template


def test_problems_are_flagged_with_lines() -> None:
    text = "a=1\n[s]\nno equals here\n\\ bad=1\n[t](zz)\n[u](+)\n[v\n;-- open\n"
    got = [(p.code, p.line, p.severity) for p in parse(text).problems]
    assert got == [
        ("no_category", 1, "fatal"),
        ("no_equals", 3, "warning"),
        ("invalid_escape", 4, "fatal"),
        ("missing_base", 5, "fatal"),
        ("missing_append", 6, "fatal"),
        ("no_bracket", 7, "fatal"),
        ("unterminated_comment", 8, "warning"),
    ]
    assert parse(PJSIP).problems == []


def test_block_comments_hide_options_from_the_model() -> None:
    doc = parse("[s]\na=1\n;--\na=2\n[hidden]\n--;\nb=3\n")
    s = doc.find("s")
    assert s is not None and s.items() == [("a", "1"), ("b", "3")]
    assert doc.find("hidden") is None


# --- edits (whole expected files, in bytes) ----------------------------------------------


def test_set_changes_only_that_line_and_keeps_its_style() -> None:
    doc = parse(PJSIP)
    auth = doc.find("novofon", "auth")
    assert auth is not None
    auth.set("password", "n3w;pass")
    assert doc.render() == PJSIP.replace("password = p\\;w ; keep", "password = n3w\\;pass ; keep")


def test_set_same_value_touches_nothing() -> None:
    doc = parse("[s]\nkey  =   v   ; odd spacing\n")
    s = doc.find("s")
    assert s is not None
    s.set("key", "v")
    assert doc.render() == "[s]\nkey  =   v   ; odd spacing\n"


def test_set_all_append_remove_replace() -> None:
    doc = parse(PJSIP)
    ep = doc.find("novofon", "endpoint")
    assert ep is not None
    ep.set_all("allow", ["g722", "ulaw", "alaw"])
    ep.append("allow", "opus")
    assert ep.replace("allow", "gsm", match="ulaw") == 1
    assert ep.remove("allow", match="alaw") == 1
    ep.set("direct_media", "no")
    assert doc.render() == PJSIP.replace(
        "allow=ulaw\nallow=alaw\noutbound_auth=novofon\n",
        "allow=g722\nallow=gsm\nallow=opus\noutbound_auth=novofon\ndirect_media=no\n",
    )
    assert ep.remove("allow") == 3
    assert ep.replace("nothing", "x") == 0


def test_new_lines_copy_crlf_and_spacing() -> None:
    text = "[a]\r\nk = v\r\n\r\n[b]\r\nx = 1\r\n"
    doc = parse(text)
    b = doc.find("b")
    assert b is not None
    b.append("y", "2")
    doc.add_section("c", [("z", "3")])
    assert doc.render() == text + "y = 2\r\n\r\n[c]\r\nz = 3\r\n"


def test_no_final_newline_is_kept() -> None:
    doc = parse("[a]\nk=v")
    a = doc.find("a")
    assert a is not None
    a.append("k2", "v2")
    assert doc.render() == "[a]\nk=v\nk2=v2"
    doc.add_section("b", [("x", "1")])
    assert doc.render() == "[a]\nk=v\nk2=v2\n\n[b]\nx=1"


def test_add_section_after_and_remove_section() -> None:
    text = "[a]\nx=1\n\n; about b\n[b]\ny=2\n\n[c]\nz=3\n"
    doc = parse(text)
    doc.add_section(
        "new", [("type", "aor")], templates=["a"], after="a", comment="added by trunkctl"
    )
    assert doc.render() == (
        "[a]\nx=1\n\n; added by trunkctl\n[new](a)\ntype=aor\n\n; about b\n[b]\ny=2\n\n[c]\nz=3\n"
    )
    assert doc.remove_section("new")
    assert doc.render() == text
    assert doc.remove_section("b")
    assert doc.render() == "[a]\nx=1\n\n[c]\nz=3\n"
    assert doc.remove_section("c")
    assert doc.render() == "[a]\nx=1\n"
    assert not doc.remove_section("zzz")


def test_template_section_and_empty_document() -> None:
    doc = parse("")
    doc.add_section("tpl", [("type", "endpoint")], template=True)
    doc.add_section("alice", [("auth", "alice")], templates=["tpl"])
    assert doc.render() == "[tpl](!)\ntype = endpoint\n\n[alice](tpl)\nauth = alice\n"
    got = resolve_text(doc.render()).to_json()
    assert got == [
        {
            "name": "alice",
            "templates": ["tpl"],
            "options": [["type", "endpoint"], ["auth", "alice"]],
        }
    ]


def test_upsert_section_updates_or_creates() -> None:
    doc = parse(PJSIP)
    doc.upsert_section(
        "novofon",
        [("outbound_auth", "novofon"), ("allow", "alaw"), ("allow", "ulaw"), ("context", "in")],
        type="endpoint",
    )
    doc.upsert_section("novofon", [("contact", "sip:sip.novofon.ru")], type="aor", after="novofon")
    assert doc.render() == PJSIP.replace(
        "allow=ulaw\nallow=alaw\noutbound_auth=novofon\n",
        "allow=alaw\nallow=ulaw\noutbound_auth=novofon\ncontext=in\n",
    ).replace(
        "username = 0012345\npassword = p\\;w ; keep\n\n",
        "username = 0012345\npassword = p\\;w ; keep\n\n"
        "[novofon]\ntype=aor\ncontact=sip:sip.novofon.ru\n\n",
    )
    doc.upsert_section(
        "novofon", [("type", "endpoint"), ("context", "x")], type="endpoint", prune=True
    )
    ep = doc.find("novofon", "endpoint")
    assert ep is not None and ep.items() == [("type", "endpoint"), ("context", "x")]


def test_plus_equals_line_is_rewritten_as_plain_set() -> None:
    doc = parse("[s]\nallow=ulaw\nallow += ,alaw\n")
    s = doc.find("s")
    assert s is not None
    s.set("allow", "g722")
    assert doc.render() == "[s]\nallow=g722\n"


def test_object_lines_stay_objects() -> None:
    doc = parse("[ctx]\nexten => 1,1,Answer()\n")
    c = doc.find("ctx")
    assert c is not None
    c.append("exten", "1,n,Hangup()")
    c.replace("exten", "1,1,NoOp()")
    assert doc.render() == "[ctx]\nexten => 1,1,NoOp()\nexten => 1,n,Hangup()\n"


def test_new_object_lines_follow_the_files_own_arrows() -> None:
    """Debian's extensions.conf writes `static=yes` but `exten => s,1,…`: a new context
    follows its `=>` lines, not its `=` ones (it was `exten=>` before)."""
    doc = parse("[general]\nstatic=yes\nwriteprotect=no\n\n[demo]\nexten => s,1,Answer()\n")
    doc.add_section("outgoing", (("exten", "_X.,1,NoOp()"), ("same", "n,Hangup()")))
    assert "\n[outgoing]\nexten => _X.,1,NoOp()\n same => n,Hangup()\n" in doc.render()
    tight = parse("[general]\nstatic = yes\n\n[demo]\nexten=>s,1,Answer()\n")
    tight.add_section("outgoing", (("exten", "_X.,1,NoOp()"),))
    assert tight.render().endswith("[outgoing]\nexten=>_X.,1,NoOp()\n")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("a;b", "a\\;b"),
        ("a\\;b", "a\\\\;b"),  # a literal backslash before ';' survives: only one is eaten
        (";--x", "\\;--x"),
        ("x--;", "x--\\;"),
        ("[not a header", "[not a header"),
        (">gt", ">gt"),
        ("", ""),
        ("é ü Ж", "é ü Ж"),
    ],
)
def test_values_are_escaped_so_they_read_back(value: str, written: str) -> None:
    doc = parse("[s]\nk=old\n")
    s = doc.find("s")
    assert s is not None
    s.set("k", value)
    line = doc.render().split("\n")[1]
    assert line.replace("k=", "", 1).lstrip() == written
    assert resolve_text(doc.render()).to_json()[0]["options"] == [["k", value]]


@pytest.mark.parametrize("value", ["S3CR\nlines", "S3CR\r", "S3CR\0", " S3CR", "S3CR ", "\tS3CR"])
def test_unwritable_values_are_refused(value: str) -> None:
    doc = parse("[s]\nk=old\n")
    s = doc.find("s")
    assert s is not None
    with pytest.raises(ConfValueError) as err:
        s.set("k", value)
    assert "S3CR" not in str(err.value.to_dict())  # never echo the (maybe secret) value
    assert doc.render() == "[s]\nk=old\n"


@pytest.mark.parametrize("key", ["", "a=b", "[k", "#k", "k+", " k", "k;", "\\k", "a\nb"])
def test_bad_keys_are_refused(key: str) -> None:
    s = parse("[s]\n").find("s")
    assert s is not None
    with pytest.raises(ConfValueError):
        s.append(key, "v")


@pytest.mark.parametrize("name", ["", "a]b", "a;b", " a", "x" * 80, "a\nb"])
def test_bad_section_names_are_refused(name: str) -> None:
    with pytest.raises(ConfValueError):
        parse("").add_section(name, [])


def test_refuses_to_write_into_an_open_block_comment() -> None:
    doc = parse("[s]\nk=v\n;-- open to the end\n")
    with pytest.raises(ConfValueError):
        doc.add_section("t", [])


# --- edit properties --------------------------------------------------------------------


@settings(FAST)
@given(asterisk_conf(), st.data())
def test_an_edit_leaves_every_other_line_alone(conf: GeneratedConf, data: st.DataObject) -> None:
    doc = parse(conf.text)
    sections = [s for s in doc.sections() if not s.is_append]
    if not sections:
        return
    sec = data.draw(st.sampled_from(sections))
    before = [ln.text for ln in doc.lines()]
    key = data.draw(st.sampled_from(["allow", "context", "newkey"]))
    value = data.draw(st.text("abc;=[]#é -", max_size=8).map(str.strip))
    op = data.draw(st.sampled_from(["replace", "append", "remove"]))
    if op == "replace":
        n = sec.replace(key, value)
        expected_changed = n
    elif op == "append":
        sec.append(key, value)
        expected_changed = 1
    else:
        n = sec.remove(key, all=False)
        expected_changed = n
    after = [ln.text for ln in doc.lines()]
    import difflib

    sm = difflib.SequenceMatcher(None, before, after, autojunk=False)
    touched = sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"
    )
    # One line per change, plus at most one newline added to a final line that had none.
    assert touched <= expected_changed + 1
    # And the value reads back through Asterisk's rules where we put it.
    if op != "remove" and expected_changed:
        got = parse(doc.render())
        again = [s for s in got.sections() if s.name == sec.name and not s.is_append]
        assert any(value in s.get_all(key) for s in again)
