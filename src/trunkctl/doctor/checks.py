"""The live checks: small coroutines, each asking one question of the running system.

Every check takes the run's :class:`DoctorContext` and returns a :class:`CheckResult`; the
runner times it, bounds it with its own timeout and turns an exception into a failed (or,
for :class:`Skip`, a skipped) result, so one stuck check never hides the others.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from trunkctl.errors import AmiActionError, AmiError, AmiPermissionError, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.lint import parse_version

from ._config import split_host_port
from ._context import DoctorContext, Skip
from ._model import CheckResult, Status

if TYPE_CHECKING:
    from trunkctl.codes import ProviderAnswer
    from trunkctl.trace import SipTrace

__all__ = [
    "LIVE_CHECKS",
    "LiveCheck",
    "check_ami",
    "check_asterisk_version",
    "check_dns",
    "check_nat",
    "check_pjsip_modules",
    "check_qualify",
    "check_registration",
    "check_sip_options",
    "check_transports",
    "check_trunk_loaded",
]

CheckFunc = Callable[[DoctorContext], Awaitable[CheckResult]]

# AMI actions trunkctl uses, and the commands that need each: all of them run with the
# narrow user `trunkctl init` creates (write originate,call,reporting; docs/ami.md). CLI-only
# facts (module show, pjsip show transports, manager show user) come from the control socket.
_ACTIONS: Final = (
    ("Originate", "call"),
    ("Hangup", "call"),
    ("Getvar", "status, apply, doctor"),
    ("PJSIPShowRegistrationsOutbound", "status, apply, doctor"),
    ("PJSIPRegister", "apply"),
    ("PJSIPQualify", "doctor"),
    ("ShowDialPlan", "apply"),
    ("CoreSettings", "doctor"),
    ("CoreShowChannels", "status"),
)
# Read classes whose events trunkctl follows: calls, UserEvent, Registry/ContactStatus.
_READ_CLASSES: Final = ("call", "user", "system")
# What `trunkctl init` grants (provision/_init.py AMI_READ / AMI_WRITE).
_NARROW_READ: Final = "call,user,system,reporting"
_NARROW_WRITE: Final = "originate,call,reporting"
_OLDEST_SUPPORTED: Final = 20
_SLOW_RTT_MS: Final = 500.0
# Asterisk's default qualify_timeout is 3 s; a healthy provider answers in milliseconds.
_QUALIFY_WAIT: Final = 3.5
_LOG_TAIL: Final = 256 * 1024


def _t(en: str, ru: str) -> Text:
    return Text(en, ru)


def _plain(value: str) -> Text:
    return Text(value, value)


def _result(
    check_id: str,
    title: Text,
    status: Status,
    message: Text,
    *,
    evidence: list[Text] | tuple[Text, ...] = (),
    fix: Text | None = None,
    **data: Any,
) -> CheckResult:
    return CheckResult(check_id, title, status, message, tuple(evidence), fix, data=data)


# --- AMI and Asterisk ------------------------------------------------------------------------

_AMI_TITLE = _t("AMI: connection, login, permissions", "AMI: подключение, вход, права")


async def _cli(ctx: DoctorContext, command: str) -> list[str] | None:
    """A CLI command's output lines: through the control socket (``asterisk -rx``, as status
    and apply do), else AMI ``Command`` when this user has the ``command`` class; None when
    neither is available (not root on the Asterisk host, and the narrow AMI user)."""
    from trunkctl.asterisk import asterisk_rx

    if ctx.facts.get("control_socket") is not False:
        try:
            out = await asyncio.to_thread(asterisk_rx, ctx.settings, command, timeout=3.0)
        except TrunkctlError:
            ctx.facts["control_socket"] = False
        else:
            ctx.facts["control_socket"] = True
            return out.splitlines()
    try:
        ami = await ctx.ami()
        lines: list[str] = await ami.command(command)
    except (TrunkctlError, TimeoutError):
        return None
    return lines


def _needs_cli(command: str) -> Skip:
    """The skip for a check that can only read ``command``'s output, and cannot."""
    return Skip(
        _t(
            f"needs `{command}`: the control socket (`asterisk -rx`) is out of reach and the "
            "AMI user has no `command` class (trunkctl's does not need it)",
            f"нужна `{command}`: сокет управления (`asterisk -rx`) недоступен, а у "
            "пользователя AMI нет класса `command` (пользователю trunkctl он не нужен)",
        ),
        _t(
            "Run doctor as root (or the asterisk user) on the Asterisk server, or set "
            "[asterisk] command in trunkctl's settings.",
            "Запускайте doctor от root (или asterisk) на сервере Asterisk или задайте "
            "[asterisk] command в настройках trunkctl.",
        ),
    )


