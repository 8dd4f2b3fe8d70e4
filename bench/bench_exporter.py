"""Scrape latency of `trunkctl exporter` against the sandbox (issue 14's budget: ≤ 50 ms).

Sets up the NovoFon trunk on the sandbox pbx (setup + apply, as a user would), starts the
exporter as a process on a free loopback port, waits until AMI is up, then times N scrapes
each on a new TCP connection (http.client: little client-side cost, so the time is the
exporter's; the WSGI server closes the connection after each answer anyway).
Run: TRUNKCTL_SANDBOX_DIR=... .venv/bin/python bench/bench_exporter.py [--scrapes 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

TRUNKCTL = str(Path(sys.executable).with_name("trunkctl"))
BUDGET_MS = 50.0


def sandbox_trunk() -> None:
    status = json.loads(
        subprocess.run(
            [TRUNKCTL, "sandbox", "up", "--json"], capture_output=True, text=True, check=True
        ).stdout
    )
    line = status["provider"]["line"]
    password = Path(line["password_file"]).read_text()
    subprocess.run(
        [TRUNKCTL, "--sandbox", "setup", "--login", line["login"], "--password-stdin", "--force"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
    )
    subprocess.run([TRUNKCTL, "--sandbox", "apply"], capture_output=True, check=False)


def start_exporter(log: Path) -> tuple[subprocess.Popen[str], str]:
    argv = [TRUNKCTL, "--sandbox", "--json", "exporter", "--listen", "127.0.0.1:0"]
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*argv, "--doctor-interval", "0"], stdout=subprocess.PIPE, stderr=err, text=True
        )
    assert proc.stdout is not None
    lines = []
    while not lines or lines[-1].rstrip() != "}":
        lines.append(proc.stdout.readline())
    return proc, json.loads("".join(lines))["listening"]


def percentile(sorted_ms: list[float], p: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, round(p / 100 * (len(sorted_ms) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=1000)
    args = parser.parse_args()
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    sandbox_trunk()
    proc, url = start_exporter(out / "exporter.log")
    try:
        deadline = time.monotonic() + 30
        while "trunkctl_registration_up{" not in (text := httpx.get(url).text):
            assert time.monotonic() < deadline, "the exporter never saw the trunk"
            time.sleep(0.2)
        samples = []
        size = len(text)
        where = urlsplit(url)
        for _ in range(args.scrapes):
            started = time.perf_counter()
            conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=5)
            conn.request("GET", where.path)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status == 200 and b"trunkctl_ami_up 1.0" in body, body[:400]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    samples.sort()
    result = {
        "scrapes": len(samples),
        "bytes": size,
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(percentile(samples, 99), 2),
        "max_ms": round(samples[-1], 2),
        "budget_ms": BUDGET_MS,
    }
    print(json.dumps(result, indent=2))
    (out / "exporter.json").write_text(json.dumps(result, indent=2))
    return 0 if result["p99_ms"] <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
