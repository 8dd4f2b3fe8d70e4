"""Generated configs: the lint never raises and no rule crashes (no LINT000 finding).

Files are staged (``lint(..., files=...)``) under a directory that does not exist, so
nothing touches the disk; the vocabulary mixes real option names, real mistakes and noise.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trunkctl.lint import INTERNAL_RULE_ID, LintFacts, LintReport, lint
from trunkctl.lint._asterisk_options import OPTIONS
from trunkctl.providers import PROFILES

from .conftest import HEALTHY

ROOT = "/nonexistent-trunkctl-lint"
_PJSIP_KEYS = sorted({k for types in OPTIONS.values() for opts in types.values() for k in opts})


def _words(text: str) -> st.SearchStrategy[str]:
    return st.sampled_from(text.split())


_KEYS = st.one_of(
    st.sampled_from(_PJSIP_KEYS),
    _words(
        "type exten same include secret permit deny bindaddr enabled password TYPE Type @x "
        "host fromuser match contact"
    ),
    st.text(alphabet="abcdefxyz_-@.", min_size=1, max_size=12),
)
# Real values, real mistakes and edge cases (whitespace-separated; "" added apart).
_VALUE_WORDS = """
endpoint auth aor registration identify transport global system friend Endpoint contact
user novofon yes no 0 60 0.0.0.0 0.0.0.0:5060 127.0.0.1:5060 [::]:5061 :: sip://x
sip:sip.novofon.ru sip:0053248@sip.novofon.ru:5060 sip:[2001:db8::1]:99999 37.139.38.300
10.0.0.0/33 10.0.0.0/255.255.0.0 host:1:2 [::1 YOUR_SIP_LOGIN_HERE ТВОЙ_ЛОГИН xxxx amp111
alaw,ulaw all !all _X.,1,Dial(PJSIP/${EXTEN}@novofon) n,Goto(out,${EXTEN},1)
s,1,Dial(SIP/x _X.,n(l),Dial(Local/${EXTEN}@outgoing&PJSIP/a@) n,GotoIf($[1]?a,b,c:d,e,f)
n,Exec(Gosub(x,${EXTEN},1(a))) outgoing from-novofon a,b,,c userpass digest md5
"""
_VALUES = st.one_of(
    st.sampled_from(["", *_VALUE_WORDS.split()]),
    st.text(max_size=30).filter(lambda s: "\n" not in s and "\r" not in s),
)
_TYPES = _words(
    "endpoint auth aor registration identify transport global user Endpoint friend contact"
)
_NAMES = st.one_of(
    _words(
        "novofon 101 anonymous global system general globals outgoing from-novofon "
        "transport-udp Novofon default tpl"
    ),
    st.text(alphabet="abcxyz-_0123456789", min_size=1, max_size=8),
)


@st.composite
def conf_text(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(_NAMES)
        suffix = draw(st.sampled_from(["", "", "", "", "(!)", "(tpl)", "(+)", "(!,tpl)"]))
        lines.append(f"[{name}]{suffix}")
        if draw(st.integers(0, 9)) < 7:
            lines.append(f"type = {draw(_TYPES)}")
        for _ in range(draw(st.integers(0, 7))):
            op = draw(st.sampled_from(["=", "=>", "+=", " = "]))
            lines.append(f"{draw(_KEYS)}{op}{draw(_VALUES)}")
        if draw(st.booleans()):
            lines.append(
                draw(st.sampled_from(["; comment", ";--", "--;", "#tryinclude x.conf", "novalue"]))
            )
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


_FACTS = st.builds(
    LintFacts,
    asterisk_version=st.sampled_from([None, "22.10.1", "20.5.0", "18.9-cert2", "GIT-master"]),
    modules=st.sampled_from([None, frozenset(), frozenset({"chan_sip"}), frozenset({"res_ari"})]),
    provider=st.sampled_from([None, *PROFILES.values()]),
    public_ip=st.sampled_from([None, "109.73.192.126", "::1"]),
)


def _lint(files: dict[str, str], facts: LintFacts) -> LintReport:
    """Lint staged ``files``; a rule that crashed (LINT000) fails the example."""
    staged = {f"{ROOT}/{k}": v.encode("utf-8", "surrogateescape") for k, v in files.items()}
    report = lint(ROOT, facts=facts, files=staged)
    assert [f.message.en for f in report.findings if f.rule_id == INTERNAL_RULE_ID] == []
    return report


_FILES = ("pjsip.conf", "extensions.conf", "manager.conf", "ari.conf", "http.conf", "sip.conf")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_FILES), conf_text(), max_size=6), _FACTS)
def test_lint_never_raises_and_no_rule_crashes(files: dict[str, str], facts: LintFacts) -> None:
    report = _lint(files, facts)
    json.dumps(report.to_dict("ru"), ensure_ascii=False)
    assert sum(report.counts().values()) == len(report.findings)


@st.composite
def mutated_healthy(draw: st.DrawFn) -> dict[str, str]:
    """HEALTHY with a few lines deleted, duplicated or given other keys and values: this
    reaches the rules' deeper paths (linked objects, dialplan walks) that noise cannot."""
    out: dict[str, str] = {}
    for name, text in HEALTHY.items():
        lines = text.split("\n")
        for _ in range(draw(st.integers(0, 4))):
            i = draw(st.integers(0, len(lines) - 1))
            key, sep, value = lines[i].partition("=")
            op = draw(st.sampled_from(["delete", "duplicate", "value", "key", "insert"]))
            if op == "delete":
                del lines[i]
            elif op == "duplicate":
                lines.insert(i, lines[i])
            elif op == "value" and sep:
                lines[i] = f"{key}={draw(_VALUES)}"
            elif op == "key" and sep:
                lines[i] = f"{draw(_KEYS)} ={value}"
            else:
                lines.insert(i, f"{draw(_KEYS)} = {draw(_VALUES)}")
            if not lines:
                lines = [""]
        out[name] = "\n".join(lines)
    return out


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_healthy(), _FACTS)
def test_lint_survives_mutations_of_a_healthy_config(
    files: dict[str, str], facts: LintFacts
) -> None:
    _lint(files, facts)