async def _read_classes(ctx: DoctorContext, username: str) -> set[str] | None:
    """The user's read classes from ``manager show user`` (None when it cannot be read)."""
    lines = await _cli(ctx, f"manager show user {username}")
    for line in lines or []:
        key, _, value = line.partition(":")
        if key.strip().lower() == "read perm":
            return {c.strip().lower() for c in value.split(",") if c.strip()}
    return None


async def check_ami(ctx: DoctorContext) -> CheckResult:
    """AMI answers, the login works, and the user may do what trunkctl does."""
    ami = await ctx.ami()
    allowed = set((await ami.action("ListCommands")).keys())
    missing = [(action, used) for action, used in _ACTIONS if action not in allowed]
    read = await _read_classes(ctx, ami.username)
    no_read = [c for c in _READ_CLASSES if read is not None and c not in read and "all" not in read]
    who = f"{ami.username}@{ami.peer} (AMI {ami.version})"
    evidence = [
        _t(
            f"write: {action} refused (needed by trunkctl {used})",
            f"запись: {action} запрещено (нужно для trunkctl {used})",
        )
        for action, used in missing
    ] + [
        _t(f"read: class {c} missing (its events are not sent)", f"чтение: нет класса {c}")
        for c in no_read
    ]
    data: dict[str, Any] = {
        "user": ami.username,
        "peer": ami.peer,
        "ami_version": ami.version,
        "read_classes": sorted(read) if read is not None else None,
    }
    if not evidence:
        return _result(
            "ami", _AMI_TITLE, "ok", _t(f"logged in as {who}", f"вход как {who}"), **data
        )
    return _result(
        "ami",
        _AMI_TITLE,
        "warn",
        _t(
            f"logged in as {who}, but some permissions are missing",
            f"вход как {who}, но не хватает прав",
        ),
        evidence=evidence,
        fix=_t(
            f"In manager.conf [{ami.username}] set read = {_NARROW_READ} and "
            f"write = {_NARROW_WRITE}, then `asterisk -rx 'manager reload'` "
            "(`trunkctl init --narrow-ami` does both).",
            f"В manager.conf [{ami.username}] задайте read = {_NARROW_READ} и "
            f"write = {_NARROW_WRITE}, затем `asterisk -rx 'manager reload'` "
            "(`trunkctl init --narrow-ami` делает и то, и другое).",
        ),
        **data,
    )


_VERSION_TITLE = _t("Asterisk version", "Версия Asterisk")


async def _version_text(ctx: DoctorContext, ami: Any) -> str | None:
    try:
        return (await ami.action("CoreSettings")).get("AsteriskVersion") or None
    except AmiError:
        lines = [ln for ln in await _cli(ctx, "core show version") or [] if ln.strip()]
        return lines[0].strip() if lines else None


async def check_asterisk_version(ctx: DoctorContext) -> CheckResult:
    """The running Asterisk's version; trunkctl knows 20–22 (chan_sip is gone from 21)."""
    ami = await ctx.ami_or_skip()
    text = await _version_text(ctx, ami)
    version = parse_version(text)
    ctx.facts["asterisk_version"] = text
    shown = text or "?"
    if version is None:
        return _result(
            "asterisk_version",
            _VERSION_TITLE,
            "warn",
            _t(f"cannot tell the version from {shown!r}", f"версию не понять из {shown!r}"),
            fix=_t(
                "trunkctl's advice assumes Asterisk 20–22; check `asterisk -V`.",
                "Советы trunkctl рассчитаны на Asterisk 20–22; проверьте `asterisk -V`.",
            ),
            version=text,
        )
    dotted = ".".join(map(str, version))
    if version[0] < _OLDEST_SUPPORTED:
        return _result(
            "asterisk_version",
            _VERSION_TITLE,
            "warn",
            _t(
                f"Asterisk {dotted}: older than 20, no longer maintained",
                f"Asterisk {dotted}: старше 20, больше не поддерживается",
            ),
            fix=_t(
                "Upgrade to Asterisk 20 LTS or 22 LTS; trunkctl is tested on 20–22.",
                "Обновитесь до Asterisk 20 LTS или 22 LTS; trunkctl проверен на 20–22.",
            ),
            version=text,
        )
    return _result(
        "asterisk_version", _VERSION_TITLE, "ok", _plain(f"Asterisk {shown}"), version=text
    )


