"""Running the installed ``trunkctl`` console script as a user would, for the CLI tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# The console script next to the interpreter running the tests (the project's venv).
TRUNKCTL = str(Path(sys.executable).with_name("trunkctl"))


def run(
    argv: Sequence[str],
    *,
    stdin: str | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``argv`` (starting with :data:`TRUNKCTL`) with text output captured; never raises on
    a non-zero exit (the tests check exit codes)."""
    return subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=None if env is None else dict(env),
    )


def js(proc: subprocess.CompletedProcess[str]) -> Any:
    """The command's ``--json`` output."""
    return json.loads(proc.stdout)
