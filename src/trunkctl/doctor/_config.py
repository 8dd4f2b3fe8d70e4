"""What the live checks need to know from the config dir: the trunk as Asterisk reads it.

The provider's host and port, the transport, the login and password (for the REGISTER
check), the address the transport binds to, the caller ID the outgoing context sets. Read
with trunkctl.conf's resolver (templates applied, includes followed), never by hand.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from trunkctl.conf import ConfMissingError, Resolution, ResolvedSection, resolve
from trunkctl.errors import ConfParseError
from trunkctl.secret import Secret

__all__ = ["TrunkFacts", "read_trunk", "split_host_port"]

_URI: Final = re.compile(
    r"^<?sips?:(?:(?P<user>[^@;>]*)@)?(?P<host>\[[^\]]+\]|[^:;>]+)(?::(?P<port>\d+))?"
    r"(?P<params>[^>]*)>?$",
    re.I,
)
# Set(CALLERID(num)=79581114585) or Set(CALLERID(all)="Office" <79581114585>) in a dialplan step.
_SET_CID: Final = re.compile(
    r"Set\(\s*CALLERID\((?:num|all)\)\s*=\s*(?:\"[^\"]*\"\s*)?<?\+?(?P<num>\d{6,15})>?", re.I
)
_CALLERID: Final = re.compile(r"<?\+?(?P<num>\d{6,15})>?\s*$")
# ast_sockaddr_split_hostport: "0.0.0.0", "[::]" and an empty bind all mean every address.
_WILDCARDS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - compared with, not bound


def split_host_port(value: str) -> tuple[str, int | None]:
    """``host``/``host:port``/``[v6]:port`` → (host without brackets, port or None)."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() else None


@dataclass(frozen=True, slots=True)
class TrunkFacts:
    """The trunk's settings that live checks use; ``password`` never leaves as text."""

    name: str
    found: bool = False
    mode: str | None = None  # "registration", "ip", or None when the trunk is absent
    host: str | None = None
    port: int = 5060
    transport: str = "udp"
    login: str | None = None
    password: Secret | None = field(default=None, repr=False)
    bind_ip: str | None = None  # the transport's own address, when it is not a wildcard
    external_address: str | None = None
    identify_matches: tuple[str, ...] = ()
    contacts: int = 0  # static contacts of the trunk's aors
    qualify_frequency: int = 0  # the largest of its aors'
    caller_id: str | None = None  # E.164 digits
    outgoing_context: str | None = None
    inbound_context: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # pjsip.conf/extensions.conf: status
    requested: bool = False  # the user named this trunk (--trunk): its absence is a fault

    @property
    def host_is_ip(self) -> bool:
        """True when the provider is given as an address (no DNS involved)."""
        try:
            ipaddress.ip_address(self.host or "")
        except ValueError:
            return False
        return True


def _load(name: str, config_dir: Path, status: dict[str, str]) -> Resolution | None:
    try:
        res = resolve(name, config_dir=config_dir)
    except ConfMissingError:
        status[name] = "missing"
        return None
    except ConfParseError:
        status[name] = "invalid"
        return None
    status[name] = "ok"
    return res


def _of_type(res: Resolution, type_: str) -> list[ResolvedSection]:
    return [s for s in res.sections if s.get("type") == type_]


def _pick_trunk(res: Resolution, wanted: str | None) -> str | None:
    """The endpoint called ``wanted``, else the one endpoint a registration or auth serves."""
    endpoints = {s.name for s in _of_type(res, "endpoint")}
    if wanted is not None:
        return wanted
    if "novofon" in endpoints:
        return "novofon"
    served = {s.get("endpoint") for s in _of_type(res, "registration")} | {
        s.name for s in _of_type(res, "endpoint") if s.get("outbound_auth")
    }
    candidates = sorted(n for n in served if n and n in endpoints)
    return candidates[0] if len(candidates) == 1 else None


def _caller_id(
    ext: Resolution | None, context: str | None, endpoint: ResolvedSection
) -> str | None:
    if ext is not None and context is not None:
        for sec in ext.sections:
            if sec.name.lower() != context.lower():
                continue
            for _key, value in sec.options:
                m = _SET_CID.search(value)
                if m:
                    return m.group("num")
    m = _CALLERID.search(endpoint.get("callerid") or "")
    return m.group("num") if m else None