_MODULES_TITLE = _t("PJSIP modules loaded", "Модули PJSIP загружены")


def _running_modules(lines: list[str]) -> set[str]:
    """Module names (no ``.so``) whose ``module show`` line says Running."""
    names: set[str] = set()
    for line in lines:
        head = line.split(None, 1)
        if head and head[0].endswith(".so") and " Running" in line and "Not Running" not in line:
            names.add(head[0][:-3])
    return names


async def _loaded(ctx: DoctorContext, ami: Any, wanted: list[str]) -> tuple[set[str], bool]:
    """The loaded ones among ``wanted`` and whether the full list was read (for the lint).

    ``module show`` over the control socket; else AMI ``ModuleCheck`` (class ``system``,
    which trunkctl's user has not): :class:`Skip` when neither is allowed.
    """
    lines = await _cli(ctx, "module show")
    if lines is not None:
        return _running_modules(lines), True
    running: set[str] = set()
    for name in wanted:
        try:
            await ami.action("ModuleCheck", Module=f"{name}.so")
        except AmiPermissionError:
            raise _needs_cli("module show") from None
        except AmiActionError:
            continue
        running.add(name)
    return running, False


async def check_pjsip_modules(ctx: DoctorContext) -> CheckResult:
    """res_pjsip, chan_pjsip and what the trunk's objects need are loaded and running."""
    ami = await ctx.ami_or_skip()
    required = ["res_pjsip", "chan_pjsip", "res_pjsip_session", "pbx_config"]
    trunk = ctx.trunk
    if trunk.found and (trunk.login or trunk.mode == "registration"):
        required.append("res_pjsip_outbound_authenticator_digest")
    if trunk.mode == "registration":
        required.append("res_pjsip_outbound_registration")
    if trunk.identify_matches:
        required.append("res_pjsip_endpoint_identifier_ip")
    running, complete = await _loaded(ctx, ami, required)
    if complete:
        ctx.facts["modules"] = frozenset(running)
    missing = [m for m in required if m not in running]
    if not missing:
        return _result(
            "pjsip_modules",
            _MODULES_TITLE,
            "ok",
            _t(f"running: {', '.join(required)}", f"работают: {', '.join(required)}"),
            modules=sorted(running) if complete else required,
        )
    listed = ", ".join(f"{m}.so" for m in missing)
    return _result(
        "pjsip_modules",
        _MODULES_TITLE,
        "fail",
        _t(f"not running: {listed}", f"не работают: {listed}"),
        evidence=[_t("module show: not Running", "module show: не Running")],
        fix=_t(
            f"Load them: `asterisk -rx 'module load {missing[0]}.so'`; if that fails, look for "
            "noload lines in modules.conf and the reason in Asterisk's log.",
            f"Загрузите: `asterisk -rx 'module load {missing[0]}.so'`; если не выходит, "
            "ищите noload в modules.conf и причину в журнале Asterisk.",
        ),
        missing=missing,
    )


_TRANSPORTS_TITLE = _t(
    "Transports run as pjsip.conf says", "Транспорты работают так, как сказано в pjsip.conf"
)
_TRANSPORT_LINE: Final = re.compile(r"^\s*Transport:\s+(\S+)\s+(\S+)\s+\d+\s+\d+\s+(\S+)")
_DEFAULT_SIP_PORT: Final = {"udp": 5060, "tcp": 5060, "tls": 5061, "ws": 8088, "wss": 8089}


def _file_transports(ctx: DoctorContext) -> dict[str, tuple[str, str]]:
    """Transport name -> (protocol, bind host:port) as pjsip.conf says (empty if unreadable)."""
    from trunkctl.conf import resolve

    try:
        res = resolve("pjsip.conf", config_dir=ctx.settings.config_dir)
    except Exception:  # the lint reports unreadable files; this check just has nothing to say
        return {}
    out: dict[str, tuple[str, str]] = {}
    for sec in res.sections:
        if sec.get("type") != "transport" or not sec.get("bind"):
            continue
        protocol = (sec.get("protocol") or "udp").strip().lower()
        host, port = split_host_port((sec.get("bind") or "").strip())
        out[sec.name] = (protocol, f"{host}:{port or _DEFAULT_SIP_PORT.get(protocol, 5060)}")
    return out


