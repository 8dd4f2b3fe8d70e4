"""A provider trunk as data, and the Asterisk objects and dialplan it becomes.

Rendering is pure (spec in, sections out) so it is tested without files or Asterisk; the
provisioning layer writes the result through the lossless .conf engine.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from trunkctl.errors import BadInput
from trunkctl.i18n import Text
from trunkctl.providers import ProviderProfile
from trunkctl.secret import Secret

__all__ = [
    "DEFAULT_BIND_PORT",
    "DialplanContext",
    "Mode",
    "PjsipObject",
    "TrunkConfig",
    "TrunkSpec",
    "check_app",
    "parse_bind",
    "render_trunk",
]

Mode = Literal["registration", "ip"]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")
# The UserEvent the generated dialplan emits after Dial: the SIP code is then known on every
# Asterisk 20–22, even where the Hangup event has no TechCause (before 20.17/22.7).
USER_EVENT = "TrunkctlDial"
# Asterisk's default SIP port: a transport's bind without a port listens there.
DEFAULT_BIND_PORT = 5060
# An application line the inbound context may run: `Name` or `Name(args)`; no ';' (a .conf
# comment), no line breaks, no ',' outside the parentheses (the priority's separator).
_APP = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}(\([^;\r\n\0]*\))?")
_NAT_KEYS = ("external_media_address", "external_signaling_address")


def _bad(what: Text, next_step: Text, evidence: str | None = None) -> BadInput:
    return BadInput(what, evidence=evidence, next_step=next_step)


def check_name(kind: Text, value: str) -> str:
    """An Asterisk object or context name we can write safely (no brackets, spaces, ';')."""
    if _NAME.fullmatch(value):
        return value
    raise _bad(
        Text(f"{kind.en} {value!r} is not a usable name", f"{kind.ru} {value!r} — негодное имя"),
        Text(
            "Use letters, digits, '-', '_' or '.', up to 40 characters.",
            "Используйте латинские буквы, цифры, '-', '_' или '.', до 40 символов.",
        ),
    )


def check_password(password: Secret) -> Secret:
    """Refuse passwords that cannot be written into a .conf line without changing meaning."""
    value = password.reveal()
    if not value:
        raise _bad(
            Text("the password is empty", "пароль пустой"),
            Text(
                "Give the SIP password from the provider's cabinet.",
                "Укажите SIP-пароль из личного кабинета провайдера.",
            ),
        )
    bad = next((c for c in value if c in "\r\n\0"), None)
    if bad is not None or value != value.strip():
        why = "a line break or NUL" if bad else "leading or trailing spaces"
        why_ru = "перевод строки или NUL" if bad else "пробелы в начале или в конце"
        raise _bad(
            Text(f"the password contains {why}", f"в пароле есть {why_ru}"),
            Text(
                "Asterisk cannot store such a password in pjsip.conf; check for a stray "
                "newline (use --password-file or --password-stdin with the bare value).",
                "Asterisk не может хранить такой пароль в pjsip.conf; проверьте, нет ли "
                "лишнего перевода строки (передайте голый пароль через --password-file "
                "или --password-stdin).",
            ),
        )
    return password


def parse_bind(value: str) -> tuple[str, int | None]:
    """``ADDR[:PORT]`` (IPv6 in brackets) as (address, port or None); BadInput if not."""
    text = value.strip()
    host, port = text, ""
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            host = ""
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    try:
        ipaddress.ip_address(host)
        number = int(port) if port else None
        if number is not None and not 0 < number < 65536:
            raise ValueError(port)
    except ValueError:
        raise _bad(
            Text(f"{value!r} is not an ADDR[:PORT] to bind", f"{value!r} — не АДРЕС[:ПОРТ]"),
            Text(
                "Give one of this host's IP addresses, e.g. --bind 192.0.2.10 or "
                "--bind 192.0.2.10:5062 (IPv6: --bind [2001:db8::10]:5060).",
                "Укажите один из IP-адресов этого сервера, например --bind 192.0.2.10 или "
                "--bind 192.0.2.10:5062 (IPv6: --bind [2001:db8::10]:5060).",
            ),
        ) from None
    return host, number


def check_app(value: str) -> str:
    """A dialplan application call (``Stasis(bot)``) safe to write as one priority."""
    if _APP.fullmatch(value) and value.count("(") <= 1:
        return value
    raise _bad(
        Text(
            f"{value!r} is not a dialplan application to run",
            f"{value!r} — не приложение диалплана",
        ),
        Text(
            "Give it as Name(arguments), e.g. --inbound-app 'Stasis(bot)'; no ';' or line "
            "breaks. For more than one step write your own context and use --inbound-context.",
            "Укажите его как Имя(аргументы), например --inbound-app 'Stasis(bot)'; без ';' и "
            "переводов строк. Для нескольких шагов напишите свой контекст и укажите "
            "--inbound-context.",
        ),
    )


@dataclass(frozen=True, slots=True)
class TrunkSpec:
    """What the user asked for: one provider trunk in registration or IP mode."""

    profile: ProviderProfile
    mode: Mode = "registration"
    name: str = "novofon"
    login: str | None = None
    password: Secret | None = None
    caller_id: str | None = None  # E.164 digits, already validated
    public_ip: str | None = None
    local_nets: tuple[str, ...] = ()
    transport: str = "transport-udp"
    inbound_context: str = "from-novofon"
    outgoing_context: str = "outgoing"
    dial_timeout: int = 60
    qualify_frequency: int = 60
    # The source address (ADDR[:PORT]) calls leave from: a transport bound there is used.
    bind: str | None = None
    # What trunkctl's inbound context runs (None: answer and play hello-world).
    inbound_app: str | None = None
    # The inbound context is the user's own: the endpoint points at it, trunkctl never writes it.
    user_inbound: bool = False
    # Remove the NAT settings (external addresses and local_net) from the transport.
    clear_public_ip: bool = False
    # Remove the transport's local_net lines (keep the external addresses).
    clear_local_nets: bool = False

    def validated(self) -> TrunkSpec:
        """Check every field; raise BadInput naming the first problem (nothing is written)."""
        check_name(Text("trunk", "транк"), self.name)
        check_name(Text("transport", "транспорт"), self.transport)
        check_name(Text("context", "контекст"), self.inbound_context)
        check_name(Text("context", "контекст"), self.outgoing_context)
        if not _HOST.fullmatch(self.profile.sip_host or ""):
            raise _bad(
                Text("no valid SIP server host", "не задан корректный SIP-сервер"),
                Text("Give --server HOST[:PORT].", "Укажите --server ХОСТ[:ПОРТ]."),
                evidence=repr(self.profile.sip_host),
            )
        if not 0 < self.profile.sip_port < 65536:
            raise _bad(
                Text("the SIP port is out of range", "SIP-порт вне диапазона"),
                Text("Use a port from 1 to 65535.", "Укажите порт от 1 до 65535."),
            )
        if self.profile.transport not in ("udp", "tcp"):
            raise _bad(
                Text("unknown transport", "неизвестный транспорт"),
                Text("Use --transport udp or tcp.", "Укажите --transport udp или tcp."),
                evidence=self.profile.transport,
            )
        if self.mode == "registration":
            if not self.login:
                raise _bad(
                    Text(
                        "registration mode needs the SIP login",
                        "для режима регистрации нужен SIP-логин",
                    ),
                    Text(
                        "Give --login, or use --mode ip for the verification call.",
                        "Укажите --login или используйте --mode ip для звонка верификации.",
                    ),
                )
            self.profile.check_login(self.login)
            if self.password is None:
                raise _bad(
                    Text(
                        "registration mode needs the SIP password",
                        "для режима регистрации нужен SIP-пароль",
                    ),
                    Text(
                        "Give it with --password-stdin or --password-file.",
                        "Передайте его через --password-stdin или --password-file.",
                    ),
                )
            check_password(self.password)
        if self.public_ip is not None:
            try:
                ipaddress.ip_address(self.public_ip)
            except ValueError:
                raise _bad(
                    Text(
                        f"{self.public_ip!r} is not an IP address",
                        f"{self.public_ip!r} — не IP-адрес",
                    ),
                    Text(
                        "Give the server's public IPv4 address with --public-ip.",
                        "Укажите публичный IPv4-адрес сервера через --public-ip.",
                    ),
                ) from None
        for net in self.local_nets:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise _bad(
                    Text(f"{net!r} is not a network", f"{net!r} — не сеть"),
                    Text(
                        "Use CIDR like 10.0.0.0/8 with --local-net.",
                        "Используйте запись CIDR, например 10.0.0.0/8, в --local-net.",
                    ),
                ) from None
        if self.bind is not None:
            parse_bind(self.bind)
        if self.inbound_app is not None:
            check_app(self.inbound_app)
        if not 5 <= self.dial_timeout <= 600:
            raise _bad(
                Text("the dial timeout must be 5–600 s", "таймаут набора: 5–600 с"),
                Text("Pick a value in range.", "Выберите значение из диапазона."),
            )
        return self


@dataclass(frozen=True, slots=True)
class PjsipObject:
    """One pjsip.conf section: (name, type) identifies it, options in order."""

    name: str
    type: str
    options: tuple[tuple[str, str], ...]
    comment: str = ""

    def get(self, key: str) -> str | None:
        """The last value of ``key`` (how Asterisk reads a scalar)."""
        values = [v for k, v in self.options if k == key]
        return values[-1] if values else None


@dataclass(frozen=True, slots=True)
class DialplanContext:
    """One extensions.conf context: lines are (key, value) written as ``key => value``."""

    name: str
    lines: tuple[tuple[str, str], ...]
    comment: str = ""


@dataclass(frozen=True, slots=True)
class TrunkConfig:
    """Everything a trunk adds to pjsip.conf and extensions.conf."""

    spec: TrunkSpec
    objects: tuple[PjsipObject, ...]
    contexts: tuple[DialplanContext, ...]
    transport_options: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # Transport keys to remove (``--no-public-ip``, ``--no-local-net``).
    transport_clear: tuple[str, ...] = ()
    # (name, type) pairs a previous setup of this trunk may have written and this one drops.
    stale: tuple[tuple[str, str], ...] = ()

    def object(self, type_: str) -> PjsipObject | None:
        """The trunk's object of one type (auth, aor, endpoint, registration, identify)."""
        return next((o for o in self.objects if o.type == type_), None)


