"""A SIP trace as a classic pcap file (Ethernet link type) that Wireshark, tshark, sngrep open.

Packets are rebuilt from the masked messages (one message per packet, Ethernet + IPv4/IPv6 +
UDP/TCP with correct lengths and checksums), so the file holds no credential the ladder hides
and a message reassembled from several TCP segments is one readable packet.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from pathlib import Path

from ._model import TracedMessage

__all__ = ["pcap_bytes", "write_pcap"]

_LINKTYPE_ETHERNET = 1
_MAC = b"\x02\x00\x00\x00\x00\x01"
_MAC2 = b"\x02\x00\x00\x00\x00\x02"


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _l4(m: TracedMessage, seq: int, pseudo: bytes) -> bytes:
    sport, dport = m.src[1], m.dst[1]
    if m.transport == "tcp":
        head = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
        proto = 6
    else:
        head = struct.pack("!HHHH", sport, dport, 8 + len(m.raw), 0)
        proto = 17
    seg = head + m.raw
    ps = pseudo + struct.pack("!IxxxB", len(seg), proto)
    csum = _checksum(ps + seg) or 0xFFFF
    at = 16 if m.transport == "tcp" else 6
    return seg[:at] + struct.pack("!H", csum) + seg[at + 2 :]


def _packet(m: TracedMessage, seq: int, ident: int) -> bytes:
    src, dst = ipaddress.ip_address(m.src[0]), ipaddress.ip_address(m.dst[0])
    proto = 6 if m.transport == "tcp" else 17
    if src.version == 4 and dst.version == 4:
        l4 = _l4(m, seq, src.packed + dst.packed)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, 0x4000, 64,
                         proto, 0, src.packed, dst.packed)  # fmt: skip
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        ethertype = 0x0800
    else:
        s6 = ipaddress.IPv6Address(f"::ffff:{src}") if src.version == 4 else src
        d6 = ipaddress.IPv6Address(f"::ffff:{dst}") if dst.version == 4 else dst
        l4 = _l4(m, seq, s6.packed + d6.packed)
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(l4), proto, 64, s6.packed, d6.packed)
        ethertype = 0x86DD
    eth = (_MAC2 + _MAC if m.direction == "out" else _MAC + _MAC2) + struct.pack("!H", ethertype)
    return eth + ip + l4


def pcap_bytes(messages: Sequence[TracedMessage]) -> bytes:
    """The pcap file's bytes: a global header, then one record per message, in order."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, _LINKTYPE_ETHERNET)]
    seqs: dict[tuple[tuple[str, int], tuple[str, int]], int] = {}
    for i, m in enumerate(messages):
        key = (m.src, m.dst)
        seq = seqs.get(key, 1)
        seqs[key] = (seq + len(m.raw)) & 0xFFFFFFFF
        pkt = _packet(m, seq, i + 1)
        sec = int(m.time)
        usec = round((m.time - sec) * 1_000_000)
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        out.append(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)
    return b"".join(out)


def write_pcap(path: Path, messages: Sequence[TracedMessage]) -> None:
    """Write :func:`pcap_bytes` to ``path`` (mode 0600: a trace names numbers and hosts)."""
    import os

    data = pcap_bytes(messages)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
