"""The campaign runner's bookkeeping without Asterisk: resuming, dead and live runners, retry
planning, refusals before anything is written.

Dialling itself is tested through the sandbox in test_campaign.py. Here the client is one
that never connected (and does not reconnect), so any number the runner decides to dial
ends ``pending`` with an AMI connection error: that is how the plan is observed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient
from trunkctl.calling import CampaignError, CampaignRunner, read_numbers
from trunkctl.calllog import CallLog
from trunkctl.errors import AmiConnectionError, BadInput

NUMBERS = ["79990000200", "79990000486", "79990000404", "79990000503"]


def make(log: CallLog, **options: object) -> CampaignRunner:
    listing = read_numbers("\n".join(NUMBERS), source="t")
    return CampaignRunner(listing, log, campaign="c1", **options)  # type: ignore[arg-type]


def offline() -> AmiClient:
    return AmiClient("127.0.0.1", 9, "nobody", "x", reconnect=False)


def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


def seed(log: CallLog, number: str, status: str, runner: str | None = None) -> int:
    detail = {"attempt": 1, **({"runner": runner} if runner else {})}
    row = log.start_call(source="asterisk", number=number, campaign="c1", detail=detail)
    if status != "dialing":
        log.finish_call(row, status=status, sip_code=486 if status == "busy" else None)
    return row


async def test_a_row_left_dialing_by_a_dead_runner_is_interrupted_and_not_dialled(
    tmp_path: Path,
) -> None:
    log = CallLog(tmp_path / "calls.db")
    log.open_campaign("c1", total=4)
    for number in NUMBERS[:3]:
        seed(log, number, "busy")
    # pid 2**22 + 1 cannot exist (pid_max is at most 2**22): the runner is gone.
    seed(log, NUMBERS[3], "dialing", runner=f"{2**22 + 1}:123:abcd")
    report = await make(log).run(client=offline())
    assert report.recovered == 1 and report.called == 0 and report.error is None
    assert [r.status for r in report.results] == ["busy", "busy", "busy", "interrupted"]
    assert report.exit_code == 1  # an outcome is unknown
    (row,) = [r for r in log.calls() if r["number"] == NUMBERS[3]]
    assert row["status"] == "interrupted" and "runner" not in row["detail"]
    assert "stopped before its outcome was known" in row["detail"]["recovered"]


async def test_a_campaign_another_live_process_is_dialling_is_refused(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    log.open_campaign("c1", total=4)
    other = subprocess.Popen(["sleep", "30"])
    try:
        seed(log, NUMBERS[0], "dialing", runner=f"{other.pid}:{start_time(other.pid)}:ffff")
        with pytest.raises(CampaignError) as info:
            await make(log).run(client=offline())
        assert f"process {other.pid}" in str(info.value.evidence)
        assert log.calls()[0]["status"] == "dialing"  # left alone
        # The same pid with another start time is a reused pid: that runner is dead.
        log.forget("c1", [NUMBERS[0]])
        seed(log, NUMBERS[0], "dialing", runner=f"{other.pid}:1:ffff")
        report = await make(log).run(client=offline())
        assert report.recovered == 1
    finally:
        other.kill()
        other.wait()


async def test_retry_plans_only_the_statuses_asked_for(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    log.open_campaign("c1", total=4)
    seed(log, NUMBERS[0], "answered")
    seed(log, NUMBERS[1], "busy")
    seed(log, NUMBERS[2], "interrupted")
    plain = await make(log).run(client=offline())
    # Only the number never called would be dialled; the offline client stops it there.
    assert [r.status for r in plain.results] == ["answered", "busy", "interrupted", "pending"]
    assert isinstance(plain.error, AmiConnectionError)
    assert "run the same command again" in plain.error.next_step.en  # type: ignore[union-attr]
    retry = await make(log, retry={"interrupted", "busy"}).run(client=offline())
    assert [r.status for r in retry.results] == ["answered", "pending", "pending", "pending"]
    # Nothing was dialled, and the earlier outcomes are still in the log.
    assert {r["number"]: r["status"] for r in log.calls()} == {
        NUMBERS[0]: "answered",
        NUMBERS[1]: "busy",
        NUMBERS[2]: "interrupted",
    }


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({"concurrency": 0}, "--concurrency"),
        ({"timeout": 0.5}, "--timeout"),
        ({"ring_timeout": -1}, "--timeout"),
        ({"cps": 0}, "calls per second"),
        ({"app": "Playback,evil"}, "application name"),
        ({"data": "hello\r\nAction: Command"}, "line break"),
        ({"retry": {"sometimes"}}, "--retry"),
        ({"campaign": "a b"}, "campaign name"),
        ({"context": "out@going"}, "'@'"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    tmp_path: Path, options: dict[str, object], needle: str
) -> None:
    log = CallLog(tmp_path / "calls.db")
    listing = read_numbers("79990000200\n", source="t")
    with pytest.raises(BadInput) as info:
        CampaignRunner(listing, log, **options)  # type: ignore[arg-type]
    assert needle in info.value.what.en, info.value.what.en
    assert info.value.what.ru and info.value.next_step is not None
    assert log.calls() == []


def test_a_list_with_bad_lines_is_refused_unless_skip_invalid(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    listing = read_numbers("79990000200\n7999@1\n", source="t")
    with pytest.raises(BadInput):
        CampaignRunner(listing, log)
    runner = CampaignRunner(listing, log, skip_invalid=True)
    assert runner.campaign == listing.campaign_id()
    with pytest.raises(BadInput):  # nothing valid at all
        CampaignRunner(read_numbers("# only a comment\n"), log)


async def test_report_json_and_exit_code_of_a_finished_campaign(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    log.open_campaign("c1", total=4)
    for number in NUMBERS:
        seed(log, number, "busy")
    report = await make(log).run(client=offline())
    assert report.exit_code == 0 and report.error is None  # no AMI needed: nothing to do
    data = report.to_dict("en")
    assert data["ok"] is True and data["counts"] == {"busy": 4} and data["called"] == 0
    assert data["results"][1] == {
        "number": "79990000486",
        "line": 2,
        "status": "busy",
        "called": False,
        "attempt": 1,
        "sip_code": 486,
        "sip_reason": None,
        "q850": None,
        "dial_status": None,
        "explanation": None,
        "channel_id": None,
        "duration": None,
        "error": None,
    }
    assert data["call_log"] == str(tmp_path / "calls.db") and os.path.isabs(data["call_log"])