def _outgoing_context(ext: Resolution | None, trunk: str) -> str | None:
    """``outgoing`` if it exists, else the first context that dials ``PJSIP/…@trunk``."""
    if ext is None:
        return None
    names = [s.name for s in ext.sections]
    if "outgoing" in names:
        return "outgoing"
    needle = f"@{trunk}".lower()
    for sec in ext.sections:
        if any("dial(pjsip/" in v.lower() and needle in v.lower() for _, v in sec.options):
            return sec.name
    return None


def read_trunk(config_dir: str | Path, trunk: str | None = None) -> TrunkFacts:
    """The trunk's facts from pjsip.conf and extensions.conf (``found=False`` if absent).

    Never raises for odd configs: the lint reports those; here a missing piece is ``None``.
    """
    cdir = Path(config_dir)
    status: dict[str, str] = {}
    pjsip = _load("pjsip.conf", cdir, status)
    ext = _load("extensions.conf", cdir, status)
    name = _pick_trunk(pjsip, trunk) if pjsip is not None else trunk
    asked = trunk is not None
    if pjsip is None or name is None:
        return TrunkFacts(name or trunk or "novofon", files=status, requested=asked)
    endpoint = pjsip.find(name, "endpoint")
    if endpoint is None:
        return TrunkFacts(name, files=status, requested=asked)
    reg = next((s for s in _of_type(pjsip, "registration") if s.get("endpoint") == name), None)
    reg = reg or pjsip.find(name, "registration")
    aor_names = [a.strip() for a in (endpoint.get("aors") or "").split(",") if a.strip()]
    aors = [aor for a in aor_names if (aor := pjsip.find(a, "aor")) is not None]
    contacts = [c for aor in aors for v in aor.get_all("contact") for c in v.split(",") if c]
    frequencies = [(a.get("qualify_frequency") or "0").strip() for a in aors]
    uri = _URI.match((reg.get("server_uri") if reg else None) or (contacts[0] if contacts else ""))
    auth_name = (reg.get("outbound_auth") if reg else None) or endpoint.get("outbound_auth") or ""
    auth = pjsip.find(auth_name.split(",")[0].strip(), "auth") if auth_name else None
    raw_password = auth.get("password") if auth is not None else None
    password = Secret(raw_password) if raw_password else None
    transport_name = (reg.get("transport") if reg else None) or endpoint.get("transport") or ""
    transport = pjsip.find(transport_name, "transport") if transport_name else None
    if transport is None:
        transports = _of_type(pjsip, "transport")
        transport = transports[0] if len(transports) == 1 else None
    bind_ip = None
    external = None
    if transport is not None:
        bound, _ = split_host_port(transport.get("bind") or "")
        bind_ip = None if bound in _WILDCARDS else bound
        external = transport.get("external_signaling_address") or None
    params = (uri.group("params") if uri else "") or ""
    kind = "tcp" if "transport=tcp" in params.lower() else "udp"
    if transport is not None and (transport.get("protocol") or "").lower() == "tcp":
        kind = "tcp"
    matches = tuple(
        m.strip()
        for s in _of_type(pjsip, "identify")
        if s.get("endpoint") == name
        for v in s.get_all("match")
        for m in v.split(",")
        if m.strip()
    )
    outgoing = _outgoing_context(ext, name)
    host = uri.group("host").strip("[]") if uri else None
    return TrunkFacts(
        name=name,
        found=True,
        mode="registration" if reg is not None else "ip",
        host=host,
        port=int(uri.group("port")) if uri and uri.group("port") else 5060,
        transport=kind,
        login=(auth.get("username") if auth else None) or None,
        password=password,
        bind_ip=bind_ip,
        external_address=external,
        identify_matches=matches,
        contacts=len(contacts),
        qualify_frequency=max((int(f) for f in frequencies if f.isdigit()), default=0),
        caller_id=_caller_id(ext, outgoing, endpoint),
        outgoing_context=outgoing,
        inbound_context=endpoint.get("context") or "default",
        files=status,
    )
