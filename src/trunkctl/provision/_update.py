"""`setup` as an update: the options given, over the trunk's current values read from the files.

README's server flow runs `setup --mode ip --caller-id …` and later `setup --login …
--password-stdin`; the second run keeps the caller ID. Removing a value is explicit
(``no_caller_id``, ``no_public_ip``, ``no_local_net``). The password stays in the file: a
run that does not give one keeps it, without it ever passing through argv.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trunkctl.conf import Resolution, Transaction
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.pjsip import Mode, TrunkSpec, render_trunk
from trunkctl.secret import Secret

from ._existing import EXTENSIONS, PJSIP, ExistingTrunk, read_trunk
from ._plan import SetupPlan, plan_setup

__all__ = ["SetupArgs", "run_setup", "setup_spec"]


@dataclass(frozen=True, slots=True)
class SetupArgs:
    """What the user gave to `setup`: None (or False) means "keep the trunk's current value"."""

    provider: str = "novofon"
    mode: str | None = None
    name: str = "novofon"
    login: str | None = None
    caller_id: str | None = None
    no_caller_id: bool = False
    public_ip: str | None = None
    no_public_ip: bool = False
    local_nets: tuple[str, ...] | None = None
    no_local_net: bool = False
    transport: str | None = None
    server: tuple[str | None, int | None] = (None, None)
    # The settings file's [provider] server (over the trunk's current one, under --server).
    settings_server: tuple[str | None, int | None] = (None, None)
    bind: str | None = None
    inbound_context: str | None = None
    inbound_app: str | None = None
    force: bool = False
    password_given: bool = False


def _both(a: str, b: str) -> BadInput:
    return BadInput(
        Text(f"{a} and {b} contradict each other", f"{a} и {b} противоречат друг другу"),
        next_step=Text(f"Give one of {a} or {b}.", f"Укажите что-то одно: {a} или {b}."),
    )


def _existing(tx: Transaction, name: str) -> ExistingTrunk | None:
    resolution: Resolution | None
    try:
        resolution = tx.resolve(PJSIP)
    except TrunkctlError:
        resolution = None
    return read_trunk(tx.read(PJSIP), tx.read(EXTENSIONS), name, resolution=resolution)


def setup_spec(
    tx: Transaction, args: SetupArgs, read_secret: Callable[[], Secret]
) -> tuple[TrunkSpec, list[str]]:
    """The spec `setup` writes, and the names of the options kept from the current trunk.

    ``read_secret`` is called only when a password is needed and none is kept (or one was
    given): it reads stdin or a file, never argv.
    """
    from trunkctl.numbers import parse_caller_id
    from trunkctl.providers import get_profile

    if args.mode not in (None, "registration", "ip"):
        raise BadInput(
            Text(f"unknown mode {args.mode!r}", f"неизвестный режим {args.mode!r}"),
            next_step=Text(
                "Use --mode registration or --mode ip.",
                "Укажите --mode registration или --mode ip.",
            ),
        )
    if args.caller_id is not None and args.no_caller_id:
        raise _both("--caller-id", "--no-caller-id")
    if args.public_ip is not None and args.no_public_ip:
        raise _both("--public-ip", "--no-public-ip")
    if args.local_nets is not None and args.no_local_net:
        raise _both("--local-net", "--no-local-net")
    if args.inbound_context is not None and args.inbound_app is not None:
        raise _both("--inbound-context", "--inbound-app")
    old = _existing(tx, args.name)
    kept: list[str] = []
    mode: Mode
    if args.mode is not None:
        mode = "ip" if args.mode == "ip" else "registration"
    elif args.login is not None:
        mode = "registration"
    elif old is not None:
        mode = old.mode
        kept.append("mode")
    else:
        mode = "registration"
    profile = get_profile(args.provider)
    # --server, else the settings file's [provider] server, else the trunk's current one,
    # else the profile's.
    host, port = args.server
    if host is None:
        host, port = args.settings_server
    if host is None and old is not None and old.host:
        # Only a server other than the profile's is pinned (the profile's identify hosts
        # stay whole: legacy NovoFon has two).
        if old.host != profile.sip_host or (old.port or 5060) != profile.sip_port:
            host, port = old.host, old.port
        kept.append("server")
    protocol = args.transport or (old.protocol if old is not None else None)
    if args.transport is None and old is not None and old.protocol:
        kept.append("transport")
    profile = profile.with_server(host, port, protocol)

    login = None
    secret = None
    if mode == "registration":
        login = args.login
        if login is None and old is not None and old.login:
            login = old.login
            kept.append("login")
        if login is None:
            raise BadInput(
                Text("registration mode needs --login", "для режима регистрации нужен --login"),
                next_step=Text(
                    "Give --login, or use --mode ip for the verification call.",
                    "Укажите --login или --mode ip для звонка верификации.",
                ),
            )
        profile.check_login(login)
        if args.password_given or old is None or old.password is None:
            secret = read_secret()
        else:
            secret = old.password
            kept.append("password")
    elif args.password_given:
        read_secret()  # refuses a password on argv, as in registration mode

    if args.no_caller_id:
        caller_id = None
    elif args.caller_id is not None:
        caller_id = parse_caller_id(args.caller_id).digits
    else:
        caller_id = old.caller_id if old is not None else None
        if caller_id is not None:
            kept.append("caller_id")

    public_ip = args.public_ip
    if public_ip is None and not args.no_public_ip and old is not None and old.public_ip:
        public_ip = old.public_ip
        kept.append("public_ip")
    local_nets: tuple[str, ...] = ()
    if args.local_nets is not None:
        local_nets = args.local_nets
    elif not args.no_local_net and old is not None and old.local_nets:
        local_nets = old.local_nets
        kept.append("local_nets")

    extra: dict[str, object] = {}
    if old is not None and old.transport:
        extra["transport"] = old.transport
    if args.inbound_context is not None:
        extra |= {"inbound_context": args.inbound_context, "user_inbound": True}
    elif args.inbound_app is not None:
        extra["inbound_app"] = args.inbound_app
        if old is not None and old.inbound_context and not old.user_inbound:
            extra["inbound_context"] = old.inbound_context
    elif old is not None and old.inbound_context:
        extra["inbound_context"] = old.inbound_context
        if old.user_inbound:
            extra["user_inbound"] = True
        elif old.inbound_app is not None:
            extra["inbound_app"] = old.inbound_app
        kept.append("inbound")
    spec = TrunkSpec(
        profile=profile,
        mode=mode,
        name=args.name,
        login=login,
        password=secret,
        caller_id=caller_id,
        public_ip=public_ip,
        local_nets=local_nets,
        bind=args.bind,
        clear_public_ip=args.no_public_ip,
        clear_local_nets=args.no_local_net,
        **extra,  # type: ignore[arg-type]
    )
    return spec, kept


def run_setup(
    tx: Transaction, args: SetupArgs, read_secret: Callable[[], Secret]
) -> tuple[TrunkSpec, SetupPlan, list[str]]:
    """Build the spec (:func:`setup_spec`), render it and stage it on ``tx``."""
    spec, kept = setup_spec(tx, args, read_secret)
    plan = plan_setup(tx, render_trunk(spec), force=args.force)
    return plan.config.spec, plan, kept
