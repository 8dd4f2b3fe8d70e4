"""`init`, `setup`, `credentials set`, `apply`, `status`: the trunk's lifecycle."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out, settings_path
from ._common import PasswordArgv, PasswordFile, PasswordStdin, read_password, run, settings

credentials_app = typer.Typer(
    help="Set or rotate the trunk's SIP credentials.", no_args_is_help=True, rich_markup_mode=None
)


def _server(value: str | None) -> tuple[str | None, int | None]:
    if not value:
        return None, None
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "")
    if not port:
        return value, None
    if not port.isdigit():
        raise BadInput(
            Text(f"bad --server {value!r}", f"неверный --server {value!r}"),
            next_step=Text("Use HOST or HOST:PORT.", "Укажите ХОСТ или ХОСТ:ПОРТ."),
        )
    return host, int(port)


def _print_diff(diff: str) -> None:
    o = out()
    for line in diff.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        o.console.print(line, style=style, markup=False, highlight=False)


def setup(
    provider: Annotated[str, typer.Option(help="novofon, novofon-legacy or generic.")] = "novofon",
    mode: Annotated[
        str, typer.Option(help="registration (login+password) or ip (no credentials).")
    ] = "registration",
    name: Annotated[str, typer.Option(help="Trunk (endpoint) name.")] = "novofon",
    login: Annotated[
        str | None, typer.Option(help="SIP login from the provider's cabinet.")
    ] = None,
    password_stdin: PasswordStdin = False,
    password_file: PasswordFile = None,
    password: PasswordArgv = None,
    caller_id: Annotated[
        str | None, typer.Option("--caller-id", help="Number to present, e.g. +79581114585.")
    ] = None,
    public_ip: Annotated[
        str | None, typer.Option("--public-ip", help="This server's public IP (behind NAT).")
    ] = None,
    local_net: Annotated[
        list[str] | None, typer.Option("--local-net", help="Local network (CIDR); repeatable.")
    ] = None,
    transport: Annotated[
        str | None, typer.Option(help="udp or tcp (default: the provider's).")
    ] = None,
    server: Annotated[
        str | None, typer.Option(help="SIP server HOST[:PORT] (default: the provider's).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the masked diff; write nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Overwrite your own sections with the same names.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Write the trunk into pjsip.conf and extensions.conf (diff, backup, lock, atomic)."""
    from trunkctl.conf import ConfigDir
    from trunkctl.numbers import parse_caller_id
    from trunkctl.pjsip import TrunkSpec, render_trunk
    from trunkctl.providers import get_profile
    from trunkctl.provision import plan_setup

    o = out(json_)
    if mode not in ("registration", "ip"):
        raise BadInput(
            Text(f"unknown mode {mode!r}", f"неизвестный режим {mode!r}"),
            next_step=Text(
                "Use --mode registration or --mode ip.",
                "Укажите --mode registration или --mode ip.",
            ),
        )
    cfg_settings = settings()
    host, port = _server(server or cfg_settings.provider_server)
    profile = get_profile(provider).with_server(host, port, transport)
    secret = None
    if mode == "registration":
        if login is None:
            raise BadInput(
                Text("registration mode needs --login", "для режима регистрации нужен --login"),
                next_step=Text(
                    "Give --login, or use --mode ip for the verification call.",
                    "Укажите --login или --mode ip для звонка верификации.",
                ),
            )
        profile.check_login(login)
        secret = read_password(
            password_stdin, password_file, password, what=Text("SIP password", "SIP-пароль")
        )
    elif password is not None:
        read_password(False, None, password, what=Text("", ""))
    spec = TrunkSpec(
        profile=profile,
        mode="ip" if mode == "ip" else "registration",
        name=name,
        login=login if mode == "registration" else None,
        password=secret,
        caller_id=parse_caller_id(caller_id).digits if caller_id else None,
        public_ip=public_ip,
        local_nets=tuple(local_net or ()),
    )
    config = render_trunk(spec)
    cfg = ConfigDir(cfg_settings.config_dir)
    # A dry run writes nothing, so it takes no lock and leaves no .trunkctl.lock (issue 11).
    with contextlib.nullcontext(cfg.transaction()) if dry_run else cfg.transaction() as tx:
        plan = plan_setup(tx, config, force=force)
        if plan.conflicts:
            raise TrunkctlError(
                Text(
                    "sections with these names exist and are not trunkctl's",
                    "секции с такими именами уже есть, и они не от trunkctl",
                ),
                evidence="\n".join(c.describe() for c in plan.conflicts),
                next_step=Text(
                    "Nothing was written. Pick another --name, remove those sections, or run "
                    "again with --force to replace them (a backup is kept).",
                    "Ничего не записано. Выберите другое --name, удалите эти секции или "
                    "запустите с --force, чтобы заменить их (копия сохранится).",
                ),
                conflicts=[c.describe() for c in plan.conflicts],
            )
        diff, changed = tx.diff(), tx.changed()
        backups = [] if dry_run else tx.commit()
    data: dict[str, Any] = {
        "ok": True,
        "trunk": name,
        "mode": mode,
        "provider": provider,
        "dry_run": dry_run,
        "changed": changed,
        "diff": diff,
        "transport": plan.transport,
        "created_transport": plan.created_transport,
        "removed": plan.removed,
        "backups": [str(b.path) for b in backups],
    }
    if o.json:
        o.emit_json(data)
        return
    if not changed:
        o.say(
            Text(
                "Nothing to change: the trunk is already written as asked.",
                "Менять нечего: транк уже записан именно так.",
            ),
            style="green",
        )
        return
    _print_diff(diff)
    if dry_run:
        o.say(
            Text("Dry run: nothing was written.", "Пробный запуск: ничего не записано."),
            style="yellow",
        )
    else:
        o.say(
            Text("Written: {f}. Backups are in {d}.", "Записано: {f}. Копии в {d}.").format(
                f=", ".join(changed), d=str(cfg.backup_dir)
            ),
            style="green",
        )
        o.say(Text("Next: trunkctl apply", "Дальше: trunkctl apply"), style="bold")


