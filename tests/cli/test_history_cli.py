"""`trunkctl history` on an empty or filtered call log (no Asterisk needed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ._run import TRUNKCTL, js, run


def history(log: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return run(
        [TRUNKCTL, "--lang", lang, "history", *args],
        timeout=60,
        env={**os.environ, "TRUNKCTL_CALL_LOG": str(log), "COLUMNS": "300"},
    )


def test_an_empty_log_and_a_filter_that_matches_nothing_say_different_things(
    tmp_path: Path,
) -> None:
    log = tmp_path / "calls.db"
    empty = history(log)
    assert empty.returncode == 0 and "No calls in" in empty.stdout and "yet" in empty.stdout
    nope = history(log, "--campaign", "nope")
    assert nope.returncode == 0 and "No calls match (campaign nope)" in nope.stdout
    ru = history(log, "--campaign", "nope", "--source", "api", lang="ru")
    assert "нет звонков (кампания nope, источник api)" in ru.stdout


def test_sandbox_calls_have_their_own_log(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRUNKCTL_CALL_LOG"}
    env["TRUNKCTL_SANDBOX_DIR"] = str(tmp_path / "sandbox")
    (tmp_path / "sandbox").mkdir()

    def log_used() -> str:
        proc = run([TRUNKCTL, "--sandbox", "history", "--json"], timeout=60, env=env)
        assert proc.returncode == 0, proc.stderr
        return str(js(proc)["call_log"])

    assert log_used() == str(tmp_path / "sandbox" / "calls.db")
    env["TRUNKCTL_CALL_LOG"] = str(tmp_path / "mine.db")  # a log named explicitly still wins
    assert log_used() == str(tmp_path / "mine.db")
