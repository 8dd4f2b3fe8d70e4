"""A real Prometheus (Debian's package) scrapes `trunkctl exporter` against the sandbox and
evaluates the shipped alert rules: the trunk registered → trunkctl_registration_up 1; a
wrong password (`credentials set` + `apply`) → 0 within a few scrape intervals, and
TrunkctlRegistrationFailing goes pending."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..cli._run import TRUNKCTL, run
from ..conftest import SandboxInfo
from .conftest import free_port
from .test_exporter_cli import read_json
from .test_rules import RULES

pytestmark = pytest.mark.sandbox

SCRAPE = 1.0


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def exporter(pbx: SandboxInfo) -> Iterator[str]:
    proc = subprocess.Popen(
        [
            TRUNKCTL,
            "--settings",
            pbx.status["settings_file"],
            "--json",
            "exporter",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "1",
            "--doctor-interval",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = str(read_json(proc)["listening"])
        yield url.removeprefix("http://").removesuffix("/metrics")
    finally:
        stop(proc)


@pytest.fixture
def prometheus(exporter: str, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: apt-get install prometheus (scripts/test does it)"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE:g}s\n  evaluation_interval: {SCRAPE:g}s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: trunkctl\n"
        f"    static_configs:\n      - targets: ['{exporter}']\n"
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            try:
                if httpx.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)
        log.close()


def query(base: str, expr: str) -> list[dict[str, Any]]:
    data = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert data["status"] == "success", data
    return list(data["data"]["result"])


def wait_value(base: str, expr: str, want: float, timeout: float) -> float:
    """Seconds until ``expr`` has exactly one series with value ``want``."""
    start = time.monotonic()
    while True:
        result = query(base, expr)
        if len(result) == 1 and float(result[0]["value"][1]) == want:
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"{expr} = {result}, wanted {want}"
        time.sleep(0.25)


def test_prometheus_sees_the_registration_fall_and_the_alert_pending(
    pbx: SandboxInfo, prometheus: str
) -> None:
    settings = ["--settings", pbx.status["settings_file"]]
    setup = run(
        [TRUNKCTL, *settings, "setup", "--login", pbx.line_login, "--password-stdin"],
        stdin=pbx.line_password,
    )
    assert setup.returncode == 0, setup.stderr
    applied = run([TRUNKCTL, *settings, "apply"])
    assert applied.returncode == 0, applied.stderr
    up = 'trunkctl_registration_up{job="trunkctl", trunk="novofon"}'
    wait_value(prometheus, up, 1.0, timeout=30)
    assert query(prometheus, 'up{job="trunkctl"}')[0]["value"][1] == "1"
    assert query(prometheus, "trunkctl_ami_up")[0]["value"][1] == "1"

    broken = run(
        [
            TRUNKCTL,
            *settings,
            "credentials",
            "set",
            "--username",
            pbx.line_login,
            "--password-stdin",
        ],
        stdin="not-the-password\n",
    )
    assert broken.returncode == 0, broken.stderr
    run([TRUNKCTL, *settings, "apply"])  # the REGISTER is refused: apply says so
    took = wait_value(prometheus, up, 0.0, timeout=10 * SCRAPE)
    assert took <= 10 * SCRAPE
    state = query(prometheus, 'trunkctl_registration_state{trunk="novofon"} == 1')
    assert [r["metric"]["state"] for r in state] in (["Rejected"], ["Unregistered"])

    deadline = time.monotonic() + 10 * SCRAPE
    while True:
        alerts = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        failing = [a for a in alerts if a["labels"]["alertname"] == "TrunkctlRegistrationFailing"]
        if failing:
            break
        assert time.monotonic() < deadline, alerts
        time.sleep(0.25)
    (alert,) = failing
    assert alert["state"] == "pending" and alert["labels"]["trunk"] == "novofon"
    assert alert["labels"]["severity"] == "warning"
