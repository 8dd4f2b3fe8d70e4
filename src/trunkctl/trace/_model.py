"""A SIP trace: the messages of one call or registration, masked, ordered, explained.

Pure: built from :class:`~trunkctl.trace._packets.WireMessage` objects and the addresses
Asterisk's transports listen on (which tell "sent by Asterisk" from "received").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from trunkctl.errors import BadInput
from trunkctl.i18n import Lang, Text
from trunkctl.sip._errors import SipParseError
from trunkctl.sip._message import SipRequest, SipResponse, parse_message

from ._packets import WireMessage

__all__ = [
    "MASK",
    "Direction",
    "Endpoint",
    "SipTrace",
    "TracedMessage",
    "mask_credentials",
    "select_call",
    "select_register",
    "traced",
]

Direction = Literal["out", "in"]
"""``out``: sent by Asterisk (towards the provider); ``in``: received by Asterisk."""

MASK = "***"
# Digest parameters that carry no secret and help support read the exchange.
_KEEP = frozenset({"realm", "uri", "algorithm", "qop", "nc"})
_AUTH_LINE = re.compile(
    rb"^(?P<name>(?:proxy-)?authorization)[ \t]*:(?P<value>[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
_PARAM = re.compile(r'([A-Za-z][\w-]*)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|[^,\s]*)')


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An address Asterisk's SIP transport listens on; host None: every local address."""

    host: str | None
    port: int

    def matches(self, addr: tuple[str, int]) -> bool:
        return addr[1] == self.port and (self.host is None or self.host == addr[0])


def _mask_value(value: str) -> str:
    scheme, _, params = value.strip().partition(" ")
    if not params:
        return MASK

    def one(m: re.Match[str]) -> str:
        name, val = m.group(1), m.group(2)
        if name.lower() in _KEEP:
            return m.group(0)
        return f'{name}="{MASK}"' if val.startswith('"') else f"{name}={MASK}"

    return f" {scheme} " + _PARAM.sub(one, params)


def mask_credentials(raw: bytes) -> bytes:
    """``raw`` with the secret parts of Authorization / Proxy-Authorization replaced.

    Digest username, response, nonce, cnonce, opaque become ``***``; realm, uri, algorithm,
    qop and nc stay (support needs them). The message body is never touched.
    """
    head_end = raw.find(b"\r\n\r\n")
    head, tail = (raw, b"") if head_end < 0 else (raw[:head_end], raw[head_end:])

    def sub(m: re.Match[bytes]) -> bytes:
        value = m.group("value").decode("utf-8", "replace").replace("\r\n", " ")
        return m.group("name") + b":" + _mask_value(value).encode()

    return _AUTH_LINE.sub(sub, head) + tail


