"""A passive capture of Asterisk's SIP transport ports: an ``AF_PACKET`` socket and a BPF filter.

Linux only; needs root or ``CAP_NET_RAW``. The socket sees every interface (loopback too) at
the network layer (``SOCK_DGRAM``); a classic BPF program attached to it lets the kernel drop
everything but UDP/TCP packets to or from the given ports, so an RTP-heavy server costs the
capture nothing. On loopback the kernel shows each packet twice (as sent and as received);
only the received copy is kept. IP fragments are not reassembled (a SIP message over UDP
larger than the path MTU loses its later fragments); TLS transports cannot be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import socket
import struct
import time
from collections.abc import Iterable

from trunkctl.i18n import Text

from ._packets import PacketDecoder, WireMessage

__all__ = ["CaptureUnavailable", "PortCapture", "bpf_program"]

_ETH_P_ALL = 0x0003
_SO_ATTACH_FILTER = 26
_PACKET_OUTGOING = 4
_ARPHRD_LOOPBACK = 772
_RCVBUF = 4 * 1024 * 1024


class CaptureUnavailable(Exception):
    """The capture cannot run here; ``reason`` says why, for the user (the call still runs)."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.en)
        self.reason = reason


# -- a tiny classic-BPF assembler ------------------------------------------------------------
_LDB_ABS, _LDH_ABS, _LDH_IND, _LDXB_MSH = 0x30, 0x28, 0x48, 0xB1
_RSH_K, _JEQ_K, _JSET_K, _RET_K = 0x74, 0x15, 0x45, 0x06


def bpf_program(ports: Iterable[int]) -> list[tuple[int, int, int, int]]:
    """Classic BPF (code, jt, jf, k) accepting IPv4/IPv6 UDP or TCP with a port in ``ports``.

    The packet starts at the IP header (``AF_PACKET``/``SOCK_DGRAM``). IPv4 fragments other
    than the first are refused; IPv6 extension headers are not walked.
    """
    wanted = sorted(set(ports))
    prog: list[tuple[int, int, object, object]] = []  # (code, k, jt label, jf label)
    labels: dict[str, int] = {}

    def emit(code: int, k: int = 0, jt: object = 0, jf: object = 0) -> None:
        prog.append((code, k, jt, jf))

    def label(name: str) -> None:
        labels[name] = len(prog)

    def port_checks(load: int, offset: int, then: str) -> None:
        for p in wanted:
            emit(load, offset)
            emit(_JEQ_K, p, "accept", then if p == wanted[-1] else 0)

    emit(_LDB_ABS, 0)
    emit(_RSH_K, 4)
    emit(_JEQ_K, 4, "v4", 0)
    emit(_JEQ_K, 6, "v6", "reject")
    label("v4")
    emit(_LDB_ABS, 9)
    emit(_JEQ_K, 17, "v4ok", 0)
    emit(_JEQ_K, 6, "v4ok", "reject")
    label("v4ok")
    emit(_LDH_ABS, 6)
    emit(_JSET_K, 0x1FFF, "reject", 0)
    emit(_LDXB_MSH, 0)
    port_checks(_LDH_IND, 0, "v4dst")
    label("v4dst")
    port_checks(_LDH_IND, 2, "reject")
    label("v6")
    emit(_LDB_ABS, 6)
    emit(_JEQ_K, 17, "v6ok", 0)
    emit(_JEQ_K, 6, "v6ok", "reject")
    label("v6ok")
    port_checks(_LDH_ABS, 40, "v6dst")
    label("v6dst")
    port_checks(_LDH_ABS, 42, "reject")
    label("accept")
    emit(_RET_K, 0x40000)
    label("reject")
    emit(_RET_K, 0)

    def rel(target: object, at: int) -> int:
        if isinstance(target, str):
            offset = labels[target] - at - 1
            if not 0 <= offset <= 255:
                raise ValueError("BPF program too long for its jumps (too many ports)")
            return offset
        assert isinstance(target, int)
        return target

    return [(code, rel(jt, i), rel(jf, i), k) for i, (code, k, jt, jf) in enumerate(prog)]


def _attach(sock: socket.socket, ports: Iterable[int]) -> None:
    prog = bpf_program(ports)
    buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *ins) for ins in prog))
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)


class PortCapture:
    """Captures, while running, the SIP messages to and from ``ports`` on every interface.

    ``start()`` raises :class:`CaptureUnavailable`; ``stop()`` returns the messages in
    arrival order. Use ``async with`` inside a running loop (the socket is read by the loop).
    """

    def __init__(self, ports: Iterable[int]) -> None:
        self.ports = frozenset(ports)
        self.decoder = PacketDecoder(self.ports)
        self.messages: list[WireMessage] = []
        self.packets = 0
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        if not self.ports:
            raise CaptureUnavailable(
                Text(
                    "Asterisk has no SIP transport to watch",
                    "у Asterisk нет SIP-транспорта, который можно слушать",
                )
            )
        family = getattr(socket, "AF_PACKET", None)
        if family is None:
            raise CaptureUnavailable(
                Text(
                    "packet capture needs Linux (AF_PACKET)",
                    "захват пакетов работает только в Linux (AF_PACKET)",
                )
            )
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM, socket.htons(_ETH_P_ALL))
        except PermissionError as exc:
            raise CaptureUnavailable(
                Text(
                    "capturing SIP packets needs root (or CAP_NET_RAW); "
                    f"the kernel said: {exc.strerror}",
                    "для захвата SIP-пакетов нужны права root (или CAP_NET_RAW); "
                    f"ядро ответило: {exc.strerror}",
                )
            ) from exc
        except OSError as exc:
            raise CaptureUnavailable(
                Text(
                    f"cannot open a capture socket: {exc.strerror}",
                    f"не открыть сокет для захвата: {exc.strerror}",
                )
            ) from exc
        try:
            _attach(sock, self.ports)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RCVBUF)
            sock.setblocking(False)
            self._drain_unfiltered(sock)
        except (OSError, ValueError) as exc:
            sock.close()
            raise CaptureUnavailable(
                Text(
                    f"cannot filter the capture socket: {exc}",
                    f"не удалось поставить фильтр на сокет захвата: {exc}",
                )
            ) from exc
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._read)

    @staticmethod
    def _drain_unfiltered(sock: socket.socket) -> None:
        """Drop what queued before the filter was attached (it may be anything)."""
        with contextlib.suppress(BlockingIOError, InterruptedError):
            for _ in range(100_000):
                sock.recv(65536)

    def _read(self) -> None:
        sock = self._sock
        if sock is None:
            return
        for _ in range(1000):
            try:
                data, addr = sock.recvfrom(262144)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._accept(data, addr)

    def _accept(self, data: bytes, addr: tuple[object, ...]) -> None:
        # addr: (ifname, proto, pkttype, hatype, hwaddr)
        pkttype, hatype = addr[2], addr[3]
        outgoing: bool | None = pkttype == _PACKET_OUTGOING
        if hatype == _ARPHRD_LOOPBACK:
            if outgoing:
                return  # loopback: the received copy of the same packet follows
            outgoing = None  # both ends are this host: the ports tell the direction
        self.packets += 1
        self.messages.extend(self.decoder.feed(data, time.time(), outgoing))

    def stop(self) -> list[WireMessage]:
        """Stop capturing (idempotent) and return every message seen."""
        if self._sock is not None:
            self._read()
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        return list(self.messages)

    async def __aenter__(self) -> PortCapture:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
