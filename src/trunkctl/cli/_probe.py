"""`trunkctl probe options|register HOST[:PORT]`: sipsak-like probes as Nagios plugins.

Exit codes follow the Nagios plugin guidelines (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
so errors are answered here as UNKNOWN rather than by the CLI's usual exit codes; the
first line is one status line, plain text, never wrapped. Usage errors too (a missing
host, ``-w abc``): click's exit 2 would read as CRITICAL to a monitoring system.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperCommand, TyperGroup

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out
from ._common import PasswordArgv, PasswordFile, PasswordStdin, read_password, run, settings

if TYPE_CHECKING:
    from trunkctl.doctor import NagiosVerdict
    from trunkctl.i18n import Lang
    from trunkctl.provision import PbxRestore
    from trunkctl.settings import Settings
    from trunkctl.sip import Binding, RegisterResult, TransportName

UNKNOWN = 3  # Nagios: the plugin could not judge (also for its own usage errors)


def _usage_unknown(service: str, exc: UsageError, json_flag: bool) -> NoReturn:
    """Print the UNKNOWN verdict for a usage error, then let click show it and exit 3."""
    from trunkctl.doctor import nagios_error

    path = exc.ctx.command_path if exc.ctx is not None else "trunkctl probe"
    if isinstance(exc, NoArgsIsHelpError):
        message = Text("no command given", "не указана команда")
    else:
        message = Text(exc.format_message(), exc.format_message())
    error = BadInput(
        Text("usage: ", "ошибка в аргументах: ") + message,
        next_step=Text(f"See `{path} --help`.", f"Справка: `{path} --help`."),
    )
    _emit(nagios_error(service, error), json_flag)
    exc.exit_code = UNKNOWN
    raise exc


class _ProbeCommand(TyperCommand):
    """A probe subcommand whose usage errors exit 3 (UNKNOWN) with a status line."""

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        json_flag = "--json" in args  # before click's parser consumes the list
        try:
            return super().make_context(info_name, args, *a, **kw)
        except UsageError as exc:
            service = f"SIP {(info_name or self.name or 'probe').upper()}"
            _usage_unknown(service, exc, json_flag)


class _ProbeGroup(TyperGroup):
    """`trunkctl probe` itself: no or an unknown subcommand is UNKNOWN (3) as well."""

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        try:
            return super().make_context(info_name, args, *a, **kw)
        except UsageError as exc:
            _usage_unknown("SIP PROBE", exc, False)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            _usage_unknown("SIP PROBE", exc, False)


app = typer.Typer(
    cls=_ProbeGroup,
    help=(
        "SIP probes with Nagios exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, also for "
        "a usage error)."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)

Target = Annotated[str, typer.Argument(metavar="HOST[:PORT]", help="The SIP server to probe.")]
Transport = Annotated[str, typer.Option(help="udp or tcp.")]
Timeout = Annotated[
    float, typer.Option(help="Seconds to wait for each answer (more than 0, at most 300).")
]
LocalAddress = Annotated[
    str | None, typer.Option("--local-address", help="Send from this local IP.")
]
Warning_ = Annotated[
    float | None,
    typer.Option("--warning", "-w", help="WARNING when the answer takes this many seconds."),
]
Critical = Annotated[
    float | None,
    typer.Option("--critical", "-c", help="CRITICAL when the answer takes this many seconds."),
]


def _target(value: str) -> tuple[str, int]:
    from trunkctl.doctor import split_host_port

    host, port = split_host_port(value)
    # What follows the host ("]:5060" for IPv6, ":5060" otherwise) must be a port.
    tail = value.rsplit("]", 1)[1] if value.startswith("[") and "]" in value else value
    given = tail.count(":") == 1
    if not host or (given and port is None) or (port is not None and not 0 < port < 65536):
        raise BadInput(
            Text(f"bad target {value!r}", f"неверная цель {value!r}"),
            next_step=Text("Give HOST or HOST:PORT.", "Укажите ХОСТ или ХОСТ:ПОРТ."),
        )
    return host, 5060 if port is None else port


def _transport(value: str) -> TransportName:
    if value == "udp":
        return "udp"
    if value == "tcp":
        return "tcp"
    raise BadInput(
        Text(f"unknown transport {value!r}", f"неизвестный транспорт {value!r}"),
        next_step=Text("Use --transport udp or tcp.", "Укажите --transport udp или tcp."),
    )


def _emit(verdict: NagiosVerdict, json_flag: bool) -> None:
    o = out(json_flag)
    if o.json:
        o.emit_json(verdict.to_dict(o.language))
    else:
        sys.stdout.write("\n".join(verdict.lines(o.language)) + "\n")
        sys.stdout.flush()


def _finish(verdict: NagiosVerdict, json_flag: bool) -> None:
    _emit(verdict, json_flag)
    raise typer.Exit(verdict.exit_code)


def _unknown(service: str, error: TrunkctlError, json_flag: bool) -> None:
    from trunkctl.doctor import nagios_error

    _finish(nagios_error(service, error), json_flag)


@app.command("options", cls=_ProbeCommand)
def options(
    target: Target,
    transport: Transport = "udp",
    timeout: Timeout = 5.0,
    local_address: LocalAddress = None,
    warning: Warning_ = None,
    critical: Critical = None,
    json_: JsonOpt = False,
) -> None:
    """Send one SIP OPTIONS: is the server alive, how fast, where does it see us."""
    from trunkctl.doctor import nagios_options
    from trunkctl.sip import options as probe

    o = out(json_)
    try:
        host, port = _target(target)
        kind = _transport(transport)
        result = run(
            probe(host, port, transport=kind, timeout=timeout, local_address=local_address)
        )
    except TrunkctlError as exc:
        _unknown("SIP OPTIONS", exc, json_)
        return
    verdict = nagios_options(result, warning=warning, critical=critical, lang=o.language)
    _finish(_with_noise(verdict, result.noise), json_)


def _with_noise(verdict: NagiosVerdict, noise: int) -> NagiosVerdict:
    """Say how many datagrams answered nothing we asked (kept out of the verdict itself)."""
    if not noise:
        return verdict
    line = Text(
        f"noise: {noise} message(s) from the peer matched none of our requests and were "
        "dropped (a flood or a confused server)",
        f"шум: {noise} сообщ. от сервера не относились к нашим запросам и отброшены "
        "(флуд или сбойный сервер)",
    )
    return dataclasses.replace(verdict, details=(*verdict.details, line))


@app.command("register", cls=_ProbeCommand)
def register(
    target: Target,
    username: Annotated[
        str | None, typer.Option("--username", "-u", help="The SIP login (required).")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(help="Domain for the request URI, From and To (default: HOST).")
    ] = None,
    password_stdin: PasswordStdin = False,
    password_file: PasswordFile = None,
    password: PasswordArgv = None,
    transport: Transport = "udp",
    timeout: Timeout = 5.0,
    local_address: LocalAddress = None,
    warning: Warning_ = None,
    critical: Critical = None,
    bind: Annotated[
        bool,
        typer.Option(
            "--bind",
            help="Also add a test binding and remove it. On a line that keeps one contact "
            "this knocks the PBX's registration off; trunkctl then re-registers the local "
            "trunk over AMI, or says how to.",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Do these credentials work? A digest-authenticated REGISTER that changes nothing.

    The REGISTER carries no Contact (RFC 3261 10.2.3): the registrar checks the password
    and lists the line's bindings, so a live trunk stays registered, and the output shows
    who is registered on the line.

    --bind also registers a test binding and removes it. Careful on a live line: a
    provider that keeps one contact per line (NovoFon may) then drops the PBX's binding,
    and calls fail until the PBX registers again (up to its expiration, 300 s by default)
    while Asterisk still says Registered. So after --bind trunkctl sends a fresh REGISTER
    for each local outbound registration with the same login and server (AMI
    PJSIPRegister; settings from --settings/--sandbox); without AMI it says to run
    `trunkctl apply` or `asterisk -rx 'pjsip send register NAME'`.

    The password never goes on the command line: --password-stdin, --password-file, or
    a prompt on a terminal. A usage error exits 3 (UNKNOWN), like any probe error.
    """
    from trunkctl.doctor import nagios_register
    from trunkctl.sip import register_check

    o = out(json_)
    try:
        host, port = _target(target)
        kind = _transport(transport)
        if not username:
            raise BadInput(
                Text("--username is required", "нужен --username"),
                next_step=Text(
                    "Give the SIP login: --username 0053248.",
                    "Укажите SIP-логин: --username 0053248.",
                ),
            )
        secret = read_password(
            password_stdin, password_file, password, what=Text("SIP password", "SIP-пароль")
        )
        result = run(
            register_check(
                host,
                port,
                username=username,
                password=secret,
                domain=domain,
                transport=kind,
                timeout=timeout,
                local_address=local_address,
                bind=bind,
            )
        )
    except TrunkctlError as exc:
        _unknown("SIP REGISTER", exc, json_)
        return
    verdict = nagios_register(result, warning=warning, critical=critical, lang=o.language)
    restore = None
    if result.ok and result.displaced != []:  # displaced, or unknown: put the PBX back
        restore = _restore(result, timeout)
    _finish(_with_noise(_with_bindings(verdict, result, restore, o.language), result.noise), json_)


