"""`status`: is the trunk up? Registration, contact reachability, channels — with evidence.

When the registration is not up, the reason is not in AMI (the Registry event says only
"Rejected"), so trunkctl asks the provider itself: a REGISTER check with the configured
credentials (trunkctl.sip) shows the SIP exchange. It runs only when the trunk is not
registered, because on a one-contact line a successful check replaces Asterisk's binding.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from trunkctl.ami import AmiClient, Message
from trunkctl.asterisk import ami_client
from trunkctl.conf import ConfigDir
from trunkctl.errors import AmiActionError, AmiError
from trunkctl.i18n import Lang, Text
from trunkctl.settings import Settings

from ._plan import PJSIP

__all__ = ["TrunkStatus", "trunk_status"]

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
    outbound_auth: str | None = None
    """The loaded endpoint's ``outbound_auth`` ("" when it has none)."""
    active_channels: int = 0
    probe: dict[str, Any] | None = None
    problems: list[Text] = field(default_factory=list)
    fixes: list[Text] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.loaded and not self.problems

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        return {
            "trunk": self.trunk,
            "healthy": self.healthy,
            "loaded": self.loaded,
            "mode": self.mode,
            "registration": self.registration,
            "contacts": self.contacts,
            "device_state": self.device_state,
            "outbound_auth": self.outbound_auth,
            "active_channels": self.active_channels,
            "probe": self.probe,
            "problems": [p.render(lang) for p in self.problems],
            "fixes": [f.render(lang) for f in self.fixes],
        }


def _rtt_ms(value: str | None) -> float | None:
    try:
        return round(int(value or "") / 1000, 2)
    except ValueError:
        return None


async def _endpoint(ami: AmiClient, st: TrunkStatus) -> None:
    try:
        found = await ami.list_action("PJSIPShowEndpoint", Endpoint=st.trunk)
    except AmiActionError:
        st.problems.append(
            Text(
                f"endpoint {st.trunk} is not loaded in Asterisk",
                f"endpoint {st.trunk} не загружен в Asterisk",
            )
        )
        st.fixes.append(
            Text(
                "Run `trunkctl setup` and `trunkctl apply`.",
                "Выполните `trunkctl setup` и `trunkctl apply`.",
            )
        )
        return
    st.loaded = True
    for ev in found.events:
        kind = ev.get("Event")
        if kind == "EndpointDetail":
            st.device_state = ev.get("DeviceState")
            st.outbound_auth = ev.get("OutboundAuth") or ""
            st.active_channels = int(ev.get("ActiveChannels") or 0)
        elif kind == "ContactStatusDetail":
            contact = {
                "uri": ev.get("URI") or ev.get("Uri"),
                "status": ev.get("Status"),
                "rtt_ms": _rtt_ms(ev.get("RoundtripUsec")),
            }
            st.contacts.append(contact)
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


async def _registration(ami: AmiClient, st: TrunkStatus) -> None:
    ev = (await outbound_registrations(ami)).get(st.trunk)
    if ev is not None:  # none: an IP-mode trunk
        st.mode = "registration"
        next_reg = ev.get("NextReg") or ""
        st.registration = {
            "status": ev.get("Status"),
            # Asterisk 22 reports NextReg 0 for a registration refreshed on schedule
            # (seen on the sandbox): 0 means "not known", not "now".
            "next_refresh_s": int(next_reg) if next_reg.isdigit() and next_reg != "0" else None,
            "expiration_s": int(exp) if (exp := ev.get("Expiration") or "").isdigit() else None,
            "server_uri": ev.get("ServerUri"),
            "client_uri": ev.get("ClientUri"),
        }
        if ev.get("Status") != "Registered":
            st.problems.append(
                Text(
                    f"registration {st.trunk} is {ev.get('Status')}",
                    f"регистрация {st.trunk}: {ev.get('Status')}",
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


async def trunk_status(
    settings: Settings, trunk: str = "novofon", *, probe: bool = True
) -> TrunkStatus:
    """Ask Asterisk how the trunk is; probe the provider when it is not registered."""
    st = TrunkStatus(trunk)
    ami = ami_client(settings)
    try:
        await ami.connect()
        await _endpoint(ami, st)
        await _registration(ami, st)
    finally:
        with contextlib.suppress(AmiError):
            await ami.close()
    if probe and st.registration is not None and st.registration["status"] != "Registered":
        await _probe(settings, st)
    return st
