"""State the global options set and every command reads (kept apart to avoid import cycles)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._output import Output

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]


class State:
    """What the global options decided."""

    out: Output = Output()
    settings_path: Path | None = None


state = State()


def out(json_flag: bool = False) -> Output:
    """The invocation's Output, with a command-level ``--json`` folded in."""
    if json_flag:
        state.out.json = True
    return state.out


def settings_path() -> Path | None:
    """The settings file chosen by --settings/--sandbox/TRUNKCTL_SETTINGS."""
    return state.settings_path
