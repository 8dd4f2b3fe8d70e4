"""`status`: is the trunk up? Registration, contact reachability, channels — with evidence.

Everything is read with AMI actions of the ``reporting``/``call`` classes (Getvar of the
PJSIP_ENDPOINT / PJSIP_AOR / PJSIP_CONTACT / DEVICE_STATE functions,
PJSIPShowRegistrationsOutbound, CoreShowChannels), so trunkctl's AMI user needs no ``system``
class (which, next to ``originate``, lets Originate run shell commands). An endpoint the AMI
does not report is "unknown", never "up"; a registration pjsip.conf has but the AMI does not
report is "not loaded".

When the registration is not up, the reason is not in AMI (the Registry event says only
"Rejected"), so trunkctl first traces Asterisk's own REGISTER exchange (trunkctl.trace: it
sends the registration again and captures it; the provider's answer, in its own words, is
the first problem), then asks the provider itself: a REGISTER check with the configured
credentials (trunkctl.sip) shows the SIP exchange. It runs only when the trunk is not
registered, because on a one-contact line a successful check replaces Asterisk's binding.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trunkctl.ami import AmiClient, Message
from trunkctl.asterisk import ami_client, asterisk_rx
from trunkctl.conf import ConfigDir
from trunkctl.errors import AmiActionError, AmiError, TrunkctlError
from trunkctl.i18n import Lang, Text
from trunkctl.settings import Settings

from ._plan import PJSIP

if TYPE_CHECKING:
    from trunkctl.trace import SipTrace

__all__ = [
    "DEVICE_STATE_NAMES",
    "EndpointReading",
    "TrunkStatus",
    "device_state_name",
    "endpoint_fields",
    "getvar",
    "read_endpoint",
    "trunk_status",
]

DEVICE_STATE_NAMES = {
    "UNKNOWN": "Unknown",
    "NOT_INUSE": "Not in use",
    "INUSE": "In use",
    "BUSY": "Busy",
    "INVALID": "Invalid",
    "UNAVAILABLE": "Unavailable",
    "RINGING": "Ringing",
    "RINGINUSE": "Ring+Inuse",
    "ONHOLD": "On Hold",
}
"""Asterisk's device-state tokens (``DEVICE_STATE()``, ast_devstate_str) → the names its CLI,
PJSIPShowEndpoint and trunkctl's status, doctor and exporter use (ast_devstate2str)."""


def device_state_name(token: str) -> str:
    """The display name of a ``DEVICE_STATE()`` value (an unknown token as it is)."""
    return DEVICE_STATE_NAMES.get(token.strip().upper(), token.strip())


# Asterisk re-registers this many seconds before the registration expires
# (res_pjsip_outbound_registration.c REREGISTER_BUFFER_TIME).
REREGISTER_BUFFER_S = 10
# `pjsip show registrations`: "novofon/sip:host:port  auth  Registered  (exp. 249s)".
_EXPIRES = re.compile(r"^\s*(?P<name>[^/\s]+)/\S+.*\(exp\. (?P<s>\d+)s\)", re.MULTILINE)
# What may stand inside a dialplan function's argument list without changing its meaning.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.@+-]+$")

_URI = re.compile(
    r"^sips?:(?:[^@]*@)?(?P<host>\[[^\]]+\]|[^:;>]+)(?::(?P<port>\d+))?(?P<params>.*)$"
)


@dataclass(slots=True)
class TrunkStatus:
    """The trunk's state now; ``healthy`` drives the exit code."""

    trunk: str
    loaded: bool = False
    mode: str = "ip"
    registration: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    device_state: str | None = None
    """Asterisk's name for the endpoint's device state: "Not in use", "In use", "Unavailable"…"""
    outbound_auth: str | None = None
    """The loaded endpoint's ``outbound_auth`` ("" when it has none)."""
    active_channels: int = 0
    probe: dict[str, Any] | None = None
    register_trace: SipTrace | None = None
    """Asterisk's own REGISTER exchange, traced when the registration is not up."""
    problems: list[Text] = field(default_factory=list)
    fixes: list[Text] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.loaded and not self.problems

    @property
    def state(self) -> str:
        """``up``, ``down`` or ``unknown`` (the AMI does not report the endpoint)."""
        if self.healthy:
            return "up"
        return "down" if self.loaded else "unknown"

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        return {
            "trunk": self.trunk,
            "healthy": self.healthy,
            "state": self.state,
            "loaded": self.loaded,
            "mode": self.mode,
            "registration": self.registration,
            "contacts": self.contacts,
            "device_state": self.device_state,
            "outbound_auth": self.outbound_auth,
            "active_channels": self.active_channels,
            "probe": self.probe,
            "register_trace": (
                None if self.register_trace is None else self.register_trace.to_dict(lang)
            ),
            "problems": [p.render(lang) for p in self.problems],
            "fixes": [f.render(lang) for f in self.fixes],
        }


