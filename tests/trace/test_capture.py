"""The AF_PACKET capture on real loopback traffic (no Asterisk): UDP, TCP segments, the filter.

Plain sockets play both ends; the kernel splits the TCP stream where the sender's separate
writes (TCP_NODELAY) end, so reassembly is tested on real segments.
"""

from __future__ import annotations

import asyncio
import itertools
import socket

from trunkctl.trace import Endpoint, PortCapture, traced

from .test_units import ANSWER, INVITE


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_udp_datagrams_on_the_port_are_captured_and_others_filtered_in_the_kernel() -> None:
    port, other = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_DGRAM)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", port))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.3", 0))
    capture = PortCapture([port])
    try:
        async with capture:
            for _ in range(20):  # traffic the BPF filter must keep from us
                tx.sendto(INVITE, ("127.0.0.1", other))
            tx.sendto(INVITE, ("127.0.0.1", port))
            tx.sendto(INVITE, ("127.0.0.1", port))
            rx.sendto(ANSWER, tx.getsockname())
            await asyncio.sleep(0.3)
    finally:
        rx.close()
        tx.close()
    assert capture.packets == 3  # the kernel passed only the three on `port`, once each
    msgs = traced(capture.messages, [Endpoint("127.0.0.1", port)])
    assert [(m.direction, m.retransmission, m.status) for m in msgs] == [
        ("in", False, None),
        ("in", True, None),
        ("out", False, 403),
    ]
    assert b"0123456789abcdef" not in msgs[0].raw  # masked


async def test_a_tcp_message_split_over_segments_is_whole_again() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    capture = PortCapture([port])
    loop = asyncio.get_running_loop()
    try:
        async with capture:
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.connect(("127.0.0.1", port))
            conn, _ = server.accept()
            cuts = [0, 9, 120, len(INVITE) - 5, len(INVITE)]
            for a, b in itertools.pairwise(cuts):
                client.send(INVITE[a:b])
                await asyncio.sleep(0.05)  # separate segments
            conn.sendall(ANSWER + ANSWER.replace(b"403 Caller ID", b"404 Caller ID"))
            await asyncio.sleep(0.3)
            got = await loop.run_in_executor(None, conn.recv, 65536)
            client.close()
            conn.close()
            await asyncio.sleep(0.1)
    finally:
        server.close()
    assert got.startswith(INVITE[:20])
    assert capture.packets > 5  # handshake and several data segments
    msgs = traced(capture.messages, [Endpoint("127.0.0.1", port)])
    assert [(m.direction, m.transport, m.first_line.split(" ")[1]) for m in msgs] == [
        ("in", "tcp", "sip:79990000200@127.0.0.1:5070"),
        ("out", "tcp", "403"),
        ("out", "tcp", "404"),
    ]
    assert msgs[0].raw.endswith(b"\r\n\r\nv=0\r\no=x y\r\n")
