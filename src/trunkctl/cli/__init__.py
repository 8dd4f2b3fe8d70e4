"""Command-line shell over the library (typer + rich live only here).

``main`` answers ``--version`` before importing typer or rich so that scripts probing the
version pay for a bare interpreter start, not for the whole CLI.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    if argv in (["--version"], ["-V"]):
        from trunkctl import __version__

        sys.stdout.write(f"trunkctl {__version__}\n")
        return
    from ._app import run

    run()
