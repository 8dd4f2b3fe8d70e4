"""SIP probes a human can act on: is the provider reachable, do the credentials work, NAT.

``options`` sends one OPTIONS and reports latency, status, the peer's software and the
address the peer sees us at. ``register_check`` proves the credentials with a REGISTER
that carries no Contact (RFC 3261 §10.2.3: it only asks for the line's bindings and
changes none), so probing a live line never displaces the PBX's own registration; with
``bind=True`` it also adds a test binding and removes it again, reporting which of the
line's bindings that displaced. Network outcomes (silence, garbage, refusal, rejection)
are *results* carrying a typed error, not exceptions: a probe that finds a problem has
succeeded. Bad arguments raise :class:`trunkctl.errors.BadInput`; a local socket problem
raises :class:`SipSocketError`.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, ParamSpec, TypeVar

from trunkctl import __version__
from trunkctl.codes import sip_status
from trunkctl.errors import BadInput
from trunkctl.i18n import Lang, Text
from trunkctl.secret import Secret

from ._digest import Challenge, DigestAuth, choose_challenge, parse_auth_header
from ._errors import (
    SipAuthError,
    SipChallengeError,
    SipParseError,
    SipProbeError,
    SipRejectedError,
    SipResolveError,
    SipSocketError,
    SipTimeoutError,
    SipUnreachableError,
)
from ._message import (
    SipRequest,
    SipResponse,
    new_branch,
    new_call_id,
    new_tag,
    parse_params,
)
from ._transport import T1, Address, Exchange, SipConnection, TransportName, open_connection

__all__ = [
    "Binding",
    "NatDiagnosis",
    "NatFinding",
    "OptionsResult",
    "RegisterResult",
    "RegisterStep",
    "diagnose_nat",
    "options",
    "options_sync",
    "register_check",
    "register_check_sync",
]

NetworkOutcome = Literal["timeout", "garbage", "unreachable", "dns_error"]
OptionsOutcome = Literal["answered", NetworkOutcome]
RegisterOutcome = Literal[
    "registered",
    "auth_failed",
    "forbidden",
    "unknown_user",
    "rejected",
    "unsupported_challenge",
    NetworkOutcome,
]

_USER_AGENT = f"trunkctl/{__version__}"

# Which outcome each network-level error is.
_ERROR_OUTCOMES: tuple[tuple[type[SipProbeError], NetworkOutcome], ...] = (
    (SipResolveError, "dns_error"),
    (SipTimeoutError, "timeout"),
    (SipParseError, "garbage"),
    (SipUnreachableError, "unreachable"),
)


def _outcome_of(exc: SipProbeError) -> NetworkOutcome:
    """The outcome a network-level error stands for; other errors propagate."""
    for cls, outcome in _ERROR_OUTCOMES:
        if isinstance(exc, cls):
            return outcome
    raise exc


def _raw_text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _seen_address(response: SipResponse) -> Address | None:
    """Where the peer saw our packets come from: Via ``received`` + ``rport`` (RFC 3581)."""
    try:
        via = response.top_via
    except SipParseError:
        return None
    if via is None:
        return None
    received, rport = via.param("received"), via.param("rport")
    if received is None and rport is None:
        return None
    port = int(rport) if rport and rport.isascii() and rport.isdigit() else via.port or 5060
    return Address(received or via.host, port)


MAX_TIMEOUT = 300.0
"""The longest wait a probe accepts (per answer, and for the whole probe)."""

# Transactions one probe may run: register with --bind is at most 4 steps × (challenge +
# answer); the whole probe gets that many timeouts, never more than MAX_TIMEOUT.
_MAX_TRANSACTIONS = 8


def _host_problem(host: str) -> str | None:
    """Why ``host`` cannot be a host name or IP literal, or None (RFC 1035, IDNA 2003)."""
    if not host or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in host):
        return "empty, or contains spaces or control characters"
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    try:
        wire = host.encode("idna")
    except UnicodeError as exc:
        return f"not a valid host name ({exc})"
    name = wire.rstrip(b".")
    if len(name) > 253:
        return f"{len(name)} characters, at most 253"
    for label in name.split(b"."):
        if not 0 < len(label) <= 63:
            return f"a label of {len(label)} characters (1-63)"
    return None


def _check_args(host: str, port: int, transport: str, timeout: float) -> None:
    problems = []
    why = _host_problem(host)
    if why is not None:
        problems.append(f"host {host[:80]!r}{'…' if len(host) > 80 else ''}: {why}")
    if not 0 < port < 65536:
        problems.append(f"port {port}")
    if transport not in ("udp", "tcp"):
        problems.append(f"transport {transport!r} (udp or tcp)")
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        problems.append(f"timeout {timeout} (more than 0, at most {MAX_TIMEOUT:g} s)")
    if problems:
        listed = "; ".join(problems)
        raise BadInput(
            Text(
                f"Invalid SIP probe arguments: {listed}.",
                f"Неверные параметры SIP-проверки: {listed}.",
            ),
            next_step=Text(
                "Give a host name (at most 253 characters, labels of 1-63) or an IP, a port "
                f"1-65535, udp or tcp, a timeout of more than 0 and at most {MAX_TIMEOUT:g} s.",
                "Укажите имя хоста (до 253 символов, метки 1-63) или IP, порт 1-65535, udp "
                f"или tcp, таймаут больше 0 и не больше {MAX_TIMEOUT:g} с.",
            ),
        )


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _base_request(
    method: str, uri: str, conn: SipConnection, from_uri: str, to_uri: str
) -> SipRequest:
    """A new request with the headers RFC 3261 §8.1.1 requires, Via asking for rport."""
    transport = conn.kind.upper()
    return SipRequest(
        method,
        uri,
        [
            ("Via", f"SIP/2.0/{transport} {conn.local};rport;branch={new_branch()}"),
            ("Max-Forwards", "70"),
            ("From", f"<{from_uri}>;tag={new_tag()}"),
            ("To", f"<{to_uri}>"),
            ("Call-ID", new_call_id()),
            ("CSeq", f"1 {method}"),
            ("User-Agent", _USER_AGENT),
        ],
    )


def _error_dict(error: SipProbeError | None, lang: Lang | None) -> dict[str, Any] | None:
    return error.to_dict(lang) if error is not None else None


# --- OPTIONS ---------------------------------------------------------------------------------


@dataclass(slots=True)
class OptionsResult:
    """What one OPTIONS probe found. ``outcome`` is ``answered`` for any final status."""

    host: str
    port: int
    transport: TransportName
    outcome: OptionsOutcome = "timeout"
    remote_address: Address | None = None
    local_address: Address | None = None
    status_code: int | None = None
    reason: str | None = None
    latency_ms: float | None = None
    transmissions: int = 0
    server: str | None = None
    user_agent: str | None = None
    allow: list[str] = field(default_factory=list)
    seen_address: Address | None = None
    raw_response: str | None = None
    error: SipProbeError | None = None
    noise: int = 0  # datagrams that answered no transaction of ours (a flood, a stray peer)

    @property
    def ok(self) -> bool:
        """True when the peer answered with a final SIP status (any code: it is alive)."""
        return self.outcome == "answered"

    def raise_for_outcome(self) -> None:
        """Raise the probe's error, if it found one."""
        if self.error is not None:
            raise self.error

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view."""
        info = sip_status(self.status_code) if self.status_code else None
        return {
            "host": self.host,
            "port": self.port,
            "transport": self.transport,
            "outcome": self.outcome,
            "remote_address": str(self.remote_address) if self.remote_address else None,
            "local_address": str(self.local_address) if self.local_address else None,
            "status_code": self.status_code,
            "reason": self.reason,
            "meaning": info.meaning.render(lang) if info else None,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 2),
            "transmissions": self.transmissions,
            "server": self.server,
            "user_agent": self.user_agent,
            "allow": self.allow,
            "seen_address": str(self.seen_address) if self.seen_address else None,
            "raw_response": self.raw_response,
            "noise": self.noise,
            "error": _error_dict(self.error, lang),
        }


async def options(
    host: str,
    port: int = 5060,
    *,
    transport: TransportName = "udp",
    timeout: float = 5.0,
    local_address: str | None = None,
    t1: float = T1,
) -> OptionsResult:
    """Send one OPTIONS to ``host:port`` and report what came back (never raises on silence).

    ``t1`` is RFC 3261's T1 (retransmission start); only tests change it.
    """
    _check_args(host, port, transport, timeout)
    result = OptionsResult(host, port, transport)

    async def probe(conn: SipConnection) -> None:
        uri = f"sip:{_uri_host(host)}:{port}"
        local_uri = f"sip:trunkctl@{_uri_host(conn.local.host)}"
        request = _base_request("OPTIONS", uri, conn, local_uri, uri)
        request.add("Accept", "application/sdp")
        exchange = await conn.request(request, timeout=timeout)
        response = exchange.response
        result.outcome = "answered"
        result.status_code, result.reason = response.status_code, response.reason
        result.latency_ms = exchange.latency_ms
        result.transmissions = exchange.transmissions
        result.server, result.user_agent = response.get("Server"), response.get("User-Agent")
        result.allow = response.values("Allow")
        result.seen_address = _seen_address(response)
        result.raw_response = _raw_text(response.raw)

    await _run_probe(result, probe, local_address=local_address, timeout=timeout, t1=t1)
    if isinstance(result.error, SipTimeoutError):
        result.transmissions = int(result.error.details.get("transmissions", 0))
    return result


async def _run_probe(
    result: OptionsResult | RegisterResult,
    probe: Callable[[SipConnection], Awaitable[None]],
    *,
    local_address: str | None,
    timeout: float,
    t1: float,
) -> None:
    """Connect, run ``probe``, close; network errors become the result's outcome.

    :class:`SipSocketError` (our own side) propagates: it is not a finding about the peer.
    """
    try:
        conn = await open_connection(
            result.host,
            result.port,
            transport=result.transport,
            local_address=local_address,
            timeout=timeout,
            t1=t1,
        )
    except SipSocketError:
        raise
    except SipProbeError as exc:
        result.outcome, result.error = _outcome_of(exc), exc
        return
    result.local_address, result.remote_address = conn.local, conn.remote
    overall = min(MAX_TIMEOUT, _MAX_TRANSACTIONS * timeout)
    try:
        try:
            async with asyncio.timeout(overall):
                await probe(conn)
        except TimeoutError:
            raise _overall_timeout(conn.target, overall) from None
    except SipSocketError:
        raise
    except SipProbeError as exc:
        result.outcome, result.error = _outcome_of(exc), exc
        if isinstance(exc, SipParseError):
            result.raw_response = _raw_text(exc.raw)
    finally:
        result.noise = conn.noise
        conn.close()


def _overall_timeout(target: str, seconds: float) -> SipTimeoutError:
    return SipTimeoutError(
        Text(
            f"The probe of {target} did not finish within {seconds:g} s.",
            f"Проверка {target} не завершилась за {seconds:g} с.",
        ),
        evidence=Text(
            "the peer kept the exchange going without a final answer",
            "сервер затягивал обмен, не давая окончательного ответа",
        ),
        next_step=Text(
            "Check that the server is a SIP server and answers on this port and transport.",
            "Проверьте, что это SIP-сервер и он отвечает на этом порту и транспорте.",
        ),
    )


# --- REGISTER --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Binding:
    """One contact the registrar holds for the line: a Contact of its 2xx (RFC 3261 §10.3
    step 8 lists every current binding), ``expires`` in seconds if it said."""

    uri: str
    expires: int | None = None

    @classmethod
    def parse(cls, value: str) -> Binding | None:
        """One Contact value (``<sip:u@h:p;x=y>;expires=60`` or bare); None for ``*``."""
        value = value.strip()
        if "<" in value and ">" in value:
            uri = value[value.index("<") + 1 : value.index(">")]
            params = parse_params(value[value.index(">") + 1 :])
        else:
            uri, _, rest = value.partition(";")
            params = parse_params(rest)
        uri = uri.strip()
        if not uri or uri == "*":
            return None
        raw = dict(params).get("expires")
        return cls(uri, int(raw) if raw and raw.isascii() and raw.isdigit() else None)

    @property
    def key(self) -> str:
        """The URI without its parameters, lowercased: what tells two bindings apart."""
        return self.uri.split(";", 1)[0].lower()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {"uri": self.uri, "expires": self.expires}


def _bindings(response: SipResponse) -> list[Binding]:
    found = (Binding.parse(v) for v in response.values("Contact"))
    return [b for b in found if b is not None]


@dataclass(slots=True)
class RegisterStep:
    """One REGISTER transaction: what we sent (never the password or digest) and the answer.

    ``query`` marks a REGISTER without Contact: it asked for the bindings, changed none.
    """

    purpose: Literal["register", "unregister"]
    cseq: int
    expires: int
    credentials: dict[str, str] | None
    status_code: int
    reason: str
    latency_ms: float
    transmissions: int
    challenges: list[Challenge] = field(default_factory=list)
    query: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "purpose": self.purpose,
            "query": self.query,
            "cseq": self.cseq,
            "expires": self.expires,
            "credentials": self.credentials,
            "status_code": self.status_code,
            "reason": self.reason,
            "latency_ms": round(self.latency_ms, 2),
            "transmissions": self.transmissions,
            "challenges": [c.to_dict() for c in self.challenges],
        }


@dataclass(slots=True)
class RegisterResult:
    """What a REGISTER check found; the password is never stored here.

    ``mode`` is ``query`` (credentials only, nothing bound) or ``bind`` (a test binding
    was added and removed). ``bindings`` are the line's bindings as the registrar last
    listed them (after our unregister, in ``bind`` mode). ``displaced`` are the bindings
    our test binding pushed out (a line that keeps one contact): ``[]`` for none, None
    when unknown (the check stopped early, or the registrar does not list bindings).
    """

    host: str
    port: int
    transport: TransportName
    username: str
    domain: str
    outcome: RegisterOutcome = "timeout"
    remote_address: Address | None = None
    local_address: Address | None = None
    steps: list[RegisterStep] = field(default_factory=list)
    challenge_code: int | None = None
    algorithm: str | None = None
    realm: str | None = None
    final_code: int | None = None
    final_reason: str | None = None
    unregister_code: int | None = None
    server: str | None = None
    seen_address: Address | None = None
    raw_response: str | None = None
    error: SipProbeError | None = None
    # A result built by hand (tests of verdicts) describes the classic add-and-remove check.
    mode: Literal["query", "bind"] = "bind"
    noise: int = 0  # datagrams that answered no transaction of ours (a flood, a stray peer)
    bindings: list[Binding] = field(default_factory=list)
    displaced: list[Binding] | None = None

    @property
    def ok(self) -> bool:
        """True when the registrar accepted the credentials."""
        return self.outcome == "registered"

    @property
    def unregistered(self) -> bool:
        """True when no test binding of ours is left at the registrar: none was added
        (``query`` mode), or its removal got a 2xx."""
        if self.mode == "query":
            return True
        return self.unregister_code is not None and 200 <= self.unregister_code < 300

    def raise_for_outcome(self) -> None:
        """Raise the check's error, if it found one."""
        if self.error is not None:
            raise self.error

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view (no password, no digest response)."""
        return {
            "host": self.host,
            "port": self.port,
            "transport": self.transport,
            "username": self.username,
            "domain": self.domain,
            "outcome": self.outcome,
            "remote_address": str(self.remote_address) if self.remote_address else None,
            "local_address": str(self.local_address) if self.local_address else None,
            "challenge_code": self.challenge_code,
            "algorithm": self.algorithm,
            "realm": self.realm,
            "final_code": self.final_code,
            "final_reason": self.final_reason,
            "mode": self.mode,
            "unregister_code": self.unregister_code,
            "unregistered": self.unregistered,
            "bindings": [b.to_dict() for b in self.bindings],
            "displaced": None if self.displaced is None else [b.to_dict() for b in self.displaced],
            "server": self.server,
            "seen_address": str(self.seen_address) if self.seen_address else None,
            "steps": [s.to_dict() for s in self.steps],
            "raw_response": self.raw_response,
            "noise": self.noise,
            "error": _error_dict(self.error, lang),
        }


def _credentials_sent(request: SipRequest) -> dict[str, str] | None:
    """The digest fields we sent, minus ``response`` (it is a password-derived hash)."""
    for header in ("Authorization", "Proxy-Authorization"):
        value = request.get(header)
        if value is None:
            continue
        params = next((p for s, p in parse_auth_header(value) if s.lower() == "digest"), {})
        keep = ("username", "realm", "algorithm", "qop", "nc", "userhash")
        return {"header": header} | {k: params[k] for k in keep if k in params}
    return None


async def _drive(
    conn: SipConnection,
    flow: Generator[SipRequest, SipResponse, None],
    timeout: float,
    record: Callable[[Exchange], None],
) -> Exchange:
    """Run a sans-I/O auth flow over ``conn``; return the last exchange."""
    request = next(flow)
    while True:
        exchange = await conn.request(request, timeout=timeout)
        record(exchange)
        try:
            request = flow.send(exchange.response)
        except StopIteration:
            return exchange


_RETRY_LATER = Text(
    "Retry later; if it persists, contact the provider.",
    "Повторите позже; если не пройдёт — обратитесь к провайдеру.",
)
_SEE_PROVIDER = Text(
    "Compare the registration settings with the provider's instructions; send them the "
    "raw answer (--json) if unsure.",
    "Сверьте настройки регистрации с инструкцией провайдера; при сомнениях отправьте им "
    "сырой ответ (--json).",
)
# What to do about a final REGISTER answer other than 2xx/401/403/407 (RFC 3261 §10.3).
_REJECTION_ADVICE = {
    404: Text(
        "Check the SIP login (NovoFon: 7 digits with leading zeros) and the domain.",
        "Проверьте SIP-логин (NovoFon: 7 цифр с ведущими нулями) и домен.",
    ),
    405: Text(
        "This address does not take registrations: an IP-authenticated trunk needs none.",
        "Этот адрес не принимает регистрацию: транку с проверкой по IP она не нужна.",
    ),
    423: Text(
        "Raise the registration's expiration to the Min-Expires the registrar sent.",
        "Увеличьте expiration регистрации до Min-Expires из ответа регистратора.",
    ),
}


def _register_error(outcome: str, response: SipResponse, result: RegisterResult) -> SipProbeError:
    code, reason = response.status_code, response.reason
    evidence = Text(
        f"{code} {reason} ({result.host}:{result.port}, user {result.username})",
        f"{code} {reason} ({result.host}:{result.port}, пользователь {result.username})",
    )
    after_auth = any(s.credentials for s in result.steps)
    if outcome == "auth_failed":
        return SipAuthError(
            Text(
                f"The registrar refused the password for {result.username}.",
                f"Регистратор не принял пароль для {result.username}.",
            ),
            evidence=evidence,
            next_step=Text(
                "The password is wrong, or the login is unknown there (Asterisk answers both "
                "with a new 401). Copy the login and password from the cabinet again.",
                "Пароль неверен или такого логина там нет (Asterisk отвечает на оба случая "
                "новым 401). Скопируйте логин и пароль из кабинета заново.",
            ),
            status_code=code,
        )
    if outcome == "forbidden":
        when = (
            Text(" after our credentials", " после отправки учётных данных")
            if after_auth
            else (Text(" before any challenge", " без запроса аутентификации"))
        )
        return SipAuthError(
            Text("The registrar answered 403 Forbidden", "Регистратор ответил 403 Forbidden")
            + when
            + Text(".", "."),
            evidence=evidence,
            next_step=(
                Text(
                    "Wrong login or password, or the account is blocked: check both in the "
                    "cabinet.",
                    "Неверный логин или пароль либо аккаунт заблокирован: проверьте в кабинете.",
                )
                if after_auth
                else Text(
                    "Refused before any password was asked: the provider does not accept this "
                    "source address (verify your IP in the cabinet: the trunk's allowed "
                    "addresses), or it does not know the login (Asterisk answers 403 when the "
                    "address matches an IP trunk that takes no registrations), or the account "
                    "is blocked.",
                    "Отказ ещё до запроса пароля: провайдер не принимает этот адрес "
                    "(подтвердите IP в кабинете: разрешённые адреса транка), или не знает "
                    "логин (Asterisk отвечает 403, если адрес совпал с IP-транком без "
                    "регистрации), или аккаунт заблокирован.",
                )
            ),
            status_code=code,
        )
    return SipRejectedError(
        Text(f"The registrar answered {code} {reason}.", f"Регистратор ответил {code} {reason}."),
        evidence=evidence + Text(" — ", " — ") + sip_status(code).meaning,
        next_step=_REJECTION_ADVICE.get(code, _RETRY_LATER if code >= 500 else _SEE_PROVIDER),
        status_code=code,
    )


def _classify(response: SipResponse) -> RegisterOutcome:
    code = response.status_code
    if 200 <= code < 300:
        return "registered"
    if code in (401, 407):
        return "auth_failed"
    if code == 403:
        return "forbidden"
    if code == 404:
        return "unknown_user"
    return "rejected"


async def register_check(
    host: str,
    port: int = 5060,
    *,
    username: str,
    password: str | Secret,
    domain: str | None = None,
    transport: TransportName = "udp",
    expires: int = 60,
    timeout: float = 5.0,
    local_address: str | None = None,
    bind: bool = False,
    t1: float = T1,
) -> RegisterResult:
    """Check ``username``'s credentials at ``host:port`` with a digest-authenticated REGISTER.

    By default the REGISTER carries no Contact: the registrar checks the credentials and
    lists the line's bindings without changing any (RFC 3261 §10.2.3), so a live trunk
    stays registered. ``bind=True`` also registers our own Contact for ``expires`` seconds
    and unregisters it; on a line that keeps one contact (Asterisk's ``max_contacts=1`` +
    ``remove_existing``) that replaces the PBX's binding, and the PBX stays unregistered
    until it registers again (``result.displaced`` lists what was pushed out).
    ``domain`` goes into the Request-URI, From and To (default: ``host``). ``timeout``
    bounds each transaction. Every step is in ``result.steps``; the outcome tells a wrong
    password, an unknown user, silence and garbage apart.
    """
    _check_args(host, port, transport, timeout)
    if not username or expires < 0:
        raise BadInput(
            Text(
                "A SIP check needs a username and expires >= 0.",
                "Для SIP-проверки нужны имя пользователя и expires >= 0.",
            ),
        )
    result = RegisterResult(
        host, port, transport, username, domain or host, mode="bind" if bind else "query"
    )

    async def probe(conn: SipConnection) -> None:
        try:
            await _register_steps(conn, result, password, expires, timeout)
        except SipChallengeError as exc:
            result.outcome, result.error = "unsupported_challenge", exc

    await _run_probe(result, probe, local_address=local_address, timeout=timeout, t1=t1)
    return result


async def _register_steps(
    conn: SipConnection,
    result: RegisterResult,
    password: str | Secret,
    expires: int,
    timeout: float,
) -> None:
    aor = f"sip:{result.username}@{_uri_host(result.domain)}"
    uri = f"sip:{_uri_host(result.domain)}"
    if result.domain == result.host and result.port != 5060:
        uri += f":{result.port}"
    # RFC 3261 §10.2.3: without a Contact, a REGISTER only fetches the bindings; the
    # registrar still authenticates it, which is all the credential check needs.
    query = _base_request("REGISTER", uri, conn, aor, aor)
    auth = DigestAuth(result.username, password)
    purpose: Literal["register", "unregister"] = "register"

    def record(exchange: Exchange) -> None:
        response = exchange.response
        challenges = Challenge.from_response(response)
        cseq = exchange.request.cseq
        result.steps.append(
            RegisterStep(
                purpose=purpose,
                cseq=cseq[0] if cseq else 0,
                expires=int(exchange.request.get("Expires") or 0),
                credentials=_credentials_sent(exchange.request),
                status_code=response.status_code,
                reason=response.reason,
                latency_ms=exchange.latency_ms,
                transmissions=exchange.transmissions,
                challenges=challenges,
                query=exchange.request.get("Contact") is None,
            )
        )
        if challenges and result.challenge_code is None:
            result.challenge_code = response.status_code
            try:
                best = choose_challenge(challenges)
            except SipChallengeError:
                best = challenges[0]
            result.algorithm, result.realm = best.algorithm, best.realm
        result.server = response.get("Server") or response.get("User-Agent") or result.server
        result.seen_address = _seen_address(response) or result.seen_address
        result.raw_response = _raw_text(response.raw)
        if 200 <= response.status_code < 300:
            result.bindings = _bindings(response)

    def accepted(response: SipResponse) -> bool:
        result.final_code, result.final_reason = response.status_code, response.reason
        result.outcome = _classify(response)
        if result.outcome != "registered":
            result.error = _register_error(result.outcome, response, result)
            return False
        return True

    last = await _drive(conn, auth.auth_flow(query), timeout, record)
    if not accepted(last.response):
        return
    if result.mode == "query":
        result.displaced = []
        return
    before = result.bindings
    request = last.request.next_in_sequence()
    params = ";transport=tcp" if conn.kind == "tcp" else ""
    ours = Binding(f"sip:{result.username}@{conn.local}{params}")
    request.set("Contact", f"<{ours.uri}>")
    request.set("Expires", str(expires))
    last = await _drive(conn, auth.auth_flow(request), timeout, record)
    min_expires = last.response.get("Min-Expires")
    if last.response.status_code == 423 and min_expires and min_expires.strip().isdigit():
        # RFC 3261 §10.3 step 7: retry once with at least the registrar's Min-Expires.
        retry = last.request.next_in_sequence()
        retry.set("Expires", min_expires.strip())
        last = await _drive(conn, auth.auth_flow(retry), timeout, record)
    if not accepted(last.response):
        return
    # A registrar that lists bindings lists ours now; only then is "gone" a fact.
    listed = any(b.key == ours.key for b in result.bindings)
    kept = {b.key for b in result.bindings}
    if listed:
        result.displaced = [b for b in before if b.key not in kept]
    purpose = "unregister"
    unregister = last.request.next_in_sequence()
    unregister.set("Expires", "0")
    try:
        done = await _drive(conn, auth.auth_flow(unregister), timeout, record)
    except SipProbeError:
        # The check itself succeeded; an unanswered unregister shows as unregistered=False
        # and the binding expires on its own after `expires` seconds.
        return
    result.unregister_code = done.response.status_code


# --- NAT -------------------------------------------------------------------------------------

Severity = Literal["ok", "info", "warning", "problem"]


@dataclass(frozen=True, slots=True)
class NatFinding:
    """One conclusion about NAT, with a stable ``code`` for scripts."""

    code: str
    severity: Severity
    text: Text

    def to_dict(self, lang: Lang | None = None) -> dict[str, str]:
        """A JSON-ready view."""
        return {"code": self.code, "severity": self.severity, "text": self.text.render(lang)}


@dataclass(slots=True)
class NatDiagnosis:
    """The address the provider sees compared with what the PBX is configured to claim."""

    local_address: Address | None
    seen_address: Address | None
    external_address: str | None
    termination_addresses: tuple[str, ...]
    behind_nat: bool | None
    findings: list[NatFinding]

    @property
    def ok(self) -> bool:
        """True when no finding is a problem."""
        return all(f.severity != "problem" for f in self.findings)

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "local_address": str(self.local_address) if self.local_address else None,
            "seen_address": str(self.seen_address) if self.seen_address else None,
            "external_address": self.external_address,
            "termination_addresses": list(self.termination_addresses),
            "behind_nat": self.behind_nat,
            "ok": self.ok,
            "findings": [f.to_dict(lang) for f in self.findings],
        }


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def diagnose_nat(
    seen: Address | None,
    *,
    local: Address | None = None,
    external_address: str | None = None,
    termination_addresses: Sequence[str] = (),
) -> NatDiagnosis:
    """Compare the seen address (from a probe) with the configured external address
    (pjsip transport ``external_signaling_address``) and the addresses the provider's
    trunk expects calls from (NovoFon: the trunk's termination addresses).
    """
    findings: list[NatFinding] = []
    behind: bool | None = None

    def add(code: str, severity: Severity, en: str, ru: str) -> None:
        findings.append(NatFinding(code, severity, Text(en, ru)))

    if seen is None:
        add(
            "seen_unknown",
            "info",
            "The peer did not say where it sees us (no received/rport in its Via): NAT "
            "cannot be judged from this answer.",
            "Сервер не сообщил, откуда видит нас (нет received/rport в Via): о NAT по этому "
            "ответу судить нельзя.",
        )
    elif local is not None:
        behind = not seen.same_ip(local)
        if not behind:
            add(
                "no_nat",
                "ok",
                f"No NAT: the peer sees us at our own address {seen}.",
                f"NAT нет: сервер видит нас по нашему собственному адресу {seen}.",
            )
            if external_address and not seen.same_ip(external_address):
                add(
                    "external_without_nat",
                    "warning",
                    f"external_signaling_address is {external_address}, but the peer reaches "
                    f"us directly at {seen.host}: Asterisk would advertise the wrong address.",
                    f"external_signaling_address = {external_address}, но сервер видит нас "
                    f"напрямую по {seen.host}: Asterisk будет сообщать неверный адрес.",
                )
        elif not external_address:
            add(
                "nat_no_external",
                "problem",
                f"Behind NAT (local {local.host}, seen as {seen.host}) with no external address "
                "configured: Asterisk puts the private address in Contact and SDP (one-way "
                f"audio, calls dropped after 32 s). Set external_signaling_address and "
                f"external_media_address = {seen.host} and local_net on the transport.",
                f"За NAT (локальный {local.host}, виден как {seen.host}), а внешний адрес не "
                "задан: Asterisk укажет частный адрес в Contact и SDP (звук в одну сторону, "
                f"обрыв через 32 с). Задайте external_signaling_address и "
                f"external_media_address = {seen.host} и local_net на транспорте.",
            )
        elif not _is_ip(external_address):
            add(
                "external_is_name",
                "info",
                f"external_signaling_address is a name ({external_address}); make sure it "
                f"resolves to {seen.host}.",
                f"external_signaling_address задан именем ({external_address}); убедитесь, "
                f"что оно разрешается в {seen.host}.",
            )
        elif not seen.same_ip(external_address):
            add(
                "external_mismatch",
                "problem",
                f"external_signaling_address is {external_address}, but the provider sees us "
                f"at {seen.host}: fix it to {seen.host} (or the NAT uses another public IP).",
                f"external_signaling_address = {external_address}, а провайдер видит нас по "
                f"{seen.host}: исправьте на {seen.host} (или NAT выходит с другого IP).",
            )
        else:
            add(
                "external_matches",
                "ok",
                f"Behind NAT; external_signaling_address {external_address} matches.",
                f"За NAT; external_signaling_address {external_address} совпадает.",
            )
        if behind and seen.port != local.port:
            add(
                "port_translated",
                "info",
                f"The NAT rewrites our source port ({local.port} → {seen.port}): keep "
                "rtp_symmetric, force_rport and rewrite_contact = yes and qualify_frequency "
                "so the mapping stays open.",
                f"NAT меняет исходный порт ({local.port} → {seen.port}): оставьте rtp_symmetric, "
                "force_rport и rewrite_contact = yes и qualify_frequency, чтобы трансляция "
                "не закрывалась.",
            )
    if seen is not None and termination_addresses:
        listed = ", ".join(termination_addresses)
        if any(seen.same_ip(a) for a in termination_addresses):
            add(
                "termination_matches",
                "ok",
                f"{seen.host} is among the trunk's termination addresses.",
                f"{seen.host} есть среди адресов транка.",
            )
        else:
            add(
                "not_termination_address",
                "problem",
                f"The provider sees us at {seen.host}, but the trunk expects {listed}: add "
                f"{seen.host} to the trunk's addresses in the cabinet, or send from {listed}.",
                f"Провайдер видит нас по {seen.host}, а транк ждёт {listed}: добавьте "
                f"{seen.host} в адреса транка в кабинете или отправляйте с {listed}.",
            )
    return NatDiagnosis(
        local, seen, external_address, tuple(termination_addresses), behind, findings
    )


# --- sync facades ----------------------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


def _sync(func: Callable[P, Awaitable[R]]) -> Callable[P, R]:
    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        async def main() -> R:
            return await func(*args, **kwargs)

        return asyncio.run(main())

    run.__doc__ = f"Blocking facade over :func:`{func.__name__}` (runs its own event loop)."
    return run


options_sync = _sync(options)
register_check_sync = _sync(register_check)