def _rtt_ms(value: str | None) -> float | None:
    try:
        return round(int(value or "") / 1000, 2)
    except ValueError:
        return None


async def getvar(ami: AmiClient, expression: str) -> str:
    """The value of a global variable or dialplan function, as AMI Getvar gives it."""
    try:
        return (await ami.action("Getvar", Variable=expression)).get("Value") or ""
    except AmiActionError:
        return ""


async def endpoint_fields(
    ami: AmiClient, name: str, keys: tuple[str, ...]
) -> dict[str, str] | None:
    """The loaded endpoint's options (PJSIP_ENDPOINT), or None when Asterisk has no such
    endpoint (its ``context`` is never empty: the default is "default")."""
    if not _SAFE_NAME.match(name):
        return None
    context = await getvar(ami, f"PJSIP_ENDPOINT({name},context)")
    if not context:
        return None
    found = {"context": context}
    for key in keys:
        if key != "context":
            found[key] = await getvar(ami, f"PJSIP_ENDPOINT({name},{key})")
    return found


@dataclass(frozen=True, slots=True)
class EndpointReading:
    """A loaded endpoint as Getvar of the PJSIP functions shows it (class ``reporting``)."""

    outbound_auth: str
    device_state: str | None
    """Asterisk's name ("Not in use"…), mapped from ``DEVICE_STATE()``'s token."""
    active_channels: int
    contacts: tuple[dict[str, Any], ...]
    """``uri``, ``status`` (Reachable…), ``rtt_ms`` of each contact of its aors."""


async def read_endpoint(ami: AmiClient, name: str) -> EndpointReading | None:
    """The endpoint's state with no ``system`` class (None: Asterisk has no such endpoint)."""
    fields = await endpoint_fields(ami, name, ("outbound_auth", "aors"))
    if fields is None:
        return None
    token = await getvar(ami, f"DEVICE_STATE(PJSIP/{name})")
    try:
        channels = await ami.list_action("CoreShowChannels")
        active = sum(
            1 for ev in channels.events if (ev.get("Channel") or "").startswith(f"PJSIP/{name}-")
        )
    except AmiActionError:
        active = 0
    contacts: list[dict[str, Any]] = []
    for aor in (a.strip() for a in fields["aors"].split(",")):
        if not _SAFE_NAME.match(aor):
            continue
        ids = await getvar(ami, f"PJSIP_AOR({aor},contact)")
        for cid in (c.strip() for c in ids.split(",")):
            if not _SAFE_NAME.match(cid):
                continue
            contacts.append(
                {
                    "uri": await getvar(ami, f"PJSIP_CONTACT({cid},uri)"),
                    "status": await getvar(ami, f"PJSIP_CONTACT({cid},status)"),
                    "rtt_ms": _rtt_ms(await getvar(ami, f"PJSIP_CONTACT({cid},rtt)")),
                }
            )
    return EndpointReading(
        fields["outbound_auth"],
        device_state_name(token) if token else None,
        active,
        tuple(contacts),
    )


