"""`trunkctl exporter` as a user runs it: serves the sandbox's metrics, stops on SIGTERM,
refuses a taken port with exit 3, prints the metrics once with --once."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..cli._run import TRUNKCTL, run
from ..conftest import SandboxInfo

pytestmark = pytest.mark.sandbox


def read_json(proc: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, object]:
    """The first JSON document the command prints (it keeps running after it)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.rstrip() == "}":
            return dict(json.loads("".join(lines)))
    raise AssertionError(f"no JSON from the exporter: {''.join(lines)!r}")


def test_serves_the_sandbox_and_stops_on_sigterm(sandbox: SandboxInfo) -> None:
    argv = [TRUNKCTL, "--sandbox", "--json", "exporter", "--listen", "127.0.0.1:0"]
    proc = subprocess.Popen(
        [*argv, "--doctor-interval", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = read_json(proc)
        assert started["ok"] is True
        url = str(started["listening"])
        assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
        deadline = time.monotonic() + 15
        up = 0.0
        while time.monotonic() < deadline and up != 1.0:
            text = httpx.get(url, timeout=5).text
            values = {
                s.name: s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
                if not s.labels
            }
            up = values.get("trunkctl_ami_up", 0.0)
            time.sleep(0.2)
        assert up == 1.0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_a_taken_port_exits_3_with_the_next_step(sandbox: SandboxInfo) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = run([TRUNKCTL, "--sandbox", "exporter", "--listen", f"127.0.0.1:{port}"])
        assert proc.returncode == 3, proc.stderr
        assert f"127.0.0.1:{port} is already in use" in proc.stderr
        assert "ss -ltnp" in proc.stderr and "Traceback" not in proc.stderr
        proc = run([TRUNKCTL, "--sandbox", "--json", "exporter", "--listen", f"127.0.0.1:{port}"])
        assert proc.returncode == 3
        assert json.loads(proc.stdout)["error"]["type"] == "EnvironmentProblem"


def test_bad_listen_exits_2(sandbox: SandboxInfo) -> None:
    proc = run([TRUNKCTL, "--sandbox", "exporter", "--listen", "127.0.0.1:99999"])
    assert proc.returncode == 2 and "--listen" in proc.stderr


def test_once_prints_the_metrics(sandbox: SandboxInfo) -> None:
    proc = run([TRUNKCTL, "--sandbox", "exporter", "--once"])
    assert proc.returncode == 0, proc.stderr
    names = {f.name for f in text_string_to_metric_families(proc.stdout)}
    assert {"trunkctl_ami_up", "trunkctl_calls", "trunkctl_source_up"} <= names
    proc = run([TRUNKCTL, "--sandbox", "exporter", "--once", "--json"])
    data = json.loads(proc.stdout)
    assert data["ok"] is True and data["ami_up"] is True
