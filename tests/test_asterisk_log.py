"""Reading what Asterisk logged during a step (apply reads a reload's refusals this way),
and the sandbox's own log rotation."""

from __future__ import annotations

from pathlib import Path

from trunkctl.asterisk import log_position, log_since
from trunkctl.sandbox._instance import _rotate
from trunkctl.settings import Settings

BEFORE = "[Nov 26 09:00:00] WARNING[1] config.c: old warning\n"
AFTER = "[Nov 26 09:00:01] ERROR[2] res_pjsip.c: new error\n[Nov 26 09:00:01] NOTICE[2] x: y\n"


def test_only_lines_written_after_the_position_of_the_asked_levels(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text(BEFORE)
    settings = Settings(log_file=log)
    position = log_position(settings)
    with log.open("a") as fh:
        fh.write(AFTER)
    assert log_since(settings, position) == [AFTER.splitlines()[0]]
    assert log_since(settings, position, levels=("NOTICE",)) == [AFTER.splitlines()[1]]


def test_a_log_rotated_meanwhile_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text(BEFORE * 20)
    settings = Settings(log_file=log)
    position = log_position(settings)
    log.replace(tmp_path / "messages.log.1")  # logrotate, or the sandbox's start
    log.write_text(AFTER)
    assert log_since(settings, position) == [AFTER.splitlines()[0]]


def test_no_log_or_a_missing_file_reads_as_nothing(tmp_path: Path) -> None:
    assert log_position(Settings()) == 0 and log_since(Settings(), 0) == []
    missing = Settings(log_file=tmp_path / "none.log")
    assert log_position(missing) == 0 and log_since(missing, 0) == []


def test_sandbox_logs_are_set_aside_only_when_over_the_limit(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text("small\n")
    _rotate(log, limit=100)
    assert log.read_text() == "small\n" and not (tmp_path / "messages.log.1").exists()
    log.write_text("x" * 101)
    (tmp_path / "messages.log.1").write_text("older\n")
    _rotate(log, limit=100)
    assert not log.exists() and (tmp_path / "messages.log.1").read_text() == "x" * 101
    _rotate(tmp_path / "absent.log", limit=100)  # nothing to do, no error
