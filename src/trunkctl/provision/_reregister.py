"""After `trunkctl probe register --bind`: put back the local PBX's displaced registration.

A provider that keeps one contact per line (Asterisk's ``max_contacts=1`` +
``remove_existing``) replaces the PBX's binding with the probe's; the probe's unregister
then leaves the line with none until Asterisk's next re-REGISTER (up to ``expiration``
seconds), while Asterisk still shows it Registered. When trunkctl's settings reach the
local Asterisk, every outbound registration for the probed login and server is sent a
fresh REGISTER (AMI ``PJSIPRegister``) and its ``Registry`` event awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from trunkctl.errors import AmiActionError, TrunkctlError
from trunkctl.i18n import Lang, Text

if TYPE_CHECKING:
    from trunkctl.ami import AmiClient
    from trunkctl.settings import Settings
    from trunkctl.sip import Address

__all__ = ["PbxRestore", "restore_registrations"]

RestoreStatus = Literal["reregistered", "not_confirmed", "no_match", "unavailable"]


@dataclass(slots=True)
class PbxRestore:
    """What became of the local registrations after a displacing probe."""

    status: RestoreStatus
    username: str
    server: str
    states: dict[str, str] = field(default_factory=dict)  # registration → last Status
    reason: Text | None = None  # why AMI could not be used

    @property
    def problem(self) -> bool:
        """True when the trunk may be left unregistered (the verdict becomes WARNING)."""
        return self.status in ("not_confirmed", "unavailable")

    def lines(self) -> list[Text]:
        """Detail lines for the probe's text output."""
        names = ", ".join(self.states)
        if self.status == "reregistered":
            return [
                Text(
                    f"re-registered trunk {names} (AMI PJSIPRegister): the provider has the "
                    "PBX's binding again",
                    f"транк {names} зарегистрирован заново (AMI PJSIPRegister): у провайдера "
                    "снова есть привязка АТС",
                )
            ]
        if self.status == "no_match":
            return [
                Text(
                    f"no outbound registration of the local Asterisk uses {self.username} at "
                    f"{self.server}: nothing to re-register here",
                    f"у локального Asterisk нет исходящей регистрации {self.username} на "
                    f"{self.server}: здесь перерегистрировать нечего",
                )
            ]
        fix = self._fix()
        if self.status == "not_confirmed":
            states = ", ".join(f"{n}: {s}" for n, s in self.states.items())
            return [
                Text(
                    f"asked trunk {names} to register again, but it did not report Registered "
                    f"in time ({states}). {fix.en}",
                    f"транк {names} попросили зарегистрироваться заново, но он не сообщил "
                    f"Registered вовремя ({states}). {fix.ru}",
                )
            ]
        why = self.reason or Text("AMI unavailable", "AMI недоступен")
        return [
            Text(
                f"the PBX's registration as {self.username} may stay displaced until its next "
                f"refresh (Asterisk still shows it Registered): trunkctl cannot reach the "
                f"local Asterisk ({why.en}). {fix.en}",
                f"регистрация АТС как {self.username} может оставаться вытесненной до "
                f"следующего обновления (Asterisk по-прежнему показывает Registered): "
                f"trunkctl не может связаться с локальным Asterisk ({why.ru}). {fix.ru}",
            )
        ]

    def _fix(self) -> Text:
        name = next(iter(self.states), "<name>")
        return Text(
            f"Fix it now: `trunkctl apply`, or `asterisk -rx 'pjsip send register {name}'` "
            "(`pjsip show registrations` lists the names).",
            f"Исправить сразу: `trunkctl apply` или `asterisk -rx 'pjsip send register "
            f"{name}'` (имена — в `pjsip show registrations`).",
        )

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view: ``registrations`` maps each name to its last Status."""
        return {
            "status": self.status,
            "registrations": dict(self.states),
            "reason": self.reason.render(lang) if self.reason else None,
            "details": [line.render(lang) for line in self.lines()],
        }


def _uri_parts(uri: str) -> tuple[str | None, str, int | None]:
    """``sip:user@host:port;params`` → (user, host, port)."""
    from trunkctl.doctor import split_host_port

    rest = uri.strip().strip("<>")
    rest = rest.split(":", 1)[1] if rest.lower().startswith(("sip:", "sips:")) else rest
    rest = rest.split(";", 1)[0]
    user, at, hostport = rest.rpartition("@")
    host, port = split_host_port(hostport)
    return (user if at else None), host.lower(), port


async def _addresses(host: str) -> set[str]:
    """The IPs a host name stands for ({host} itself for an IP; empty when it fails)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, proto=socket.IPPROTO_UDP)
    except OSError:
        return set()
    return {str(info[4][0]) for info in infos}


