"""The few ASGI primitives the webhook receiver and the emulator need.

Plain ASGI instead of a framework: two small apps with a handful of routes do not justify
a dependency, and ``httpx.ASGITransport`` (tests) and uvicorn (``webhook serve``) both
speak ASGI directly. Lifespan is acknowledged so uvicorn does not log it as unsupported.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

__all__ = ["ASGIApp", "Receive", "Scope", "Send", "header", "lifespan", "read_body", "respond"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def lifespan(
    receive: Receive, send: Send, on_shutdown: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Answer ``lifespan.startup``/``shutdown`` until the server says it is done;
    ``on_shutdown`` runs before shutdown is acknowledged (the loop may be gone after)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None once it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def header(scope: Scope, name: str) -> str | None:
    """The first request header called ``name`` (case-insensitive), decoded as Latin-1."""
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


async def respond(
    send: Send,
    status: int,
    body: bytes | str | object = b"",
    *,
    content_type: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> None:
    """Send one complete response; a non-bytes, non-str body is sent as JSON."""
    if isinstance(body, str):
        payload, ctype = body.encode(), content_type or "text/plain; charset=utf-8"
    elif isinstance(body, bytes):
        payload, ctype = body, content_type or "text/plain; charset=utf-8"
    else:
        payload = json.dumps(body, ensure_ascii=False).encode()
        ctype = content_type or "application/json; charset=utf-8"
    raw_headers = [
        (b"content-type", ctype.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
