"""The asyncio adapter (trunkctl.sip._transport) on real loopback sockets.

Timers and faults that SIPp cannot time precisely are played by in-process peers
(tests/sip/conftest.py); full scenarios against SIPp are in test_sipp.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from trunkctl.sip import SipParseError, SipSocketError, SipTimeoutError, SipUnreachableError
from trunkctl.sip._message import SipRequest, new_branch
from trunkctl.sip._transport import SipConnection, TransportName, open_connection

from .conftest import PBX_IP, PROVIDER_IP, Handler, UdpPeer, reply_to

StartPeer = Callable[[Handler], Awaitable[UdpPeer]]


def options_request(conn: SipConnection, cseq: int = 1, method: str = "OPTIONS") -> SipRequest:
    return SipRequest(
        method,
        f"sip:{PROVIDER_IP}",
        [
            ("Via", f"SIP/2.0/{conn.kind.upper()} {conn.local};rport;branch={new_branch()}"),
            ("From", f"<sip:t@{PBX_IP}>;tag=1"),
            ("To", f"<sip:{PROVIDER_IP}>"),
            ("Call-ID", f"call-{cseq}"),
            ("CSeq", f"{cseq} {method}"),
        ],
    )


def silent(data: bytes, n: int) -> list[bytes]:
    return []


async def test_udp_retransmits_on_timer_e_until_the_timeout(udp_peer: StartPeer) -> None:
    peer = await udp_peer(silent)
    conn = await open_connection(PROVIDER_IP, peer.port, local_address=PBX_IP, t1=0.05)
    request = options_request(conn)
    started = time.monotonic()
    with pytest.raises(SipTimeoutError) as info:
        await conn.request(request, timeout=1.0)
    elapsed = time.monotonic() - started
    conn.close()
    # RFC 3261 §17.1.2.2: Timer E fires at T1, 2·T1, 4·T1... → sends at 0, .05, .15, .35, .75.
    assert len(peer.received) == 5
    for gap, expected in zip(peer.gaps, [0.05, 0.1, 0.2, 0.4], strict=True):
        assert expected - 0.01 < gap < expected + 0.05
    assert {data for _, data, _ in peer.received} == {request.render()}
    assert peer.received[0][2] == (PBX_IP, conn.local.port)
    assert 1.0 <= elapsed < 1.2
    assert info.value.details["transmissions"] == 5
    assert info.value.evidence is not None and "5 time(s)" in info.value.evidence.en


async def test_timer_e_is_capped_by_t2(udp_peer: StartPeer) -> None:
    peer = await udp_peer(silent)
    conn = await open_connection(PROVIDER_IP, peer.port, t1=0.05, t2=0.1)
    with pytest.raises(SipTimeoutError):
        await conn.request(options_request(conn), timeout=0.6)
    conn.close()
    # 0, .05, .15, .25, .35, .45, .55
    assert len(peer.received) == 7
    assert all(0.09 < gap < 0.15 for gap in peer.gaps[1:])


async def test_timer_f_caps_a_long_timeout(udp_peer: StartPeer) -> None:
    peer = await udp_peer(silent)
    conn = await open_connection(PROVIDER_IP, peer.port, t1=0.01)
    started = time.monotonic()
    with pytest.raises(SipTimeoutError):
        await conn.request(options_request(conn), timeout=30)
    conn.close()
    assert 0.63 <= time.monotonic() - started < 0.8  # 64·T1


async def test_provisional_answer_slows_retransmission_to_t2(udp_peer: StartPeer) -> None:
    def handler(data: bytes, n: int) -> list[bytes]:
        return [reply_to(data, "100 Trying")] if n == 1 else [reply_to(data, "200 OK")] * (n == 3)

    peer = await udp_peer(handler)
    conn = await open_connection(PROVIDER_IP, peer.port, t1=0.05, t2=0.15)
    exchange = await conn.request(options_request(conn), timeout=2)
    conn.close()
    assert exchange.response.status_code == 200
    assert [r.status_code for r in exchange.provisional] == [100]
    assert exchange.transmissions == 3
    assert 0.04 < peer.gaps[0] < 0.08 and 0.14 < peer.gaps[1] < 0.2
    assert 190 < exchange.latency_ms < 300


async def test_stray_and_mismatched_responses_are_ignored(udp_peer: StartPeer) -> None:
    def handler(data: bytes, n: int) -> list[bytes]:
        text = data.decode()
        return [
            reply_to(text.replace("branch=z9hG4bK", "branch=z9hG4bKother").encode(), "200 OK"),
            reply_to(data, "200 OK").replace(b" OPTIONS\r\n", b" INVITE\r\n"),
            reply_to(data, "404 Not Found"),
        ]

    peer = await udp_peer(handler)
    conn = await open_connection(PROVIDER_IP, peer.port)
    exchange = await conn.request(options_request(conn), timeout=2)
    conn.close()
    assert exchange.response.status_code == 404
    assert [r.status_code for r in conn.stray] == [200, 200]


async def test_requests_from_the_peer_are_answered(udp_peer: StartPeer) -> None:
    ping = (
        f"OPTIONS sip:{PBX_IP} SIP/2.0\r\nVia: SIP/2.0/UDP {PROVIDER_IP};branch=z9hG4bKping\r\n"
        "From: <sip:p@x>;tag=p\r\nTo: <sip:q@y>\r\nCall-ID: ka\r\nCSeq: 9 OPTIONS\r\n\r\n"
    ).encode()

    def handler(data: bytes, n: int) -> list[bytes]:
        if data.startswith(b"SIP/2.0"):
            return []  # our answer to the ping
        return [ping, reply_to(data, "200 OK")]

    peer = await udp_peer(handler)
    conn = await open_connection(PROVIDER_IP, peer.port)
    await conn.request(options_request(conn), timeout=2)
    await asyncio.sleep(0.05)
    conn.close()
    assert [r.method for r in conn.received_requests] == ["OPTIONS"]
    answers = [d for _, d, _ in peer.received if d.startswith(b"SIP/2.0 ")]
    assert len(answers) == 1 and answers[0].startswith(b"SIP/2.0 200 OK\r\n")
    assert b"CSeq: 9 OPTIONS" in answers[0] and b"Call-ID: ka" in answers[0]


async def test_udp_port_unreachable_fails_at_once() -> None:
    conn = await open_connection(PROVIDER_IP, 9, local_address=PBX_IP)  # discard: closed
    started = time.monotonic()
    with pytest.raises(SipUnreachableError) as info:
        await conn.request(options_request(conn), timeout=3)
    conn.close()
    assert time.monotonic() - started < 0.5
    assert "refused" in info.value.what.en


async def test_udp_garbage_fails_the_waiting_transaction(udp_peer: StartPeer) -> None:
    peer = await udp_peer(lambda data, n: [b"\r\n\r\n", b"\x00\xffjunk"])
    conn = await open_connection(PROVIDER_IP, peer.port)
    with pytest.raises(SipParseError) as info:
        await conn.request(options_request(conn), timeout=3)
    conn.close()
    assert info.value.raw == b"\x00\xffjunk"  # the keep-alive before it was not garbage
    assert len(conn.garbage) == 1


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_unowned_local_address_is_a_socket_error(transport: TransportName) -> None:
    with pytest.raises(SipSocketError) as info:
        await open_connection(PROVIDER_IP, 5060, transport=transport, local_address="192.0.2.1")
    assert info.value.next_step is not None and "local address" in info.value.next_step.en


async def test_a_request_needs_a_branch(udp_peer: StartPeer) -> None:
    peer = await udp_peer(silent)
    conn = await open_connection(PROVIDER_IP, peer.port)
    request = options_request(conn)
    request.remove("Via")
    with pytest.raises(ValueError, match="branch"):
        await conn.request(request, timeout=1)
    conn.close()


# --- TCP --------------------------------------------------------------------------------------

TcpHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def tcp_peer() -> AsyncIterator[Callable[[TcpHandler], Awaitable[int]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: TcpHandler) -> int:
        server = await asyncio.start_server(handler, PROVIDER_IP, 0)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")  # our requests have no body


async def test_tcp_two_transactions_answered_in_reverse_in_tiny_chunks(
    tcp_peer: Callable[[TcpHandler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first, second = await read_request(reader), await read_request(reader)
        stream = b"\r\n\r\n" + reply_to(second, "200 OK") + b"\r\n" + reply_to(first, "486 Busy")
        for i in range(0, len(stream), 7):
            writer.write(stream[i : i + 7])
            await writer.drain()
        await reader.read()

    port = await tcp_peer(handler)
    conn = await open_connection(PROVIDER_IP, port, transport="tcp", local_address=PBX_IP)
    assert conn.local.host == PBX_IP
    one, two = await asyncio.gather(
        conn.request(options_request(conn, 1), timeout=2),
        conn.request(options_request(conn, 2), timeout=2),
    )
    conn.close()
    assert (one.response.status_code, two.response.status_code) == (486, 200)
    assert one.transmissions == two.transmissions == 1


async def test_tcp_close_by_peer_fails_pending(
    tcp_peer: Callable[[TcpHandler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    port = await tcp_peer(handler)
    conn = await open_connection(PROVIDER_IP, port, transport="tcp")
    with pytest.raises(SipUnreachableError) as info:
        await conn.request(options_request(conn), timeout=2)
    assert "closed" in info.value.what.en
    with pytest.raises(SipUnreachableError):  # and the connection stays failed
        await conn.request(options_request(conn, 2), timeout=2)


async def test_tcp_garbage_breaks_the_connection(
    tcp_peer: Callable[[TcpHandler], Awaitable[int]],
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        await reader.read()

    port = await tcp_peer(handler)
    conn = await open_connection(PROVIDER_IP, port, transport="tcp")
    with pytest.raises(SipParseError) as info:
        await conn.request(options_request(conn), timeout=2)
    assert info.value.raw.startswith(b"SSH-2.0")


async def test_tcp_refused() -> None:
    with pytest.raises(SipUnreachableError, match="refused"):
        await open_connection(PROVIDER_IP, 9, transport="tcp", timeout=2)