async def check_transports(ctx: DoctorContext) -> CheckResult:
    """Every transport of pjsip.conf runs on the address the file gives: a changed bind
    needs a restart (Asterisk keeps a running transport's socket on reload)."""
    wanted = _file_transports(ctx)
    if not wanted:
        raise Skip(
            _t("pjsip.conf has no transport with bind=", "в pjsip.conf нет транспорта с bind=")
        )
    lines = await _cli(ctx, "pjsip show transports")
    if lines is None:
        await ctx.ami_or_skip()
        raise _needs_cli("pjsip show transports")
    running: dict[str, str] = {}
    for line in lines:
        m = _TRANSPORT_LINE.match(line)
        if m:
            running[m.group(1)] = m.group(3)
    differ = [
        (name, bind, running[name])
        for name, (_protocol, bind) in wanted.items()
        if name in running and _norm_bind(running[name]) != _norm_bind(bind)
    ]
    if not differ:
        return _result(
            "transports",
            _TRANSPORTS_TITLE,
            "ok",
            _t(
                f"{len(wanted)} transport(s) run where pjsip.conf says",
                f"транспортов: {len(wanted)}, все работают там, где сказано в pjsip.conf",
            ),
        )
    name, bind, now = differ[0]
    return _result(
        "transports",
        _TRANSPORTS_TITLE,
        "warn",
        _t(
            f"transport {name} runs on {now}, but pjsip.conf says bind = {bind}",
            f"транспорт {name} работает на {now}, а в pjsip.conf bind = {bind}",
        ),
        evidence=[
            _t(f"pjsip show transports: {n} {r}", f"pjsip show transports: {n} {r}")
            for n, _b, r in differ
        ],
        fix=_t(
            "Asterisk does not move a running transport on reload: restart it "
            "(`asterisk -rx 'core restart gracefully'`) to use the new bind.",
            "Asterisk не переносит работающий транспорт при reload: перезапустите его "
            "(`asterisk -rx 'core restart gracefully'`), чтобы применить новый bind.",
        ),
        transports={n: {"file": b, "running": r} for n, b, r in differ},
    )


def _norm_bind(value: str) -> str:
    host, port = split_host_port(value)
    return f"{host.strip('[]').lower()}:{port}"


# --- the trunk in Asterisk -----------------------------------------------------------------

_TRUNK_TITLE = _t("Trunk loaded in Asterisk", "Транк загружен в Asterisk")
_SETUP_FIX = _t(
    "Write it with `trunkctl setup` (or name yours with --trunk), then `trunkctl apply`.",
    "Запишите его через `trunkctl setup` (или укажите свой через --trunk), затем `trunkctl apply`.",
)


def _need_trunk(ctx: DoctorContext) -> None:
    if not ctx.trunk.found:
        raise Skip(
            _t(
                f"pjsip.conf has no trunk endpoint {ctx.trunk.name}",
                f"в pjsip.conf нет endpoint транка {ctx.trunk.name}",
            ),
            _SETUP_FIX,
        )


async def check_trunk_loaded(ctx: DoctorContext) -> CheckResult:
    """The trunk's endpoint exists in the running Asterisk, not only in the file."""
    name = ctx.trunk.name
    if not ctx.trunk.found:
        # A fresh install has no trunk yet: that is the next step, not a failure (a trunk
        # named with --trunk that is missing is one).
        requested = ctx.trunk.requested
        return _result(
            "trunk_loaded",
            _TRUNK_TITLE,
            "fail" if requested else "warn",
            _t(
                f"pjsip.conf has no endpoint {name}"
                + ("" if requested else " (no trunk set up yet)"),
                f"в pjsip.conf нет endpoint {name}"
                + ("" if requested else " (транк ещё не настроен)"),
            ),
            fix=_SETUP_FIX,
        )
    await ctx.ami_or_skip()
    st = await ctx.status()
    if not st.loaded:
        return _result(
            "trunk_loaded",
            _TRUNK_TITLE,
            "fail",
            _t(
                f"endpoint {name} is in pjsip.conf but not loaded in Asterisk",
                f"endpoint {name} есть в pjsip.conf, но не загружен в Asterisk",
            ),
            evidence=st.problems,
            fix=_t(
                "Run `trunkctl apply` (it reloads and shows why Asterisk refuses an object); "
                "the lint below names options Asterisk drops.",
                "Выполните `trunkctl apply` (перезагрузит и покажет, почему Asterisk отверг "
                "объект); проверка конфигурации ниже называет отброшенные опции.",
            ),
        )
    state = st.device_state or "?"
    return _result(
        "trunk_loaded",
        _TRUNK_TITLE,
        "ok",
        _t(
            f"endpoint {name} is loaded (state {state}, active channels {st.active_channels})",
            f"endpoint {name} загружен (состояние {state}, активных каналов {st.active_channels})",
        ),
        device_state=st.device_state,
        active_channels=st.active_channels,
    )


