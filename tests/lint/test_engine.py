"""The engine: rule catalogue, reports, staged files, masking, and rules that crash.

Per-rule behaviour lives in test_rules_*.py; generated configs in test_properties.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkctl.conf import ConfMissingError
from trunkctl.i18n import Text
from trunkctl.lint import (
    INTERNAL_RULE_ID,
    RULES,
    SEVERITIES,
    Hit,
    LintContext,
    LintFacts,
    Rule,
    get_rule,
    lint,
    parse_module_list,
    parse_version,
)

from .conftest import FACTS, HEALTHY, Lint, variant, write

_CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")


def test_catalogue_has_at_least_twenty_rules_with_stable_unique_ids() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) >= 20
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"(CONF|PJSIP|DIAL|AMI|ARI|HTTP)\d{3}", i) for i in ids)
    assert get_rule("PJSIP001").severity == "error"


def test_every_rule_speaks_both_languages() -> None:
    for r in RULES:
        for text in (r.title, r.why, r.fix):
            assert text.en.strip() and text.ru.strip(), r.id
            assert _CYRILLIC.search(text.ru), r.id
            # English text may quote a Russian placeholder, nothing else in Cyrillic.
            assert not _CYRILLIC.search(text.en.replace("ТВОЙ_ЛОГИН", "")), r.id
        assert r.severity in SEVERITIES


def test_every_rule_has_tests() -> None:
    here = Path(__file__).parent
    tests = "".join(p.read_text(encoding="utf-8") for p in here.glob("test_rules_*.py"))
    names = re.findall(r"def (test_\w+)", tests)
    missing = [r.id for r in RULES if not any(r.id.lower() in n for n in names)]
    assert missing == []


def _boom(ctx: LintContext) -> Iterator[Hit]:
    yield Hit(Text("first", "первый"))
    raise ZeroDivisionError("secret value hunter2 in a message")


def test_a_crashing_rule_is_an_internal_finding_not_a_traceback(tmp_path: Path) -> None:
    crashing = Rule("PJSIP999", "error", Text("t", "т"), Text("w", "п"), Text("f", "и"), _boom)
    report = lint(write(tmp_path, HEALTHY), rules=(*RULES, crashing))
    ids = [f.rule_id for f in report.findings]
    assert ids == ["PJSIP999", INTERNAL_RULE_ID]
    internal = report.findings[1]
    assert internal.severity == "warning"
    assert "ZeroDivisionError" in internal.message.en
    assert "hunter2" not in json.dumps(report.to_dict("en"))


def test_report_to_dict_counts_and_orders_worst_first(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "direct_media = no", "direct_media = yes")
    files = variant(files, "pjsip.conf", "qualify_frequency = 60\n", "")
    files = variant(files, "extensions.conf", "[outgoing]", "[out]")
    files = variant(files, "extensions.conf", "include => outgoing", "include => out")
    report = run(files)
    data = report.to_dict("ru")
    files = dict(files, **{"pjsip.conf": files["pjsip.conf"] + "\n[stray]\ntype = bogus\n"})
    report = run(files)
    data = report.to_dict("ru")
    assert data["counts"] == {"error": 1, "warning": 1, "info": 2}
    assert [f["rule"] for f in data["findings"]] == ["PJSIP006", "PJSIP010", "PJSIP016", "DIAL001"]
    assert data["ok"] is False and report.ok is False
    assert data["rules_run"] == len(RULES)
    assert _CYRILLIC.search(data["findings"][0]["message"])
    assert json.loads(json.dumps(data)) == data


def test_staged_files_stand_in_for_the_disk(tmp_path: Path) -> None:
    write(tmp_path, HEALTHY)
    staged = {
        str(tmp_path / "pjsip.conf"): HEALTHY["pjsip.conf"].replace("auth = 101\n", "").encode()
    }
    # The staged pjsip.conf drops the phone's auth: nothing wrong with that.
    assert lint(tmp_path, facts=FACTS, files=staged).findings == ()
    broken = {str(tmp_path / "pjsip.conf"): b"[novofon]\ntype=endpoint\nauth=novofon\n"}
    report = lint(tmp_path, facts=FACTS, files=broken)
    assert report.by_rule("PJSIP003")
    assert (tmp_path / "pjsip.conf").read_text() == HEALTHY["pjsip.conf"]


def test_empty_dir_is_reported_and_a_missing_dir_refused(tmp_path: Path) -> None:
    report = lint(tmp_path)
    assert set(report.files.values()) == {"missing"}
    assert [f.rule_id for f in report.findings] == ["DIAL001", "PJSIP023"]
    with pytest.raises(ConfMissingError) as info:
        lint(tmp_path / "astrisk")
    assert "astrisk" in info.value.what.en and "--config-dir" in info.value.next_step.ru


def test_no_secret_value_reaches_any_output(run: Lint) -> None:
    secrets = ("amp111", "nF4k-Rz8QpL2", "Hk3pW9vR-tQ2zX7mLs4e", "4sk3r1sk")
    files = variant(HEALTHY, "manager.conf", "secret = q7Vd-2mXr9LpT4wKz8sN", "secret = amp111")
    files = {
        **files,
        "ari.conf": "[general]\n[u]\ntype = user\npassword = 4sk3r1sk\n",
        "http.conf": "[general]\nenabled = yes\nbindaddr = 0.0.0.0\n",
    }
    # A password before any section makes the whole file invalid: its line is quoted.
    files = variant(files, "pjsip.conf", "; NovoFon", "password = nF4k-Rz8QpL2\n; NovoFon")
    report = run(files)
    assert report.findings
    for lang in ("en", "ru"):
        dump = json.dumps(report.to_dict(lang), ensure_ascii=False)
        assert not [s for s in secrets if s in dump]
    assert not [s for s in secrets if s in repr(report)]


def test_parse_helpers_for_the_facts() -> None:
    assert parse_version("Asterisk 22.10.1+dfsg+~cs6.17.60671434-1 built by x") == (22, 10, 1)
    assert parse_version("certified/18.9-cert2") == (18, 9, 0)
    assert parse_version("GIT-master-abc123") is None
    assert parse_version(None) is None
    out = (
        "Module                         Description                    Use Count  Status\n"
        "res_pjsip.so                   Basic SIP resource             47         Running\n"
        "chan_pjsip.so                  PJSIP Channel Driver           0          Running\n"
        "2 modules loaded\n"
    )
    assert parse_module_list(out) == {"res_pjsip", "chan_pjsip"}
    facts = LintFacts(modules=frozenset({"chan_pjsip.so"}))
    assert LintContext("/nonexistent", facts).modules == {"chan_pjsip"}


def test_large_config_stays_fast(tmp_path: Path) -> None:
    # 3000 phones, each a finding (an unknown option): quadratic lookups would take minutes.
    parts = ["[t](!)\ntype=endpoint\ncontext=office\nallow=ulaw\ndtmfmode=rfc2833\n"]
    for n in range(1000, 4000):
        parts.append(f"[{n}](t)\nauth={n}\naors={n}\n[{n}]\ntype=aor\nmax_contacts=1\n")
        parts.append(f"[{n}]\ntype=auth\nusername={n}\npassword=Zq8-xV3pLm9Tr-{n * 7}\n")
    files = {
        "pjsip.conf": "[udp]\ntype=transport\nbind=0.0.0.0\n" + "\n".join(parts),
        "extensions.conf": "[office]\nexten => _X.,1,Dial(PJSIP/${EXTEN})\n[outgoing]\n",
    }
    started = time.perf_counter()
    report = lint(write(tmp_path, files))
    elapsed = time.perf_counter() - started
    # One template line, 3000 phones: one finding that counts them (issue: 100 identical
    # PJSIP022 findings from one template line).
    (f,) = report.by_rule("PJSIP005")
    assert f.count == 3000 and f.subject == "phones"
    assert f.evidence == ("pjsip.conf:8: dtmfmode = rfc2833 (in template [t])",)
    assert "the same for 2999 more from this template: [1001], [1002]" in f.message.en
    assert elapsed < 5.0, elapsed
