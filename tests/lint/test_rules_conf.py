"""CONF rules: refused files, placeholders (the seed guide's and novofon.md's), dead sip.conf.

Engine-level behaviour is in test_engine.py; the fresh sandbox config in test_sandbox.py.
"""

from __future__ import annotations

from trunkctl.lint import LintFacts

from .conftest import FACTS, HEALTHY, Lint, evidence, only, variant

# The auth section exactly as the seed guide GET_SIP_CREDENTIALS.ru.md shows it, before and
# "after" filling in (the guide's own Russian placeholders).
SEED_AUTH = """[novofon]
type = auth
auth_type = userpass
username = YOUR_SIP_LOGIN_HERE
password = YOUR_SIP_PASSWORD_HERE
"""
SEED_AUTH_RU = """[novofon]
type = auth
auth_type = userpass
username = ТВОЙ_ЛОГИН
password = ТВОЙ_ПАРОЛЬ
"""


def test_healthy_config_has_no_findings_at_all(run: Lint) -> None:
    report = run(HEALTHY)
    assert report.findings == ()
    assert report.files == dict.fromkeys(
        ("pjsip.conf", "extensions.conf", "manager.conf", "ari.conf", "http.conf"), "ok"
    )


def test_conf001_option_before_any_section_refuses_the_file(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "; NovoFon", "password = hunter2-secret\n; NovoFon")
    report = run(files)
    (f,) = only(report, "CONF001")
    assert f.severity == "error"
    assert report.files["pjsip.conf"] == "invalid"
    assert f.evidence == ("pjsip.conf:1: password = ********",)
    assert "hunter2" not in str(report.to_dict("en"))


def test_conf001_line_without_equals_is_a_warning(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "direct_media = no", "direct_media no")
    (f,) = only(run(files), "CONF001")
    assert f.severity == "warning"
    assert f.evidence == ("pjsip.conf:28: direct_media no",)


def test_conf001_missing_include_names_the_line(run: Lint) -> None:
    files = variant(
        HEALTHY, "pjsip.conf", "[transport-udp]", "#include trunks.conf\n[transport-udp]"
    )
    (f,) = only(run(files), "CONF001")
    assert f.severity == "error"
    assert f.evidence == ("pjsip.conf:2: #include trunks.conf",)


def test_conf002_seed_auth_placeholders_masked(run: Lint) -> None:
    files = dict(
        HEALTHY,
        **{
            "pjsip.conf": HEALTHY["pjsip.conf"].replace(
                "[novofon]\ntype = auth\nauth_type = userpass\nusername = 0053248\n"
                f"password = {'nF4k-Rz8QpL2'}\n",
                SEED_AUTH,
            )
        },
    )
    assert "YOUR_SIP_LOGIN_HERE" in files["pjsip.conf"]
    found = only(run(files), "CONF002")
    assert [f.severity for f in found] == ["error", "error"]
    ev = evidence(found)
    assert "pjsip.conf:10: [novofon] username = YOUR_SIP_LOGIN_HERE" in ev
    assert "pjsip.conf:11: [novofon] password = ********" in ev
    assert "YOUR_SIP_PASSWORD_HERE" not in str([f.to_dict("ru") for f in found])


def test_conf002_seed_russian_placeholders(run: Lint) -> None:
    files = {"pjsip.conf": SEED_AUTH_RU}
    found = only(run(files), "CONF002")
    assert len(found) == 2
    assert "username = ТВОЙ_ЛОГИН" in evidence(found)
    assert "ТВОЙ_ПАРОЛЬ" not in evidence(found)
    assert "ТВОЙ_" in found[0].message.ru


def test_conf002_novofon_md_placeholders_in_identify_and_manager(run: Lint) -> None:
    files = variant(
        HEALTHY, "pjsip.conf", "match = sip.novofon.ru", "match = IP_ADDRESS_OF_NOVOFON_HERE"
    )
    files = variant(
        files, "manager.conf", f"secret = {'q7Vd-2mXr9LpT4wKz8sN'}", "secret = CHANGEME"
    )
    found = only(run(files), "CONF002")
    assert len(found) == 2
    assert "IP_ADDRESS_…" in found[0].message.en
    assert "manager.conf:7: [trunkctl] secret = ********" in evidence(found)


def test_conf002_x_runs_are_placeholders_but_not_dialplan_patterns(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "from_user = 0053248", "from_user = xxxxxxx")
    found = only(run(files), "CONF002")
    assert len(found) == 1 and "from_user" in found[0].message.en
    # HEALTHY's dialplan has _8XXXXXXXXXX and _X. patterns: never placeholders.
    assert only(run(HEALTHY), "CONF002") == []


def test_conf002_placeholder_in_dialplan_application(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "extensions.conf",
        " same => n,Dial(PJSIP/${EXTEN}@novofon,60)",
        " same => n,Set(CALLERID(num)=YOUR_NUMBER_HERE)\n"
        " same => n,Dial(PJSIP/${EXTEN}@novofon,60)",
    )
    (f,) = only(run(files), "CONF002")
    assert (
        "extensions.conf:10: [outgoing] same => n,Set(CALLERID(num)=YOUR_NUMBER_HERE)"
        in f.evidence[0]
    )


def test_conf003_sip_conf_without_chan_sip(run: Lint) -> None:
    files = dict(
        HEALTHY,
        **{"sip.conf": "[general]\nbindport=5060\n\n[novofon]\ntype=friend\nhost=sip.novofon.ru\n"},
    )
    (f,) = only(run(files), "CONF003")
    assert f.severity == "warning"
    assert f.evidence == ("sip.conf:4: [novofon]",)
    # chan_sip loaded (Asterisk 18): fine; nothing known: no claim either way.
    old = LintFacts(asterisk_version="18.20.0", modules=frozenset({"chan_sip", "res_pjsip"}))
    assert only(run(files, old), "CONF003") == []
    assert only(run(files, LintFacts()), "CONF003") == []
    # A sip.conf with only [general] declares nothing.
    assert only(run(dict(HEALTHY, **{"sip.conf": "[general]\nbindport=5060\n"})), "CONF003") == []


def test_facts_modules_decide_over_version(run: Lint) -> None:
    files = dict(HEALTHY, **{"sip.conf": "[peer1]\ntype=peer\n"})
    no_chan_sip = LintFacts(asterisk_version="20.5.0", modules=frozenset({"res_pjsip"}))
    assert len(only(run(files, no_chan_sip), "CONF003")) == 1
    assert FACTS.modules is None


def test_conf002_placeholder_in_dialplan_globals(run: Lint) -> None:
    files = variant(HEALTHY, "extensions.conf", "[globals]\n", "[globals]\nCID=YOUR_DID_HERE\n")
    (f,) = only(run(files), "CONF002")
    assert f.evidence == ("extensions.conf:6: [globals] CID = YOUR_DID_HERE",)