def _restore(result: RegisterResult, timeout: float) -> PbxRestore:
    from trunkctl.provision import restore_registrations

    try:
        conf: Settings | None = settings()
        reason = None
    except TrunkctlError as exc:
        conf, reason = None, exc.what
    return run(
        restore_registrations(
            conf,
            username=result.username,
            host=result.host,
            port=result.port,
            remote=result.remote_address,
            timeout=timeout,
            reason=reason,
        )
    )


def _binding_list(bindings: list[Binding]) -> str:
    return ", ".join(
        b.uri if b.expires is None else f"{b.uri} (expires {b.expires} s)" for b in bindings
    )


def _with_bindings(
    verdict: NagiosVerdict, result: RegisterResult, restore: PbxRestore | None, lang: Lang
) -> NagiosVerdict:
    """The register verdict plus what the registrar said about the line's bindings and,
    after a displacing ``--bind``, what became of the PBX's registration."""
    if not result.ok:
        return verdict
    login, listed = result.username, _binding_list(result.bindings)
    lines: list[Text] = []
    if result.mode == "query":
        lines.append(
            Text(
                "nothing was bound: a REGISTER without Contact only asks for the bindings",
                "ничего не привязано: REGISTER без Contact только запрашивает привязки",
            )
        )
    if result.displaced:
        gone = _binding_list(result.displaced)
        lines.append(
            Text(
                f"our test binding displaced {gone} (the line keeps one contact)",
                f"тестовая привязка вытеснила {gone} (линия держит один контакт)",
            )
        )
    if result.mode == "bind" and result.displaced is None:
        lines.append(
            Text(
                "the registrar does not list the line's bindings: whether the PBX's "
                "registration was displaced is unknown",
                "регистратор не сообщает привязки линии: вытеснена ли регистрация АТС, неизвестно",
            )
        )
    elif result.bindings:
        when_en, when_ru = ("", "") if result.mode == "query" else (" left", " после проверки")
        lines.append(
            Text(f"bindings of {login}{when_en}: {listed}", f"привязки {login}{when_ru}: {listed}")
        )
    elif result.mode == "query":
        lines.append(
            Text(
                f"the registrar lists no binding of {login}: nothing is registered on this "
                "line now",
                f"регистратор не знает привязок {login}: сейчас на линии никто не зарегистрирован",
            )
        )
    else:
        lines.append(
            Text(
                f"after our unregister the registrar listed no binding of {login}: the line "
                "was left unregistered",
                f"после нашей отмены регистрации у {login} не осталось привязок: линия "
                "осталась без регистрации",
            )
        )
    status = verdict.status
    data = dict(verdict.data)
    if restore is not None:
        lines += restore.lines()
        data["pbx"] = restore.to_dict(lang)
        if restore.problem and status == "OK":
            status = "WARNING"
    return dataclasses.replace(
        verdict, status=status, details=(*verdict.details, *lines), data=data
    )