def _uri(spec: TrunkSpec, user: str | None = None) -> str:
    p = spec.profile
    who = f"{user}@" if user else ""
    suffix = ";transport=tcp" if p.transport == "tcp" else ""
    return f"sip:{who}{p.sip_host}:{p.sip_port}{suffix}"


def _outgoing(spec: TrunkSpec) -> DialplanContext:
    # Every number ends up in _+X. as +E.164 and is dialled as E.164 digits (what NovoFon
    # takes) from there, untouched: a number already in international form (trunkctl sends
    # foreign numbers as +…) never meets the Russian rewrites, which would mistake Japan's
    # 81312345678 for an 8… number. Bare digits are read the Russian way first.
    dial = [
        ("exten", f"_+X.,1,NoOp(trunkctl: ${{EXTEN:1}} via {spec.name})"),
    ]
    if spec.caller_id:
        dial.append(("same", f"n,Set(CALLERID(num)={spec.caller_id})"))
    dial += [
        ("same", f"n,Dial(PJSIP/${{EXTEN:1}}@{spec.name},{spec.dial_timeout})"),
        ("same", "n,Set(TRUNKCTL_KEYS=${HANGUPCAUSE_KEYS()})"),
        (
            "same",
            f"n,UserEvent({USER_EVENT},Trunk: {spec.name},Number: ${{EXTEN:1}},"
            "DialStatus: ${DIALSTATUS},HangupCause: ${HANGUPCAUSE},"
            "SipCause: ${HANGUPCAUSE(${CUT(TRUNKCTL_KEYS,\\,,1)},tech)})",
        ),
        ("same", "n,Hangup()"),
    ]
    lines = (
        # Russian habits → +E.164: 8…, 10-digit 9…, the 8-10 international prefix; any
        # other digits are taken as E.164 already (79991234567, 4930901820).
        ("exten", "_8XXXXXXXXXX,1,Goto(${CONTEXT},+7${EXTEN:1},1)"),
        ("exten", "_9XXXXXXXXX,1,Goto(${CONTEXT},+7${EXTEN},1)"),
        ("exten", "_810X.,1,Goto(${CONTEXT},+${EXTEN:3},1)"),
        ("exten", "_X.,1,Goto(${CONTEXT},+${EXTEN},1)"),
        *dial,
    )
    return DialplanContext(
        spec.outgoing_context, lines, comment=f"outgoing calls through the {spec.name} trunk"
    )


