"""Single-value readers and the dialplan model, with expectations from the Asterisk sources
named in trunkctl.lint._values / _dialplan (rules using them: test_rules_*.py)."""

from __future__ import annotations

import pytest

from trunkctl.conf import resolve_text
from trunkctl.lint._dialplan import Dialplan, dial_targets, jumps, parse_target, split_args
from trunkctl.lint._values import (
    codecs_of,
    has_since,
    host_port,
    identify_match_problem,
    is_false,
    is_true,
    placeholder_in,
    sip_uri_problem,
    sip_uri_user,
    weak_secret_reason,
)


def test_ast_true_and_false() -> None:
    assert all(is_true(v) for v in ("yes", "YES", " on ", "1", "t", "y", "true"))
    assert not any(is_true(v) for v in ("no", "2", "", None, "enabled"))
    assert all(is_false(v) for v in ("no", "off", "0", "f", "n", "False"))


@pytest.mark.parametrize(
    ("version", "since", "expected"),
    [
        ((22, 1, 0), "20.12.0, 21.7.0, 22.2.0", False),
        ((22, 2, 0), "20.12.0, 21.7.0, 22.2.0", True),
        ((23, 0, 0), "20.12.0, 21.7.0, 22.2.0", True),
        ((19, 0, 0), "20.12.0, 21.7.0, 22.2.0", False),
        ((20, 5, 0), "13.15.0, 14.4.0", True),
        ((19, 8, 0), "18.17.0, 20.2.0", None),
        ((22, 0, 0), "", None),
    ],
)
def test_has_since(version: tuple[int, int, int], since: str, expected: bool | None) -> None:
    assert has_since(version, since) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", None)),
        ("1.2.3.4:5060", ("1.2.3.4", 5060)),
        ("[::1]:5061", ("::1", 5061)),
        ("2001:db8::1", ("2001:db8::1", None)),
        ("sip.novofon.ru", ("sip.novofon.ru", None)),
        ("host:0", None),
        ("host:70000", None),
        ("[::1", None),
        ("[::1]x", None),
    ],
)
def test_host_port(text: str, expected: tuple[str, int | None] | None) -> None:
    assert host_port(text) == expected


@pytest.mark.parametrize(
    ("item", "ok"),
    [
        ("37.139.38.224", True),
        ("3.2.1.0:5061/24", True),
        ("10.0.0.0/255.0.0.0", True),
        ("[2001:db8::1]:5060", True),
        ("sip.novofon.ru", True),
        ("localhost", True),
        ("sip:sip.novofon.ru", False),
        ("37.139.38.300", False),
        ("IP_ADDRESS_OF_NOVOFON_HERE", False),
        ("10.0.0.0/abc", False),
        ("a b", False),
    ],
)
def test_identify_match_items(item: str, ok: bool) -> None:
    assert (identify_match_problem(item) is None) is ok


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("sip:sip.novofon.ru", True),
        ("sip:0053248@sip.novofon.ru:5060;transport=tcp", True),
        ("sips:[2001:db8::1]:5061", True),
        ("<sip:proxy.example.net;lr>", True),
        ("sip.novofon.ru", False),
        ("sip://sip.novofon.ru", False),
        ("sip:", False),
        ("sip:user@", False),
        ("sip:host:0", False),
        ("sip:bad host", False),
        ("", False),
    ],
)
def test_sip_uris(uri: str, ok: bool) -> None:
    assert (sip_uri_problem(uri) is None) is ok


def test_sip_uri_user() -> None:
    assert sip_uri_user("sip:0053248@sip.novofon.ru:5060") == "0053248"
    assert sip_uri_user("sip:sip.novofon.ru") is None


def test_codecs_in_order() -> None:
    c = codecs_of([("disallow", "all"), ("allow", "alaw, ulaw"), ("disallow", "ulaw")])
    assert c.allows("alaw") and not c.allows("ulaw") and not c.empty
    every = codecs_of([("allow", "all"), ("disallow", "g729")])
    assert every.allows("alaw") and not every.allows("g729")
    assert codecs_of([("context", "x")]).empty
    assert codecs_of([("allow", "all"), ("disallow", "all")]).empty
    assert codecs_of([("allow", "g729:20")]).allows("g729")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("YOUR_SIP_LOGIN_HERE", "YOUR_…"),
        ("IP_ADDRESS_OF_NOVOFON_HERE", "IP_ADDRESS_…"),
        ("ТВОЙ_ЛОГИН", "ТВОЙ_… / ВАШ_…"),
        ("ПАРОЛЬ", "ЛОГИН / ПАРОЛЬ"),
        ("changeme", "CHANGEME"),
        ("<password>", "<…>"),
        ("sip:sip.example.com", "example.com"),
        ("203.0.113.10", "documentation address (RFC 5737)"),
        ("x.x.x.x", "x.x.x.x"),
        ("XXXXXXX", "xxx…"),
        ("0053248", None),
        ("sip:0053248@sip.novofon.ru", None),
        ('"Office" <101>', None),
        ("examples.community", None),
    ],
)
def test_placeholders(value: str, kind: str | None) -> None:
    assert placeholder_in(value) == kind


def test_bare_word_placeholders_only_where_asked() -> None:
    assert placeholder_in("login", bare_word=True) == "a bare word (login)"
    assert placeholder_in("login") is None
    assert placeholder_in("_XXXX", xxx=False) is None


def test_weak_secret_reasons_never_contain_the_secret() -> None:
    for secret in ("amp111", "mysecret", "admin", "short", "12345678901234", "aaaabbbbaaaabbbb"):
        reason = weak_secret_reason(secret, "admin")
        assert reason is not None, secret
        assert secret not in reason.en + reason.ru
    assert weak_secret_reason("q7Vd-2mXr9LpT4wKz8sN", "admin") is None


def test_split_args_respects_nesting_and_quotes() -> None:
    assert split_args('a,${CUT(x,\\,,1)},"b,c",$[1,2]') == [
        "a",
        "${CUT(x,\\,,1)}",
        '"b,c"',
        "$[1,2]",
    ]
    assert split_args("") == [""]


def test_dial_targets_and_jumps() -> None:
    text = (
        "[ctx]\n"
        "exten => _X.,1,Dial(PJSIP/${EXTEN}@novofon&PJSIP/101&SIP/trunk/${EXTEN},30)\n"
        " same => n,Dial(Local/${EXTEN}@outgoing/n)\n"
        " same => n,GotoIf($[${X}]?out,${EXTEN},1:s,1)\n"
        " same => n,Gosub(sub,${EXTEN},1(a,b))\n"
        " same => n,Exec(Goto(other,${EXTEN},1))\n"
        "exten => s/100,1,Goto(2)\n"
    )
    plan = Dialplan.from_resolution(resolve_text(text, config_dir="/nonexistent"))
    prios = plan.priorities["ctx"]
    assert [p.exten for p in prios] == ["_X."] * 5 + ["s"]
    targets = dial_targets(prios[0])
    assert [(t.tech, t.endpoint, t.number) for t in targets] == [
        ("PJSIP", "novofon", "${EXTEN}"),
        ("PJSIP", "101", None),
        ("SIP", "trunk", "${EXTEN}"),
    ]
    assert [(j.context, j.exten) for p in prios for j in jumps(p)] == [
        ("outgoing", "${EXTEN}"),
        ("out", "${EXTEN}"),
        ("sub", "${EXTEN}"),
        ("other", "${EXTEN}"),
    ]
    assert parse_target("PJSIP/novofon/sip:79991234567@sip.novofon.ru").endpoint == "novofon"
