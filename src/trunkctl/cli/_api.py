"""`trunkctl api …`: NovoFon's HTTP APIs from the shell — balance, SIP lines, password
reset, calls and the calls report.

Credentials come from the settings file's ``[novofon]`` table, ``TRUNKCTL_NOVOFON_*``
variables or ``NAME=value`` lines on stdin (``--credentials-stdin``), never from argv.
``--api-url`` points a command at another base URL (the sandbox's emulator, a proxy).

The async functions here (:func:`list_sip_lines`, :func:`reset_sip_password`,
:func:`place_call`, :func:`wait_for_call`, :func:`calls_report`) are what the commands
run and what ``trunkctl demo`` calls; nothing in them prints.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out, settings_path
from ._common import run, settings

if TYPE_CHECKING:
    from trunkctl.calllog import CallLog
    from trunkctl.novofon import CallReportRow, NovofonConfig, SipLine, StatisticsRecord
    from trunkctl.secret import Secret
    from trunkctl.settings import Settings

app = typer.Typer(
    help="NovoFon's HTTP APIs: balance, SIP lines, password reset, calls, calls report.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ApiUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="Base URL for all three APIs (REST at /v1/, Data API at /v2.0, Call API at "
        "/v4.0): the sandbox's emulator, a proxy.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds to wait for each answer (default 10).", min=0.1),
]
CredentialsStdinOpt = Annotated[
    bool,
    typer.Option(
        "--credentials-stdin",
        help="Read NAME=value lines from stdin: key, secret (REST v1), api_token, or login "
        "and password (JSON-RPC).",
    ),
]
ArgvSecretOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        "--secret",
        "--api-token",
        "--token",
        "--password",
        hidden=True,
        help="Refused: argv is visible to every user.",
    ),
]
Via = Literal["auto", "data", "v1"]


# --- configuration ------------------------------------------------------------------------


def api_config(
    api_url: str | None = None,
    timeout: float | None = None,
    credentials_stdin: bool = False,
    argv_secret: str | None = None,
) -> NovofonConfig:
    """The NovoFon settings for this invocation (settings file, environment, stdin); the
    arguments are the common options, in the order every command declares them."""
    from trunkctl.novofon import load_novofon_config, parse_credentials

    if argv_secret is not None:
        raise BadInput(
            Text(
                "a key, secret, token or password on the command line is refused",
                "ключ, секрет, токен или пароль в командной строке не принимается",
            ),
            evidence=Text(
                "every user of this machine can read argv (ps, /proc)",
                "любой пользователь машины видит аргументы команд (ps, /proc)",
            ),
            next_step=Text(
                "Put it in the settings file's [novofon] table as a *_file path, in "
                "TRUNKCTL_NOVOFON_KEY / _SECRET / _API_TOKEN / _PASSWORD, or pipe NAME=value "
                "lines: `printf 'secret=%s\\n' \"$S\" | trunkctl api ... --credentials-stdin`.",
                "Укажите его в таблице [novofon] файла настроек как путь *_file, в "
                "TRUNKCTL_NOVOFON_KEY / _SECRET / _API_TOKEN / _PASSWORD или передайте строки "
                "ИМЯ=значение: `printf 'secret=%s\\n' \"$S\" | trunkctl api ... "
                "--credentials-stdin`.",
            ),
        )
    values = parse_credentials(sys.stdin.read()) if credentials_stdin else None
    return load_novofon_config(
        settings_path(), stdin_values=values, api_url=api_url, timeout=timeout
    )


def _via(conf: NovofonConfig, via: str) -> Literal["data", "v1"]:
    if via not in ("auto", "data", "v1"):
        raise BadInput(
            Text(f"unknown --via {via!r}", f"неизвестный --via {via!r}"),
            next_step=Text(
                "Use --via data (Data API), v1 (REST v1) or auto.",
                "Укажите --via data (Data API), v1 (REST v1) или auto.",
            ),
        )
    if via == "auto":
        return "v1" if conf.has_rest and not conf.has_jsonrpc else "data"
    return "data" if via == "data" else "v1"


# --- library functions (also used by `trunkctl demo`) ------------------------------------


async def list_sip_lines(conf: NovofonConfig) -> list[SipLine]:
    """``get.sip_lines``: the account's SIP lines, their logins and registration state."""
    async with conf.data_client() as data:
        return await data.sip_lines()


