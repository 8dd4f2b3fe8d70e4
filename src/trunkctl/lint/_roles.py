"""What each endpoint is, decided once from evidence, before any rule runs.

Provider rules (outbound_auth, contact, identify, NAT, login format…) are only right for
provider trunks; on a phone they are false alarms. So every endpoint gets one role:

- ``trunk``: a registration points at it, or its aor contact / identify match / from_domain
  names a provider (a public host or address, or a provider profile's host);
- ``phone``: it demands ``auth`` from its callers and its aors take registered contacts
  (no static contact) — what phones and softphones log in to;
- ``app``: an application or a gateway on the local network (Stasis/AGI dialplan, an
  identify or contact on a private address);
- ``unknown``: nothing says which.

The evidence is kept for ``doctor --json`` so a wrong guess can be seen and argued with.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from trunkctl.conf import ResolvedSection
from trunkctl.i18n import Lang, Text
from trunkctl.providers import PROFILES, ProviderProfile

from ._values import host_port, sip_uri_host, split_list

if TYPE_CHECKING:
    from ._context import LintContext

__all__ = ["ROLE_KINDS", "EndpointRole", "RoleKind", "classify", "provider_of_host"]

RoleKind = Literal["trunk", "phone", "app", "unknown"]
ROLE_KINDS: Final[tuple[RoleKind, ...]] = ("trunk", "phone", "app", "unknown")
_APP_ONLY: Final = frozenset({"stasis", "agi", "eagi", "fastagi", "audiosocket", "externalmedia"})


@dataclass(frozen=True, slots=True)
class EndpointRole:
    """One endpoint's role, the facts behind it, the provider hosts it talks to and the
    provider profile those hosts belong to (``None``: not a known provider's)."""

    endpoint: str
    role: RoleKind
    evidence: tuple[Text, ...]
    hosts: tuple[str, ...] = ()
    provider: str | None = None

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view in one language."""
        return {
            "endpoint": self.endpoint,
            "role": self.role,
            "evidence": [e.render(lang) for e in self.evidence],
            "hosts": list(self.hosts),
            "provider": self.provider,
        }


def _domain(host: str) -> str:
    """``novofon.ru`` for ``sip.novofon.ru``; addresses stay whole."""
    if _address(host) is not None:
        return host
    labels = host.lower().rstrip(".").split(".")
    return ".".join(labels[-2:])


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _public(host: str) -> bool:
    """A host a provider could be at: a name with a dot, or a global address."""
    addr = _address(host)
    if addr is None:
        return "." in host and not host.lower().endswith((".local", ".lan", ".localdomain"))
    return addr.is_global


def provider_of_host(host: str, profiles: Iterable[ProviderProfile]) -> ProviderProfile | None:
    """The profile whose SIP host (or its domain, or an identify host) ``host`` is."""
    low = host.lower().rstrip(".")
    for p in profiles:
        if not p.sip_host:
            continue
        known = {p.sip_host.lower(), *(h.lower() for h in p.identify_hosts)}
        if low in known:
            return p
        named = _address(p.sip_host) is None and _address(low) is None
        if named and (low == _domain(p.sip_host) or low.endswith("." + _domain(p.sip_host))):
            return p
    return None


def _match_hosts(ident: ResolvedSection) -> list[str]:
    out: list[str] = []
    for v in ident.get_all("match"):
        for item in split_list(v):
            base = item.split("/", 1)[0]
            hp = host_port(base)
            out.append(hp[0] if hp else base)
    return out


def _context_apps(ctx: LintContext, context: str) -> set[str]:
    plan = ctx.dialplan
    if plan is None:
        return set()
    return {p.app.lower() for p in plan.priorities.get(context, [])}


def classify(ctx: LintContext, ep: ResolvedSection) -> EndpointRole:
    """The role of ``ep`` from what pjsip.conf and the dialplan say about it."""
    ev: list[Text] = []
    hosts: list[str] = []
    regs = ctx.registrations_of(ep)
    for r in regs:
        h = sip_uri_host(r.get("server_uri") or "")
        if h:
            hosts.append(h)
        ev.append(
            Text(
                f"registration [{r.name}] registers it at {h or '?'}",
                f"registration [{r.name}] регистрирует его на {h or '?'}",
            )
        )
    aors = ctx.aors_of(ep)
    static = [
        (a, c) for a in aors for v in a.get_all("contact") for c in split_list(v) if c.strip()
    ]
    for _aor, c in static:
        h = sip_uri_host(c) or c.split("//", 1)[0].strip()
        h = re.split(r"[\s;]", h.removeprefix("sip:"), maxsplit=1)[0].split(":")[0]
        if h:
            hosts.append(h)
    ident_hosts = [h for i in ctx.identifies_of(ep) for h in _match_hosts(i)]
    hosts.extend(ident_hosts)
    from_domain = (ep.get("from_domain") or "").strip()
    if from_domain:
        hosts.append(from_domain)
    profiles = list(PROFILES.values())
    given = ctx.facts.provider
    if given is not None:
        profiles = [given, *[p for p in profiles if p.name != given.name]]
    provider: ProviderProfile | None = None
    for h in hosts:
        provider = provider_of_host(h, profiles)
        if provider is not None:
            ev.append(Text(f"{h} is {provider.title}'s host", f"{h} — адрес {provider.title}"))
            break
    if provider is None and given is not None and given.sip_host and ep.name == given.name:
        provider = given
        ev.append(
            Text(
                f"it is named after the {given.title} profile",
                f"названо по профилю {given.title}",
            )
        )
    public = [h for h in hosts if _public(h)]
    private = [h for h in hosts if not _public(h)]
    inbound_auth = bool(split_list(ep.get("auth")))
    dynamic = (
        bool(aors)
        and not static
        and any((a.get("max_contacts") or "0").strip() not in ("", "0") for a in aors)
    )
    if static:
        ev.append(
            Text(
                f"aor {static[0][0].name} has a static contact",
                f"у aor {static[0][0].name} статический contact",
            )
        )
    if ident_hosts:
        ev.append(
            Text(
                f"an identify matches {', '.join(ident_hosts[:3])}",
                f"identify сопоставляет {', '.join(ident_hosts[:3])}",
            )
        )
    if inbound_auth:
        ev.append(Text("it demands auth= from callers", "требует auth= от звонящих"))
    if dynamic:
        ev.append(
            Text(
                "its aor takes registered contacts (max_contacts)",
                "его aor принимает регистрации (max_contacts)",
            )
        )
    if ep.get("outbound_auth"):
        ev.append(Text("it has outbound_auth=", "у него есть outbound_auth="))
    strong_trunk = bool(regs) or provider is not None or bool(public)
    phone = inbound_auth and not static and (dynamic or not aors or not public)
    role: RoleKind
    if regs or provider is not None:
        role = "trunk"
    elif phone:
        role = "phone"
    elif strong_trunk:
        role = "trunk"
    elif private:
        role = "app"
        ev.append(
            Text(
                f"it talks to a local address ({private[0]})",
                f"общается с локальным адресом ({private[0]})",
            )
        )
    elif _context_apps(ctx, (ep.get("context") or "default").strip()) & _APP_ONLY:
        role = "app"
        ev.append(
            Text(
                "its context hands calls to an application (Stasis/AGI)",
                "его контекст передаёт звонки приложению (Stasis/AGI)",
            )
        )
    elif ep.get("outbound_auth"):
        role = "trunk"
    elif dynamic:
        role = "phone"
    else:
        role = "unknown"
    return EndpointRole(
        ep.name,
        role,
        tuple(ev),
        tuple(dict.fromkeys(h.lower() for h in hosts)),
        provider.name if provider is not None and role == "trunk" else None,
    )
