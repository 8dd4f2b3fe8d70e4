"""asyncio adapter: SIP over UDP and TCP with client transactions keyed by Via branch.

Feeds received bytes to the pure parser in :mod:`._message` and resolves one future per
transaction (RFC 3261 §17.1.2, non-INVITE client transaction). Over UDP the request is
retransmitted on Timer E (T1 = 500 ms, doubling up to T2 = 4 s) until a final answer or
the timeout (Timer F = 64·T1 at most). Every wait has a timeout; every foreign error is
translated here, in :func:`_translate_errors`, into the :mod:`._errors` tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, cast

from trunkctl.i18n import Text

from ._errors import (
    SipParseError,
    SipProbeError,
    SipResolveError,
    SipSocketError,
    SipTimeoutError,
    SipUnreachableError,
)
from ._message import SipRequest, SipResponse, StreamParser, parse_message

__all__ = [
    "MAX_REPLIES",
    "MAX_SAMPLES",
    "T1",
    "T2",
    "Address",
    "Exchange",
    "SipConnection",
    "TransportName",
    "open_connection",
]

TransportName = Literal["udp", "tcp"]

# RFC 3261 §17.1.1.1 defaults.
T1 = 0.5
T2 = 4.0

# A hostile or broken peer can send without end: keep a few samples as evidence, count the
# rest as noise, and answer at most so many of its requests (keep-alives need one or two).
MAX_SAMPLES = 16
MAX_REPLIES = 64


@dataclass(frozen=True, slots=True)
class Address:
    """An IP (or host name) and port; prints as ``host:port`` or ``[v6]:port``."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def same_ip(self, other: Address | str | None) -> bool:
        """True if both name the same IP (``::ffff:1.2.3.4`` equals ``1.2.3.4``)."""
        if other is None:
            return False
        other_host = other.host if isinstance(other, Address) else other
        return _norm_ip(self.host) == _norm_ip(other_host)


def _norm_ip(text: str) -> str:
    try:
        ip = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return text.lower()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


@dataclass(slots=True)
class Exchange:
    """One finished client transaction: what we sent, what came back, and when."""

    request: SipRequest
    response: SipResponse
    sent_at: float
    answered_at: float
    transmissions: int
    provisional: list[SipResponse] = field(default_factory=list)

    @property
    def latency_ms(self) -> float:
        """From the first transmission to the final response, in milliseconds."""
        return (self.answered_at - self.sent_at) * 1000.0


class _Transaction:
    __slots__ = (
        "data",
        "future",
        "interval",
        "method",
        "provisional",
        "request",
        "retransmit",
        "sent_at",
        "transmissions",
    )

    def __init__(self, request: SipRequest, future: asyncio.Future[SipResponse], t1: float) -> None:
        self.request = request
        self.method = request.method
        self.data = request.render()
        self.future = future
        self.transmissions = 0
        self.interval = t1
        self.sent_at = 0.0
        self.retransmit: asyncio.TimerHandle | None = None
        self.provisional: list[SipResponse] = []


def _target_text(kind: str, host: str, port: int) -> str:
    return f"{host}:{port} ({kind.upper()})"