def _pick_line(lines: list[SipLine], wanted: str | None) -> SipLine:
    if wanted is None and len(lines) == 1:
        return lines[0]
    for line in lines:
        if wanted is not None and wanted.strip() in (str(line.id), line.phone_number):
            return line
    known = ", ".join(f"{line.phone_number} (id {line.id})" for line in lines) or "-"
    raise BadInput(
        Text(
            "no such SIP line in the account" if wanted else "the account has several SIP lines",
            "такой SIP-линии в аккаунте нет" if wanted else "в аккаунте несколько SIP-линий",
        ),
        evidence=Text(f"lines: {known}", f"линии: {known}"),
        next_step=Text(
            "Name the line by its login or id, as `trunkctl api sip-lines` shows them.",
            "Укажите линию по логину или id, как их показывает `trunkctl api sip-lines`.",
        ),
    )


@dataclass(frozen=True)
class PasswordReset:
    """A SIP line's new password and where it went (``changed``: pjsip.conf options)."""

    line_id: int
    login: str
    password: Secret = field(repr=False)
    trunk: str | None
    changed: list[str]
    backups: list[str]

    def to_dict(self, *, show: bool = False) -> dict[str, Any]:
        """JSON-ready view; the password only with ``show``."""
        data: dict[str, Any] = {
            "line_id": self.line_id,
            "login": self.login,
            "written": self.trunk is not None,
            "trunk": self.trunk,
            "changed": self.changed,
            "backups": self.backups,
        }
        if show:
            data["password"] = self.password.reveal()
        return data


def _rescue(login: str, password: Secret) -> Path:
    """Keep a password that could not be written into pjsip.conf (0600, beside the log)."""
    from trunkctl.calllog import default_path

    folder = default_path().parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"sip-password-{login}-{int(time.time())}.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password.reveal() + "\n")
    return path


async def reset_sip_password(
    conf: NovofonConfig,
    line: str | None,
    *,
    settings: Settings | None = None,
    trunk: str | None = None,
    profile: str = "novofon",
) -> PasswordReset:
    """``update.sip_line_password`` for ``line`` (login or id; None: the only line).

    With ``settings`` the new password goes straight into ``trunk``'s auth in pjsip.conf
    through ``credentials set``'s :func:`~trunkctl.provision.plan_credentials`; that
    write is rehearsed first, so a config that cannot take it fails before NovoFon
    changes anything. Never retried (each call makes a new password).
    """
    from trunkctl.conf import ConfigDir
    from trunkctl.providers import get_profile
    from trunkctl.provision import plan_credentials
    from trunkctl.secret import Secret

    profile_obj = None if profile == "generic" else get_profile(profile)
    trunk_name = (trunk or conf.trunk) if settings is not None else None
    cfg = ConfigDir(settings.config_dir) if settings is not None else None
    async with conf.data_client() as data:
        chosen = _pick_line(await data.sip_lines(), line)
        if cfg is not None and trunk_name is not None:
            with cfg.transaction() as rehearsal:  # never committed
                plan_credentials(
                    rehearsal,
                    trunk=trunk_name,
                    login=chosen.phone_number,
                    password=Secret("rehearsal-only-0"),
                    profile=profile_obj,
                )
        password = await data.update_sip_line_password(chosen.id)
    if cfg is None or trunk_name is None:
        return PasswordReset(chosen.id, chosen.phone_number, password, None, [], [])
    try:
        with cfg.transaction() as tx:
            change = plan_credentials(
                tx,
                trunk=trunk_name,
                login=chosen.phone_number,
                password=password,
                profile=profile_obj,
            )
            backups = tx.commit()
    except (TrunkctlError, OSError) as exc:
        kept = _rescue(chosen.phone_number, password)
        raise TrunkctlError(
            Text(
                "NovoFon changed the line's password, but writing it into pjsip.conf failed",
                "NovoFon сменил пароль линии, но записать его в pjsip.conf не удалось",
            ),
            evidence=f"{type(exc).__name__}: {exc}",
            next_step=Text(
                f"The new password is kept in {kept} (0600). Put it in with `trunkctl "
                f"credentials set --login {chosen.phone_number} --password-file {kept}`, "
                "then `trunkctl apply`, and delete the file.",
                f"Новый пароль сохранён в {kept} (0600). Впишите его командой `trunkctl "
                f"credentials set --login {chosen.phone_number} --password-file {kept}`, "
                "затем `trunkctl apply`, и удалите файл.",
            ),
            rescue_file=str(kept),
        ) from exc
    return PasswordReset(
        chosen.id,
        chosen.phone_number,
        password,
        trunk_name,
        change.changed,
        [str(b.path) for b in backups],
    )