_REGISTRATION_TITLE = _t("Registration with the provider", "Регистрация у провайдера")


def _registration_log(ctx: DoctorContext, server_uri: str | None) -> list[str]:
    """Recent res_pjsip_outbound_registration lines of Asterisk's log about this server."""
    path = ctx.settings.log_file
    if path is None:
        return []
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(fh.tell() - _LOG_TAIL, 0))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    wanted = (server_uri or "").lower()
    lines = [
        ln.strip()
        for ln in text.splitlines()
        if "res_pjsip_outbound_registration" in ln and (not wanted or wanted in ln.lower())
    ]
    return lines[-5:]


def _registry_line(msg: Any) -> str:
    parts = [f"{k}: {msg.get(k)}" for k in ("Username", "Domain", "Status", "Cause") if msg.get(k)]
    return "Registry " + ", ".join(parts)


async def check_registration(ctx: DoctorContext) -> CheckResult:
    """The outbound registration is Registered; if not, the provider's own answer says why."""
    _need_trunk(ctx)
    await ctx.ami_or_skip()
    st = await ctx.status()
    name = ctx.trunk.name
    if st.registration is None:
        if ctx.trunk.mode == "registration":
            return _result(
                "registration",
                _REGISTRATION_TITLE,
                "fail",
                _t(
                    f"registration {name} is in pjsip.conf but not loaded",
                    f"регистрация {name} есть в pjsip.conf, но не загружена",
                ),
                fix=_t(
                    "Run `trunkctl apply`; the lint below names what Asterisk refuses.",
                    "Выполните `trunkctl apply`; проверка конфигурации ниже покажет, что "
                    "Asterisk отверг.",
                ),
            )
        raise Skip(
            _t(
                "IP mode: nothing to register (the provider knows the trunk by its address)",
                "режим IP: регистрации нет (провайдер узнаёт транк по адресу)",
            )
        )
    reg = dict(st.registration)
    events = [_registry_line(m) for m in ctx.registry_events()]
    if reg.get("status") == "Registered":
        nxt = reg.get("next_refresh_s")
        when = (
            _t(f", next refresh in {nxt} s", f", обновление через {nxt} с") if nxt else _t("", "")
        )
        return _result(
            "registration",
            _REGISTRATION_TITLE,
            "ok",
            _t(f"Registered at {reg.get('server_uri')}", f"Registered на {reg.get('server_uri')}")
            + when,
            registration=reg,
            registry_events=events,
        )
    probed = await ctx.status(probe=True)
    log = _registration_log(ctx, reg.get("server_uri"))
    evidence, answer = _register_trace_evidence(probed.register_trace)
    evidence += [_plain(e) for e in events + log]
    probe = probed.probe
    if probe:
        for step in probe.get("steps", []):
            evidence.append(
                _plain(
                    f"{step['purpose'].upper()} → {step['status_code']} {step['reason']} "
                    f"({step['latency_ms']} ms)"
                )
            )
    said = answer.headline().en if answer is not None else None
    evidence += [
        p
        for p in probed.problems
        if p.en != said and not p.en.startswith(f"registration {name} is ")
    ]
    # trunk_status puts the provider phrase's advice (when one matched) first.
    fixes = probed.fixes or [
        _t(
            "Check the login and password in the cabinet, then `trunkctl apply`.",
            "Проверьте логин и пароль в кабинете, затем `trunkctl apply`.",
        )
    ]
    fix = fixes[0]
    for more in fixes[1:]:
        fix = fix + _plain(" ") + more
    return _result(
        "registration",
        _REGISTRATION_TITLE,
        "fail",
        _t(
            f"registration {name} is {reg.get('status')}",
            f"регистрация {name}: {reg.get('status')}",
        ),
        evidence=evidence,
        fix=fix,
        registration=reg,
        registry_events=events,
        log=log,
        probe=probe,
        provider_answer=None if answer is None else answer.to_dict(),
        register_trace=(
            None if probed.register_trace is None else probed.register_trace.to_dict("en")
        ),
    )


