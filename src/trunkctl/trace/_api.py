"""Tracing an operation on the live Asterisk: which ports to watch, start, finish, select.

:class:`SipTracer` asks Asterisk (``pjsip show transports``, over the control socket when
it can, else AMI) where its SIP transports listen, captures those ports while the caller
places a call or triggers a registration, and hands back the messages.
:func:`capture_register_exchange` does the REGISTER case whole.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import replace

from trunkctl.ami import AmiClient
from trunkctl.codes import ProviderAnswer
from trunkctl.errors import AmiError, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.settings import Settings

from ._capture import CaptureUnavailable, PortCapture
from ._model import Endpoint, SipTrace, TracedMessage, select_call, select_register, traced

__all__ = [
    "SipTracer",
    "asterisk_endpoints",
    "capture_register_exchange",
    "parse_transports",
    "provider_answer",
]

# After the call ends: time for the last ACK / 200 to BYE to cross the wire.
GRACE = 0.5


def parse_transports(lines: list[str]) -> list[tuple[str, Endpoint]]:
    """(protocol, endpoint) of each row of ``pjsip show transports``.

    Rows look like ``Transport:  transport-udp  udp  0  0  127.0.0.2:5060``; a wildcard bind
    (0.0.0.0, [::]) listens on every local address.
    """
    out: list[tuple[str, Endpoint]] = []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[0] != "Transport:" or fields[1].startswith("<"):
            continue
        proto, bind = fields[2].lower(), fields[-1]
        host, _, port = bind.rpartition(":")
        host = host.strip("[]")
        try:
            addr = ipaddress.ip_address(host)
            number = int(port)
        except ValueError:
            continue
        out.append((proto, Endpoint(None if addr.is_unspecified else str(addr), number)))
    return out


async def _transport_rows(ami: AmiClient, settings: Settings | None) -> list[str]:
    """``pjsip show transports``: over the control socket when ``settings`` gives one that
    works (trunkctl's narrow AMI user has no ``command`` class), else AMI ``Command``."""
    if settings is not None:
        from trunkctl.asterisk import asterisk_rx

        try:
            out = await asyncio.to_thread(
                asterisk_rx, settings, "pjsip show transports", timeout=5.0
            )
        except TrunkctlError:
            pass
        else:
            return out.splitlines()
    return await ami.command("pjsip show transports", timeout=5.0)


async def asterisk_endpoints(
    ami: AmiClient, settings: Settings | None = None
) -> tuple[list[Endpoint], Text | None]:
    """Where Asterisk's readable (UDP/TCP) SIP transports listen, or why none can be traced.

    With ``settings``, the control socket (``asterisk -rx``) is asked first.
    """
    try:
        rows = parse_transports(await _transport_rows(ami, settings))
    except AmiError as exc:
        return [], Text(
            f"could not list Asterisk's SIP transports (control socket out of reach; over "
            f"AMI: {exc.what.en})",
            f"не удалось получить SIP-транспорты Asterisk (сокет управления недоступен; "
            f"через AMI: {exc.what.ru})",
        )
    readable = [e for proto, e in rows if proto in ("udp", "tcp")]
    if not readable:
        kinds = ", ".join(sorted({p for p, _ in rows})) or "none"
        return [], Text(
            f"Asterisk has no UDP or TCP SIP transport (found: {kinds}); TLS and WebSocket "
            "traffic is encrypted or framed and cannot be read from the wire",
            f"у Asterisk нет SIP-транспорта UDP или TCP (есть: {kinds}); трафик TLS и "
            "WebSocket зашифрован и с провода не читается",
        )
    return readable, None


class SipTracer:
    """Captures Asterisk's SIP traffic between :meth:`start` and :meth:`finish`.

    Never raises for capture trouble: the operation being traced must run regardless, and
    the resulting :class:`SipTrace` says why it is empty (``unavailable``).
    """

    def __init__(self, endpoints: list[Endpoint], unavailable: Text | None = None) -> None:
        self.endpoints = endpoints
        self.unavailable = unavailable
        self._capture: PortCapture | None = None

    @classmethod
    async def for_asterisk(cls, ami: AmiClient, settings: Settings | None = None) -> SipTracer:
        """A tracer for the transports the connected Asterisk listens on (``settings``:
        ask its control socket first, see :func:`asterisk_endpoints`)."""
        endpoints, why = await asterisk_endpoints(ami, settings)
        return cls(endpoints, why)

    def start(self) -> None:
        if self.unavailable is not None:
            return
        capture = PortCapture(e.port for e in self.endpoints)
        try:
            capture.start()
        except CaptureUnavailable as exc:
            self.unavailable = exc.reason
            return
        self._capture = capture

    @property
    def running(self) -> bool:
        return self._capture is not None

    def snapshot(self) -> list[TracedMessage]:
        """The messages captured so far (the capture keeps running)."""
        if self._capture is None:
            return []
        return traced(self._capture.messages, self.endpoints)

    async def finish(self, grace: float = GRACE) -> list[TracedMessage]:
        """Wait ``grace`` seconds for late messages, stop, and return everything seen."""
        if self._capture is None:
            return []
        if grace > 0:
            await asyncio.sleep(grace)
        wire = self._capture.stop()
        return traced(wire, self.endpoints)

    def stop(self) -> None:
        """Stop at once (idempotent): for error paths."""
        if self._capture is not None:
            self._capture.stop()

    def trace(self, messages: list[TracedMessage], *, call_digits: str | None) -> SipTrace:
        """The :class:`SipTrace` of one call (``call_digits``) or of every message (None)."""
        if self.unavailable is not None:
            return SipTrace(endpoints=tuple(self.endpoints), unavailable=self.unavailable)
        chosen = messages if call_digits is None else select_call(messages, call_digits)
        packets = self._capture.packets if self._capture is not None else 0
        return SipTrace(
            tuple(chosen),
            endpoints=tuple(self.endpoints),
            no_sip_leg=not chosen,
            captured_packets=packets,
        )


def _register_done(messages: list[TracedMessage]) -> bool:
    """A REGISTER exchange has ended: success, a refusal, or a challenge to credentials sent."""
    authed: set[str] = set()
    for m in messages:
        if m.method != "REGISTER":
            continue
        if m.is_request and m.direction == "out":
            if m.header("Authorization") or m.header("Proxy-Authorization"):
                authed.add(m.cseq or "")
            continue
        if m.direction != "in" or m.status is None or m.status < 200:
            continue
        if m.status in (401, 407) and (m.cseq or "") not in authed:
            continue  # the first challenge: Asterisk answers it
        return True
    return False


async def capture_register_exchange(
    settings: Settings, trunk: str = "novofon", *, timeout: float = 8.0
) -> SipTrace:
    """Send the trunk's registration again (AMI ``PJSIPRegister``) and trace the exchange.

    Without capture rights nothing is sent and the trace's ``unavailable`` says why.

    Ends at the registrar's final answer (200, a refusal, or a second challenge: credentials
    refused), or after ``timeout`` seconds. Raises :class:`~trunkctl.errors.AmiError` when
    Asterisk cannot be reached or has no such registration.
    """
    from trunkctl.asterisk import ami_client

    async with ami_client(settings, timeout=10.0) as ami:
        tracer = await SipTracer.for_asterisk(ami, settings)
        server_uri = None
        try:
            listing = await ami.list_action("PJSIPShowRegistrationsOutbound")
            for ev in listing.events:
                detail = ev.get("Event") == "OutboundRegistrationDetail"
                if detail and ev.get("ObjectName") == trunk:
                    server_uri = ev.get("ServerUri")
        except AmiError:
            pass
        tracer.start()
        if not tracer.running:  # no capture: do not disturb the registration for nothing
            return replace(tracer.trace([], call_digits=None), subject="registration")
        try:
            await ami.action("PJSIPRegister", {"Registration": trunk})
            deadline = time.monotonic() + timeout
            while tracer.running and time.monotonic() < deadline:
                if _register_done(select_register(tracer.snapshot(), server_uri)):
                    break
                await asyncio.sleep(0.05)
            messages = await tracer.finish(grace=0.2)
        finally:
            tracer.stop()
    trace = tracer.trace(select_register(messages, server_uri), call_digits=None)
    return replace(trace, subject="registration")


def provider_answer(trace: SipTrace, method: str = "INVITE") -> ProviderAnswer | None:
    """The far end's final refusal of ``method`` in its own words (None: none, or a 2xx).

    A 487 that only echoes our own CANCEL (timeout, Ctrl-C) is not the provider's verdict.
    For REGISTER, a 401/407 is a verdict only when it answered a request with credentials.
    """
    final = trace.final_response(method)
    if final is None or final.status is None or final.status < 300:
        return None
    if final.status == 487 and any(
        m.method == "CANCEL" and m.is_request and m.direction == "out" for m in trace.messages
    ):
        return None
    if final.status in (401, 407) and not any(
        m.is_request
        and m.direction == "out"
        and m.cseq == final.cseq
        and (m.header("Authorization") or m.header("Proxy-Authorization"))
        for m in trace.messages
    ):
        return None  # a first challenge, which Asterisk answers: nobody refused anything yet
    return ProviderAnswer.of(
        final.status,
        final.reason or "",
        tuple(final.header_all("Warning")),
        tuple(final.header_all("Reason")),
    )
