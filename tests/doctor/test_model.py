"""The report: live checks and lint findings in one grouped list; exit codes 0, 1, 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trunkctl.doctor import GROUPS, CheckResult, DoctorReport, ReportItem, lint_summary
from trunkctl.i18n import Text
from trunkctl.lint import Finding, LintReport, lint

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def check(check_id: str, status: str) -> CheckResult:
    return CheckResult(
        check_id,
        Text(f"{check_id} title", f"{check_id} заголовок"),
        status,  # type: ignore[arg-type]
        Text("found", "найдено"),
        (Text("ev", "факт"),),
        Text("fix it", "исправьте"),
        0.0123,
        {"k": 1},
    )


def report(*checks: CheckResult, lint_report: LintReport | None = None) -> DoctorReport:
    return DoctorReport("/etc/asterisk", "novofon", False, WHEN, 0.5, checks, lint_report)


@pytest.mark.parametrize(
    ("statuses", "exit_code"),
    [
        (["ok", "ok", "skip"], 0),
        (["ok", "warn", "skip"], 1),
        (["warn", "fail", "ok"], 2),
        ([], 0),
    ],
)
def test_exit_code_is_the_worst_status(statuses: list[str], exit_code: int) -> None:
    r = report(*(check(f"c{i}", s) for i, s in enumerate(statuses)))
    assert r.exit_code == exit_code
    assert r.ok is (exit_code < 2)


def test_lint_findings_join_the_groups(tmp_path: Path) -> None:
    # No extensions.conf at all: DIAL001, an error; no trunk yet: PJSIP023, a note.
    tmp_path.mkdir(parents=True, exist_ok=True)
    lint_report = lint(tmp_path)
    assert [f.rule_id for f in lint_report.findings] == ["DIAL001", "PJSIP023"]
    r = report(check("ami", "ok"), check("dns", "warn"), lint_report=lint_report)
    groups = r.groups()
    assert list(groups) == list(GROUPS) == ["fail", "warn", "info", "ok", "skip"]
    # The lint's summary line is not a finding: one error counts once.
    assert [(i.source, i.id) for i in groups["fail"]] == [("lint", "DIAL001")]
    assert [i.id for i in groups["warn"]] == ["dns"]
    assert [i.id for i in groups["info"]] == ["PJSIP023"]
    assert [i.id for i in groups["ok"]] == ["ami"]
    dial = groups["fail"][0]
    assert dial.title.en == "No [outgoing] context"  # the rule's title
    assert dial.evidence[0].en.startswith("extensions.conf")
    assert "1 error, 0 warnings, 1 note" in lint_summary(lint_report).en
    assert r.to_dict("en")["lint"]["summary"] == lint_summary(lint_report).en
    assert r.exit_code == 2 and r.counts() == {"fail": 1, "warn": 1, "info": 1, "ok": 1, "skip": 0}


def test_lint_severities_map_to_statuses() -> None:
    made = [
        Finding("PJSIP016", sev, Text("m", "м"), ("pjsip.conf:3: [x]",), Text("f", "ф"))  # type: ignore[arg-type]
        for sev in ("error", "warning", "info")
    ]
    assert [ReportItem.from_finding(f).status for f in made] == ["fail", "warn", "info"]
    internal = Finding("LINT000", "warning", Text("rule crashed", "упало"), (), Text("f", "ф"))
    assert ReportItem.from_finding(internal).title.en == "rule crashed"


def test_json_in_each_language() -> None:
    r = report(check("ami", "fail"), check("nat", "skip"))
    for lang, word in (("en", "found"), ("ru", "найдено")):
        data = json.loads(json.dumps(r.to_dict(lang)))  # type: ignore[arg-type]
        assert data["ok"] is False and data["exit_code"] == 2
        assert data["started_at"] == "2026-01-02T03:04:05+00:00"
        assert data["duration_ms"] == 500.0
        item = data["groups"]["fail"][0]
        assert item == {
            "source": "check",
            "id": "ami",
            "status": "fail",
            "title": "ami title" if lang == "en" else "ami заголовок",
            "message": word,
            "evidence": ["ev" if lang == "en" else "факт"],
            "fix": "fix it" if lang == "en" else "исправьте",
            "duration_ms": 12.3,
        }
        assert data["checks"][1]["data"] == {"k": 1}
        assert data["lint"] is None
