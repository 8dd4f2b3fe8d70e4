"""`trunkctl call` and `trunkctl history` as a user runs them on the sandbox.

Library-level campaign behaviour is in tests/calling/test_campaign.py. Here: exit codes,
JSON, messages, the call log, and resuming after the runner process itself was killed —
checked against what reached the provider, not only against trunkctl's own log.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trunkctl.settings import settings_to_toml

from ..calling import conftest as calling
from ..calling.conftest import (
    SLOW_OUT,
    ProviderView,
    add_ami_user,
    install_trunk,
    unique_numbers,
    write_list,
)
from ..conftest import SandboxInfo
from ..provision.test_setup_apply import settings_of
from ._run import js, run

pytestmark = pytest.mark.sandbox

provider_view = calling.provider_view  # the fixture: INVITEs that reached the provider

# `history` is imported lazily through cli._lazy.REGISTRY; until the lead lists it there the
# shim adds it (setdefault: a no-op once it is listed), then runs the real entry point.
SHIM = (
    "import sys\n"
    "from trunkctl.cli._lazy import REGISTRY, LazyCommand\n"
    "REGISTRY.setdefault('history', LazyCommand('._history', 'history', 'The call log.'))\n"
    "from trunkctl.cli import main\n"
    "sys.argv[0] = 'trunkctl'\n"
    "main()\n"
)


def argv(*args: str, settings: Path | None = None, lang: str = "en") -> list[str]:
    where = ["--settings", str(settings)] if settings else ["--sandbox"]
    return [sys.executable, "-c", SHIM, *where, "--lang", lang, *args]


def env_for(log: Path) -> dict[str, str]:
    # A wide console, so that rich does not wrap the lines the tests look for.
    return {**os.environ, "TRUNKCTL_CALL_LOG": str(log), "COLUMNS": "400"}


def tk(
    *args: str,
    log: Path,
    stdin: str | None = None,
    settings: Path | None = None,
    lang: str = "en",
) -> subprocess.CompletedProcess[str]:
    return run(argv(*args, settings=settings, lang=lang), stdin=stdin, env=env_for(log))


def rows(log: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(log) as db:
        db.row_factory = sqlite3.Row
        try:
            return db.execute("SELECT * FROM calls ORDER BY id").fetchall()
        except sqlite3.OperationalError:  # created a moment ago, no schema yet
            return []


# -- one call ----------------------------------------------------------------------------
async def test_single_call_keeps_its_exit_codes_and_lands_in_the_call_log(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    log = tmp_path / "calls.db"
    busy = tk("call", "8 999 000-04-86", "--json", log=log)
    assert busy.returncode == 10, busy.stderr
    assert js(busy)["result"]["sip_code"] == 486 and js(busy)["number"] == "79990000486"
    answered = tk("call", "79990000200", log=log)
    assert answered.returncode == 0, answered.stderr
    hist = tk("history", "--json", log=log)
    assert hist.returncode == 0, hist.stderr
    calls = js(hist)["calls"]
    assert [(c["number"], c["status"], c["sip_code"]) for c in calls] == [
        ("79990000200", "answered", None),
        ("79990000486", "busy", 486),
    ]
    assert calls[1]["source"] == "asterisk" and calls[1]["campaign"] is None
    assert calls[1]["detail"]["explanation"] == "busy" and calls[1]["q850"] == 17
    assert calls[0]["talk_duration"] > 1  # Playback(hello-world) plays ~1.4 s
    text = tk("history", log=log)
    assert "79990000486" in text.stdout and "busy" in text.stdout


def test_a_number_that_would_change_the_channel_is_refused_and_not_logged(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    log = tmp_path / "calls.db"
    out = tk("call", "79990000486&PJSIP/1@evil", "--json", log=log)
    assert out.returncode == 2
    assert "'&'" in js(out)["error"]["what"]
    assert not log.exists() or rows(log) == []


# -- many calls ----------------------------------------------------------------------------
async def test_campaign_json_summary_per_number_results_and_history(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    log = tmp_path / "calls.db"
    fresh = unique_numbers(1)[0]
    numbers = write_list(
        tmp_path / "numbers.txt",
        ["# first campaign", "79990000486", "8 999 000-04-04", "", fresh, "+79990000486"],
    )
    out = tk("call", "--numbers", str(numbers), "--cps", "20", "--json", log=log)
    assert out.returncode == 0, out.stdout + out.stderr
    data = js(out)
    assert data["ok"] is True and data["called"] == 3 and data["total"] == 3
    assert data["counts"] == {"busy": 1, "not_found": 2}
    got = [(r["line"], r["number"], r["status"], r["sip_code"]) for r in data["results"]]
    assert got == [
        (2, "79990000486", "busy", 486),
        (3, "79990000404", "not_found", 404),
        (5, fresh, "not_found", 404),
    ]
    assert data["duplicates"] == [{"line": 6, "first_line": 2}]
    hist = js(tk("history", "--campaign", data["campaign"], "--json", log=log))
    assert sorted(c["number"] for c in hist["calls"]) == sorted(r[1] for r in got)
    # The same list again (stdin this time, other order): the same campaign, nobody dialled.
    again = tk(
        "call", "--numbers", "-", "--json", log=log, stdin=f"{fresh}\n79990000404\n79990000486\n"
    )
    assert again.returncode == 0 and js(again)["campaign"] == data["campaign"]
    assert js(again)["called"] == 0 and len(rows(log)) == 3


def test_bad_lines_refuse_the_run_naming_them_unless_skip_invalid(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    log = tmp_path / "calls.db"
    numbers = write_list(tmp_path / "n.txt", ["79990000404", "# note", "79990000486;evil", "12"])
    out = tk("call", "--numbers", str(numbers), log=log)
    assert out.returncode == 2
    assert f"{numbers}:3: '79990000486;evil'" in out.stderr and f"{numbers}:4:" in out.stderr
    assert "--skip-invalid" in out.stderr
    assert not log.exists() or rows(log) == []
    ru = tk("call", "--numbers", str(numbers), log=log, lang="ru")
    assert "никому не звонили" in ru.stderr


async def test_skip_invalid_calls_the_rest_and_lists_the_bad_lines(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    log = tmp_path / "calls.db"
    numbers = write_list(tmp_path / "n.txt", ["79990000404", "7999000/0486"])
    out = tk("call", "--numbers", str(numbers), "--skip-invalid", "--json", log=log)
    assert out.returncode == 0, out.stderr
    data = js(out)
    assert [r["status"] for r in data["results"]] == ["not_found"]
    (bad,) = data["invalid"]
    assert bad["line"] == 2 and "'/'" in bad["error"]


def wait_rows(log: Path, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(rows(log)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} rows after {timeout} s")


@dataclass
class SlowRun:
    """A campaign of 10 fresh numbers, each call a second long, running in its own process."""

    log: Path
    numbers: list[str]
    cmd: tuple[str, ...]
    proc: subprocess.Popen[str]

    def again(self, *more: str) -> subprocess.CompletedProcess[str]:
        return tk(*self.cmd, "--cps", "20", *more, log=self.log)


@pytest.fixture
async def slow_run(pbx: SandboxInfo, tmp_path: Path) -> AsyncIterator[SlowRun]:
    await install_trunk(pbx, extra_dialplan=SLOW_OUT)
    log = tmp_path / "calls.db"
    numbers = unique_numbers(10)
    listing = write_list(tmp_path / "n.txt", numbers)
    cmd = ("call", "--numbers", str(listing), "--context", "slow-out", "--json")
    proc = subprocess.Popen(
        argv(*cmd, "--cps", "4", "--concurrency", "3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(log),
    )
    try:
        yield SlowRun(log, numbers, cmd, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.slow
async def test_ctrl_c_waits_for_calls_in_progress_and_a_rerun_calls_nobody_twice(
    slow_run: SlowRun, provider_view: ProviderView
) -> None:
    run = slow_run
    await asyncio.to_thread(wait_rows, run.log, 3)
    run.proc.send_signal(signal.SIGINT)
    stdout, _stderr = await asyncio.to_thread(run.proc.communicate, timeout=30)
    assert run.proc.returncode == 130
    first = json.loads(stdout)
    assert first["stopped"] is True and 3 <= first["called"] < 10
    # Every call it started was waited for: none left `dialing`, each with its outcome.
    assert {r["status"] for r in rows(run.log)} == {"not_found"}
    assert len(rows(run.log)) == first["called"]
    second = await asyncio.to_thread(run.again)
    assert second.returncode == 0, second.stdout + second.stderr
    assert js(second)["called"] == 10 - first["called"]
    await asyncio.sleep(0.5)
    assert {n: provider_view.invites[n] for n in run.numbers} == dict.fromkeys(run.numbers, 1)


@pytest.mark.slow
async def test_sigkill_mid_run_then_resume_never_redials_until_retry_asks(
    slow_run: SlowRun, provider_view: ProviderView
) -> None:
    run, view = slow_run, provider_view
    await asyncio.to_thread(wait_rows, run.log, 4)
    run.proc.kill()  # SIGKILL: no cleanup at all
    await asyncio.to_thread(run.proc.wait, 10)
    left = [r["number"] for r in rows(run.log) if r["status"] == "dialing"]
    assert left, "the kill should catch calls in progress"
    await asyncio.sleep(2)  # Asterisk finishes what it had started (Wait 1 s, then the INVITE)
    resumed = await asyncio.to_thread(run.again)
    data = js(resumed)
    # Rows left `dialing` by the dead runner: unknown outcome, not dialled again.
    assert resumed.returncode == 1 and data["recovered"] == len(left)
    status = {r["number"]: r["status"] for r in data["results"]}
    assert sorted(n for n, s in status.items() if s == "interrupted") == sorted(left)
    assert all(s == "not_found" for n, s in status.items() if n not in left), (left, data)
    await asyncio.sleep(0.5)
    before = {n: view.invites[n] for n in run.numbers}
    assert all(before[n] == 1 for n in run.numbers if n not in left), before
    assert all(before[n] <= 1 for n in left), before
    # Asked for: only the interrupted ones are dialled again, each exactly once more.
    retried = await asyncio.to_thread(run.again, "--retry", "interrupted")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert js(retried)["called"] == len(left)
    await asyncio.sleep(2)
    after = {n: view.invites[n] for n in run.numbers}
    assert after == {n: before[n] + (n in left) for n in run.numbers}


# -- AMI problems name the manager.conf fix ---------------------------------------------------
def settings_file(pbx: SandboxInfo, tmp_path: Path, **ami: object) -> Path:
    from dataclasses import replace

    base = settings_of(pbx)
    path = tmp_path / "settings.toml"
    path.write_text(settings_to_toml(replace(base, ami=replace(base.ami, **ami))))
    return path


def secret_file(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "ami.secret"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_wrong_ami_secret_is_a_clear_error_naming_manager_conf(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    log = tmp_path / "calls.db"
    settings = settings_file(pbx, tmp_path, secret_file=secret_file(tmp_path, "Zq9-not-it"))
    numbers = write_list(tmp_path / "n.txt", ["79990000404"])
    for args in (("79990000404",), ("--numbers", str(numbers))):
        out = tk("call", *args, "--json", log=log, settings=settings)
        assert out.returncode == 6, out.stdout + out.stderr
        err = js(out)["error"]
        assert err["code"] == "ami_auth" and "manager.conf" in err["next"], err
        # It compared manager.conf with our secret file and says which one to fix.
        assert f"differs from the one in {tmp_path / 'ami.secret'}" in err["next"], err
        assert str(settings) in err["evidence"]
        assert "Zq9-not-it" not in out.stdout and pbx.ami["secret"] not in out.stdout
    assert all(r["status"] != "dialing" for r in rows(log))


def test_an_ami_user_missing_from_manager_conf_is_named(pbx: SandboxInfo, tmp_path: Path) -> None:
    settings = settings_file(pbx, tmp_path, username="nobody-here")
    out = tk("status", "--json", log=tmp_path / "calls.db", settings=settings)
    assert out.returncode == 6, out.stdout + out.stderr
    err = js(out)["error"]
    assert "has no user [nobody-here]" in err["next"] and "trunkctl init" in err["next"], err


def test_refused_connection_is_a_clear_error_naming_manager_conf(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.2", 0))
        port = s.getsockname()[1]
    log = tmp_path / "calls.db"
    settings = settings_file(pbx, tmp_path, port=port)
    numbers = write_list(tmp_path / "n.txt", ["79990000404"])
    out = tk("call", "--numbers", str(numbers), log=log, settings=settings)
    assert out.returncode == 6
    assert "connection refused" in out.stderr and "manager.conf" in out.stderr
    assert "enabled = yes" in out.stderr


async def test_user_without_originate_class_is_told_the_manager_conf_fix(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    secret = add_ami_user(pbx, "nooriginate", read="call,user,system", write="system,call")
    settings = settings_file(
        pbx, tmp_path, username="nooriginate", secret_file=secret_file(tmp_path, secret)
    )
    log = tmp_path / "calls.db"
    numbers = write_list(tmp_path / "n.txt", unique_numbers(3))
    out = tk("call", "--numbers", str(numbers), "--cps", "50", "--json", log=log, settings=settings)
    assert out.returncode == 6, out.stdout + out.stderr
    data = js(out)
    err = data["error"]
    assert err["code"] == "ami_permission" and "originate" in err["what"]
    assert "[nooriginate]" in err["next"] and "manager.conf" in err["next"]
    assert "manager reload" in err["next"]
    # Refused before anyone was dialled: nothing stays in the log, so a re-run after the fix
    # calls every number.
    assert rows(log) == [] and {r["status"] for r in data["results"]} == {"pending"}
    human = tk("call", "--numbers", str(numbers), log=log, settings=settings)
    assert human.returncode == 6 and "write =" in human.stderr and secret not in human.stderr


async def _pbx_channels(pbx: SandboxInfo) -> list[str]:
    from trunkctl.ami import AmiClient

    a = pbx.ami
    async with AmiClient(a["host"], a["port"], a["username"], a["secret"], events=False) as ami:
        listing = await ami.list_action("CoreShowChannels")
    return [e.get("Channel") or "" for e in listing.events]


async def test_ctrl_c_on_one_call_hangs_it_up_and_still_reports_interrupted(
    pbx: SandboxInfo, provider_view: ProviderView, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    log = tmp_path / "calls.db"
    proc = subprocess.Popen(
        argv("call", "79990000480", "--json", "--timeout", "60"),  # rings until stopped
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(log),
    )
    try:
        deadline = time.monotonic() + 15
        while provider_view.invites["79990000480"] == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert provider_view.invites["79990000480"] == 1
        stopped = time.monotonic()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.to_thread(proc.communicate, timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - stopped < 5
    assert proc.returncode == 18, stderr
    data = json.loads(stdout)
    assert data["result"]["status"] == "interrupted"
    assert "hung the call up" in data["result"]["error"]["what"]
    assert [r["status"] for r in rows(log)] == ["interrupted"]
    assert "Traceback" not in stderr
    # Nothing left ringing: neither Local half nor the trunk leg.
    assert await _pbx_channels(pbx) == []


async def test_a_failed_call_shows_what_asterisk_logged_about_it(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    log = tmp_path / "calls.db"
    failed = tk("call", "79990000200", "--context", "no-such-context", "--json", log=log)
    assert failed.returncode == 16, failed.stderr
    lines = js(failed)["asterisk_log"]
    assert any("no-such-context" in line for line in lines), lines
    text = tk("call", "79990000200", "--context", "no-such-context", log=log, lang="ru")
    assert "Asterisk записал в журнал" in text.stdout and "no-such-context" in text.stdout
    answered = tk("call", "79990000200", "--json", log=log)
    assert answered.returncode == 0 and js(answered)["asterisk_log"] == []


async def test_ringing_cut_by_trunkctls_own_limit_advises_a_longer_timeout(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    await install_trunk(pbx)
    proc = tk("call", "79990000480", "--timeout", "4", "--json", log=tmp_path / "calls.db")
    assert proc.returncode == 11, proc.stderr  # no answer
    data = js(proc)
    assert (data["ok"], data["exit_code"]) == (False, 11)  # like doctor, campaigns, api
    assert data["result"]["originate_reason"] == 3  # Asterisk: the ring timeout we gave
    assert data["explanation"]["id"] == "no_answer.ring_limit"
    steps = " ".join(data["explanation"]["next_steps"])
    assert "--timeout" in steps and "Dial(" not in steps
