"""What the call benchmarks share: the sandbox trunk, many distinct numbers, CPU readings.

A campaign dials each number once, but the emulated provider has eight behaviours. So the
pbx gets a `bench-out` context in which 7998 0 <code> <NNN> stands for the provider's test
number 7999 000 0 <code>: two hundred distinct numbers, each with a known outcome, all going
through trunkctl's own generated `outgoing` context and the real trunk.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from trunkctl.conf import ConfigDir
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import apply, plan_setup
from trunkctl.sandbox import Sandbox
from trunkctl.secret import Secret
from trunkctl.settings import Settings, load_settings

RESULTS = Path(__file__).resolve().parent / "results"

# provider code → (verdict, SIP code) as the provider's table (sandbox/_configs.py) says;
# 480 rings until the ring timeout cancels it.
BEHAVIOURS: dict[str, tuple[str, int | None]] = {
    "200": ("answered", None),
    "201": ("answered", None),
    "486": ("busy", 486),
    "404": ("not_found", 404),
    "403": ("rejected", 403),
    "503": ("congestion", 503),
    "480": ("no_answer", None),
}

BENCH_CONTEXT = "bench-out"


def provider_number(code: str) -> str:
    """The provider's own test number for behaviour ``code`` (7999000 0CCC)."""
    return f"7999000{code.zfill(4)}"


_DIALPLAN = (
    "\n[bench-out]\n; benchmark aliases: 79980CCCNNN dials the provider's 7999000 0CCC\n"
    + (
        "".join(
            f"exten => _79980{code}XXX,1,Goto(outgoing,{provider_number(code)},1)\n"
            for code in BEHAVIOURS
        )
    )
)


def alias(code: str, index: int) -> str:
    """The index-th distinct number that behaves like the provider's ``code`` number."""
    return f"79980{code}{index:03d}"


def numbers_for(calls: int) -> dict[str, tuple[str, int | None]]:
    """``calls`` distinct numbers, behaviours in turn, each with its expected outcome."""
    codes = list(BEHAVIOURS)
    return {
        alias(codes[i % len(codes)], i // len(codes)): BEHAVIOURS[codes[i % len(codes)]]
        for i in range(calls)
    }


def save(name: str, data: dict[str, object]) -> None:
    """Write a bench's result under bench/results/ with the Python version and the time."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(
        json.dumps({**data, "python": platform.python_version(), "at": time.time()}, indent=2)
        + "\n"
    )


async def prepare(sandbox: Sandbox) -> Settings:
    """Fresh pbx, trunkctl's registration trunk (setup + apply), the alias context."""
    sandbox.up()
    sandbox.reset_pbx()
    status = sandbox.status()
    prov = status["provider"]
    spec = TrunkSpec(
        profile=PROFILES["novofon"].with_server(prov["sip_host"], int(prov["sip_port"]), None),
        mode="registration",
        login=prov["line"]["login"],
        password=Secret(Path(prov["line"]["password_file"]).read_text().strip()),
    )
    with ConfigDir(Path(status["pbx"]["config_dir"])).transaction() as tx:
        plan_setup(tx, render_trunk(spec), force=True)
        tx.commit()
    with (Path(status["pbx"]["config_dir"]) / "extensions.conf").open("a") as fh:
        fh.write(_DIALPLAN)
    settings = load_settings(Path(status["settings_file"]))
    result = await apply(settings)
    if not result.ok:
        raise SystemExit(f"apply failed: {result.to_dict()}")
    if not sandbox.wait_registered(10):
        raise SystemExit("the trunk did not register")
    return settings


@dataclass(frozen=True)
class Cpu:
    """CPU seconds (user + system) of us and of both Asterisk instances."""

    ours: float
    pbx: float
    provider: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(self.ours - other.ours, self.pbx - other.pbx, self.provider - other.provider)


def _proc_cpu(pid: int | None) -> float:
    """utime + stime of every thread of ``pid`` (/proc/PID/stat fields 14 and 15)."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu(sandbox: Sandbox) -> Cpu:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Cpu(
        usage.ru_utime + usage.ru_stime,
        _proc_cpu(sandbox.pbx.pid()),
        _proc_cpu(sandbox.provider.pid()),
    )


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0–1) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]