@dataclass(frozen=True, slots=True)
class TracedMessage:
    """One SIP message of a trace, with its credentials already masked in ``raw``."""

    time: float
    direction: Direction
    transport: str
    src: tuple[str, int]
    dst: tuple[str, int]
    raw: bytes
    first_line: str
    call_id: str | None
    cseq: str | None
    method: str | None
    """The request's method, or the method a response answers (from CSeq)."""
    status: int | None
    reason: str | None
    headers: tuple[tuple[str, str], ...] = ()
    retransmission: bool = False

    @property
    def is_request(self) -> bool:
        return self.status is None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (canonical spelling), else None."""
        low = name.lower()
        return next((v for n, v in self.headers if n.lower() == low), None)

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for n, v in self.headers if n.lower() == low]

    def to_dict(self, start: float) -> dict[str, Any]:
        return {
            "time": self.time,
            "offset": round(self.time - start, 6),
            "direction": self.direction,
            "transport": self.transport,
            "src": f"{_fmt_host(self.src[0])}:{self.src[1]}",
            "dst": f"{_fmt_host(self.dst[0])}:{self.dst[1]}",
            "first_line": self.first_line,
            "call_id": self.call_id,
            "cseq": self.cseq,
            "method": self.method,
            "status": self.status,
            "reason": self.reason,
            "retransmission": self.retransmission,
            "raw": self.raw.decode("utf-8", "replace"),
        }


def _fmt_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def traced(wire: Iterable[WireMessage], endpoints: Sequence[Endpoint]) -> list[TracedMessage]:
    """Wire messages seen on Asterisk's transports, masked, parsed, retransmissions marked.

    A message neither from nor to one of ``endpoints`` is dropped (other software's SIP).
    A UDP message byte-identical to an earlier one in the same direction is a retransmission
    (RFC 3261 §17: the transaction layer resends the same bytes).
    """
    out: list[TracedMessage] = []
    seen: set[tuple[str, tuple[str, int], tuple[str, int], bytes]] = set()
    for w in wire:
        direction = _direction(w, endpoints)
        if direction is None:
            continue
        raw = mask_credentials(w.raw)
        key = (direction, w.src, w.dst, raw)
        again = w.transport == "udp" and key in seen
        seen.add(key)
        out.append(_parse(w, direction, raw, again))
    return out


def _direction(w: WireMessage, endpoints: Sequence[Endpoint]) -> Direction | None:
    """Sent by Asterisk, received by it, or neither (None).

    The kernel knows whether this host sent a packet; that settles a wildcard bind talking to
    a provider on the same port (0.0.0.0:5060 ↔ sip.novofon.ru:5060). On loopback both ends
    are this host, so the transport's address and port decide.
    """
    if w.outgoing is True:
        return "out" if any(e.matches(w.src) for e in endpoints) else None
    if w.outgoing is False:
        return "in" if any(e.matches(w.dst) for e in endpoints) else None
    if any(e.matches(w.src) for e in endpoints):
        return "out"
    if any(e.matches(w.dst) for e in endpoints):
        return "in"
    return None


def _parse(w: WireMessage, direction: Direction, raw: bytes, again: bool) -> TracedMessage:
    first = raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    try:
        msg = parse_message(raw)
    except SipParseError:
        return TracedMessage(w.time, direction, w.transport, w.src, w.dst, raw, first,
                             None, None, None, None, None, (), again)  # fmt: skip
    cseq = msg.cseq
    method = msg.method if isinstance(msg, SipRequest) else (cseq[1] if cseq else None)
    status = msg.status_code if isinstance(msg, SipResponse) else None
    reason = msg.reason if isinstance(msg, SipResponse) else None
    return TracedMessage(
        w.time,
        direction,
        w.transport,
        w.src,
        w.dst,
        raw,
        first,
        msg.get("Call-ID"),
        f"{cseq[0]} {cseq[1]}" if cseq else None,
        method,
        status,
        reason,
        tuple(msg.headers),
        again,
    )


def _uri_digits(first_line: str) -> str:
    uri = first_line.split(" ")[1] if first_line.count(" ") >= 2 else ""
    user = uri.split(":", 1)[-1].split("@", 1)[0].split(";", 1)[0]
    return "".join(ch for ch in user if ch.isdigit())


def select_call(messages: Sequence[TracedMessage], digits: str) -> list[TracedMessage]:
    """The messages of the call Asterisk placed to ``digits``: its INVITE dialogs' Call-IDs.

    An outgoing INVITE whose Request-URI user ends with the number's last 10 digits (the
    dialplan may add or drop a prefix) names a Call-ID; with none, a single outgoing INVITE
    in the window is taken. Every message with those Call-IDs is kept (401, ACK, BYE…).
    """
    tail = digits[-10:]
    invites = [m for m in messages if m.direction == "out" and m.method == "INVITE"
               and m.is_request and m.call_id]  # fmt: skip
    ids = {m.call_id for m in invites if tail and _uri_digits(m.first_line).endswith(tail)}
    if not ids and len({m.call_id for m in invites}) == 1:
        ids = {invites[0].call_id}
    return [m for m in messages if m.call_id in ids]


def select_register(
    messages: Sequence[TracedMessage], server_uri: str | None = None
) -> list[TracedMessage]:
    """REGISTER transactions (requests and answers), optionally only those to ``server_uri``."""
    regs = [m for m in messages if m.method == "REGISTER"]
    if server_uri:
        want = server_uri.strip("<>").split(";", 1)[0]
        ids = {m.call_id for m in regs if m.is_request and m.first_line.split(" ")[1:2] == [want]}
        if ids:
            regs = [m for m in regs if m.call_id in ids]
    return regs


@dataclass(frozen=True, slots=True)
class SipTrace:
    """The SIP exchange behind one test call or registration, or why there is none.

    ``unavailable``: capture could not run (not root…); ``no_sip_leg``: it ran but Asterisk
    sent nothing for this call (the dialplan failed before dialling the trunk).
    """

    messages: tuple[TracedMessage, ...] = ()
    mechanism: str = "af_packet"
    endpoints: tuple[Endpoint, ...] = ()
    unavailable: Text | None = None
    no_sip_leg: bool = False
    captured_packets: int = 0
    notes: tuple[Text, ...] = field(default=())
    subject: str = "call"
    """What was traced: ``call`` or ``registration`` (wording of an empty ladder)."""

    @property
    def call_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.call_id for m in self.messages if m.call_id))

    @property
    def start(self) -> float:
        return self.messages[0].time if self.messages else 0.0

    def final_response(self, method: str = "INVITE") -> TracedMessage | None:
        """The far end's last final answer to ``method`` (after any 401/407 challenge)."""
        finals = [m for m in self.messages if m.direction == "in" and m.method == method
                  and m.status is not None and m.status >= 200]  # fmt: skip
        return finals[-1] if finals else None

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        return {
            "mechanism": self.mechanism,
            "available": self.unavailable is None,
            "unavailable": None if self.unavailable is None else self.unavailable.render(lang),
            "no_sip_leg": self.no_sip_leg,
            "subject": self.subject,
            "call_ids": list(self.call_ids),
            "listening": [f"{e.host or '*'}:{e.port}" for e in self.endpoints],
            "notes": [n.render(lang) for n in self.notes],
            "messages": [m.to_dict(self.start) for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SipTrace:
        """A trace back from :meth:`to_dict` (e.g. a saved ``call --json --trace``).

        Messages are re-parsed from ``raw`` and masked again, so an edited file cannot bring
        a credential into a ladder or pcap. Raises :class:`~trunkctl.errors.BadInput`.
        """
        try:
            messages = [_from_dict(m) for m in data.get("messages") or []]
            endpoints = tuple(_endpoint(e) for e in data.get("listening") or [])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(
                Text(
                    "this is not a SIP trace saved by trunkctl",
                    "это не SIP-трассировка, сохранённая trunkctl",
                ),
                evidence=f"{type(exc).__name__}: {exc}",
                next_step=Text(
                    "Save one with `trunkctl call NUMBER --trace --json > call.json`.",
                    "Сохраните её так: `trunkctl call НОМЕР --trace --json > call.json`.",
                ),
            ) from exc
        why = data.get("unavailable")
        return cls(
            tuple(messages),
            mechanism=str(data.get("mechanism") or "af_packet"),
            endpoints=endpoints,
            unavailable=Text(why, why) if isinstance(why, str) and why else None,
            no_sip_leg=bool(data.get("no_sip_leg")),
            subject="registration" if data.get("subject") == "registration" else "call",
        )


def _addr(text: str) -> tuple[str, int]:
    host, _, port = str(text).rpartition(":")
    if not host:
        raise ValueError(f"not host:port: {text!r}")
    return host.strip("[]"), int(port)


def _endpoint(text: str) -> Endpoint:
    host, port = _addr(text)
    return Endpoint(None if host == "*" else host, port)


def _from_dict(m: Mapping[str, Any]) -> TracedMessage:
    direction = m["direction"]
    if direction not in ("out", "in"):
        raise ValueError(f"direction {direction!r}")
    transport = m["transport"]
    if transport not in ("udp", "tcp"):
        raise ValueError(f"transport {transport!r}")
    raw = mask_credentials(str(m["raw"]).encode("utf-8"))
    wire = WireMessage(float(m["time"]), transport, _addr(m["src"]), _addr(m["dst"]), raw)
    return _parse(wire, direction, raw, bool(m.get("retransmission")))
