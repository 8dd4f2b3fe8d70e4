"""Start-up cost of the CLI against a bare interpreter (issue 2's budget).

Budget: ``trunkctl --version`` ≤ 3× and ``trunkctl --help`` ≤ 8× the venv's ``python -c pass``.
Run: .venv/bin/python bench/startup_bench.py [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "trunkctl --version": [str(VENV_BIN / "trunkctl"), "--version"],
    "trunkctl --help": [str(VENV_BIN / "trunkctl"), "--help"],
    "trunkctl sandbox --help": [str(VENV_BIN / "trunkctl"), "sandbox", "--help"],
}
BUDGET = {"trunkctl --version": 3.0, "trunkctl --help": 8.0}


def measure(cmd: list[str], runs: int) -> float:
    for _ in range(3):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    results = {name: measure(cmd, args.runs) for name, cmd in CASES.items()}
    base = results["python -c pass"]
    ok = True
    print(f"{'command':28} {'median ms':>10} {'× pass':>8} {'budget':>8}")
    for name, ms in results.items():
        ratio = ms / base
        budget = BUDGET.get(name)
        verdict = "" if budget is None else ("ok" if ratio <= budget else "OVER")
        ok &= verdict != "OVER"
        print(f"{name:28} {ms:10.1f} {ratio:8.2f} {budget or '':>8} {verdict}")
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "startup.json").write_text(json.dumps({"median_ms": results}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