def _register_trace_evidence(trace: SipTrace | None) -> tuple[list[Text], ProviderAnswer | None]:
    """The provider's answer to Asterisk's own REGISTER (headline first), then the ladder."""
    from trunkctl.trace import ladder_lines, provider_answer

    if trace is None:
        return [], None
    answer = provider_answer(trace, "REGISTER")
    lines = [
        Text(en, ru)
        for en, ru in zip(ladder_lines(trace, "en"), ladder_lines(trace, "ru"), strict=True)
    ]
    return ([answer.headline()] if answer is not None else []) + lines, answer


_QUALIFY_TITLE = _t("Provider reachability (qualify RTT)", "Доступность провайдера (qualify, RTT)")


def _contact_line(c: Mapping[str, Any]) -> Text:
    rtt = f", RTT {c['rtt_ms']} ms" if c.get("rtt_ms") is not None else ""
    return _plain(f"{c['uri']}: {c['status']}{rtt}")


async def _qualify_now(ctx: DoctorContext, ami: Any, wait: float) -> list[dict[str, Any]]:
    """Ask Asterisk to qualify the trunk now (PJSIPQualify) and read its ContactStatus events.

    Asterisk 22 shows a static contact as NonQualified after a reload until its first
    scheduled round (up to qualify_frequency seconds later); this one OPTIONS settles it.
    """
    name = ctx.trunk.name
    sub = ami.subscribe({"Event": "ContactStatus", "EndpointName": name})
    fresh: list[dict[str, Any]] = []
    try:
        try:
            await ami.action("PJSIPQualify", Endpoint=name)
        except AmiError:
            return []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await sub.get(timeout=left)
            except (AmiError, TimeoutError):
                break
            usec = msg.get("RoundtripUsec") or ""
            fresh.append(
                {
                    "uri": msg.get("URI"),
                    "status": msg.get("ContactStatus"),
                    "rtt_ms": round(int(usec) / 1000, 2) if usec.isdigit() else None,
                }
            )
            if len(fresh) >= ctx.trunk.contacts:
                break
    finally:
        sub.close()
    return fresh


async def check_qualify(ctx: DoctorContext) -> CheckResult:
    """Asterisk's own OPTIONS to the provider (qualify): Reachable and how fast."""
    _need_trunk(ctx)
    ami = await ctx.ami_or_skip()
    st = await ctx.status()
    if not st.loaded:
        raise Skip(_t("the endpoint is not loaded", "endpoint не загружен"))
    if not st.contacts:
        raise Skip(
            _t("the trunk's aor has no contact", "у aor транка нет contact"),
            _t(
                "Give the aor `contact = sip:<provider>:5060`.",
                "Задайте aor `contact = sip:<провайдер>:5060`.",
            ),
        )
    contacts: list[dict[str, Any]] = [dict(c) for c in st.contacts]
    asked = False
    if any(c["status"] != "Reachable" or c["rtt_ms"] is None for c in contacts):
        fresh = await _qualify_now(ctx, ami, _QUALIFY_WAIT)
        if fresh:
            contacts, asked = fresh, True
    lines = [_contact_line(c) for c in contacts]
    if asked:
        lines.append(
            _t(
                "qualified on demand (PJSIPQualify): Asterisk had no result yet",
                "опрошен по запросу (PJSIPQualify): у Asterisk ещё не было результата",
            )
        )
    statuses = {c["status"] for c in contacts}
    rtts = [c["rtt_ms"] for c in contacts if c["rtt_ms"] is not None]
    data: dict[str, Any] = {"contacts": contacts, "qualified_on_demand": asked}
    if "Unreachable" in statuses:
        return _result(
            "qualify",
            _QUALIFY_TITLE,
            "fail",
            _t("Asterisk cannot reach the provider", "Asterisk не может достучаться до провайдера"),
            evidence=lines,
            fix=_t(
                "Asterisk's OPTIONS get no answer: check the firewall (outgoing UDP 5060 and "
                "the answers), the provider's address in the aor's contact, and the SIP "
                "OPTIONS check below (it probes without Asterisk).",
                "OPTIONS от Asterisk остаются без ответа: проверьте файрвол (исходящий UDP 5060 "
                "и ответы), адрес провайдера в contact у aor и проверку SIP OPTIONS ниже "
                "(она работает без Asterisk).",
            ),
            **data,
        )
    if statuses == {"NonQualified"} and not ctx.trunk.qualify_frequency:
        raise Skip(
            _t(
                "the aor is not qualified (qualify_frequency = 0)",
                "aor не опрашивается (qualify_frequency = 0)",
            ),
            _t(
                "Set `qualify_frequency = 60` on the trunk's aor to see reachability and RTT.",
                "Задайте `qualify_frequency = 60` у aor транка, чтобы видеть доступность и RTT.",
            ),
        )
    if statuses - {"Reachable"}:
        return _result(
            "qualify",
            _QUALIFY_TITLE,
            "warn",
            _t("no qualify result yet", "результата опроса ещё нет"),
            evidence=lines,
            fix=_t(
                "Asterisk has no answer to its OPTIONS yet (just reloaded?): run doctor again "
                "in a minute.",
                "У Asterisk ещё нет ответа на его OPTIONS (только что перезагружен?): повторите "
                "через минуту.",
            ),
            **data,
        )
    worst = max(rtts, default=0.0)
    if worst > _SLOW_RTT_MS:
        return _result(
            "qualify",
            _QUALIFY_TITLE,
            "warn",
            _t(f"Reachable, but slow: RTT {worst} ms", f"Reachable, но медленно: RTT {worst} мс"),
            evidence=lines,
            fix=_t(
                "A round trip over 500 ms makes speech lag: check the server's network.",
                "Задержка больше 500 мс — речь будет запаздывать: проверьте сеть сервера.",
            ),
            **data,
        )
    return _result(
        "qualify",
        _QUALIFY_TITLE,
        "ok",
        _t(f"Reachable, RTT {worst} ms", f"Reachable, RTT {worst} мс"),
        evidence=lines,
        **data,
    )


