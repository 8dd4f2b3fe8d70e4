"""The emulator: one ASGI app serving REST v1 (``/v1/...``), the Data API (``/v2.0``) and
the Call API (``/v4.0``) with NovoFon's real signature, token, limit and whitelist rules.

Load it in-process with ``httpx.ASGITransport(app=Emulator(...))`` or serve it with
uvicorn; point the clients' ``base_url`` at it (``http://host:port``, ``.../v2.0``,
``.../v4.0``).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .._asgi import Receive, Scope, Send, lifespan, respond
from ._backend import Backend, BackendUnavailable
from ._jsonrpc import CallApiService, DataApiService
from ._rest import RestService

__all__ = ["Emulator", "EmulatorAccount", "EmulatorLimits"]


@dataclass(frozen=True)
class EmulatorAccount:
    """The emulated account: credentials, whitelist, switches for the fault paths.

    ``ip_whitelist`` holds addresses or CIDR networks (``0.0.0.0/0`` allows everyone, as
    in NovoFon's cabinet); ``rest_ip_whitelist`` is off (None) by default because REST v1
    documents no whitelist.
    """

    rest_key: str = field(default="trunkctlemulatorkey1", repr=False)
    rest_secret: str = field(default="trunkctlemulatorsec1", repr=False)
    login: str = "admin"
    password: str = field(default="emulator-password", repr=False)
    api_keys: frozenset[str] = field(default=frozenset(), repr=False)
    expired_api_keys: frozenset[str] = field(default=frozenset(), repr=False)
    blocked_api_keys: frozenset[str] = field(default=frozenset(), repr=False)
    ip_whitelist: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    rest_ip_whitelist: tuple[str, ...] | None = None
    app_id: int = 100001
    name: str = "trunkctl emulator"
    timezone: str = "Europe/Moscow"
    balance: float = 100.0
    currency: str = "RUB"
    active: bool = True
    components: frozenset[str] = frozenset({"call_api_basic", "call_api_management"})
    allow_international: bool = False
    blacklist: frozenset[str] = frozenset()
    tariff_id: int = 1
    tariff_name: str = "Базовый"
    pbx_id: int = 123456
    extensions: tuple[int, ...] = (100,)

    def allows(self, address: str, whitelist: tuple[str, ...] | None) -> bool:
        """Whether ``address`` is inside ``whitelist`` (None allows everything)."""
        if whitelist is None:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        for entry in whitelist:
            network = ipaddress.ip_network(entry, strict=False)
            if ip.version == network.version and ip in network:
                return True
        return False


@dataclass(frozen=True)
class EmulatorLimits:
    """Rate limits. REST numbers are Zadarma's documented ones; the JSON-RPC point
    budgets are not published (docs show only the metadata shape), so they are knobs.
    """

    rest_per_minute: int = 100
    rest_statistics_per_minute: int = 3
    jsonrpc_per_minute: int = 60
    jsonrpc_per_day: int = 10000
    token_ttl: float = 3600.0


class Emulator:
    """ASGI app emulating NovoFon's three HTTP APIs over a :class:`Backend`."""

    def __init__(
        self,
        backend: Backend,
        account: EmulatorAccount | None = None,
        limits: EmulatorLimits | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.account = account or EmulatorAccount()
        self.limits = limits or EmulatorLimits()
        self.clock = clock
        self._faults: dict[str, tuple[int, bytes]] = {}
        self._sessions: dict[str, int] = {}
        self._session_calls: dict[int, str] = {}
        self.rest = RestService(self)
        self.data_api = DataApiService(self)
        self.call_api = CallApiService(self)

    def now(self) -> datetime:
        """The emulator's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def fail_after_commit(
        self, method: str, status: int = 502, body: bytes = b"<html>502 Bad Gateway</html>"
    ) -> None:
        """Next time ``method`` (``request/callback``, ``start.simple_call``,
        ``update.sip_line_password``) takes effect, answer ``status`` + ``body`` instead:
        a gateway losing the answer after the call was placed.
        """
        self._faults[method] = (status, body)

    def take_fault(self, method: str) -> tuple[int, bytes] | None:
        """The one-shot fault armed for ``method``, if any (consumed)."""
        return self._faults.pop(method, None)

    def session_id(self, call_id: str) -> int:
        """The numeric call_session_id standing for a backend call id."""
        if call_id not in self._sessions:
            session = 500000000 + len(self._sessions) + 1
            self._sessions[call_id] = session
            self._session_calls[session] = call_id
        return self._sessions[call_id]

    def call_id(self, session_id: int) -> str | None:
        """The backend call id of a call_session_id (None if unknown)."""
        return self._session_calls.get(session_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        try:
            if path.startswith("/v1/"):
                await self.rest.handle(scope, receive, send)
            elif path.rstrip("/") == "/v2.0":
                await self.data_api.handle(scope, receive, send)
            elif path.rstrip("/") == "/v4.0":
                await self.call_api.handle(scope, receive, send)
            else:
                await respond(send, 404, "not found")
        except BackendUnavailable as exc:
            # Services answer only after the backend is done, so nothing was sent yet.
            message = f"Service temporarily unavailable: {exc}"
            await respond(send, 503, {"status": "error", "message": message})
