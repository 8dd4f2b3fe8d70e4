"""`trunkctl sandbox up | down | status | logs`."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from trunkctl.i18n import Text

from ._app_state import JsonOpt, out

app = typer.Typer(
    help="The sandbox: a real Asterisk 22 pbx and an emulated NovoFon on loopback.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _sandbox() -> Any:
    from trunkctl.sandbox import Sandbox

    return Sandbox()


def print_status(status: dict[str, Any]) -> None:
    """The sandbox status as a table for humans."""
    from rich.table import Table

    o = out()
    pbx, prov = status["pbx"], status["provider"]
    running = Text("running", "работает") if status["running"] else Text("stopped", "остановлена")
    o.say(Text("Sandbox: ", "Песочница: ") + running, style="bold")
    table = Table(show_header=False, box=None, pad_edge=False)
    rows = [
        (Text("Asterisk", "Asterisk"), status["asterisk_version"] or "-"),
        (
            Text("pbx (your server)", "pbx (ваш сервер)"),
            f"{pbx['address']}:{pbx['sip_port']}  pid {pbx['pid']}",
        ),
        (Text("pbx config dir", "каталог конфигурации pbx"), pbx["config_dir"]),
        (
            Text("AMI", "AMI"),
            f"{pbx['ami']['host']}:{pbx['ami']['port']} user {pbx['ami']['username']}"
            f" (secret: {pbx['ami']['secret_file']})",
        ),
        (
            Text("provider (NovoFon)", "провайдер (NovoFon)"),
            f"{prov['sip_host']}:{prov['sip_port']}  realm {prov['realm']}  pid {prov['pid']}",
        ),
        (
            Text("SIP line login", "логин SIP-линии"),
            f"{prov['line']['login']} (password: {prov['line']['password_file']})",
        ),
        (
            Text("IP trunk", "IP-транк"),
            f"{prov['ip_trunk']['termination_address']}: "
            + o.t(
                Text("verified", "верифицирован")
                if prov["ip_trunk"]["verified"]
                else Text("not verified yet", "ещё не верифицирован")
            ),
        ),
        (Text("verification number", "номер для верификации"), prov["verification_number"]),
        (Text("settings file", "файл настроек"), status["settings_file"] or "-"),
    ]
    for label, value in rows:
        table.add_row(out().t(label), str(value))
    o.console.print(table)
    numbers = Table(title=out().t(Text("Test numbers", "Тестовые номера")))
    numbers.add_column(out().t(Text("number", "номер")))
    numbers.add_column(out().t(Text("behaviour", "поведение")))
    numbers.add_column("SIP")
    for tn in prov["test_numbers"]:
        desc = tn["description_ru"] if o.language == "ru" else tn["description"]
        numbers.add_row(tn["number"], desc, str(tn["sip_code"]))
    o.console.print(numbers)


@app.command()
def up(
    rebuild: Annotated[
        bool, typer.Option(help="Rebuild the cached Debian sid root (the pbx config is kept).")
    ] = False,
    reset: Annotated[
        bool,
        typer.Option(
            help="Give the pbx a fresh stock config (its backups folder is kept) and pick "
            "free ports if the old ones are taken."
        ),
    ] = False,
    minimal: Annotated[
        bool | None,
        typer.Option(
            "--minimal/--stock",
            help="The pbx's config: Debian's stock /etc/asterisk (default) or a minimal "
            "one; switching is a --reset. Remembered.",
        ),
    ] = None,
    unverified_ip: Annotated[
        bool | None,
        typer.Option(
            "--unverified-ip/--verified-ip",
            help="IP trunk answers 403 until a call to the verification number arrives.",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Build (once) and start the sandbox; idempotent, and a crashed instance restarts on its
    own config and ports."""
    o = out(json_)
    started = time.monotonic()
    status = _sandbox().up(
        rebuild=rebuild,
        reset=reset,
        minimal=minimal,
        unverified_ip=unverified_ip,
        progress=o.progress,
    )
    status["up_seconds"] = round(time.monotonic() - started, 2)
    if o.json:
        o.emit_json(status)
    else:
        print_status(status)
        o.say(
            Text(
                "Ready in {s} s. Try: trunkctl --sandbox demo",
                "Готово за {s} с. Попробуйте: trunkctl --sandbox demo",
            ).format(s=status["up_seconds"])
        )


@app.command()
def down(json_: JsonOpt = False) -> None:
    """Stop both instances (the cached root stays)."""
    o = out(json_)
    stopped = _sandbox().down()
    if o.json:
        o.emit_json({"stopped": stopped})
    else:
        o.say(Text("Sandbox stopped.", "Песочница остановлена."))


@app.command()
def status(json_: JsonOpt = False) -> None:
    """Addresses, ports, files, numbers and pids of the sandbox; exit 1 when stopped."""
    o = out(json_)
    st = _sandbox().status()
    if o.json:
        o.emit_json(st)
    else:
        print_status(st)
    if not st["running"]:
        raise typer.Exit(1)


@app.command()
def logs(
    which: Annotated[str, typer.Argument(help="pbx or provider")] = "pbx",
    lines: Annotated[int, typer.Option("--lines", "-n", min=1)] = 50,
    json_: JsonOpt = False,
) -> None:
    """The tail of an instance's Asterisk log."""
    o = out(json_)
    sb = _sandbox()
    text = sb.logs(which, lines)
    if o.json:
        o.emit_json(
            {"instance": which, "file": str(sb.log_path(which)), "lines": text.splitlines()}
        )
    else:
        o.console.print(text, markup=False, highlight=False)