@dataclass(frozen=True)
class PlacedCall:
    """A call NovoFon accepted: how it was asked for and the ids to find it by."""

    via: Literal["callapi", "callback"]
    from_number: str
    to_number: str
    external_id: str | None
    call_session_id: int | None
    requested_at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "via": self.via,
            "from": self.from_number,
            "to": self.to_number,
            "external_id": self.external_id,
            "call_session_id": self.call_session_id,
            "requested_at": self.requested_at,
        }


def new_external_id() -> str:
    """A fresh idempotency key for ``start.simple_call`` (the calls report finds it)."""
    return f"trunkctl-{uuid.uuid4().hex[:16]}"


def _window(hours: float) -> tuple[datetime, datetime]:
    # The report's stamps may be read in the account's time zone (Moscow for most), which
    # is not published: asking from N hours ago in UTC up to 14 h ahead never misses a call
    # in a zone at or east of UTC (every Russian one) — it can only show a few more.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return now - timedelta(hours=hours), now + timedelta(hours=14)


async def _existing_call(conf: NovofonConfig, external_id: str) -> dict[str, Any] | None:
    since, till = _window(72)
    async with conf.data_client() as data:
        rows = await data.calls_report(since, till, external_id=external_id)
    if rows:
        return {"call_session_id": rows[-1].id, "finish_reason": rows[-1].finish_reason}
    async with conf.call_client() as calls:
        for active in await calls.list_calls():
            if active.external_id == external_id:
                return {"call_session_id": active.call_session_id, "finish_reason": None}
    return None


def call_via(
    conf: NovofonConfig, via: Literal["auto", "callapi", "callback"]
) -> Literal["callapi", "callback"]:
    """``auto``: the Call API when JSON-RPC credentials are set, else the v1 callback."""
    if via == "auto":
        return "callback" if conf.has_rest and not conf.has_jsonrpc else "callapi"
    return via