# --- the provider, asked directly ----------------------------------------------------------

_DNS_TITLE = _t("DNS of the provider host", "DNS адреса провайдера")
_IPV4: Final = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(/\d+)?$")


async def check_dns(ctx: DoctorContext) -> CheckResult:
    """The provider's host resolves; identify's address list agrees with it."""
    _need_trunk(ctx)
    host = ctx.trunk.host
    if host is None:
        raise Skip(_t("the trunk names no provider host", "у транка не указан адрес провайдера"))
    if ctx.trunk.host_is_ip:
        return _result(
            "dns",
            _DNS_TITLE,
            "ok",
            _t(f"{host} is an address: no DNS lookup needed", f"{host} — адрес, DNS не нужен"),
            host=host,
            addresses=[host],
        )
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, ctx.trunk.port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        return _result(
            "dns",
            _DNS_TITLE,
            "fail",
            _t(f"{host} does not resolve", f"{host} не разрешается в адрес"),
            evidence=[_plain(f"getaddrinfo({host}): {exc.strerror or exc}")],
            fix=_t(
                f"Check the name and this server's DNS: `getent hosts {host}`, "
                "/etc/resolv.conf. Asterisk cannot send anything to a name it cannot resolve.",
                f"Проверьте имя и DNS сервера: `getent hosts {host}`, /etc/resolv.conf. "
                "Asterisk ничего не отправит на имя, которое не разрешается.",
            ),
            host=host,
        )
    addresses = sorted({str(info[4][0]) for info in infos})
    shown = ", ".join(addresses)
    fixed = [m for m in ctx.trunk.identify_matches if _IPV4.match(m)]
    if fixed and not any(a in {m.split("/")[0] for m in fixed} for a in addresses):
        return _result(
            "dns",
            _DNS_TITLE,
            "warn",
            _t(f"{host} → {shown}", f"{host} → {shown}"),
            evidence=[_plain(f"identify match = {', '.join(fixed)}")],
            fix=_t(
                f"identify lists addresses {host} no longer resolves to: the provider's calls "
                f"may match no endpoint. Use `match = {host}` (Asterisk resolves it).",
                f"в identify адреса, в которые {host} больше не разрешается: входящие от "
                f"провайдера могут не найти endpoint. Укажите `match = {host}`.",
            ),
            host=host,
            addresses=addresses,
        )
    return _result(
        "dns", _DNS_TITLE, "ok", _plain(f"{host} → {shown}"), host=host, addresses=addresses
    )


_OPTIONS_TITLE = _t("SIP OPTIONS to the provider", "SIP OPTIONS к провайдеру")


