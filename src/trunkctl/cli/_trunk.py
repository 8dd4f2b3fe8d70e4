"""`init`, `setup`, `credentials set`, `apply`, `status`: the trunk's lifecycle."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trunkctl.errors import BadInput, ConfError, EnvironmentProblem, TrunkctlError
from trunkctl.i18n import Text

if TYPE_CHECKING:
    from trunkctl.conf import Recovery
    from trunkctl.provision import ApplyResult, Leftover, Tightened
    from trunkctl.secret import Secret

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


def _permission_denied(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, PermissionError) or (
            isinstance(cur, OSError) and cur.errno in (errno.EACCES, errno.EPERM)
        ):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


@contextlib.contextmanager
def _root_needed(command: str) -> Iterator[None]:
    """A file refused for lack of permission (settings, lock, config) is the environment:
    exit 3 naming sudo, not bad input (2) or a config error (4). Root gets the original."""
    try:
        yield
    except (ConfError, BadInput, PermissionError) as exc:
        if os.geteuid() == 0 or not _permission_denied(exc):
            raise
        evidence = exc.evidence if isinstance(exc, TrunkctlError) else None
        raise EnvironmentProblem(
            Text(
                f"permission denied: `trunkctl {command}` reads and writes files only root "
                "(or Asterisk's user) may",
                f"нет прав: `trunkctl {command}` читает и пишет файлы, доступные только root "
                "(или пользователю Asterisk)",
            ),
            evidence=evidence or str(exc),
            next_step=Text(
                f"Nothing was changed. Run it as root: sudo trunkctl {command} … (or as a "
                "user that can write Asterisk's config, e.g. one in the asterisk group when "
                "the files are group-writable).",
                f"Ничего не изменено. Запустите от root: sudo trunkctl {command} … (или от "
                "пользователя с правом записи в конфигурацию Asterisk, например из группы "
                "asterisk, если файлы доступны группе на запись).",
            ),
        ) from exc


class _RecoveryLog(logging.Handler):
    """Takes trunkctl.conf's record of each interrupted commit a lock repaired (see
    ConfigDir.recoveries) and says it at once on stderr, in the user's language."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.found: list[Recovery] = []

    def emit(self, record: logging.LogRecord) -> None:
        rec = getattr(record, "recovery", None)
        if rec is None:
            if record.levelno >= logging.WARNING and logging.lastResort is not None:
                logging.lastResort.handle(record)
            return
        self.found.append(rec)
        o = out()
        line = Text("! First repaired: ", "! Сначала исправлено: ") + rec.message()
        o.err.print(line.render(o.language), style="yellow", markup=False, soft_wrap=True)


