"""Shared pieces for the NovoFon tests: a fake clock, an emulator world, client factories.

Clients reach the emulator in-process through ``httpx.ASGITransport``; fault sequences
the emulator cannot produce (timeouts, garbage) come from ``httpx.MockTransport``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from trunkctl.novofon import CallApiClient, DataApiClient, RestV1Client
from trunkctl.novofon.emulator import (
    Emulator,
    EmulatorAccount,
    EmulatorLimits,
    InMemoryBackend,
    SipLineInfo,
    VirtualNumberInfo,
)

REST_KEY = "KEYabcdefghij0123456"
REST_SECRET = "SECabcdefghij0123456"
LOGIN = "admin@example.test"
PASSWORD = "Pa55-word-for-tests"
API_KEY = "permanent-api-key-0123456789"
EXPIRED_KEY = "expired-api-key-0123456789"
BLOCKED_KEY = "blocked-api-key-0123456789"
VIRTUAL = "74951112233"
LINE_LOGIN = "0053248"
START = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


@dataclass
class FakeClock:
    """Seconds since the epoch, moved only by tests and by :meth:`sleep`."""

    now: float = START
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class World:
    """An emulator over an in-memory backend, sharing one fake clock with the clients."""

    clock: FakeClock
    backend: InMemoryBackend
    emulator: Emulator
    client_ip: str = "127.0.0.1"

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.emulator, client=(self.client_ip, 40000))

    def rest(self, key: str = REST_KEY, secret: str = REST_SECRET, **kw: Any) -> RestV1Client:
        kw.setdefault("sleep", self.clock.sleep)
        return RestV1Client(
            key, secret, "http://novofon.test", transport=self.transport(), clock=self.clock, **kw
        )

    def data(self, **kw: Any) -> DataApiClient:
        return DataApiClient(**self._jsonrpc_kw("http://novofon.test/v2.0", kw))

    def calls(self, **kw: Any) -> CallApiClient:
        return CallApiClient(**self._jsonrpc_kw("http://novofon.test/v4.0", kw))

    def _jsonrpc_kw(self, url: str, kw: dict[str, Any]) -> dict[str, Any]:
        if "api_key" not in kw:
            kw.setdefault("login", LOGIN)
            kw.setdefault("password", PASSWORD)
        kw.setdefault("sleep", self.clock.sleep)
        return {"base_url": url, "transport": self.transport(), "clock": self.clock, **kw}


def make_world(
    account: EmulatorAccount | None = None, limits: EmulatorLimits | None = None
) -> World:
    clock = FakeClock()
    backend = InMemoryBackend(
        lines=[
            SipLineInfo(11, LINE_LOGIN, channels=2, virtual_phone_number=VIRTUAL),
            SipLineInfo(12, "123456-100", channels=1),
        ],
        numbers=[VirtualNumberInfo(21, VIRTUAL)],
        clock=clock,
    )
    account = account or EmulatorAccount(
        rest_key=REST_KEY,
        rest_secret=REST_SECRET,
        login=LOGIN,
        password=PASSWORD,
        api_keys=frozenset({API_KEY}),
        expired_api_keys=frozenset({EXPIRED_KEY}),
        blocked_api_keys=frozenset({BLOCKED_KEY}),
        extensions=(100, 101),
        pbx_id=123456,
        blacklist=frozenset({"79990000666"}),
    )
    return World(clock, backend, Emulator(backend, account, limits, clock=clock))


def account(**changes: Any) -> EmulatorAccount:
    """The default test account with some fields changed."""
    from dataclasses import replace

    base = make_world().emulator.account
    return replace(base, **changes)


@pytest.fixture
def world() -> World:
    return make_world()


Handler = Callable[[httpx.Request], httpx.Response]


def mock(*responses: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering with ``responses`` in order (an exception is raised instead)."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return httpx.MockTransport(handler), seen
