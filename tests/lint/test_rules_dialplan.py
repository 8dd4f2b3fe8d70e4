"""DIAL rules: [outgoing], endpoint contexts, chan_sip dial strings, toll fraud paths."""

from __future__ import annotations

from trunkctl.lint import LintFacts

from .conftest import HEALTHY, Lint, evidence, only, variant


def _ext(text: str) -> dict[str, str]:
    return dict(HEALTHY, **{"extensions.conf": text})


def test_dial001_no_outgoing_and_case_near_miss(run: Lint) -> None:
    files = variant(HEALTHY, "extensions.conf", "[outgoing]", "[Outgoing]")
    files = variant(files, "extensions.conf", "include => outgoing", "include => Outgoing")
    (f,) = only(run(files), "DIAL001")
    assert "[Outgoing] exists" in f.message.en
    assert only(run(HEALTHY), "DIAL001") == []


def test_dial001_no_extensions_conf_at_all(run: Lint) -> None:
    files = {k: v for k, v in HEALTHY.items() if k != "extensions.conf"}
    report = run(files)
    (f,) = only(report, "DIAL001")
    assert "no extensions.conf" in f.message.en
    assert report.files["extensions.conf"] == "missing"


def test_dial002_endpoint_context_missing(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "context = from-novofon", "context = from-novofon-in")
    (f,) = only(run(files), "DIAL002")
    assert f.evidence == ("pjsip.conf:21: [novofon] context = from-novofon-in",)
    assert only(run(HEALTHY), "DIAL002") == []


def test_dial002_default_context_when_none_is_set(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "context = from-novofon\n", "")
    (f,) = only(run(files), "DIAL002")
    assert "context = default" in f.message.en
    ok = dict(
        files,
        **{"extensions.conf": HEALTHY["extensions.conf"] + "\n[default]\nexten => s,1,Hangup()\n"},
    )
    assert only(run(ok), "DIAL002") == []


# Debian's asterisk package ships these two beside extensions.conf (trimmed here).
_AEL = """// the package's sample
context ael-default {
    s => Playback(hello-world);
};
"""
_LUA = """-- the package's sample
--[[ a block comment: extensions = { gone = {} } ]]
extensions = {
\tdemo = {
\t\t["1000"] = function()
\t\t\tapp['goto']("default", "s", 1)
\t\tend;
\t};
\tdefault = {
\t\tinclude = {"demo"};
\t};
\t["local"] = {
\t\t["_NXXXXXX"] = outgoing_local;
\t};
}
hints = { demo = { [1000] = "SIP/1000" } }
"""
_BOTH = LintFacts(
    asterisk_version="22.10.1",
    modules=frozenset({"res_pjsip", "chan_pjsip", "pbx_config", "pbx_ael", "pbx_lua"}),
)


def test_dial002_reads_the_contexts_of_debians_extensions_ael_and_lua(run: Lint) -> None:
    stock = dict(HEALTHY, **{"extensions.ael": _AEL, "extensions.lua": _LUA})
    missing = variant(stock, "pjsip.conf", "context = from-novofon", "context = from-novofon-in")
    # Neither file defines it: Asterisk answers 404, as without them (an error, not unsure).
    (f,) = only(run(missing, _BOTH), "DIAL002")
    assert f.severity == "error"
    assert "extensions.conf, extensions.ael, extensions.lua" in f.message.en
    for defined in ("ael-default", "local", "demo"):
        there = variant(stock, "pjsip.conf", "context = from-novofon", f"context = {defined}")
        assert only(run(there, _BOTH), "DIAL002") == [], defined
    # A name only in a Lua comment or in another table is no context.
    for absent in ("gone", "hints"):
        files = variant(stock, "pjsip.conf", "context = from-novofon", f"context = {absent}")
        assert [x.severity for x in only(run(files, _BOTH), "DIAL002")] == ["error"], absent
    # pbx_ael not loaded (the facts say so): the .ael's contexts do not exist.
    no_ael = LintFacts(asterisk_version="22.10.1", modules=_BOTH.modules - {"pbx_ael"})
    ael = variant(stock, "pjsip.conf", "context = from-novofon", "context = ael-default")
    assert [x.severity for x in only(run(ael, no_ael), "DIAL002")] == ["error"]


def test_dial002_is_unsure_when_lua_makes_contexts_at_run_time(run: Lint) -> None:
    lua = _LUA + 'for _, n in ipairs({"a", "b"}) do extensions[n] = {} end\n'
    files = dict(HEALTHY, **{"extensions.lua": lua})
    files = variant(files, "pjsip.conf", "context = from-novofon", "context = a")
    assert [x.severity for x in only(run(files, _BOTH), "DIAL002")] == ["warning"]
    assert [x.severity for x in only(run(files, None), "DIAL002")] == ["warning"]


