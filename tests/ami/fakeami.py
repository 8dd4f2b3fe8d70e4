"""A tiny in-process AMI server for framing and fault cases a real Asterisk will not produce
on demand (garbage, silence, dribbling, drops). Behaviour that matters is checked against
the real one in test_live.py; this one only speaks the wire format.

It reads actions with its own naive splitter (not trunkctl's parser) and answers Login,
Ping, Logoff itself; tests add handlers per action or drive connections directly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
SECRET = "s3cret-Qz9"

Action = dict[str, str]


def wire(*pairs: tuple[str, str]) -> bytes:
    """One message in wire form."""
    return b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs) + b"\r\n"


def read_action(block: bytes) -> Action:
    out: Action = {}
    for line in block.decode().split("\r\n"):
        key, _, value = line.partition(": ")
        out.setdefault(key, value)
    return out


@dataclass
class Conn:
    """One client connection as the server sees it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    actions: list[Action] = field(default_factory=list)

    def send(self, *pairs: tuple[str, str]) -> None:
        self.writer.write(wire(*pairs))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def reply(self, action: Action, response: str = "Success", *more: tuple[str, str]) -> None:
        self.send(("Response", response), ("ActionID", action["ActionID"]), *more)

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.transport.abort()


Handler = Callable[[Conn, Action], Awaitable[None] | None]


class FakeAmi:
    """Serve on 127.0.0.1:<free port>; ``handlers`` map lower-case action names to code."""

    def __init__(
        self,
        *,
        banner: bytes = BANNER,
        secret: str = SECRET,
        login_delay: float = 0.0,
        answer_ping: bool = True,
    ) -> None:
        self.banner = banner
        self.secret = secret
        self.login_delay = login_delay
        self.answer_ping = answer_ping
        self.handlers: dict[str, Handler] = {}
        self.conns: list[Conn] = []
        self.actions: list[Action] = []
        self.raw: bytearray = bytearray()
        self.accepting = True
        self._server: asyncio.Server | None = None
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FakeAmi:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for conn in self.conns:
            conn.abort()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def conn(self) -> Conn:
        """The latest connection."""
        return self.conns[-1]

    def broadcast(self, *pairs: tuple[str, str]) -> None:
        for conn in self.conns:
            if not conn.writer.is_closing():
                conn.send(*pairs)

    def drop_all(self) -> None:
        for conn in self.conns:
            conn.abort()

    async def wait_for(self, action: str, count: int = 1, timeout: float = 5.0) -> Action:
        """The ``count``-th action named ``action`` once it has arrived."""
        async with asyncio.timeout(timeout):
            while True:
                seen = [a for a in self.actions if a.get("Action", "").lower() == action.lower()]
                if len(seen) >= count:
                    return seen[count - 1]
                await asyncio.sleep(0.01)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Conn(reader, writer)
        self.conns.append(conn)
        writer.write(self.banner)
        try:
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                self.raw += block
                action = read_action(block[:-4])
                conn.actions.append(action)
                self.actions.append(action)
                await self._handle(conn, action)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _handle(self, conn: Conn, action: Action) -> None:
        name = action.get("Action", "").lower()
        handler = self.handlers.get(name)
        if handler is not None:
            result = handler(conn, action)
            if result is not None:
                await result
        elif name == "login":
            await asyncio.sleep(self.login_delay)
            if action.get("Secret") == self.secret:
                conn.reply(action, "Success", ("Message", "Authentication accepted"))
                conn.send(("Event", "FullyBooted"), ("Privilege", "system,all"))
            else:
                await asyncio.sleep(0.05)
                conn.reply(action, "Error", ("Message", "Authentication failed"))
                await conn.writer.drain()
                conn.close()
        elif name == "ping":
            if self.answer_ping:
                conn.reply(action, "Success", ("Ping", "Pong"), ("Timestamp", "1.0"))
        elif name == "logoff":
            conn.reply(action, "Goodbye", ("Message", "Thanks for all the fish."))
            await conn.writer.drain()
            conn.close()
        else:
            conn.reply(action, "Error", ("Message", f"Invalid/unknown command: {name}"))
