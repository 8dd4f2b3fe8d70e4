"""Helpers shared by commands: settings, secrets from stdin/file/prompt, async running."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from trunkctl.errors import BadInput
from trunkctl.i18n import Text
from trunkctl.secret import Secret

from ._app_state import settings_path

if TYPE_CHECKING:
    from trunkctl.settings import Settings

T = TypeVar("T")

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
PasswordFile = Annotated[
    Path | None,
    typer.Option("--password-file", help="Read the password from this file (first line)."),
]
PasswordArgv = Annotated[
    str | None,
    typer.Option("--password", hidden=True, help="Refused: argv is visible to every user."),
]


def settings() -> Settings:
    """The settings chosen by --settings/--sandbox/TRUNKCTL_SETTINGS or the defaults."""
    from trunkctl.settings import load_settings

    return load_settings(settings_path())


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run library coroutines from a command (asyncio is imported only when one runs)."""
    import asyncio

    return asyncio.run(coro)


def read_password(stdin: bool, file: Path | None, argv: str | None, *, what: Text) -> Secret:
    """A secret from stdin, a file or a prompt; a value on the command line is refused."""
    if argv is not None:
        raise BadInput(
            Text(
                "a password on the command line is refused",
                "пароль в командной строке не принимается",
            ),
            evidence=Text(
                "every user of this machine can read argv (ps, /proc)",
                "любой пользователь машины видит аргументы команд (ps, /proc)",
            ),
            next_step=Text(
                "Use --password-stdin (e.g. `printf '%s' \"$PASS\" | trunkctl ... "
                "--password-stdin`) or --password-file FILE.",
                "Используйте --password-stdin (например, `printf '%s' \"$PASS\" | trunkctl ... "
                "--password-stdin`) или --password-file ФАЙЛ.",
            ),
        )
    if stdin and file is not None:
        raise BadInput(
            Text(
                "give either --password-stdin or --password-file",
                "укажите либо --password-stdin, либо --password-file",
            )
        )
    if stdin:
        value = sys.stdin.readline()
    elif file is not None:
        try:
            value = file.read_text(encoding="utf-8").split("\n", 1)[0]
        except OSError as exc:
            raise BadInput(
                Text("cannot read the password file", "не удаётся прочитать файл с паролем"),
                evidence=f"{file}: {exc.strerror}",
            ) from exc
    elif sys.stdin.isatty():
        import getpass

        value = getpass.getpass(what.render() + ": ")
    else:
        raise BadInput(
            Text(
                "no password given and no terminal to ask on",
                "пароль не передан, а спросить его негде (нет терминала)",
            ),
            next_step=Text(
                "Use --password-stdin or --password-file.",
                "Используйте --password-stdin или --password-file.",
            ),
        )
    # One trailing newline is how stdin and files end a line; anything else is kept, so
    # that check_password can refuse a value that would break the config.
    if value.endswith("\r\n"):
        value = value[:-2]
    elif value.endswith("\n"):
        value = value[:-1]
    return Secret(value)