async def check_sip_options(ctx: DoctorContext) -> CheckResult:
    """trunkctl's own OPTIONS to the provider: does it answer us, and where does it see us."""
    _need_trunk(ctx)
    res = await ctx.options()
    data = res.to_dict("en")
    where = f"{res.host}:{res.port}/{res.transport}"
    if res.outcome != "answered" or res.status_code is None:
        err = res.error
        return _result(
            "sip_options",
            _OPTIONS_TITLE,
            "fail",
            err.what if err else _t(f"no answer from {where}", f"нет ответа от {where}"),
            evidence=[err.evidence] if err and err.evidence else [],
            fix=err.next_step if err else None,
            **data,
        )
    seen = f"{res.seen_address}" if res.seen_address else "?"
    line = _t(
        f"{res.status_code} {res.reason} from {where} in {res.latency_ms:.1f} ms; "
        f"the provider sees us at {seen}",
        f"{res.status_code} {res.reason} от {where} за {res.latency_ms:.1f} мс; "
        f"провайдер видит нас как {seen}",
    )
    evidence = [_plain(f"Server: {res.server or res.user_agent or '?'}")]
    if res.status_code == 403:
        return _result(
            "sip_options",
            _OPTIONS_TITLE,
            "warn",
            line,
            evidence=evidence,
            fix=_t(
                f"The provider refuses requests from {seen}: make sure this address is the "
                "trunk's termination address in the cabinet.",
                f"Провайдер отклоняет запросы с {seen}: проверьте, что этот адрес указан в "
                "адресах терминации транка в кабинете.",
            ),
            **data,
        )
    return _result("sip_options", _OPTIONS_TITLE, "ok", line, evidence=evidence, **data)


_NAT_TITLE = _t("NAT: the address the provider sees", "NAT: адрес, который видит провайдер")


async def check_nat(ctx: DoctorContext) -> CheckResult:
    """The seen address against the transport's external address (and --public-ip)."""
    from trunkctl.sip import diagnose_nat

    _need_trunk(ctx)
    res = await ctx.options()
    if res.outcome != "answered":
        raise Skip(_t("the provider did not answer OPTIONS", "провайдер не ответил на OPTIONS"))
    nat = diagnose_nat(
        res.seen_address,
        local=res.local_address,
        external_address=ctx.trunk.external_address,
        termination_addresses=(ctx.public_ip,) if ctx.public_ip else (),
    )
    texts = [f.text for f in nat.findings]
    problems = [f.text for f in nat.findings if f.severity == "problem"]
    warnings = [f.text for f in nat.findings if f.severity == "warning"]
    data = nat.to_dict("en")
    if problems or warnings:
        return _result(
            "nat",
            _NAT_TITLE,
            "warn",
            (problems or warnings)[0],
            evidence=texts[1:] if len(texts) > 1 else [],
            fix=_t(
                "Set the transport's external_signaling_address and external_media_address "
                "to the address the provider sees, and local_net to your LAN; then "
                "`trunkctl apply`.",
                "Задайте у транспорта external_signaling_address и external_media_address "
                "равными адресу, который видит провайдер, и local_net своей сети; затем "
                "`trunkctl apply`.",
            ),
            **data,
        )
    return _result(
        "nat",
        _NAT_TITLE,
        "ok",
        texts[0] if texts else _t("nothing to note", "замечаний нет"),
        evidence=texts[1:],
        **data,
    )


@dataclass(frozen=True, slots=True)
class LiveCheck:
    """A check, its id and title (for a result when it cannot finish), and its time limit."""

    id: str
    title: Text
    func: CheckFunc
    timeout: float


LIVE_CHECKS: tuple[LiveCheck, ...] = (
    LiveCheck("ami", _AMI_TITLE, check_ami, 4.0),
    LiveCheck("asterisk_version", _VERSION_TITLE, check_asterisk_version, 4.0),
    LiveCheck("pjsip_modules", _MODULES_TITLE, check_pjsip_modules, 4.0),
    LiveCheck("transports", _TRANSPORTS_TITLE, check_transports, 4.0),
    LiveCheck("trunk_loaded", _TRUNK_TITLE, check_trunk_loaded, 5.0),
    # When not registered: Asterisk's REGISTER traced (up to 5 s), then trunkctl's own
    # REGISTER exchange (5 s per transaction).
    LiveCheck("registration", _REGISTRATION_TITLE, check_registration, 20.0),
    LiveCheck("qualify", _QUALIFY_TITLE, check_qualify, 6.0),
    LiveCheck("dns", _DNS_TITLE, check_dns, 3.0),
    LiveCheck("sip_options", _OPTIONS_TITLE, check_sip_options, 4.0),
    LiveCheck("nat", _NAT_TITLE, check_nat, 4.0),
)
"""Every live check, in report order."""