async def place_call(
    conf: NovofonConfig,
    number: str,
    *,
    from_: str | None = None,
    via: Literal["auto", "callapi", "callback"] = "auto",
    virtual_number: str | None = None,
    external_id: str | None = None,
    check_duplicate: bool = True,
    call_log: CallLog | None = None,
) -> PlacedCall:
    """Ask NovoFon to ring ``from_`` (default: the configured line) and connect ``number``.

    ``callapi`` (``start.simple_call``, the default with JSON-RPC credentials) or
    ``callback`` (REST v1 ``request/callback``). Never retried: a lost answer raises
    :class:`~trunkctl.novofon.NovofonOutcomeUnknown`. A caller-given ``external_id`` is
    first looked up in the calls report and the active calls, and a call already there
    is not placed again.
    """
    from trunkctl.novofon import e164_digits

    how = call_via(conf, via)
    first = from_ or conf.line
    if not first:
        raise BadInput(
            Text("whom to ring first is not known", "неизвестно, кому звонить первым"),
            next_step=Text(
                "Give --from (your SIP line's login or a phone number), or set line in the "
                "settings file's [novofon] table.",
                "Укажите --from (логин SIP-линии или номер телефона) или задайте line в "
                "таблице [novofon] файла настроек.",
            ),
        )
    target = e164_digits(number, what="number")
    if how == "callapi":
        key = external_id or new_external_id()
        if external_id is not None and check_duplicate:
            found = await _existing_call(conf, external_id)
            if found is not None:
                raise BadInput(
                    Text(
                        "a call with this external_id was already placed: not calling again",
                        "звонок с таким external_id уже был: повторно не звоню",
                    ),
                    evidence=f"external_id {external_id}: {found}",
                    next_step=Text(
                        "See it with `trunkctl api calls --external-id {x}`; use a new "
                        "external_id for a new call.",
                        "Посмотрите его: `trunkctl api calls --external-id {x}`; для нового "
                        "звонка нужен новый external_id.",
                    ).format(x=external_id),
                )
        async with conf.call_client() as calls:
            caller = virtual_number or conf.virtual_number
            if caller is None:
                async with conf.data_client() as data:
                    numbers = [n for n in await data.virtual_numbers() if n.status == "active"]
                caller = numbers[0].virtual_phone_number if numbers else None
            if caller is None:
                raise BadInput(
                    Text("the account has no virtual number", "у аккаунта нет виртуального номера"),
                    next_step=Text(
                        "Give --virtual-number, or use --via callback.",
                        "Укажите --virtual-number или используйте --via callback.",
                    ),
                )
            row = _log_start(call_log, target, key)
            try:
                started = await calls.start_simple_call(
                    virtual_phone_number=caller, contact=target, operator=first, external_id=key
                )
            except TrunkctlError as exc:
                _log_finish(call_log, row, "unknown" if _unknown(exc) else "refused")
                raise
        _log_finish(call_log, row, "requested", channel_id=str(started.call_session_id))
        return PlacedCall("callapi", first, target, key, started.call_session_id, time.time())
    async with conf.rest_client() as rest:
        row = _log_start(call_log, target, None)
        try:
            result = await rest.request_callback(first, target)
        except TrunkctlError as exc:
            _log_finish(call_log, row, "unknown" if _unknown(exc) else "refused")
            raise
    _log_finish(call_log, row, "requested")
    requested = float(result.time) if result.time is not None else time.time()
    return PlacedCall("callback", first, target, None, None, requested)


def _unknown(exc: TrunkctlError) -> bool:
    from trunkctl.novofon import NovofonOutcomeUnknown

    return isinstance(exc, NovofonOutcomeUnknown)


def _log_start(log: CallLog | None, number: str, external_id: str | None) -> int | None:
    # The call log is a record, not a gate: a log that cannot be written never stops a call.
    if log is None:
        return None
    try:
        return log.start_call(source="api", number=number, external_id=external_id)
    except Exception:  # sqlite3 errors; the call matters more than its log row
        return None


def _log_finish(log: CallLog | None, row: int | None, status: str, **fields: Any) -> None:
    if log is None or row is None:
        return
    try:
        log.finish_call(row, status=status, **fields)
    except Exception:  # see _log_start
        return


async def wait_for_call(
    conf: NovofonConfig, external_id: str, *, timeout: float = 60.0, interval: float = 1.0
) -> CallReportRow | None:
    """Poll the calls report until the call with ``external_id`` has finished (or None)."""
    since, till = _window(24)
    deadline = time.monotonic() + timeout
    async with conf.data_client() as data:
        while True:
            rows = await data.calls_report(since, till, external_id=external_id)
            done = [r for r in rows if r.finish_time]
            if done:
                return done[-1]
            if time.monotonic() + interval > deadline:
                return None
            await asyncio.sleep(interval)


async def calls_report(
    conf: NovofonConfig,
    *,
    hours: float = 24.0,
    external_id: str | None = None,
    via: Literal["data", "v1"] = "data",
) -> list[CallReportRow] | list[StatisticsRecord]:
    """The calls of the last ``hours``: Data API report rows, or REST v1 statistics."""
    since, till = _window(hours)
    if via == "v1":
        # REST v1 statistics serve at most a month; the window here is far shorter.
        async with conf.rest_client() as rest:
            return list((await rest.statistics(since, till)).stats)
    async with conf.data_client() as data:
        return await data.calls_report(since, till, external_id=external_id)