def test_dial003_dial_sip_without_chan_sip(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "extensions.conf",
        "Dial(PJSIP/${EXTEN}@novofon,60)",
        "Dial(SIP/novofon/${EXTEN},60)",
    )
    (f,) = only(run(files), "DIAL003")
    assert f.severity == "error"
    assert f.evidence == ("extensions.conf:10: [outgoing] same => n,Dial(SIP/novofon/${EXTEN},60)",)
    # Unknown Asterisk: an error (trunkctl's Asterisk has no chan_sip), a warning only when
    # a sip.conf says it may be an old chan_sip one; an Asterisk 18 with chan_sip: fine.
    assert only(run(files, LintFacts()), "DIAL003")[0].severity == "error"
    with_sip = dict(files, **{"sip.conf": "[general]\n"})
    assert only(run(with_sip, LintFacts()), "DIAL003")[0].severity == "warning"
    old = LintFacts(asterisk_version="18.20.0", modules=frozenset({"chan_sip"}))
    assert only(run(files, old), "DIAL003") == []


def test_dial004_include_chain_reaches_the_trunk(run: Lint) -> None:
    files = variant(
        HEALTHY, "extensions.conf", "[from-novofon]\n", "[from-novofon]\ninclude => office\n"
    )
    (f,) = only(run(files), "DIAL004")
    assert "from-novofon → office → outgoing" in f.message.en
    ev = evidence([f])
    assert "pjsip.conf:21: [novofon] context = from-novofon" in ev
    assert "extensions.conf:14: [from-novofon] include => office" in ev
    assert "[outgoing] same => n,Dial(PJSIP/${EXTEN}@novofon,60)" in ev


def test_dial004_goto_and_local_carry_the_number(run: Lint) -> None:
    goto = variant(
        HEALTHY,
        "extensions.conf",
        "exten => _X.,1,Answer()",
        "exten => _X.,1,Goto(outgoing,${EXTEN},1)",
    )
    assert len(only(run(goto), "DIAL004")) == 1
    local = variant(
        HEALTHY,
        "extensions.conf",
        " same => n,Dial(PJSIP/101,30)",
        " same => n,Dial(Local/${EXTEN}@outgoing)",
    )
    assert len(only(run(local), "DIAL004")) == 1
    # A jump to a fixed extension does not hand the caller's number over.
    fixed = variant(
        HEALTHY,
        "extensions.conf",
        "exten => _X.,1,Answer()",
        "exten => _X.,1,Goto(outgoing,79991234567,1)",
    )
    assert only(run(fixed), "DIAL004") == []


def test_dial004_direct_dial_out_in_the_inbound_context(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "extensions.conf",
        " same => n,Dial(PJSIP/101,30)",
        " same => n,Dial(PJSIP/${EXTEN}@novofon)",
    )
    (f,) = only(run(files), "DIAL004")
    assert "(from-novofon)" in f.message.en


def test_dial004_anonymous_endpoint_into_office(run: Lint) -> None:
    pjsip = (
        HEALTHY["pjsip.conf"] + "\n[anonymous]\ntype = endpoint\ncontext = office\nallow = ulaw\n"
    )
    found = only(run(dict(HEALTHY, **{"pjsip.conf": pjsip})), "DIAL004")
    assert [f.message.en.split(" enter")[0] for f in found] == ["calls arriving on [anonymous]"]


def test_dial004_fixed_forward_is_not_fraud(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "extensions.conf",
        " same => n,Dial(PJSIP/101,30)",
        " same => n,Dial(PJSIP/79161234567@novofon,30)",
    )
    assert only(run(files), "DIAL004") == []
    assert only(run(HEALTHY), "DIAL004") == []


def test_dial005_dial_to_missing_endpoint(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "extensions.conf",
        "Dial(PJSIP/${EXTEN}@novofon,60)",
        "Dial(PJSIP/${EXTEN}@NovoFon,60)",
    )
    (f,) = only(run(files), "DIAL005")
    assert "there is 'novofon'" in f.message.en
    assert only(run(HEALTHY), "DIAL005") == []


def test_dial006_include_of_missing_context(run: Lint) -> None:
    files = variant(HEALTHY, "extensions.conf", "include => outgoing", "include => outgoing-calls")
    (f,) = only(run(files), "DIAL006")
    assert f.evidence == ("extensions.conf:21: [office] include => outgoing-calls",)
    assert only(run(HEALTHY), "DIAL006") == []


def test_same_before_any_exten_is_skipped_like_pbx_config(run: Lint) -> None:
    text = (
        "[outgoing]\n same => n,Dial(SIP/x/${EXTEN})\nexten => _X.,1,Dial(PJSIP/${EXTEN}@novofon)\n"
    )
    report = run(_ext(text))
    assert only(report, "DIAL003") == []


def test_dial007_eight_prefixed_numbers_and_caller_id(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "extensions.conf",
        "exten => _8XXXXXXXXXX,1,Goto(${CONTEXT},7${EXTEN:1},1)",
        "exten => _8XXXXXXXXXX,1,Set(CALLERID(num)=89581114585)\n"
        " same => n,Dial(PJSIP/${EXTEN}@novofon,60)",
    )
    found = only(run(files), "DIAL007")
    assert [f.message.en for f in found] == [
        "[outgoing] sets an 8… caller ID",
        "[outgoing] _8XXXXXXXXXX dials novofon with the number still starting with 8",
    ]
    # Rewritten first (HEALTHY does Goto(...,7${EXTEN:1},1)): fine. No provider: no claim.
    assert only(run(HEALTHY), "DIAL007") == []
    assert only(run(files, LintFacts()), "DIAL007") == []