async def _endpoint(ami: AmiClient, st: TrunkStatus) -> None:
    reading = await read_endpoint(ami, st.trunk)
    if reading is None:
        st.problems.append(
            Text(
                f"endpoint {st.trunk}: state unknown — Asterisk's AMI does not report it "
                "(not loaded, or this AMI user cannot see it)",
                f"endpoint {st.trunk}: состояние неизвестно — AMI Asterisk о нём не сообщает "
                "(не загружен, или этому пользователю AMI он не виден)",
            )
        )
        st.fixes.append(
            Text(
                "Run `trunkctl apply` (it reloads and proves what loaded), then `trunkctl doctor`.",
                "Выполните `trunkctl apply` (перезагрузит и проверит, что загрузилось), затем "
                "`trunkctl doctor`.",
            )
        )
        return
    st.loaded = True
    st.outbound_auth = reading.outbound_auth
    st.device_state = reading.device_state
    st.active_channels = reading.active_channels
    for contact in reading.contacts:
        st.contacts.append(dict(contact))
        if contact["status"] == "Unreachable":
            st.problems.append(
                Text(
                    f"the provider at {contact['uri']} does not answer OPTIONS (Unreachable)",
                    f"провайдер {contact['uri']} не отвечает на OPTIONS (Unreachable)",
                )
            )
            st.fixes.append(
                Text(
                    "Check the firewall, NAT and the server address; `trunkctl doctor` "
                    "probes it independently.",
                    "Проверьте файрвол, NAT и адрес сервера; `trunkctl doctor` проверит "
                    "доступность независимо от Asterisk.",
                )
            )


async def outbound_registrations(ami: AmiClient) -> dict[str, Message]:
    """Asterisk's outbound registrations by name, with their ``Status`` (none: ``{}``)."""
    try:
        regs = await ami.list_action("PJSIPShowRegistrationsOutbound")
    except AmiActionError:
        return {}  # Asterisk answers an empty list with "No registrations found"
    return {
        ev.get("ObjectName") or "": ev
        for ev in regs.events
        if ev.get("Event") == "OutboundRegistrationDetail"
    }


def _expires_in(settings: Settings, name: str) -> int | None:
    """Seconds until the registration expires, from `pjsip show registrations` over the
    control socket (AMI's NextReg is pjsip's own timer, which Asterisk does not use: 0).
    None when the control socket is out of reach (not root, another host)."""
    try:
        out = asterisk_rx(settings, "pjsip show registrations", timeout=5.0)
    except TrunkctlError:
        return None
    for m in _EXPIRES.finditer(out):
        if m["name"] == name:
            return int(m["s"])
    return None


def _in_files(settings: Settings, name: str) -> bool | None:
    """Whether pjsip.conf (with its includes) has registration ``name`` (None: unreadable)."""
    try:
        return ConfigDir(settings.config_dir).resolve(PJSIP).find(name, "registration") is not None
    except (TrunkctlError, OSError):
        return None


async def _registration(settings: Settings, ami: AmiClient, st: TrunkStatus) -> None:
    ev = (await outbound_registrations(ami)).get(st.trunk)
    if ev is None:
        if _in_files(settings, st.trunk):
            st.mode = "registration"
            st.registration = {
                "status": "not loaded",
                "next_refresh_s": None,
                "next_refresh": "unknown",
                "expires_in_s": None,
                "expiration_s": None,
                "server_uri": None,
                "client_uri": None,
            }
            st.problems.append(
                Text(
                    f"registration {st.trunk} is in pjsip.conf but Asterisk's AMI does not "
                    "report it (not loaded)",
                    f"регистрация {st.trunk} есть в pjsip.conf, но AMI Asterisk о ней не "
                    "сообщает (не загружена)",
                )
            )
            st.fixes.append(
                Text(
                    "Run `trunkctl apply`: it reloads PJSIP and says why Asterisk refuses it.",
                    "Выполните `trunkctl apply`: он перезагрузит PJSIP и скажет, почему "
                    "Asterisk её отвергает.",
                )
            )
        return  # none in the files either: an IP-mode trunk
    st.mode = "registration"
    status = ev.get("Status")
    expires = _expires_in(settings, st.trunk) if status == "Registered" else None
    # Asterisk refreshes REREGISTER_BUFFER_S before expiry (at once when less is left).
    nxt = max(expires - REREGISTER_BUFFER_S, 0) if expires is not None else None
    st.registration = {
        "status": status,
        "next_refresh_s": nxt,
        "next_refresh": f"in {nxt} s" if nxt is not None else "unknown",
        "expires_in_s": expires,
        "expiration_s": int(exp) if (exp := ev.get("Expiration") or "").isdigit() else None,
        "server_uri": ev.get("ServerUri"),
        "client_uri": ev.get("ClientUri"),
    }
    if status != "Registered":
        st.problems.append(
            Text(
                f"registration {st.trunk} is {status}",
                f"регистрация {st.trunk}: {status}",
            )
        )