async def _matching(
    ami: AmiClient, username: str, host: str, port: int, remote: Address | None
) -> dict[str, tuple[str, str]]:
    """Registrations whose login and server are the probed ones: name → (client, server)."""
    try:
        listing = await ami.list_action("PJSIPShowRegistrationsOutbound")
    except AmiActionError:
        return {}  # Asterisk answers "no registrations" with an error
    # AuthDetail also carries the plain Password: only Username is read here.
    logins = {
        e.get("ObjectName"): e.get("Username")
        for e in listing.events
        if e.get("Event") == "AuthDetail"
    }
    wanted = {host.lower()} | await _addresses(host)
    if remote is not None:
        wanted.add(remote.host)
    found: dict[str, tuple[str, str]] = {}
    for ev in listing.events:
        name = ev.get("ObjectName")
        if ev.get("Event") != "OutboundRegistrationDetail" or not name:
            continue
        client, server = ev.get("ClientUri") or "", ev.get("ServerUri") or ""
        user = _uri_parts(client)[0]
        auth_login = logins.get((ev.get("OutboundAuth") or "").split(",")[0])
        _, server_host, server_port = _uri_parts(server)
        if username not in (user, auth_login) or (server_port or 5060) != port:
            continue
        if server_host in wanted or wanted & await _addresses(server_host):
            found[name] = (client, server)
    return found


async def _reregister(
    ami: AmiClient, found: dict[str, tuple[str, str]], timeout: float
) -> dict[str, str]:
    """PJSIPRegister each one and wait for its ``Registry`` event saying Registered."""
    states = dict.fromkeys(found, "Unknown")
    by_uris = {uris: name for name, uris in found.items()}
    waiting = set(found)

    with ami.subscribe({"Event": "Registry"}) as events:
        # Asterisk first unregisters the registration, then registers it again.
        for name in found:
            await ami.action("PJSIPRegister", {"Registration": name})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while waiting and (left := deadline - loop.time()) > 0:
            try:
                ev = await events.get(timeout=left)
            except TrunkctlError:
                break  # timed out: the states say how far each got
            which = by_uris.get((ev.get("Username") or "", ev.get("Domain") or ""))
            if which is None:
                continue
            states[which] = ev.get("Status") or "Unknown"
            if states[which] in ("Registered", "Rejected"):
                waiting.discard(which)
    return states


async def restore_registrations(
    settings: Settings | None,
    *,
    username: str,
    host: str,
    port: int,
    remote: Address | None,
    timeout: float,
    reason: Text | None = None,
) -> PbxRestore:
    """Re-register the local registrations a ``bind`` probe of ``username`` displaced.

    ``settings`` None (unreadable) reports ``unavailable`` with ``reason``.
    """
    from trunkctl.asterisk import ami_client

    server = f"{host}:{port}"
    if settings is None:
        return PbxRestore("unavailable", username, server, reason=reason)
    try:
        ami = ami_client(settings, events=("system",), timeout=timeout)
        await ami.connect()
    except TrunkctlError as exc:
        return PbxRestore("unavailable", username, server, reason=exc.what)
    try:
        found = await _matching(ami, username, host, port, remote)
        if not found:
            return PbxRestore("no_match", username, server)
        states = await _reregister(ami, found, timeout)
    except TrunkctlError as exc:
        return PbxRestore("unavailable", username, server, reason=exc.what)
    finally:
        with contextlib.suppress(TrunkctlError):
            await ami.close()
    ok = all(s == "Registered" for s in states.values())
    return PbxRestore("reregistered" if ok else "not_confirmed", username, server, states)