@contextlib.contextmanager
def recoveries_surfaced() -> Iterator[list[Recovery]]:
    """Around a command that locks the config dir: each interrupted commit repaired on the
    way is said once on stderr (not also by Python's last-resort logger) and collected for
    the command's JSON (``recovered``); an error leaving the block carries them too."""
    logger = logging.getLogger("trunkctl.conf")
    handler, propagate = _RecoveryLog(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.found
    except TrunkctlError as exc:
        if handler.found:
            exc.details.setdefault("recovered", [r.to_dict() for r in handler.found])
        raise
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _print_diff(diff: str) -> None:
    o = out()
    for line in diff.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        o.console.print(line, style=style, markup=False, highlight=False)


def setup(
    provider: Annotated[str, typer.Option(help="novofon, novofon-legacy or generic.")] = "novofon",
    mode: Annotated[
        str | None,
        typer.Option(
            help="registration (login+password) or ip (no credentials); default: the "
            "trunk's current mode (registration with --login or for a new trunk)."
        ),
    ] = None,
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
    no_caller_id: Annotated[
        bool, typer.Option("--no-caller-id", help="Remove the caller ID the trunk sets.")
    ] = False,
    public_ip: Annotated[
        str | None, typer.Option("--public-ip", help="This server's public IP (behind NAT).")
    ] = None,
    no_public_ip: Annotated[
        bool,
        typer.Option("--no-public-ip", help="Remove the transport's NAT settings."),
    ] = False,
    local_net: Annotated[
        list[str] | None, typer.Option("--local-net", help="Local network (CIDR); repeatable.")
    ] = None,
    no_local_net: Annotated[
        bool, typer.Option("--no-local-net", help="Remove the transport's local_net lines.")
    ] = False,
    transport: Annotated[
        str | None, typer.Option(help="udp or tcp (default: the trunk's, else the provider's).")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(help="SIP server HOST[:PORT] (default: the trunk's, else the provider's)."),
    ] = None,
    bind: Annotated[
        str | None,
        typer.Option(
            "--bind", help="Source ADDR[:PORT] for the calls (a transport bound there is used)."
        ),
    ] = None,
    inbound_context: Annotated[
        str | None,
        typer.Option("--inbound-context", help="Your own context for calls from the provider."),
    ] = None,
    inbound_app: Annotated[
        str | None,
        typer.Option(
            "--inbound-app", help="What trunkctl's inbound context runs, e.g. 'Stasis(bot)'."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the masked diff; write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            help="Replace your own sections with the same names (never your inbound "
            "context), and write into a file marked as generated."
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Write or update the trunk in pjsip.conf and extensions.conf (diff, backup, lock, atomic).

    Options not given keep the trunk's current values; --no-* removes one.
    """
    from trunkctl.conf import ConfigDir
    from trunkctl.provision import SetupArgs, run_setup

    o = out(json_)
    with _root_needed("setup"):
        cfg_settings = settings()
    args = SetupArgs(
        provider=provider,
        mode=mode,
        name=name,
        login=login,
        caller_id=caller_id,
        no_caller_id=no_caller_id,
        public_ip=public_ip,
        no_public_ip=no_public_ip,
        local_nets=tuple(local_net) if local_net else None,
        no_local_net=no_local_net,
        transport=transport,
        server=_server(server),
        settings_server=_server(cfg_settings.provider_server),
        bind=bind,
        inbound_context=inbound_context,
        inbound_app=inbound_app,
        force=force,
        password_given=password_stdin or password_file is not None or password is not None,
    )

    def secret() -> Secret:
        return read_password(
            password_stdin, password_file, password, what=Text("SIP password", "SIP-пароль")
        )

    cfg = ConfigDir(cfg_settings.config_dir)
    # A dry run takes the lock too: it first repairs an interrupted commit (issue 16), so
    # its diff is against one consistent set; it commits nothing, and the lock file exists
    # only while held, so none is left behind (issue 11).
    with (
        recoveries_surfaced() as recovered,
        _root_needed("setup"),
        cfg.transaction() as tx,
    ):
        spec, plan, kept = run_setup(tx, args, secret)
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
    tightened = _tighten(cfg.path, [] if dry_run else changed)
    data: dict[str, Any] = {
        "ok": True,
        "trunk": name,
        "mode": spec.mode,
        "provider": provider,
        "dry_run": dry_run,
        "changed": changed,
        "diff": diff,
        "transport": plan.transport,
        "created_transport": plan.created_transport,
        "inbound_context": spec.inbound_context,
        "user_inbound_context": spec.user_inbound,
        "caller_id": spec.caller_id,
        "kept": kept,
        "removed": plan.removed,
        "replaced": [r.to_dict() for r in plan.replaced],
        "leftovers": [lo.to_dict() for lo in plan.leftovers],
        "notes": [o.t(n) for n in plan.notes],
        "backups": [str(b.path) for b in backups],
        "tightened": [t.to_dict() for t in tightened],
        "recovered": [r.to_dict() for r in recovered],
    }
    if o.json:
        o.emit_json(data)
        return
    if kept:
        o.say(
            Text(
                "Kept as they are (not given this time): " + ", ".join(kept),
                "Оставлено как есть (не указано в этот раз): " + ", ".join(kept),
            ),
            style="dim",
        )
    for note in plan.notes:
        o.say(f"! {o.t(note)}", style="yellow")
    for r in plan.replaced:
        kind = f" type={r.type}" if r.type else ""
        o.say(
            Text(
                f"--force replaces your {r.file}:{r.line} [{r.name}]{kind}:",
                f"--force заменяет ваш {r.file}:{r.line} [{r.name}]{kind}:",
            ),
            style="yellow",
        )
        o.console.print(r.text, markup=False, highlight=False, style="red")
    _print_leftovers(plan.leftovers)
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
        _print_tightened(tightened)
        o.say(Text("Next: trunkctl apply", "Дальше: trunkctl apply"), style="bold")


def _tighten(config_dir: Path, changed: list[str]) -> list[Tightened]:
    """After a commit: no file it wrote a secret into stays readable by others."""
    from trunkctl.provision import tighten_secret_files

    return tighten_secret_files(config_dir, changed) if changed else []


def _print_tightened(tightened: list[Tightened]) -> None:
    o = out()
    for t in tightened:
        o.say(f"! {o.t(t.note)}", style="yellow" if t.changed else "red")


def _print_leftovers(leftovers: list[Leftover]) -> None:
    if not leftovers:
        return
    o = out()
    o.say(
        Text(
            "Your own sections below also connect to this provider (a second registration "
            "with the same line fights the trunk's); remove these lines, then run "
            "`trunkctl apply`:",
            "Ваши секции ниже тоже подключаются к этому провайдеру (вторая регистрация той же "
            "линии мешает транку); удалите эти строки и выполните `trunkctl apply`:",
        ),
        style="yellow",
    )
    for lo in leftovers:
        o.say(f"  {lo.describe()}", style="yellow")


def _apply_headline(result: ApplyResult) -> tuple[Text, str]:
    """The one line that says which of apply's outcomes this was, and its style."""
    step = result.restart_step
    if step is not None:  # needs_restart
        return Text("Needs a restart: ", "Нужен перезапуск: ") + step, "bold yellow"
    if result.outcome == "applied":
        return (
            Text(
                "Applied: Asterisk loaded everything as written.",
                "Применено: Asterisk загрузил всё, как записано.",
            ),
            "bold green",
        )
    return (
        Text(
            "Not applied: Asterisk's objects are not proven to match the files (see the "
            "lines above).",
            "Не применено: не подтверждено, что объекты Asterisk совпадают с файлами (см. "
            "строки выше).",
        ),
        "bold red",
    )


def _apply_leftovers(cfg_dir: Path) -> list[Leftover]:
    """The user's own registrations/auths/identifies that target a trunkctl trunk's provider."""
    from trunkctl.conf import ConfigDir
    from trunkctl.provision import find_leftovers, managed_objects

    cfg = ConfigDir(cfg_dir)
    try:
        objects, _ = managed_objects(cfg)
    except TrunkctlError:
        return []
    found: dict[tuple[str, int, str], Leftover] = {}
    for trunk in dict.fromkeys(name for name, type_ in objects if type_ == "endpoint"):
        for lo in find_leftovers(cfg, trunk):
            found.setdefault((lo.file, lo.first_line, lo.type), lo)
    return list(found.values())


def apply(
    no_reload: Annotated[
        bool, typer.Option("--no-reload", help="Only prove what is loaded.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Reload PJSIP and the dialplan, prove trunkctl's objects loaded; roll back if refused.

    Exit 0 when applied (and registered), 1 when a restart is needed or it was not proven.
    """
    from trunkctl.provision import apply as do_apply

    o = out(json_)
    with recoveries_surfaced() as recovered, _root_needed("apply"):
        cfg_settings = settings()
        result = run(do_apply(cfg_settings, reload=not no_reload))
    leftovers = _apply_leftovers(cfg_settings.config_dir)
    if o.json:
        o.emit_json(
            {
                **result.to_dict(),
                "leftovers": [lo.to_dict() for lo in leftovers],
                "recovered": [r.to_dict() for r in recovered],
            }
        )
    else:
        for proof in result.proofs:
            mark = "[green]✓[/green]" if proof.ok else "[red]✗[/red]"
            o.console.print(f"{mark} {proof.kind} {proof.name}: {proof.detail}", highlight=False)
        headline, style = _apply_headline(result)
        o.say(headline, style=style)
        for note in result.notes:
            if note != result.restart_step:
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
        _print_leftovers(leftovers)
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
    with _root_needed("credentials set"):
        cfg = ConfigDir(settings().config_dir)
    with (
        recoveries_surfaced() as recovered,
        _root_needed("credentials set"),
        cfg.transaction() as tx,  # a dry run too: see setup
    ):
        change = plan_credentials(tx, trunk=trunk, login=username, password=secret, profile=profile)
        diff, changed = tx.diff(), tx.changed()
        if not dry_run:
            tx.commit()
    tightened = _tighten(cfg.path, [] if dry_run else changed)
    if o.json:
        o.emit_json(
            {
                "ok": True,
                "trunk": trunk,
                "dry_run": dry_run,
                "changed": change.changed,
                "files": changed,
                "diff": diff,
                "tightened": [t.to_dict() for t in tightened],
                "recovered": [r.to_dict() for r in recovered],
            }
        )
        return
    if not changed:
        o.say(Text("The credentials are already these.", "Учётные данные уже такие."))
        return
    _print_diff(diff)
    _print_tightened(tightened)
    o.say(
        Text("Next: trunkctl apply", "Дальше: trunkctl apply")
        if not dry_run
        else Text("Dry run: nothing was written.", "Пробный запуск: ничего не записано."),
        style="bold",
    )


def _print_status(data: dict[str, Any]) -> None:
    o = out()
    ok = data["healthy"]
    unknown = data.get("state") == "unknown"
    o.say(
        Text(f"Trunk {data['trunk']}: ", f"Транк {data['trunk']}: ")
        + (
            Text("up", "работает")
            if ok
            else Text("UNKNOWN", "НЕИЗВЕСТНО")
            if unknown
            else Text("DOWN", "НЕ РАБОТАЕТ")
        ),
        style="bold green" if ok else "bold yellow" if unknown else "bold red",
    )
    reg = data["registration"]
    if reg:
        nxt = reg["next_refresh_s"]
        o.say(
            Text(f"  registration: {reg['status']}", f"  регистрация: {reg['status']}")
            + (
                Text(f", next refresh in {nxt} s", f", обновление через {nxt} с")
                if nxt is not None
                else Text(", next refresh unknown", ", время обновления неизвестно")
                if reg.get("next_refresh") == "unknown"
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
    if data.get("register_trace"):
        from trunkctl.trace import SipTrace, ladder_lines

        o.say(Text("  Asterisk's REGISTER, traced:", "  REGISTER от Asterisk, трассировка:"))
        for line in ladder_lines(SipTrace.from_dict(data["register_trace"]), o.language):
            o.say(f"    {line}")
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
    first = True
    while True:
        # Under --watch only the first round re-sends REGISTER to trace and probe it: every
        # round doing so would hammer the provider with failed authentications.
        st = run(trunk_status(cfg, trunk, probe=first))
        first = False
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
    narrow_ami: Annotated[
        bool,
        typer.Option(
            "--narrow-ami",
            help="Set an existing AMI user's read/write to the classes trunkctl needs "
            "(without it, init only says what to change).",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Prepare this server: check PJSIP, create trunkctl's AMI user, write settings."""
    from dataclasses import replace

    from trunkctl.provision import init as do_init
    from trunkctl.settings import load_settings

    o = out(json_)
    # init creates the settings file: a missing one is where it starts, not an error.
    with _root_needed("init"):
        base = load_settings(settings_path(), missing_ok=True)
    if config_dir is not None:
        base = replace(base, config_dir=config_dir)
    with recoveries_surfaced() as recovered, _root_needed("init"):
        result = do_init(
            base,
            settings_file=_default_settings_file(),
            secret_file=secret_file,
            check_asterisk=not no_check,
            narrow=narrow_ami,
        )
    data = {**result.to_dict(o.language), "recovered": [r.to_dict() for r in recovered]}
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
            + (
                "created"
                if data["ami_user_created"]
                else "narrowed"
                if data["ami_narrowed"]
                else "exists"
            ),
            f"  пользователь AMI {data['ami_user']}: "
            + (
                "создан"
                if data["ami_user_created"]
                else "права сужены"
                if data["ami_narrowed"]
                else "уже есть"
            ),
        )
    )
    o.say(Text(f"  settings: {data['settings_file']}", f"  настройки: {data['settings_file']}"))
    for note in data["notes"]:
        o.say(f"  ! {note}", style="yellow")
    o.say(Text("Next: trunkctl setup", "Дальше: trunkctl setup"), style="bold")