def _inbound(spec: TrunkSpec) -> DialplanContext:
    if spec.inbound_app is not None:
        answer: tuple[str, ...] = (f"n,{spec.inbound_app}", "n,Hangup()")
    else:
        answer = ("n,Answer()", "n,Playback(hello-world)", "n,Hangup()")
    lines: list[tuple[str, str]] = []
    for ext in ("_X.", "s"):
        lines.append(("exten", f"{ext},1,NoOp(trunkctl: call from {spec.name} to ${{EXTEN}})"))
        lines += [("same", step) for step in answer]
    comment = (
        f"calls from {spec.name}: answered here; this context cannot dial out"
        if spec.inbound_app is None
        else f"calls from {spec.name}: handed to {spec.inbound_app}"
    )
    return DialplanContext(spec.inbound_context, tuple(lines), comment=comment)


def render_trunk(spec: TrunkSpec) -> TrunkConfig:
    """The pjsip objects and dialplan contexts for ``spec`` (validated first)."""
    spec = spec.validated()
    p = spec.profile
    name = spec.name
    registration = spec.mode == "registration"
    objects: list[PjsipObject] = []
    if registration:
        assert spec.login is not None and spec.password is not None
        objects.append(
            PjsipObject(
                name,
                "auth",
                (
                    ("type", "auth"),
                    ("auth_type", "userpass"),
                    ("username", spec.login),
                    ("password", spec.password.reveal()),
                ),
            )
        )
    objects.append(
        PjsipObject(
            name,
            "aor",
            (
                ("type", "aor"),
                ("contact", _uri(spec)),
                ("qualify_frequency", str(spec.qualify_frequency)),
                ("qualify_timeout", "3.0"),
            ),
        )
    )
    endpoint: list[tuple[str, str]] = [
        ("type", "endpoint"),
        ("transport", spec.transport),
        ("context", spec.inbound_context),
        ("disallow", "all"),
        ("allow", ",".join(p.codecs)),
        ("aors", name),
        # Calls are the provider's only when they come from its addresses (the identify
        # below): the default username,ip would take any INVITE whose From user is the
        # trunk's name as the provider's, with no authentication.
        ("identify_by", "ip"),
    ]
    if registration:
        endpoint += [
            ("outbound_auth", name),
            ("from_user", spec.login or ""),
            ("from_domain", p.sip_host),
        ]
    endpoint += [
        ("direct_media", "no"),
        ("rtp_symmetric", "yes"),
        ("force_rport", "yes"),
        ("rewrite_contact", "yes"),
        ("dtmf_mode", "rfc4733"),
    ]
    objects.append(PjsipObject(name, "endpoint", tuple(endpoint)))
    if registration:
        objects.append(
            PjsipObject(
                name,
                "registration",
                (
                    ("type", "registration"),
                    ("transport", spec.transport),
                    ("outbound_auth", name),
                    ("server_uri", _uri(spec)),
                    ("client_uri", _uri(spec, spec.login)),
                    ("contact_user", spec.login or ""),
                    ("retry_interval", "60"),
                    ("forbidden_retry_interval", "300"),
                    # The default 10 s spreads many registrations; one trunk should not wait.
                    ("max_random_initial_delay", "1"),
                    ("expiration", "300"),
                    ("line", "yes"),
                    ("endpoint", name),
                ),
            )
        )
    identify_hosts = p.identify_hosts or (p.sip_host,)
    objects.append(
        PjsipObject(
            name,
            "identify",
            (
                ("type", "identify"),
                ("endpoint", name),
                *(("match", host) for host in identify_hosts),
            ),
        )
    )
    transport_options: list[tuple[str, str]] = []
    if spec.public_ip:
        transport_options += [
            ("external_media_address", spec.public_ip),
            ("external_signaling_address", spec.public_ip),
        ]
        transport_options += [("local_net", net) for net in spec.local_nets]
    clear: list[str] = []
    if spec.clear_public_ip:
        clear += [*_NAT_KEYS, "local_net"]
    elif spec.clear_local_nets:
        clear.append("local_net")
    stale = () if registration else ((name, "auth"), (name, "registration"))
    return TrunkConfig(
        spec=spec,
        objects=tuple(objects),
        contexts=(_outgoing(spec),) if spec.user_inbound else (_outgoing(spec), _inbound(spec)),
        transport_options=tuple(transport_options),
        transport_clear=tuple(k for k in clear if k not in dict(transport_options)),
        stale=stale,
    )
