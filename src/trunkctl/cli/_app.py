"""The typer application: global options, command groups, and the error boundary."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

# typer vendors click (typer._click, pinned with typer); its usage errors are not re-exported.
from typer._click.exceptions import ClickException, UsageError

from trunkctl import __version__
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Lang, Text, set_lang

from ._app_state import JsonOpt, state
from ._lazy import LazyGroup

app = typer.Typer(
    name="trunkctl",
    help=(
        "Set up, test and diagnose an Asterisk PJSIP trunk to NovoFon.\n\n"
        "Настройка, проверка и диагностика PJSIP-транка Asterisk к NovoFon."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=LazyGroup,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"trunkctl {__version__}\n")
        raise typer.Exit()


@app.callback()
def _global(
    json_: JsonOpt = False,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="Language of messages: ru or en (default: from LANG)."),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            envvar="TRUNKCTL_SETTINGS",
            help="trunkctl settings file (config dir, AMI address, user, secret file).",
            # click's Path checks readability before any command runs and calls an
            # unreadable file a usage error (2); trunkctl's own reading says "use sudo" (3).
            readable=False,
        ),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Short for --settings <the sandbox's settings file>."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Global options come before the command: trunkctl [--json] [--lang ru] CMD."""
    state.out.json = state.out.json or json_
    if lang is not None:
        if lang not in ("ru", "en"):
            raise BadInput(
                Text(f"unknown language {lang!r}", f"неизвестный язык {lang!r}"),
                next_step=Text("Use --lang ru or --lang en.", "Укажите --lang ru или --lang en."),
            )
        chosen: Lang = "ru" if lang == "ru" else "en"
        set_lang(chosen)
        state.out.lang = chosen
    if sandbox:
        from trunkctl.settings import sandbox_dir, sandbox_settings_path

        state.settings_path = sandbox_settings_path()
        # The sandbox's calls are not the server's: their own log, unless one is named.
        os.environ.setdefault("TRUNKCTL_CALL_LOG", str(sandbox_dir() / "calls.db"))
    else:
        state.settings_path = settings


def _usage_error(exc: UsageError) -> NoReturn:
    """A wrong option or argument: nothing ran. Under --json a script gets JSON too (the
    global callback may not have run, so the raw argv decides), else click's own text."""
    if "--json" not in sys.argv[1:]:
        exc.show()
        raise SystemExit(exc.exit_code)
    if exc.exit_code != 2:
        # A command that handles its own usage errors (probe: a Nagios UNKNOWN verdict,
        # exit 3) has printed its JSON already.
        raise SystemExit(exc.exit_code)
    command = exc.ctx.command_path if exc.ctx is not None else "trunkctl"
    state.out.json = True
    state.out.fail(
        BadInput(
            Text(f"usage: {exc.format_message()}", f"неверный вызов: {exc.format_message()}"),
            evidence=Text(f"command: {command}", f"команда: {command}"),
            next_step=Text(f"See `{command} --help`.", f"Посмотрите `{command} --help`."),
            usage=True,
        )
    )


def run() -> None:
    """Run the CLI; the one place where exceptions become messages and exit codes."""
    try:
        # Not standalone: usage errors come here (for --json) instead of being printed.
        code = app(prog_name="trunkctl", standalone_mode=False)
        raise SystemExit(code if isinstance(code, int) else 0)
    except UsageError as exc:
        _usage_error(exc)
    except ClickException as exc:  # e.g. a file option that cannot be opened
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        state.out.err.print(Text("Interrupted.", "Прервано.").render(state.out.language))
        raise SystemExit(130) from None
    except TrunkctlError as exc:
        state.out.fail(exc)
    except KeyboardInterrupt:
        state.out.err.print(Text("Interrupted.", "Прервано.").render(state.out.language))
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("TRUNKCTL_DEBUG"):
            raise
        state.out.fail(
            TrunkctlError(
                Text("internal error in trunkctl", "внутренняя ошибка trunkctl"),
                evidence=f"{type(exc).__name__}: {exc}",
                next_step=Text(
                    "Run again with TRUNKCTL_DEBUG=1 to see the traceback, and report it.",
                    "Запустите снова с TRUNKCTL_DEBUG=1, чтобы увидеть трассировку, "
                    "и сообщите о ней.",
                ),
            )
        )
