"""`trunkctl probe options|register HOST[:PORT]`: sipsak-like probes as Nagios plugins.

Exit codes follow the Nagios plugin guidelines (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN),
so errors are answered here as UNKNOWN rather than by the CLI's usual exit codes; the
first line is one status line, plain text, never wrapped.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out
from ._common import PasswordArgv, PasswordFile, PasswordStdin, read_password, run

if TYPE_CHECKING:
    from trunkctl.doctor import NagiosVerdict
    from trunkctl.sip import TransportName

app = typer.Typer(
    help="SIP probes with Nagios exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
    no_args_is_help=True,
    rich_markup_mode=None,
)

Target = Annotated[str, typer.Argument(metavar="HOST[:PORT]", help="The SIP server to probe.")]
Transport = Annotated[str, typer.Option(help="udp or tcp.")]
Timeout = Annotated[float, typer.Option(help="Seconds to wait for each answer.")]
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


def _finish(verdict: NagiosVerdict, json_flag: bool) -> None:
    o = out(json_flag)
    if o.json:
        o.emit_json(verdict.to_dict(o.language))
    else:
        sys.stdout.write("\n".join(verdict.lines(o.language)) + "\n")
        sys.stdout.flush()
    raise typer.Exit(verdict.exit_code)


def _unknown(service: str, error: TrunkctlError, json_flag: bool) -> None:
    from trunkctl.doctor import nagios_error

    _finish(nagios_error(service, error), json_flag)


@app.command("options")
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
    _finish(nagios_options(result, warning=warning, critical=critical, lang=o.language), json_)


@app.command("register")
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
    json_: JsonOpt = False,
) -> None:
    """REGISTER with digest auth, then remove the test binding: do these credentials work?

    The password never goes on the command line: --password-stdin, --password-file, or
    a prompt on a terminal.
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
            )
        )
    except TrunkctlError as exc:
        _unknown("SIP REGISTER", exc, json_)
        return
    _finish(nagios_register(result, warning=warning, critical=critical, lang=o.language), json_)