async def _probe(settings: Settings, st: TrunkStatus) -> None:
    """The REGISTER exchange with the configured credentials, as evidence of why."""
    from trunkctl.sip import register_check

    res = ConfigDir(settings.config_dir).resolve(PJSIP)
    reg, auth = res.find(st.trunk, "registration"), res.find(st.trunk, "auth")
    uri = _URI.match((reg.get("server_uri") if reg else "") or "")
    if reg is None or auth is None or uri is None:
        return
    transport = res.find(reg.get("transport") or "", "transport")
    bind = (transport.get("bind") if transport else "") or ""
    # Probe from the address Asterisk binds to (the provider may know us by it), unless
    # it binds to every interface.
    wildcard = ("0.0.0.0", "[")  # noqa: S104 - compared with, not bound to
    local = bind.rsplit(":", 1)[0] if bind and not bind.startswith(wildcard) else None
    result = await register_check(
        uri["host"],
        int(uri["port"] or 5060),
        username=auth.get("username") or "",
        password=auth.get("password") or "",
        transport="tcp" if "transport=tcp" in (uri["params"] or "") else "udp",
        timeout=5.0,
        local_address=local,
    )
    st.probe = result.to_dict()
    if result.ok:
        st.fixes.append(
            Text(
                "The provider accepts these credentials now: Asterisk will re-register at its next "
                "retry (or run `trunkctl apply`).",
                "Провайдер сейчас принимает эти учётные данные: Asterisk зарегистрируется при "
                "следующей попытке (или выполните `trunkctl apply`).",
            )
        )
    elif result.error is not None:
        st.problems.append(result.error.what)
        if result.error.evidence is not None:
            st.problems.append(result.error.evidence)
        if result.error.next_step is not None:
            st.fixes.append(result.error.next_step)
        if result.outcome in ("auth_failed", "forbidden", "unknown_user"):
            login = auth.get("username") or "LOGIN"
            st.fixes.append(
                Text(
                    f"Set them: `trunkctl credentials set --trunk {st.trunk} --username {login} "
                    "--password-stdin`, then `trunkctl apply`.",
                    f"Задайте их: `trunkctl credentials set --trunk {st.trunk} --username {login} "
                    "--password-stdin`, затем `trunkctl apply`.",
                )
            )


async def _trace_register(settings: Settings, st: TrunkStatus) -> None:
    """Trace Asterisk's REGISTER again; the provider's refusal, verbatim, goes first."""
    from trunkctl.trace import SipTrace, capture_register_exchange, provider_answer

    try:
        # 5 s: enough for any answer; silence shows as retransmissions.
        trace = await capture_register_exchange(settings, st.trunk, timeout=5.0)
    except AmiError as exc:
        trace = SipTrace(
            subject="registration",
            unavailable=Text(
                f"Asterisk did not resend the registration ({exc.what.en})",
                f"Asterisk не отправил регистрацию повторно ({exc.what.ru})",
            ),
        )
    st.register_trace = trace
    answer = provider_answer(trace, "REGISTER")
    if answer is not None:
        st.problems.insert(0, answer.headline())
        if answer.phrase is not None:
            st.fixes.insert(0, answer.phrase.next_step)


async def trunk_status(
    settings: Settings, trunk: str = "novofon", *, probe: bool = True, trace: bool | None = None
) -> TrunkStatus:
    """Ask Asterisk how the trunk is; when it is not registered, trace Asterisk's REGISTER
    (``trace``, by default as ``probe``) and probe the provider (``probe``)."""
    st = TrunkStatus(trunk)
    ami = ami_client(settings)
    try:
        await ami.connect()
        await _endpoint(ami, st)
        await _registration(settings, ami, st)
    finally:
        with contextlib.suppress(AmiError):
            await ami.close()
    failing = st.registration is not None and st.registration["status"] not in (
        "Registered",
        "not loaded",
    )
    if (probe if trace is None else trace) and failing:
        await _trace_register(settings, st)
    if probe and failing:
        await _probe(settings, st)
    return st
