"""Commands imported only when they run (click's lazy-subcommand pattern).

Typer turns every command's signature into click parameters when the CLI starts; with a
dozen commands that alone costs more than the start-up budget. The top-level group lists
commands from this registry, with their one-line help kept here, and imports a command's
module only when that command is invoked (or its own --help is asked for).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from typer.core import TyperGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives: a function (``attr``) or a typer sub-app (``group=True``)."""

    module: str
    attr: str
    help: str
    group: bool = False


REGISTRY: dict[str, LazyCommand] = {
    "init": LazyCommand("._trunk", "init", "Prepare this server: PJSIP check, AMI user, settings."),
    "setup": LazyCommand(
        "._trunk", "setup", "Write the trunk into pjsip.conf and extensions.conf."
    ),
    "credentials": LazyCommand(
        "._trunk", "credentials_app", "Set or rotate the trunk's SIP credentials.", group=True
    ),
    "apply": LazyCommand(
        "._trunk", "apply", "Reload Asterisk, prove the trunk loaded, roll back if not."
    ),
    "status": LazyCommand(
        "._trunk", "status", "Registration, reachability, channels; exit 1 when down."
    ),
    "config": LazyCommand(
        "._config", "app", "Read configs as Asterisk does; diff, back up, restore.", group=True
    ),
    "call": LazyCommand(
        "._call", "call", "The test call (Local/NUMBER@outgoing), explained; --numbers for many."
    ),
    "history": LazyCommand("._history", "history", "The call log: outcomes, SIP codes, campaigns."),
    "doctor": LazyCommand(
        "._doctor", "doctor", "Live checks and config lint: what is wrong and how to fix it."
    ),
    "probe": LazyCommand(
        "._probe", "app", "SIP OPTIONS/REGISTER probes with Nagios exit codes.", group=True
    ),
    "support-request": LazyCommand(
        "._support", "support_request", "The message to NovoFon support, filled with facts."
    ),
    "api": LazyCommand(
        "._api",
        "app",
        "NovoFon's HTTP APIs: balance, SIP lines, password reset, calls.",
        group=True,
    ),
    "webhook": LazyCommand(
        "._webhook", "app", "Receive NovoFon's NOTIFY_* webhooks into the call log.", group=True
    ),
    "exporter": LazyCommand(
        "._exporter", "exporter", "Prometheus metrics: registration, calls, balance, doctor."
    ),
    "sandbox": LazyCommand(
        "._sandbox",
        "app",
        "The sandbox: a real Asterisk 22 pbx and an emulated NovoFon.",
        group=True,
    ),
    "demo": LazyCommand(
        "._demo", "demo", "The whole NovoFon flow, told step by step, on the sandbox."
    ),
}


# typer vendors its own click (typer._click); its types stay Any here rather than importing
# a second click just for annotations.
def _load(name: str, entry: LazyCommand) -> Any:
    import typer

    module = importlib.import_module(entry.module, __package__)
    target: Any = getattr(module, entry.attr)
    command: Any
    if entry.group:
        command = typer.main.get_group(target)
    else:
        holder = typer.Typer(add_completion=False, rich_markup_mode=None)
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A TyperGroup whose commands come from :data:`REGISTRY` on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(REGISTRY)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = REGISTRY.get(cmd_name)
        if entry is None:
            return None
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = _load(cmd_name, entry)
        return self._loaded[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, entry.help) for name, entry in REGISTRY.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