# --- commands -----------------------------------------------------------------------------


def _table(titles: tuple[Text, ...], rows: list[tuple[str, ...]]) -> None:
    from rich.table import Table

    o = out()
    table = Table()
    for title in titles:
        table.add_column(o.t(title))
    for row in rows:
        table.add_row(*row)
    o.console.print(table)


@app.command()
def balance(
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The account balance (REST v1 info/balance; the JSON-RPC APIs have none)."""
    o = out(json_)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)

    async def fetch() -> Any:
        async with conf.rest_client() as rest:
            return await rest.balance()

    result = run(fetch())
    if o.json:
        o.emit_json({"balance": result.balance, "currency": result.currency})
    else:
        o.say(
            Text(
                f"Balance: {result.balance:.2f} {result.currency}",
                f"Баланс: {result.balance:.2f} {result.currency}",
            )
        )


@app.command("sip-lines")
def sip_lines(
    via: Annotated[str, typer.Option(help="data (Data API), v1 (REST v1) or auto.")] = "auto",
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The account's SIP lines: login, registration state, addresses (never passwords)."""
    o = out(json_)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    how = _via(conf, via)
    rows: list[dict[str, Any]]
    if how == "data":
        rows = [
            {
                "id": line.id,
                "login": line.phone_number,
                "registered": line.registered,
                "physical_state": line.physical_state,
                "ip_addresses": [{"ip": a.ip, "date_time": a.date_time} for a in line.ip_addresses],
                "channels": line.channels_count,
                "virtual_phone_number": line.virtual_phone_number,
            }
            for line in run(list_sip_lines(conf))
        ]
    else:

        async def fetch() -> list[dict[str, Any]]:
            async with conf.rest_client() as rest:
                found = []
                for sip in (await rest.sip_numbers()).sips:
                    online = (await rest.sip_status(sip.id)).is_online
                    found.append(
                        {
                            "id": sip.id,
                            "login": sip.id,
                            "registered": online,
                            "display_name": sip.display_name,
                            "channels": sip.lines,
                        }
                    )
                return found

        rows = run(fetch())
    if o.json:
        o.emit_json({"via": how, "lines": rows})
        return
    _table(
        (
            Text("id", "id"),
            Text("SIP login", "SIP-логин"),
            Text("registered", "регистрация"),
            Text("from", "откуда"),
            Text("virtual number", "вирт. номер"),
        ),
        [
            (
                str(row["id"]),
                row["login"],
                o.t(Text("yes", "да") if row["registered"] else Text("no", "нет")),
                ", ".join(a["ip"] for a in row.get("ip_addresses", [])) or "-",
                row.get("virtual_phone_number") or "-",
            )
            for row in rows
        ],
    )
    o.say(
        Text(
            "NovoFon never shows a line's password; to get one, reset it into your config: "
            "trunkctl api reset-sip-password LOGIN --write-config",
            "NovoFon не показывает пароль линии; чтобы получить его, сбросьте его сразу в "
            "конфигурацию: trunkctl api reset-sip-password ЛОГИН --write-config",
        )
    )


@app.command("reset-sip-password")
def reset_sip_password_cmd(
    line: Annotated[
        str | None, typer.Argument(help="The line's SIP login or id (default: the only one).")
    ] = None,
    write_config: Annotated[
        bool,
        typer.Option("--write-config", help="Put the new password into pjsip.conf (the trunk)."),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Print the new password.")] = False,
    trunk: Annotated[
        str | None, typer.Option(help="Trunk whose auth gets it (default: [novofon] trunk).")
    ] = None,
    provider: Annotated[str, typer.Option(help="Profile whose login format to check.")] = "novofon",
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make NovoFon generate a new SIP password (Data API) and write it into pjsip.conf."""
    o = out(json_)
    if not write_config and not show:
        raise BadInput(
            Text(
                "the new password would be lost: nothing to do with it was asked",
                "новый пароль потерялся бы: не сказано, что с ним делать",
            ),
            next_step=Text(
                "Add --write-config (into pjsip.conf, not printed) or --show (print it).",
                "Добавьте --write-config (в pjsip.conf, без вывода) или --show (вывести).",
            ),
        )
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    target = settings() if write_config else None
    result = run(reset_sip_password(conf, line, settings=target, trunk=trunk, profile=provider))
    if o.json:
        o.emit_json({"ok": True, **result.to_dict(show=show)})
        return
    o.say(
        Text(
            f"NovoFon generated a new password for line {result.login} (id {result.line_id}).",
            f"NovoFon сгенерировал новый пароль линии {result.login} (id {result.line_id}).",
        ),
        style="green",
    )
    if result.trunk is not None:
        o.say(
            Text(
                f"Written into pjsip.conf (trunk {result.trunk}): " + ", ".join(result.changed),
                f"Записан в pjsip.conf (транк {result.trunk}): " + ", ".join(result.changed),
            )
            if result.changed
            else Text("pjsip.conf already had it.", "В pjsip.conf он уже был.")
        )
        o.say(Text("Next: trunkctl apply", "Дальше: trunkctl apply"), style="bold")
    if show:
        o.console.print(result.password.reveal(), markup=False, highlight=False)


@app.command()
def call(
    number: Annotated[str, typer.Argument(help="The number to connect, e.g. 79991234567.")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Who rings first: your SIP line (default) or a phone."),
    ] = None,
    via: Annotated[
        str, typer.Option(help="callapi (start.simple_call), callback (REST v1) or auto.")
    ] = "auto",
    virtual_number: Annotated[
        str | None, typer.Option("--virtual-number", help="Caller ID for the Call API.")
    ] = None,
    external_id: Annotated[
        str | None,
        typer.Option(
            "--external-id", help="Idempotency key; a call already made with it is not repeated."
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for the outcome in the calls report.")
    ] = False,
    wait_timeout: Annotated[
        float, typer.Option("--wait-timeout", help="Seconds --wait waits.", min=1)
    ] = 90.0,
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make NovoFon ring your line, then connect NUMBER (never retried automatically)."""
    from trunkctl.calllog import CallLog
    from trunkctl.novofon import report_status

    o = out(json_)
    if via not in ("auto", "callapi", "callback"):
        raise BadInput(
            Text(f"unknown --via {via!r}", f"неизвестный --via {via!r}"),
            next_step=Text(
                "Use --via callapi, callback or auto.", "Укажите --via callapi, callback или auto."
            ),
        )
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    how = call_via(
        conf, "callapi" if via == "callapi" else "callback" if via == "callback" else "auto"
    )
    if external_id is not None and how == "callback":
        raise BadInput(
            Text(
                "--external-id is a Call API feature; request/callback has none",
                "--external-id есть только в Call API; у request/callback его нет",
            ),
            next_step=Text(
                "Use --via callapi, or drop --external-id.",
                "Укажите --via callapi или уберите --external-id.",
            ),
        )
    if wait and how == "callback":
        raise BadInput(
            Text("--wait needs the Call API", "--wait работает только с Call API"),
            next_step=Text(
                "Drop --wait and look later: trunkctl api calls --via v1",
                "Уберите --wait и посмотрите позже: trunkctl api calls --via v1",
            ),
        )
    key = external_id or new_external_id()
    if how == "callapi":
        # On stderr before sending, even with --json: if this process dies while the
        # request is out, the id still finds the call in the report.
        o.err.print(f"external_id: {key}", markup=False, highlight=False)
    try:
        log: CallLog | None = CallLog()
    except TrunkctlError:
        log = None  # see _log_start: no log row, but the call still goes
    try:
        placed = run(
            place_call(
                conf,
                number,
                from_=from_,
                via=how,
                virtual_number=virtual_number,
                external_id=key,
                check_duplicate=external_id is not None,
                call_log=log,
            )
        )
        outcome: CallReportRow | None = None
        if wait and placed.external_id is not None:
            o.progress(Text("waiting for the outcome…", "жду результат…"))
            outcome = run(wait_for_call(conf, placed.external_id, timeout=wait_timeout))
    finally:
        if log is not None:
            log.close()
    data: dict[str, Any] = {"ok": True, **placed.to_dict()}
    status = None
    if wait:
        status = report_status(outcome) if outcome is not None else None
        data["outcome"] = (
            None
            if outcome is None
            else {
                "status": status,
                "finish_reason": outcome.finish_reason,
                "talk_duration": outcome.talk_duration,
                "total_duration": outcome.total_duration,
                "call_session_id": outcome.id,
            }
        )
    if o.json:
        o.emit_json(data)
    else:
        o.say(
            Text(
                f"NovoFon accepted the call: {placed.from_number} rings first, then "
                f"{placed.to_number} ({placed.via}).",
                f"NovoFon принял звонок: сначала звонит {placed.from_number}, затем "
                f"{placed.to_number} ({placed.via}).",
            ),
            style="green",
        )
        if placed.external_id:
            o.say(f"external_id: {placed.external_id}, call_session_id: {placed.call_session_id}")
        if wait and outcome is None:
            o.say(
                Text(
                    f"No outcome within {wait_timeout:g} s; look later: trunkctl api calls "
                    f"--external-id {placed.external_id}",
                    f"Результата за {wait_timeout:g} с нет; посмотрите позже: trunkctl api calls "
                    f"--external-id {placed.external_id}",
                ),
                style="yellow",
            )
        elif outcome is not None:
            o.say(
                Text(
                    f"Outcome: {status} ({outcome.finish_reason}), talk {outcome.talk_duration} s",
                    f"Итог: {status} ({outcome.finish_reason}), разговор {outcome.talk_duration} с",
                ),
                style="bold green" if status == "answered" else "bold red",
            )
    if wait and status != "answered":
        raise typer.Exit(1)


@app.command()
def calls(
    hours: Annotated[float, typer.Option(help="How far back to look.", min=0.01)] = 24.0,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="Only the call started with this id.")
    ] = None,
    via: Annotated[str, typer.Option(help="data (calls report), v1 (statistics), auto.")] = "auto",
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The calls report: what happened to recent calls (Data API, or REST v1 statistics)."""
    from trunkctl.novofon import CallReportRow, disposition_status, report_status

    o = out(json_)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    how = _via(conf, via)
    rows = run(calls_report(conf, hours=hours, external_id=external_id, via=how))
    items: list[dict[str, Any]] = []
    for row in rows:
        if isinstance(row, CallReportRow):
            items.append(
                {
                    "id": row.id,
                    "start_time": row.start_time,
                    "finish_time": row.finish_time,
                    "status": report_status(row),
                    "finish_reason": row.finish_reason,
                    "contact": row.contact_phone_number,
                    "virtual_phone_number": row.virtual_phone_number,
                    "talk_duration": row.talk_duration,
                    "external_id": row.call_api_external_id,
                    "source": row.source,
                }
            )
        elif external_id is None:
            items.append(
                {
                    "id": row.id,
                    "start_time": row.callstart,
                    "status": disposition_status(row.disposition),
                    "finish_reason": row.disposition,
                    "from": row.from_number,
                    "contact": row.to_number,
                    "talk_duration": row.billseconds,
                }
            )
    if o.json:
        o.emit_json({"via": how, "calls": items})
        return
    if not items:
        o.say(Text("No calls in that period.", "Звонков за этот период нет."))
        return
    _table(
        (
            Text("start", "начало"),
            Text("number", "номер"),
            Text("outcome", "итог"),
            Text("talk, s", "разговор, с"),
            Text("external_id", "external_id"),
        ),
        [
            (
                str(item["start_time"] or "-"),
                str(item.get("contact") or "-"),
                f"{item['status']} ({item['finish_reason'] or '-'})",
                "-" if item.get("talk_duration") is None else str(item["talk_duration"]),
                str(item.get("external_id") or "-"),
            )
            for item in items
        ],
    )


@app.command("settings")
def show_settings(
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Which URLs and credentials the api commands would use (names, never values)."""
    o = out(json_)
    data = api_config(api_url, None, credentials_stdin, argv_secret).to_dict()
    if o.json:
        o.emit_json(data)
        return
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        o.say(f"{key}: {shown if shown not in (None, '') else '-'}")
