"""The in-memory NovoFon emulator over real HTTP on 127.0.0.1, for library code that builds
its own clients from a :class:`~trunkctl.novofon.NovofonConfig` (no transport to inject).

It runs as a task in the test's own event loop, so a test can turn the backend's knobs
(finish a call, register a line) between requests without threads. Used by
tests/provision/test_novofon_line.py and tests/calling/test_api_calls.py; the clients'
own tests reach the same emulator through ``httpx.ASGITransport`` (conftest.py here).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from trunkctl.novofon import NovofonConfig
from trunkctl.novofon.emulator import Emulator, EmulatorAccount, InMemoryBackend
from trunkctl.secret import Secret

from .conftest import API_KEY, REST_KEY, REST_SECRET, account


@dataclass(frozen=True)
class Served:
    """A running emulator: its backend (the knobs), and where it listens."""

    emulator: Emulator
    backend: InMemoryBackend
    url: str

    def conf(self, *, rest: bool = True, jsonrpc: bool = True, **fields: Any) -> NovofonConfig:
        """Settings pointing at this emulator with the test account's REST key and secret
        and/or its permanent API token; ``fields`` go to :class:`NovofonConfig`."""
        values: dict[str, Secret] = {}
        if rest:
            values |= {"key": Secret(REST_KEY), "secret": Secret(REST_SECRET)}
        if jsonrpc:
            values["api_token"] = Secret(API_KEY)
        return NovofonConfig(api_url=self.url, values=values, **fields)


@asynccontextmanager
async def serve(
    backend: InMemoryBackend, emulator_account: EmulatorAccount | None = None
) -> AsyncIterator[Served]:
    """Serve ``backend`` (real clock: the library's report windows use the real time)."""
    emulator = Emulator(backend, emulator_account or account())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(emulator, log_level="error", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task  # failed to start: the task holds the reason
            await asyncio.sleep(0.01)
        yield Served(emulator, backend, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await task
        sock.close()