class SipConnection:
    """One socket to one peer; runs client transactions over it.

    Also answers requests the peer sends us meanwhile (an OPTIONS keep-alive to the
    Contact we just registered gets 200, anything else 481; at most :data:`MAX_REPLIES`).
    Only responses that match a pending transaction (Via branch, Call-ID, CSeq number and
    method) are used; everything else is counted in ``noise`` and at most
    :data:`MAX_SAMPLES` of each kind (``stray``, ``garbage``, ``received_requests``) are
    kept as evidence, so a peer flooding the socket cannot grow our memory.
    """

    kind: TransportName = "udp"
    reliable = False

    def __init__(self, target: str, *, t1: float = T1, t2: float = T2) -> None:
        self.target = target
        self.local = Address("", 0)
        self.remote = Address("", 0)
        self.garbage: list[SipParseError] = []
        self.received_requests: list[SipRequest] = []
        self.stray: list[SipResponse] = []
        self.noise = 0  # datagrams/messages that belong to no transaction of ours
        self.noise_bytes = 0
        self.spoke_sip = False  # the peer sent at least one SIP message
        self._replies = 0
        self._t1 = t1
        self._t2 = t2
        self._pending: dict[str, _Transaction] = {}
        self._closed: SipProbeError | None = None
        self._transport: asyncio.BaseTransport | None = None

    # --- asyncio protocol callbacks shared by UDP and TCP ---------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        sockname = transport.get_extra_info("sockname")
        if sockname:
            self.local = Address(str(sockname[0]), int(sockname[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._closed is None:
            self._fail_all(_closed_error(self.target))

    def close(self) -> None:
        """Close the socket; pending transactions fail."""
        if self._transport is not None:
            self._transport.close()

    def _open_transport(self) -> asyncio.BaseTransport:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionResetError(errno.ECONNRESET, "connection closed")
        return self._transport

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    # --- transactions -------------------------------------------------------------------
    async def request(self, request: SipRequest, *, timeout: float) -> Exchange:
        """Send ``request`` and wait for its final response (retransmitting over UDP).

        Raises :class:`SipTimeoutError` after ``timeout`` seconds (capped by Timer F),
        :class:`SipUnreachableError` or :class:`SipParseError` if the peer refuses or
        answers garbage.
        """
        if self._closed is not None:
            raise self._closed
        via = request.top_via
        branch = via.branch if via is not None else None
        if not branch:
            raise ValueError("a request needs a top Via with a branch")
        loop = asyncio.get_running_loop()
        tx = _Transaction(request, loop.create_future(), self._t1)
        self._pending[branch] = tx
        limit = min(timeout, 64 * self._t1) if not self.reliable else timeout
        tx.sent_at = loop.time()
        timer = loop.call_later(limit, self._on_timeout, branch, limit)
        try:
            self._transmit(branch)
            response = await tx.future
            return Exchange(
                request, response, tx.sent_at, loop.time(), tx.transmissions, tx.provisional
            )
        finally:
            timer.cancel()
            if tx.retransmit is not None:
                tx.retransmit.cancel()
            self._pending.pop(branch, None)

    def _transmit(self, branch: str) -> None:
        tx = self._pending.get(branch)
        if tx is None or tx.future.done():
            return
        try:
            with _translate_errors("send", self.target):
                self._write(tx.data)
        except SipProbeError as exc:
            tx.future.set_exception(exc)
            return
        tx.transmissions += 1
        if not self.reliable:
            delay = tx.interval
            # Timer E doubles up to T2; after a provisional answer it stays at T2 (§17.1.2.2).
            tx.interval = self._t2 if tx.provisional else min(2 * tx.interval, self._t2)
            tx.retransmit = asyncio.get_running_loop().call_later(delay, self._transmit, branch)

    def _on_timeout(self, branch: str, limit: float) -> None:
        tx = self._pending.get(branch)
        if tx is None or tx.future.done():
            return
        if self.garbage:
            # Something answers on that port, but not in SIP: that is the finding.
            tx.future.set_exception(self.garbage[-1])
            return
        codes = ", ".join(str(r.status_code) for r in tx.provisional)
        evidence = Text(
            f"{tx.method} sent {tx.transmissions} time(s) in {limit:g} s; "
            + (f"only provisional answers: {codes}" if codes else "nothing came back"),
            f"{tx.method} отправлен {tx.transmissions} раз(а) за {limit:g} с; "
            + (f"только предварительные ответы: {codes}" if codes else "ответа не было"),
        )
        tx.future.set_exception(
            SipTimeoutError(
                Text(
                    f"No SIP answer from {self.target} within {limit:g} s.",
                    f"Нет SIP-ответа от {self.target} за {limit:g} с.",
                ),
                evidence=evidence,
                next_step=Text(
                    "Check the host and port, DNS, and that the firewall lets SIP out and the "
                    "answers back in; a router's SIP ALG may be eating packets (turn it off); "
                    "try the other transport (--transport tcp/udp).",
                    "Проверьте хост и порт, DNS, что межсетевой экран выпускает SIP и пропускает "
                    "ответы обратно; SIP ALG роутера может съедать пакеты (отключите его); "
                    "попробуйте другой транспорт (--transport tcp/udp).",
                ),
                transmissions=tx.transmissions,
            )
        )

    def _fail_pending(self, exc: SipProbeError) -> None:
        for tx in list(self._pending.values()):
            if not tx.future.done():
                tx.future.set_exception(exc)

    def _fail_all(self, exc: SipProbeError) -> None:
        self._closed = exc
        self._fail_pending(exc)

    def _count_noise(self, message: SipRequest | SipResponse | SipParseError) -> None:
        self.noise += 1
        self.noise_bytes += len(message.raw)

    def _on_message(self, message: SipRequest | SipResponse) -> None:
        self.spoke_sip = True
        if isinstance(message, SipRequest):
            if len(self.received_requests) < MAX_SAMPLES:
                self.received_requests.append(message)
            if message.method == "ACK" or self._replies >= MAX_REPLIES:
                self._count_noise(message)
                return
            self._replies += 1
            ok = message.method == "OPTIONS"
            reply = message.reply(200 if ok else 481, "OK" if ok else "Call Does Not Exist")
            with contextlib.suppress(OSError):
                self._write(reply.render())
            return
        tx = self._match(message)
        if tx is None:
            self._count_noise(message)
            if len(self.stray) < MAX_SAMPLES:
                self.stray.append(message)
            return
        if message.is_final:
            tx.future.set_result(message)
        else:
            tx.provisional.append(message)
            if not self.reliable:
                tx.interval = self._t2

    def _match(self, message: SipResponse) -> _Transaction | None:
        """The pending transaction ``message`` answers: same branch, Call-ID and CSeq."""
        try:
            via = message.top_via
            cseq = message.cseq
        except SipParseError:
            return None
        tx = self._pending.get(via.branch or "") if via is not None else None
        if tx is None or tx.future.done():
            return None
        if cseq is None or cseq != tx.request.cseq:
            return None
        if message.get("Call-ID") != tx.request.get("Call-ID"):
            return None
        return tx

    def _on_garbage(self, exc: SipParseError) -> None:
        if len(self.garbage) < MAX_SAMPLES:
            self.garbage.append(exc)
        else:
            self._count_noise(exc)


class UdpConnection(SipConnection, asyncio.DatagramProtocol):
    """SIP over a connected UDP socket: ICMP port-unreachable surfaces as an error."""

    kind: TransportName = "udp"
    reliable = False

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if not data.strip(b"\r\n"):
            return  # RFC 5626 keep-alive
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._on_garbage(exc)
            # The socket is connected: this came from the peer. Over UDP one datagram
            # cannot break the next, but a peer answering non-SIP will not answer SIP:
            # fail what waits now rather than at the timeout — unless it has spoken SIP
            # already (then the junk is noise around a SIP dialogue, e.g. a flood).
            if not self.spoke_sip:
                self._fail_pending(exc)
            return
        self._on_message(message)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            try:
                with _translate_errors("send", self.target):
                    raise exc
            except SipProbeError as mapped:
                self._fail_pending(mapped)

    def _write(self, data: bytes) -> None:
        # asyncio's selector datagram transport does not subclass DatagramTransport.
        cast(asyncio.DatagramTransport, self._open_transport()).sendto(data)


class TcpConnection(SipConnection, asyncio.Protocol):
    """SIP over one TCP connection, framed by Content-Length."""

    kind: TransportName = "tcp"
    reliable = True

    def __init__(self, target: str, *, t1: float = T1, t2: float = T2) -> None:
        super().__init__(target, t1=t1, t2=t2)
        self._parser = StreamParser()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._parser.feed(data)
        except SipParseError as exc:
            self._on_garbage(exc)
            self._fail_all(exc)
            self.close()
            return
        for message in messages:
            self._on_message(message)

    def _write(self, data: bytes) -> None:
        cast(asyncio.WriteTransport, self._open_transport()).write(data)


def _closed_error(target: str) -> SipUnreachableError:
    return SipUnreachableError(
        Text(f"The connection to {target} closed.", f"Соединение с {target} закрыто."),
        next_step=Text(
            "The peer hung up on us: check that it accepts SIP on this port and transport.",
            "Сервер закрыл соединение: проверьте, что он принимает SIP на этом порту и транспорте.",
        ),
    )


@contextlib.contextmanager
def _translate_errors(stage: str, target: str, local: str | None = None) -> Iterator[None]:
    """Turn OSError/gaierror/TimeoutError into the most specific :class:`SipProbeError`."""
    try:
        yield
    except SipProbeError:
        raise
    except socket.gaierror as exc:
        raise SipResolveError(
            Text(f"Cannot resolve {target}.", f"Не удаётся разрешить имя {target}."),
            evidence=Text(str(exc), str(exc)),
            next_step=Text(
                "Check the spelling of the host and the DNS servers (getent hosts HOST).",
                "Проверьте написание хоста и DNS-серверы (getent hosts ХОСТ).",
            ),
        ) from exc
    except TimeoutError as exc:
        raise SipTimeoutError(
            Text(
                f"{target} did not accept the connection in time.",
                f"{target} не принял соединение вовремя.",
            ),
            evidence=Text(f"stage: {stage}", f"этап: {stage}"),
            next_step=Text(
                "A firewall probably drops the packets: check the port and the firewall "
                "on both sides.",
                "Вероятно, пакеты отбрасывает межсетевой экран: проверьте порт и фильтры "
                "с обеих сторон.",
            ),
        ) from exc
    except ConnectionRefusedError as exc:
        raise SipUnreachableError(
            Text(
                f"{target} refused: nothing listens on that port.",
                f"{target} отказал: на этом порту никто не слушает.",
            ),
            evidence=Text(str(exc), str(exc)),
            next_step=Text(
                "Check the port and transport (NovoFon: 5060, UDP) and that the server runs.",
                "Проверьте порт и транспорт (NovoFon: 5060, UDP) и что сервер запущен.",
            ),
        ) from exc
    except OSError as exc:
        detail = f"{stage}: {exc.strerror or exc} (errno {exc.errno})"
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EADDRINUSE, errno.EACCES, errno.EINVAL) and (
            stage == "bind"
        ):
            raise SipSocketError(
                Text(
                    f"Cannot use the local address {local}.",
                    f"Нельзя использовать локальный адрес {local}.",
                ),
                evidence=Text(detail, detail),
                next_step=Text(
                    "Pass a local address this machine owns (ip -brief addr), or none.",
                    "Укажите локальный адрес, который есть на этой машине (ip -brief addr), "
                    "или не указывайте его.",
                ),
            ) from exc
        raise SipUnreachableError(
            Text(f"The network cannot reach {target}.", f"Сеть не может достичь {target}."),
            evidence=Text(detail, detail),
            next_step=Text(
                "Check the route and the firewall (ip route get ADDRESS).",
                "Проверьте маршрут и межсетевой экран (ip route get АДРЕС).",
            ),
        ) from exc


async def open_connection(
    host: str,
    port: int,
    *,
    transport: TransportName = "udp",
    local_address: str | None = None,
    timeout: float = 5.0,
    t1: float = T1,
    t2: float = T2,
) -> SipConnection:
    """Resolve ``host``, then open a UDP socket or TCP connection to it.

    ``local_address`` binds our side (tests use 127.0.0.2 to play the user's server).
    Raises :class:`SipResolveError`, :class:`SipSocketError`, :class:`SipUnreachableError`
    or :class:`SipTimeoutError`; never a bare OSError.
    """
    loop = asyncio.get_running_loop()
    target = _target_text(transport, host, port)
    family = 0
    if local_address is not None:
        family = socket.AF_INET6 if ":" in local_address else socket.AF_INET
    sock_type = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with _translate_errors("resolve", target):
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, family=family, type=sock_type), timeout
        )
    if not infos:
        raise SipResolveError(Text(f"Cannot resolve {target}.", f"Не удаётся разрешить {target}."))
    af, _, _, _, sockaddr = infos[0]
    remote_ip, remote_port = str(sockaddr[0]), int(sockaddr[1])
    local = (local_address, 0) if local_address is not None else None
    conn: SipConnection
    if transport == "udp":
        udp = UdpConnection(target, t1=t1, t2=t2)
        with _translate_errors("bind", target, local_address):
            await loop.create_datagram_endpoint(
                lambda: udp, local_addr=local, remote_addr=(remote_ip, remote_port), family=af
            )
        conn = udp
    else:
        tcp = TcpConnection(target, t1=t1, t2=t2)
        with _translate_errors("bind", target, local_address):
            sock = socket.socket(af, socket.SOCK_STREAM)
            try:
                if local is not None:
                    sock.bind(local)
                sock.setblocking(False)
            except OSError:
                sock.close()
                raise
        with _translate_errors("connect", target, local_address):
            try:
                await asyncio.wait_for(loop.sock_connect(sock, (remote_ip, remote_port)), timeout)
            except BaseException:
                sock.close()
                raise
            await loop.create_connection(lambda: tcp, sock=sock)
        conn = tcp
    conn.remote = Address(remote_ip, remote_port)
    return conn
