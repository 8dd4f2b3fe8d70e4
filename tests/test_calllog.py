"""The call log: rows survive, campaigns never call a number twice, the file is private."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from trunkctl.calllog import CallLog


def test_call_rows_round_trip(tmp_path: Path) -> None:
    with CallLog(tmp_path / "calls.db") as log:
        row = log.start_call(source="asterisk", number="79990000486", channel_id="trunkctl-1")
        assert log.calls()[0]["status"] == "dialing"
        log.finish_call(
            row,
            status="busy",
            sip_code=486,
            q850=17,
            dial_status="BUSY",
            detail={"explanation": "busy"},
        )
        (call,) = log.calls()
        assert (call["status"], call["sip_code"], call["q850"]) == ("busy", 486, 17)
        assert call["detail"] == {"explanation": "busy"} and call["ended_at"] >= call["started_at"]
    assert stat.S_IMODE((tmp_path / "calls.db").stat().st_mode) == 0o600


def test_a_campaign_never_starts_a_number_twice(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    assert log.open_campaign("c1", total=2) == {}
    log.start_call(source="asterisk", number="79990000200", campaign="c1")
    with pytest.raises(sqlite3.IntegrityError):
        log.start_call(source="asterisk", number="79990000200", campaign="c1")
    # Reopened later (a resumed run): the number is known, still 'dialing' if interrupted.
    assert CallLog(tmp_path / "calls.db").open_campaign("c1", total=2) == {"79990000200": "dialing"}
    log.forget("c1", ["79990000200"])
    assert log.open_campaign("c1", total=2) == {}


def test_events_are_kept_in_order(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    log.record_event(source="webhook", kind="NOTIFY_START", call_id="42", payload={"a": 1})
    log.record_event(source="webhook", kind="NOTIFY_END", call_id="42", payload={"b": 2})
    assert [e["kind"] for e in log.events(call_id="42")] == ["NOTIFY_END", "NOTIFY_START"]
    assert log.events()[0]["payload"] == {"b": 2}


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.db")
    row = log.start_call(source="asterisk", number="7")
    with pytest.raises(ValueError):
        log.finish_call(row, status="x", password="no")


def test_a_started_call_is_committed_before_start_call_returns(tmp_path: Path) -> None:
    """The row must be on disk before the Originate goes out: a process killed right after
    start_call leaves a row that a resumed campaign sees (and so never dials it again)."""
    path = tmp_path / "calls.db"
    with CallLog(path) as log:
        row = log.start_call(source="asterisk", number="79990000200", campaign="c1")
        other = sqlite3.connect(path)  # another connection sees only committed data
        try:
            assert other.execute("SELECT status FROM calls WHERE id = ?", (row,)).fetchall() == [
                ("dialing",)
            ]
            log.finish_call(row, status="answered")
            assert other.execute("SELECT status FROM calls WHERE id = ?", (row,)).fetchall() == [
                ("answered",)
            ]
            assert not log._db.in_transaction
        finally:
            other.close()
