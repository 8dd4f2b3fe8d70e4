"""Which transport the trunk uses: reuse a matching one wherever it is defined, or create one.

Transports are read from pjsip.conf as Asterisk reads it (includes followed), so one defined
in an ``#include``d file is reused rather than doubled on the same port. ``--bind ADDR[:PORT]``
picks (or creates) the transport bound to that address, so calls leave from it. A new
transport never takes an address:port another transport of the same protocol already binds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from trunkctl.conf import Document, ResolvedSection, Transaction
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.pjsip import TrunkSpec, parse_bind
from trunkctl.pjsip._trunk import DEFAULT_BIND_PORT

__all__ = ["TransportChoice", "bind_of", "pick_transport"]

PJSIP = "pjsip.conf"
_WILDCARD = "0.0.0.0"  # noqa: S104 - Asterisk's default bind, compared, never bound here
_ANY = (_WILDCARD, "::")


@dataclass(slots=True)
class TransportChoice:
    """The transport the trunk's objects name, the file defining it, and whether it is new."""

    name: str
    file: str = PJSIP
    created: bool = False
    notes: list[Text] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Transport:
    name: str
    protocol: str
    host: str
    port: int
    file: str
    line: int


def bind_of(value: str | None) -> tuple[str, int]:
    """(address, port) a transport's ``bind`` listens on (Asterisk's default 0.0.0.0:5060)."""
    if not value:
        return _WILDCARD, DEFAULT_BIND_PORT
    try:
        host, port = parse_bind(value)
    except BadInput:
        # A host name bind (rare) is compared as text.
        name, _, tail = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
        return name, int(tail) if tail.isdigit() else DEFAULT_BIND_PORT
    return host, port or DEFAULT_BIND_PORT


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


def _overlaps(a: str, b: str) -> bool:
    return a in _ANY or b in _ANY or _same_address(a, b)


def _transports(tx: Transaction, pjsip: Document) -> list[_Transport]:
    try:
        sections: list[ResolvedSection] = [
            s for s in tx.resolve(PJSIP).sections if s.get("type") == "transport"
        ]
    except TrunkctlError:
        sections = []
    root = tx.cfg.file(PJSIP)
    out: list[_Transport] = []
    for sec in sections:
        host, port = bind_of(sec.get("bind"))
        path = Path(sec.file) if sec.file else root
        try:
            file = PJSIP if path == root else str(path.relative_to(tx.cfg.path))
        except ValueError:
            file = str(path)
        protocol = (sec.get("protocol") or "udp").lower()
        out.append(_Transport(sec.name, protocol, host, port, file, sec.line))
    if not sections:  # unreadable as Asterisk reads it: the top-level document alone
        for doc_sec in pjsip.sections(type="transport"):
            host, port = bind_of(doc_sec.get("bind"))
            protocol = (doc_sec.get("protocol") or "udp").lower()
            out.append(_Transport(doc_sec.name, protocol, host, port, PJSIP, 0))
    return out


def _free_name(base: str, taken: set[str]) -> str:
    if base.lower() not in taken:
        return base
    n = 2
    while f"{base}-{n}".lower() in taken:
        n += 1
    return f"{base}-{n}"


def _where(t: _Transport) -> str:
    return f"{t.file}:{t.line}" if t.line else t.file


def pick_transport(tx: Transaction, pjsip: Document, spec: TrunkSpec) -> TransportChoice:
    """Reuse the named transport or a matching one (includes too); else add one to ``pjsip``.

    With ``spec.bind`` only a transport bound to that address (and port, if given) matches.
    Raises BadInput (nothing staged) when a new transport would take an address:port that
    another transport of the same protocol binds (0.0.0.0 overlaps every address).
    """
    wanted = spec.profile.transport
    found = [t for t in _transports(tx, pjsip) if t.protocol == wanted]
    everything = {t.name.lower() for t in _transports(tx, pjsip)}
    everything |= {s.name.lower() for s in pjsip.sections()}
    if spec.bind is None:
        named = next((t for t in found if t.name == spec.transport), None)
        chosen = named or (found[0] if found else None)
        host, port = _WILDCARD, DEFAULT_BIND_PORT
        base = f"transport-{wanted}"
    else:
        host, want_port = parse_bind(spec.bind)
        port = want_port or DEFAULT_BIND_PORT
        matching = [
            t
            for t in found
            if _same_address(t.host, host) and (want_port is None or t.port == want_port)
        ]
        chosen = next((t for t in matching if t.name == spec.transport), None) or (
            matching[0] if matching else None
        )
        label = host.replace(":", "-")
        base = f"transport-{wanted}-{label}" + (f"-{port}" if port != DEFAULT_BIND_PORT else "")
    if chosen is not None:
        choice = TransportChoice(chosen.name, chosen.file)
        if chosen.file != PJSIP:
            choice.notes.append(
                Text(
                    f"using the transport [{chosen.name}] defined in {_where(chosen)}",
                    f"используется транспорт [{chosen.name}] из {_where(chosen)}",
                )
            )
        return choice
    clash = next((t for t in found if t.port == port and _overlaps(t.host, host)), None)
    if clash is not None:
        other = 5062 if port != 5062 else 5064  # a port the clash does not take
        if host in _ANY:  # the new one is the wildcard: give it one address instead
            fix = Text(
                f"bind the new transport to one address (--bind ADDR:{port}) or to another "
                f"port (--bind {host}:{other})",
                f"привяжите новый транспорт к одному адресу (--bind АДРЕС:{port}) или к "
                f"другому порту (--bind {host}:{other})",
            )
        else:
            ours = clash.host if clash.host not in _ANY else None
            fix = Text(
                f"bind the new transport to another port (--bind {host}:{other}), or change "
                f"[{clash.name}]'s bind to one address (e.g. bind = {ours or 'ADDR'}:"
                f"{clash.port})",
                f"привяжите новый транспорт к другому порту (--bind {host}:{other}) или смените "
                f"bind у [{clash.name}] на один адрес (например, bind = {ours or 'АДРЕС'}:"
                f"{clash.port})",
            )
        raise BadInput(
            Text(
                f"a new {wanted} transport on {host}:{port} would take an address the "
                f"transport [{clash.name}] already binds ({clash.host}:{clash.port})",
                f"новый {wanted}-транспорт на {host}:{port} занял бы адрес, который уже "
                f"занимает транспорт [{clash.name}] ({clash.host}:{clash.port})",
            ),
            evidence=_where(clash),
            next_step=Text("Nothing was written: ", "Ничего не записано: ")
            + fix
            + Text(", and run again.", ", и запустите снова."),
        )
    name = _free_name(base, everything)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    from ._plan import _marker

    pjsip.add_section(
        name,
        (("type", "transport"), ("protocol", wanted), ("bind", bind)),
        comment=_marker(spec.name, "transport"),
    )
    return TransportChoice(name, PJSIP, created=True)