def apply(
    no_reload: Annotated[
        bool, typer.Option("--no-reload", help="Only prove what is loaded.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Reload PJSIP and the dialplan, prove trunkctl's objects loaded; roll back if refused."""
    from trunkctl.provision import apply as do_apply

    o = out(json_)
    result = run(do_apply(settings(), reload=not no_reload))
    if o.json:
        o.emit_json(result.to_dict())
    else:
        for proof in result.proofs:
            mark = "[green]✓[/green]" if proof.ok else "[red]✗[/red]"
            o.console.print(f"{mark} {proof.kind} {proof.name}: {proof.detail}", highlight=False)
        o.say(
            Text(
                "Applied: Asterisk loaded everything as written.",
                "Применено: Asterisk загрузил всё, как записано.",
            )
            if result.ok
            else Text("Not proven: see the lines above.", "Не подтверждено: см. строки выше."),
            style="bold green" if result.ok else "bold red",
        )
        for note in result.notes:
            o.say(f"! {o.t(note)}", style="yellow")
        for name, outcome in result.registrations.items():
            good = outcome == "Registered"
            o.say(
                Text(f"Registration {name}: {outcome}", f"Регистрация {name}: {outcome}")
                + (
                    Text("", "")
                    if good
                    else Text(" — see why: trunkctl status", " — почему, покажет: trunkctl status")
                ),
                style="green" if good else "red",
            )
    if not result.ok or not result.registered:
        raise typer.Exit(1)


@credentials_app.command("set")
def credentials_set(
    username: Annotated[str, typer.Option("--username", "--login", help="The SIP login.")],
    trunk: Annotated[str, typer.Option(help="Trunk name.")] = "novofon",
    provider: Annotated[str, typer.Option(help="Profile whose login format to check.")] = "novofon",
    password_stdin: PasswordStdin = False,
    password_file: PasswordFile = None,
    password: PasswordArgv = None,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
    json_: JsonOpt = False,
) -> None:
    """Change only the login and password (and where the login is embedded)."""
    from trunkctl.conf import ConfigDir
    from trunkctl.providers import get_profile
    from trunkctl.provision import plan_credentials

    o = out(json_)
    secret = read_password(
        password_stdin, password_file, password, what=Text("SIP password", "SIP-пароль")
    )
    profile = None if provider == "generic" else get_profile(provider)
    cfg = ConfigDir(settings().config_dir)
    with contextlib.nullcontext(cfg.transaction()) if dry_run else cfg.transaction() as tx:
        change = plan_credentials(tx, trunk=trunk, login=username, password=secret, profile=profile)
        diff, changed = tx.diff(), tx.changed()
        if not dry_run:
            tx.commit()
    if o.json:
        o.emit_json(
            {
                "ok": True,
                "trunk": trunk,
                "dry_run": dry_run,
                "changed": change.changed,
                "files": changed,
                "diff": diff,
            }
        )
        return
    if not changed:
        o.say(Text("The credentials are already these.", "Учётные данные уже такие."))
        return
    _print_diff(diff)
    o.say(
        Text("Next: trunkctl apply", "Дальше: trunkctl apply")
        if not dry_run
        else Text("Dry run: nothing was written.", "Пробный запуск: ничего не записано."),
        style="bold",
    )


def _print_status(data: dict[str, Any]) -> None:
    o = out()
    ok = data["healthy"]
    o.say(
        Text(f"Trunk {data['trunk']}: ", f"Транк {data['trunk']}: ")
        + (Text("up", "работает") if ok else Text("DOWN", "НЕ РАБОТАЕТ")),
        style="bold green" if ok else "bold red",
    )
    reg = data["registration"]
    if reg:
        nxt = reg["next_refresh_s"]
        o.say(
            Text(f"  registration: {reg['status']}", f"  регистрация: {reg['status']}")
            + (
                Text(f", next refresh in {nxt} s", f", обновление через {nxt} с")
                if nxt
                else Text("", "")
            )
        )
    else:
        o.say(Text("  registration: none (IP mode)", "  регистрация: нет (режим IP)"))
    for c in data["contacts"]:
        rtt = f", RTT {c['rtt_ms']} ms" if c["rtt_ms"] is not None else ""
        o.say(f"  contact {c['uri']}: {c['status']}{rtt}")
    if data["device_state"]:
        o.say(
            Text(
                f"  endpoint: {data['device_state']}, active channels: {data['active_channels']}",
                f"  endpoint: {data['device_state']}, активных каналов: {data['active_channels']}",
            )
        )
    probe = data.get("probe")
    if probe:
        o.say(Text("  SIP check of the credentials:", "  SIP-проверка учётных данных:"))
        for step in probe.get("steps", []):
            o.say(f"    {step['purpose'].upper()} → {step['status_code']} {step['reason']}")
    for p in data["problems"]:
        o.say(f"  ✗ {p}", style="red")
    for f in data["fixes"]:
        o.say(f"  → {f}", style="green")


def status(
    trunk: Annotated[str, typer.Option(help="Trunk name.")] = "novofon",
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh every --interval seconds.")
    ] = False,
    interval: Annotated[float, typer.Option(min=0.5)] = 2.0,
    json_: JsonOpt = False,
) -> None:
    """Registration, contact reachability and RTT, endpoint state; exit 1 when down."""
    from trunkctl.provision import trunk_status

    o = out(json_)
    cfg = settings()
    while True:
        st = run(trunk_status(cfg, trunk))
        data = st.to_dict(o.language)
        if o.json:
            o.emit_json(data)
        else:
            if watch:
                o.console.clear()
            _print_status(data)
        if not watch:
            break
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            break
    if not st.healthy:
        raise typer.Exit(1)


def _default_settings_file() -> Path:
    chosen = settings_path()
    if chosen is not None:
        return chosen
    if os.geteuid() == 0:
        return Path("/etc/trunkctl/config.toml")
    return Path.home() / ".config/trunkctl/config.toml"


def init(
    config_dir: Annotated[
        Path | None, typer.Option("--config-dir", help="Asterisk's config dir.")
    ] = None,
    secret_file: Annotated[
        Path | None, typer.Option("--secret-file", help="Where to keep the AMI secret (0600).")
    ] = None,
    no_check: Annotated[
        bool, typer.Option("--no-check", help="Do not ask the running Asterisk.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Prepare this server: check PJSIP, create trunkctl's AMI user, write settings."""
    from dataclasses import replace

    from trunkctl.provision import init as do_init
    from trunkctl.settings import load_settings

    o = out(json_)
    # init creates the settings file: a missing one is where it starts, not an error.
    base = load_settings(settings_path(), missing_ok=True)
    if config_dir is not None:
        base = replace(base, config_dir=config_dir)
    result = do_init(
        base,
        settings_file=_default_settings_file(),
        secret_file=secret_file,
        check_asterisk=not no_check,
    )
    data = result.to_dict(o.language)
    if o.json:
        o.emit_json(data)
        return
    o.say(
        Text(
            f"Asterisk config dir: {data['config_dir']}",
            f"Каталог конфигурации Asterisk: {data['config_dir']}",
        )
    )
    if data["asterisk_version"]:
        o.say(f"  {data['asterisk_version']}")
    if data["pjsip_loaded"]:
        o.say(Text("  PJSIP: loaded", "  PJSIP: загружен"), style="green")
    o.say(
        Text(
            f"  AMI user {data['ami_user']}: "
            + ("created" if data["ami_user_created"] else "exists"),
            f"  пользователь AMI {data['ami_user']}: "
            + ("создан" if data["ami_user_created"] else "уже есть"),
        )
    )
    o.say(Text(f"  settings: {data['settings_file']}", f"  настройки: {data['settings_file']}"))
    for note in data["notes"]:
        o.say(f"  ! {note}", style="yellow")
    o.say(Text("Next: trunkctl setup", "Дальше: trunkctl setup"), style="bold")
