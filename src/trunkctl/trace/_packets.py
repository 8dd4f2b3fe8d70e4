"""From captured IP packets to whole SIP messages: IPv4/IPv6, UDP, TCP reassembly, framing.

Pure (no sockets, no asyncio): :class:`PacketDecoder` is fed one network-layer packet at a
time (what an ``AF_PACKET``/``SOCK_DGRAM`` socket returns) and answers the SIP messages it
completed. UDP carries one message per datagram (RFC 3261 §18.1.1); on TCP a message may be
split over segments or several may share one, so each direction of each connection is put
back in sequence order and framed by Content-Length (§18.3). Keep-alives (CRLF) are skipped.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

__all__ = ["PacketDecoder", "WireMessage", "frame_stream"]

_UDP, _TCP = 17, 6
_MAX_PENDING = 256 * 1024  # bytes held out of order per TCP direction before giving up


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One SIP message as it crossed the wire: when, between which sockets, its exact bytes."""

    time: float
    transport: str  # "udp" | "tcp"
    src: tuple[str, int]
    dst: tuple[str, int]
    raw: bytes
    outgoing: bool | None = None
    """Sent by this host (True), received (False), or unknown (loopback: both ends local)."""


@dataclass(slots=True)
class _Flow:
    """One direction of a TCP connection: bytes in sequence order, framed into messages."""

    next_seq: int | None = None
    pending: dict[int, bytes] = field(default_factory=dict)
    buffer: bytearray = field(default_factory=bytearray)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() in (b"content-length", b"l"):
            try:
                return max(0, int(value.strip()))
            except ValueError:
                return 0
    return 0


def frame_stream(buffer: bytearray) -> list[bytes]:
    """Cut every complete SIP message off the front of a TCP ``buffer`` (RFC 3261 §18.3).

    Leading CRLFs (keep-alives, RFC 5626 §4.4.1) are dropped; an incomplete message stays.
    """
    out: list[bytes] = []
    while True:
        start = 0
        while start < len(buffer) and buffer[start] in (0x0D, 0x0A):
            start += 1
        if start:
            del buffer[:start]
        end = buffer.find(b"\r\n\r\n")
        sep = 4
        if end < 0:
            end, sep = buffer.find(b"\n\n"), 2
        if end < 0:
            return out
        total = end + sep + _content_length(bytes(buffer[:end]))
        if len(buffer) < total:
            return out
        out.append(bytes(buffer[:total]))
        del buffer[:total]


class PacketDecoder:
    """Turns network-layer packets into :class:`WireMessage` objects, in the order completed.

    ``ports``: the SIP ports of interest (either end); other packets are ignored.
    """

    __slots__ = ("_flows", "ports")

    def __init__(self, ports: frozenset[int]) -> None:
        self.ports = ports
        self._flows: dict[tuple[str, int, str, int], _Flow] = {}

    def feed(self, packet: bytes, time: float, outgoing: bool | None = None) -> list[WireMessage]:
        """The SIP messages this packet completes (none for other traffic or garbage).

        ``outgoing``: whether this host sent the packet (None: unknown), copied to messages.
        """
        if not packet:
            return []
        version = packet[0] >> 4
        if version == 4 and len(packet) >= 20:
            ihl = (packet[0] & 0x0F) * 4
            total = struct.unpack_from("!H", packet, 2)[0]
            frag = struct.unpack_from("!H", packet, 6)[0]
            if frag & 0x3FFF:  # a fragment: not reassembled (see the package docstring)
                return []
            proto = packet[9]
            src = str(ipaddress.IPv4Address(packet[12:16]))
            dst = str(ipaddress.IPv4Address(packet[16:20]))
            payload = packet[ihl : max(ihl, min(total, len(packet)))]
        elif version == 6 and len(packet) >= 40:
            length = struct.unpack_from("!H", packet, 4)[0]
            proto = packet[6]
            src = str(ipaddress.IPv6Address(packet[8:24]))
            dst = str(ipaddress.IPv6Address(packet[24:40]))
            payload = packet[40 : 40 + length]
        else:
            return []
        if proto == _UDP and len(payload) >= 8:
            sport, dport = struct.unpack_from("!HH", payload, 0)
            if sport not in self.ports and dport not in self.ports:
                return []
            body = payload[8:]
            if not body.strip(b"\r\n\x00"):
                return []  # keep-alive
            return [WireMessage(time, "udp", (src, sport), (dst, dport), bytes(body), outgoing)]
        if proto == _TCP and len(payload) >= 20:
            return self._tcp(payload, src, dst, time, outgoing)
        return []

    def _tcp(
        self, segment: bytes, src: str, dst: str, time: float, outgoing: bool | None
    ) -> list[WireMessage]:
        sport, dport, seq = struct.unpack_from("!HHI", segment, 0)
        if sport not in self.ports and dport not in self.ports:
            return []
        offset = (segment[12] >> 4) * 4
        flags = segment[13]
        data = segment[offset:]
        key = (src, sport, dst, dport)
        flow = self._flows.get(key)
        if flags & 0x02:  # SYN: a new connection on this 4-tuple
            flow = self._flows[key] = _Flow(next_seq=(seq + 1) & 0xFFFFFFFF)
        elif flow is None:
            flow = self._flows[key] = _Flow()
        if data:
            self._insert(flow, seq, data)
        if flags & 0x05 and not flow.buffer:  # FIN/RST with nothing left to frame
            self._flows.pop(key, None)
        return [
            WireMessage(time, "tcp", (src, sport), (dst, dport), raw, outgoing)
            for raw in frame_stream(flow.buffer)
        ]

    @staticmethod
    def _insert(flow: _Flow, seq: int, data: bytes) -> None:
        if flow.next_seq is None:  # joined mid-connection: start here
            flow.next_seq = seq
        rel = (seq - flow.next_seq) & 0xFFFFFFFF
        if rel >= 0x80000000:  # starts before next_seq: a retransmission, maybe overlapping
            overlap = (flow.next_seq - seq) & 0xFFFFFFFF
            if overlap >= len(data):
                return
            data, seq = data[overlap:], flow.next_seq
            rel = 0
        if rel:
            if sum(map(len, flow.pending.values())) < _MAX_PENDING:
                flow.pending.setdefault(seq, data)
            return
        flow.buffer += data
        flow.next_seq = (flow.next_seq + len(data)) & 0xFFFFFFFF
        while flow.pending:
            if flow.next_seq in flow.pending:
                more = flow.pending.pop(flow.next_seq)
                flow.buffer += more
                flow.next_seq = (flow.next_seq + len(more)) & 0xFFFFFFFF
                continue
            # Held segments that start behind us overlap what we have: keep only their tail.
            behind = [s for s in flow.pending if (s - flow.next_seq) & 0xFFFFFFFF >= 0x80000000]
            if not behind:
                return
            for old in behind:
                held = flow.pending.pop(old)
                tail = (old + len(held) - flow.next_seq) & 0xFFFFFFFF
                if 0 < tail < 0x80000000:
                    flow.pending.setdefault(flow.next_seq, held[len(held) - tail :])
