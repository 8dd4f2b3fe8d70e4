"""contrib/: the alert rules pass promtool's check and unit tests, and every trunkctl_*
metric the rules and the Grafana dashboard use is one the exporter really serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from trunkctl.monitor import serve_metrics

from .test_collector import FULL

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
RULES = CONTRIB / "prometheus" / "trunkctl.rules.yml"
RULE_TESTS = CONTRIB / "prometheus" / "trunkctl.rules.test.yml"
DASHBOARD = CONTRIB / "grafana" / "trunkctl-dashboard.json"


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: apt-get install prometheus (scripts/test does it)"
    return path


def served_names() -> set[str]:
    server = serve_metrics(lambda: FULL, "127.0.0.1", 0)
    try:
        text = httpx.get(server.url, timeout=5).text
    finally:
        server.close()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_promtool_checks_the_rules() -> None:
    done = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 11 rules found" in done.stdout


def test_promtool_unit_tests_pass() -> None:
    done = subprocess.run(
        [promtool(), "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=RULE_TESTS.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_unit_test() -> None:
    alerts = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text()))
    assert alerts == tested
    assert {
        "TrunkctlExporterDown",
        "TrunkctlTrunkDown",
        "TrunkctlRegistrationFailing",
        "TrunkctlRttHigh",
        "TrunkctlCallFailureRatio",
        "TrunkctlBalanceLow",
    } <= alerts


def test_rules_and_dashboard_use_only_served_metrics() -> None:
    served = served_names()
    rules = set(re.findall(r"\btrunkctl_[a-z_]+\b", RULES.read_text()))
    dashboard = set(re.findall(r"\btrunkctl_[a-z_]+\b", DASHBOARD.read_text()))
    assert rules and dashboard
    assert rules - served == set()
    assert dashboard - served == set()


def test_the_dashboard_is_importable_json() -> None:
    dash = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 10
    assert dash["__inputs"][0]["name"] == "DS_PROMETHEUS"
    for p in dash["panels"]:
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert all(t["expr"] for t in p["targets"])
