"""`trunkctl api …`: NovoFon's HTTP APIs from the shell — balance, SIP lines, password
reset, calls and the calls report.

Credentials come from the settings file's ``[novofon]`` table, ``TRUNKCTL_NOVOFON_*``
variables or ``NAME=value`` lines on stdin (``--credentials-stdin``), never from argv.
``--api-url`` points a command at another base URL (the sandbox's emulator, a proxy).

The work itself is library code, shared with ``trunkctl demo``: SIP lines and the password
reset in :mod:`trunkctl.provision`, calls and the calls report in :mod:`trunkctl.calling`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import typer

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out, settings_path
from ._common import run, settings

if TYPE_CHECKING:
    from trunkctl.calllog import CallLog
    from trunkctl.novofon import CallReportRow, NovofonConfig

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
    typer.Option(
        "--timeout",
        help="Seconds each request may take, connect to last byte (default 10).",
        min=0.1,
    ),
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


def _via_choice(via: str, allowed: tuple[str, ...], hint: Text) -> str:
    """``via`` when it is one of ``allowed``; otherwise the usage error with ``hint``."""
    if via not in allowed:
        raise BadInput(Text(f"unknown --via {via!r}", f"неизвестный --via {via!r}"), next_step=hint)
    return via


def _via(conf: NovofonConfig, via: str) -> Literal["data", "v1"]:
    from trunkctl.provision import read_via

    hint = Text(
        "Use --via data (Data API), v1 (REST v1) or auto.",
        "Укажите --via data (Data API), v1 (REST v1) или auto.",
    )
    checked = _via_choice(via, ("auto", "data", "v1"), hint)
    return read_via(conf, cast(Literal["auto", "data", "v1"], checked))


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
    from trunkctl.provision import account_balance

    o = out(json_)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    result = run(account_balance(conf))
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
    from trunkctl.provision import sip_line_rows

    o = out(json_)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    how = _via(conf, via)
    rows = [row.to_dict() for row in run(sip_line_rows(conf, how))]
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
    from trunkctl.provision import reset_sip_password

    from ._trunk import recoveries_surfaced

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
    with recoveries_surfaced() as recovered:
        result = run(reset_sip_password(conf, line, settings=target, trunk=trunk, profile=provider))
    if o.json:
        o.emit_json(
            {
                "ok": True,
                **result.to_dict(show=show),
                "recovered": [r.to_dict() for r in recovered],
            }
        )
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
        for t in result.tightened:
            o.say(f"! {o.t(t.note)}", style="yellow" if t.changed else "red")
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
    from trunkctl.calling import call_via, new_external_id, place_call, wait_for_call
    from trunkctl.calllog import CallLog
    from trunkctl.novofon import report_status
    from trunkctl.numbers import parse_number

    o = out(json_)
    # Refused before credentials are read or an external_id is shown; place_call checks
    # again (and reads the raw text itself: digits alone could be re-read as Russian).
    parse_number(number, strict=False)
    hint = Text("Use --via callapi, callback or auto.", "Укажите --via callapi, callback или auto.")
    checked = _via_choice(via, ("auto", "callapi", "callback"), hint)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    how = call_via(conf, cast(Literal["auto", "callapi", "callback"], checked))
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
        log = None  # no log row, but the call still goes (as in calling.place_call)
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
    limit: Annotated[
        int, typer.Option(help="Show at most this many calls, the newest.", min=1, max=100_000)
    ] = 50,
    api_url: ApiUrlOpt = None,
    timeout_s: TimeoutOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The calls report: what happened to recent calls (Data API, or REST v1 statistics)."""
    from trunkctl.calling import calls_report
    from trunkctl.novofon import CallReportRow, disposition_status, report_status

    o = out(json_)
    conf = api_config(api_url, timeout_s, credentials_stdin, argv_secret)
    how = _via(conf, via)
    report = run(calls_report(conf, hours=hours, external_id=external_id, via=how))
    items: list[dict[str, Any]] = []
    for row in report.rows:
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
    total = len(items)
    # Newest first; a busy account has hundreds of calls a day.
    items = sorted(items, key=lambda i: str(i["start_time"] or ""), reverse=True)[:limit]
    period = report.to_dict()
    if o.json:
        o.emit_json({"via": how, "total": total, **period, "calls": items})
        return
    covered = period["covered"]
    o.say(
        Text(
            "Period covered: {start} – {end} ({n} request(s)).",
            "Охваченный период: {start} – {end} (запросов: {n}).",
        ).format(start=covered["start"], end=covered["end"], n=report.requests)
    )
    if not report.complete:
        asked = period["requested"]
        o.say(
            Text(
                "NovoFon served less than was asked for ({start} – {end}): calls outside "
                "the covered period are not shown.",
                "NovoFon отдал меньше, чем запрошено ({start} – {end}): звонки вне "
                "охваченного периода не показаны.",
            ).format(start=asked["start"], end=asked["end"]),
            style="yellow",
        )
    if not items:
        o.say(Text("No calls in that period.", "Звонков за этот период нет."))
        return
    if total > len(items):
        o.say(
            Text(
                f"The newest {len(items)} of {total} calls (--limit to see more):",
                f"Последние {len(items)} из {total} звонков (больше — с --limit):",
            )
        )
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
