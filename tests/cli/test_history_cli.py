"""`trunkctl history` on an empty or filtered call log (no Asterisk needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def history(log: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("trunkctl")), "--lang", lang, "history", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
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
