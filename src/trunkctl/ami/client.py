"""The friendly AMI client: login, actions, list actions, CLI commands, event subscriptions.

It talks only to the protocol adapter (:mod:`._protocol`). Every wait has a timeout, so a
call never hangs; a dropped connection fails what is in flight with AmiConnectionError and,
unless ``reconnect=False``, the client reconnects with exponential backoff and logs in
again (subscriptions survive: each sees one AmiConnectionError per loss). OSError and
asyncio timeouts never leave this module; they become the AMI errors of trunkctl.errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Protocol, Self

from trunkctl.errors import AmiConnectionError, AmiError, AmiTimeoutError
from trunkctl.i18n import Text

from ._errors import (
    action_error,
    auth_error,
    closed_error,
    connect_error,
    permission_error,
    timeout_error,
)
from ._parser import Message
from ._protocol import MAX_LIST_BYTES, MAX_LIST_ITEMS, AmiProtocol, ListResult

__all__ = [
    "AmiClient",
    "EventListener",
    "EventMatch",
    "Headers",
    "ListResult",
    "Subscription",
    "connect",
]

log = logging.getLogger("trunkctl.ami")

EventMatch = Callable[[Message], bool] | Mapping[str, str | Collection[str]] | None
"""Which events a subscription wants: all (None), a predicate, or required header values
(``{"Event": "Hangup"}``, ``{"Event": ("DialBegin", "DialEnd")}``; keys case-insensitive)."""

Headers = Mapping[str, object] | Iterable[tuple[str, object]] | None
"""Action headers: a mapping or ``(key, value)`` pairs. A list value repeats the header; a
mapping value becomes repeated ``key=value`` headers (``Variable={"A": "1", "B": "2"}``);
``None`` is left out; ``True``/``False`` are sent as ``true``/``false``."""


class EventListener(Protocol):
    """Receives every event synchronously, in wire order, and each connection loss."""

    def on_event(self, msg: Message) -> None:
        """Called for each event; must be quick and must not raise."""

    def on_connection_lost(self, error: AmiError) -> None:
        """Called once per dropped connection (not on a deliberate close)."""


def _has_system(events: str) -> bool:
    """Whether a Login ``Events`` mask lets FullyBooted through."""
    classes = {c.strip().lower() for c in events.split(",")}
    return bool(classes & {"on", "all", "system"})


def _compile(match: EventMatch) -> Callable[[Message], bool]:
    if match is None:
        return lambda msg: True
    if callable(match):
        return match
    wanted = [
        (key, frozenset((value,)) if isinstance(value, str) else frozenset(value))
        for key, value in match.items()
    ]

    def matches(msg: Message) -> bool:
        return all(msg.get(key) in values for key, values in wanted)

    return matches


def _expand(key: str, value: object) -> Iterable[tuple[str, object]]:
    if isinstance(value, Mapping):
        return [(key, f"{k}={v}") for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [(key, item) for item in value]
    return [(key, value)]


def _pairs(headers: Headers, more: Mapping[str, object]) -> list[tuple[str, object]]:
    items: Iterable[tuple[str, object]]
    if headers is None:
        items = ()
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    out: list[tuple[str, object]] = []
    for source in (items, more.items()):
        for key, value in source:
            out.extend(_expand(key, value))
    return out


_OVERFLOW = object()  # queued where events started to be dropped


class Subscription:
    """Matching events in a queue; ``async for event in sub`` or ``await sub.get(timeout)``.

    Survives reconnects: a connection loss is raised once as AmiConnectionError, in order
    with the events, and the subscription keeps going. A full queue drops new events and
    raises AmiError once at that point instead of losing them silently.
    """

    def __init__(
        self, client: AmiClient, match: EventMatch, maxsize: int, timeout: float | None
    ) -> None:
        self._client = client
        self._match = _compile(match)
        self._queue: deque[Message | BaseException | object] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._maxsize = maxsize
        self._timeout = timeout
        self._overflowed = False
        self.dropped = 0
        """Events dropped because the queue was full."""
        self.closed = False

    # -- EventListener ---------------------------------------------------------------------
    def on_event(self, msg: Message) -> None:
        try:
            wanted = self._match(msg)
        except Exception as exc:  # the caller's predicate: surface its bug to the caller
            self._put(exc)
            return
        if not wanted:
            return
        if len(self._queue) >= self._maxsize:
            self.dropped += 1
            if not self._overflowed:
                self._overflowed = True
                self._queue.append(_OVERFLOW)
            return
        self._put(msg)

    def on_connection_lost(self, error: AmiError) -> None:
        self._put(error)

    # -- consuming -------------------------------------------------------------------------
    def _put(self, item: Message | BaseException | object) -> None:
        self._queue.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __len__(self) -> int:
        return len(self._queue)

    def _pop(self) -> Message:
        item = self._queue.popleft()
        if isinstance(item, Message):
            return item
        if isinstance(item, BaseException):
            raise item
        self._overflowed = False
        raise AmiError(
            Text(
                f"{self.dropped} AMI events were dropped so far: the subscriber did not keep "
                f"up (queue of {self._maxsize})",
                f"пропущено событий AMI: {self.dropped}: подписчик не успевал их забирать "
                f"(очередь {self._maxsize})",
            ),
            next_step=Text(
                "Read events faster, narrow the filter, or subscribe with a larger maxsize.",
                "Забирайте события быстрее, сузьте фильтр или увеличьте maxsize подписки.",
            ),
            dropped=self.dropped,
        )

    def get_nowait(self) -> Message | None:
        """The next queued event, or None; raises what :meth:`get` would raise."""
        return self._pop() if self._queue else None

    async def get(self, timeout: float | None = None) -> Message:
        """The next event. Raises AmiTimeoutError after ``timeout`` seconds (None: wait on),
        AmiConnectionError once per connection loss, and after :meth:`close` as well."""
        if self._queue:
            return self._pop()
        if self.closed:
            raise closed_error(self._client.peer)
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        try:
            if timeout is None:
                await waiter
            else:
                try:
                    async with asyncio.timeout(timeout):
                        await waiter
                except TimeoutError:
                    raise timeout_error(self._client.peer, "an awaited event", timeout) from None
        finally:
            self._waiter = None
        if self._queue:
            return self._pop()
        raise closed_error(self._client.peer)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self

    async def __anext__(self) -> Message:
        if self.closed and not self._queue:
            raise StopAsyncIteration
        try:
            return await self.get(self._timeout)
        except AmiConnectionError:
            if self.closed and not self._queue:
                raise StopAsyncIteration from None
            raise

    def close(self) -> None:
        """Stop receiving; queued events can still be read, then iteration ends."""
        if not self.closed:
            self.closed = True
            self._client.remove_listener(self)
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AmiClient:
    """An AMI session to one Asterisk; use as ``async with AmiClient(...) as ami:``.

    ``timeout`` bounds every action (override per call); ``events`` is Login's ``Events``
    (True: all the user may read, False: none, or class names such as ``("call", "user")``);
    ``read_batch`` trades up to that many seconds of delay for fewer reads (see the property).
    The secret is kept only for logging in and never appears in a repr, log or error.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 5038,
        username: str = "",
        secret: str = "",
        *,
        events: bool | str | Iterable[str] = True,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        keepalive: float | None = 30.0,
        reconnect: bool = True,
        backoff: tuple[float, float] = (0.5, 10.0),
        raw_sink: Callable[[bytes], None] | None = None,
        read_batch: float = 0.0,
        max_list_items: int = MAX_LIST_ITEMS,
        max_list_bytes: int = MAX_LIST_BYTES,
        boot_wait: float = 60.0,
    ) -> None:
        self.host = host
        self.boot_wait = boot_wait
        """After a reconnect, wait up to this long for Asterisk's FullyBooted (0: never)."""
        self._booted: asyncio.Future[None] | None = None
        self.max_list_items = max_list_items
        """A list action with more events than this fails with AmiListTooLongError."""
        self.max_list_bytes = max_list_bytes
        """A list action with more bytes of events than this fails the same way."""
        self.port = port
        self.username = username
        self.__secret = secret
        if isinstance(events, bool):
            self._events = "on" if events else "off"
        elif isinstance(events, str):
            self._events = events
        else:
            self._events = ",".join(events)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.reconnect = reconnect
        self.backoff = backoff
        self._raw_sink = raw_sink
        self._read_batch = read_batch
        self._proto: AmiProtocol | None = None
        self._listeners: tuple[EventListener, ...] = ()
        self._connected = asyncio.Event()
        self._closing = False
        self._ever_connected = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconnecting: asyncio.Task[None] | None = None
        self.version: str | None = None
        """AMI version from the banner (``"11.0.0"`` for Asterisk 22)."""
        self.last_error: AmiError | None = None
        """Why the last connection (or reconnection attempt) failed."""
        self.connections = 0
        """How many times a login succeeded (1 + reconnects)."""

    def __repr__(self) -> str:
        state = "connected" if self.connected else "closed" if self._closing else "idle"
        return f"<AmiClient {self.username}@{self.peer} {state}>"

    @property
    def read_batch(self) -> float:
        """Seconds the connection stops reading after each read, so that one read takes
        many events (0, the default: every event at once). A volume run sets ~0.05 s: far
        fewer wake-ups for a bounded delay."""
        return self._read_batch

    @read_batch.setter
    def read_batch(self, seconds: float) -> None:
        self._read_batch = max(float(seconds), 0.0)
        if self._proto is not None:
            self._proto.read_batch = self._read_batch

    @property
    def peer(self) -> str:
        """``host:port``, as errors name it."""
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        """True while logged in on a live connection."""
        return self._proto is not None and self._proto.is_open

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> Self:
        """Connect and log in (raises AmiConnectionError, AmiAuthError, AmiTimeoutError)."""
        if self._closing:
            raise closed_error(self.peer)
        await self._open()
        if self.keepalive:
            self._spawn(self._keepalive_loop())
        return self

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        proto: AmiProtocol | None = None

        def factory() -> AmiProtocol:
            nonlocal proto
            proto = AmiProtocol(
                self.peer,
                self._dispatch,
                self._lost,
                self._raw_sink,
                read_batch=self._read_batch,
                max_list_items=self.max_list_items,
                max_list_bytes=self.max_list_bytes,
            )
            return proto

        try:
            async with asyncio.timeout(self.connect_timeout):
                await loop.create_connection(factory, self.host, self.port)
                assert proto is not None
                version = await proto.banner
        except TimeoutError:
            if proto is not None:
                proto.abort(timeout_error(self.peer, "the AMI greeting", self.connect_timeout))
            raise timeout_error(
                self.peer, "the connection and AMI greeting", self.connect_timeout
            ) from None
        except OSError as exc:
            raise connect_error(self.peer, exc) from exc
        except asyncio.CancelledError:
            if proto is not None:
                proto.abort(closed_error(self.peer))
            raise
        assert proto is not None
        # A reconnect may reach an Asterisk that is still loading its modules (its AMI
        # listens early): actions then fail ("No such command", a dialplan not loaded yet)
        # and a campaign would misjudge numbers. So a re-login also asks for the system
        # class, whose FullyBooted event Asterisk sends at login once booted (or when it
        # finishes booting), and the session counts as connected only after it.
        rejoin = self._ever_connected and self.boot_wait > 0
        events = self._events
        if rejoin and not _has_system(events):
            events = "system" if events == "off" else f"{events},system"
        self._booted = asyncio.get_running_loop().create_future() if rejoin else None
        login = [("Username", self.username), ("Secret", self.__secret), ("Events", events)]
        try:
            response = await proto.send("Login", login, timeout=self.timeout)
        except (AmiError, asyncio.CancelledError):  # cancelled: close() during a reconnect
            self._booted = None
            proto.abort(closed_error(self.peer))
            raise
        assert isinstance(response, Message)
        if response.get("Response") != "Success":
            proto.close()
            if (response.get("Message") or "").startswith("Authentication"):
                raise auth_error(self.peer, self.username, response)
            raise action_error(self.peer, "Login", response)
        if self._closing:  # closed while we were logging in
            proto.close()
            raise closed_error(self.peer)
        if rejoin:
            try:
                await self._await_boot(proto, events)
            except (AmiError, asyncio.CancelledError):
                proto.abort(closed_error(self.peer))
                raise
        self.version = version
        self._proto = proto
        self._ever_connected = True
        self.connections += 1
        self._connected.set()
        log.info("AMI %s: logged in as %s (AMI %s)", self.peer, self.username, version)

    async def _await_boot(self, proto: AmiProtocol, events: str) -> None:
        """Hold a fresh re-login until FullyBooted (bounded), then restore the event mask."""
        booted = self._booted
        assert booted is not None
        try:
            done, _ = await asyncio.wait(
                {booted, proto.closed}, timeout=self.boot_wait, return_when="FIRST_COMPLETED"
            )
        finally:
            self._booted = None
        if proto.closed in done or not proto.is_open:
            raise proto.error or closed_error(self.peer)
        if booted not in done:
            log.warning(
                "AMI %s: no FullyBooted within %g s of reconnecting (does the user read the "
                "system class?); going on",
                self.peer,
                self.boot_wait,
            )
        if events != self._events:
            response = await proto.send(
                "Events", [("EventMask", self._events)], timeout=self.timeout
            )
            assert isinstance(response, Message)
            if response.get("Response") == "Error":
                log.info("AMI %s: Events refused: %s", self.peer, response.get("Message"))

    def _lost(self, proto: AmiProtocol, error: AmiError) -> None:
        if proto is not self._proto:
            return  # a connection that never finished logging in
        self._proto = None
        self._connected.clear()
        self.last_error = error
        if self._closing:
            return
        log.warning("AMI %s: connection lost: %s", self.peer, error)
        for listener in self._listeners:
            listener.on_connection_lost(error)
        if self.reconnect and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = self._spawn(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay, ceiling = self.backoff
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._open()
            except AmiError as exc:
                self.last_error = exc
                log.info("AMI %s: reconnect failed (next in %.1f s): %s", self.peer, delay, exc)
                delay = min(delay * 2, ceiling)
            else:
                return

    async def _keepalive_loop(self) -> None:
        assert self.keepalive
        while not self._closing:
            await asyncio.sleep(self.keepalive)
            proto = self._proto
            if proto is None:
                continue
            try:
                await self.action("Ping", timeout=min(self.timeout, self.keepalive))
            except AmiTimeoutError as exc:
                log.warning("AMI %s: no answer to Ping, dropping the connection", self.peer)
                proto.abort(exc)
            except AmiError:
                continue

    def _spawn(self, coro: Coroutine[object, object, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Log off (briefly), close the connection, end subscriptions; idempotent."""
        if self._closing:
            return
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, AmiError):
                await task
        proto = self._proto
        if proto is not None and proto.is_open:
            with contextlib.suppress(AmiError):
                await proto.send("Logoff", (), timeout=min(2.0, self.timeout))
            proto.close()
            try:
                async with asyncio.timeout(2.0):
                    await asyncio.shield(proto.closed)
            except TimeoutError:
                proto.abort(closed_error(self.peer))
        self._proto = None
        self._connected.clear()
        for listener in self._listeners:
            if isinstance(listener, Subscription):
                listener.close()

    # -- events ----------------------------------------------------------------------------
    def _dispatch(self, msg: Message) -> None:
        booted = self._booted
        if booted is not None:
            if msg.get("Event") == "FullyBooted" and not booted.done():
                booted.set_result(None)
            if not _has_system(self._events):
                # System events were asked for only to see FullyBooted: they are nobody's,
                # and nothing of ours runs on this session yet.
                return
        for listener in self._listeners:
            listener.on_event(msg)

    def add_listener(self, listener: EventListener) -> None:
        """Low level: ``listener.on_event`` sees every event synchronously, in order."""
        self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: EventListener) -> None:
        """Undo :meth:`add_listener` (no error if absent)."""
        self._listeners = tuple(x for x in self._listeners if x is not listener)

    def subscribe(
        self, match: EventMatch = None, *, maxsize: int = 100_000, timeout: float | None = None
    ) -> Subscription:
        """Queue the events that ``match`` from now on; ``timeout`` bounds each iteration wait.

        Events need the AMI user's read classes: ``call`` for channel events, ``user`` for
        UserEvent, ``system`` for Registry/ContactStatus.
        """
        sub = Subscription(self, match, maxsize, timeout)
        self.add_listener(sub)
        return sub

    # -- actions ---------------------------------------------------------------------------
    async def _ready(self, seconds: float) -> AmiProtocol:
        proto = self._proto
        if proto is not None and proto.is_open:
            return proto
        if self._closing:
            raise closed_error(self.peer)
        if not self._ever_connected:
            raise AmiConnectionError(
                Text(f"not connected to AMI at {self.peer}", f"нет соединения с AMI {self.peer}"),
                next_step=Text(
                    "Call `await client.connect()` or use `async with AmiClient(...)`.",
                    "Вызовите `await client.connect()` или используйте "
                    "`async with AmiClient(...)`.",
                ),
                peer=self.peer,
            )
        if not self.reconnect:
            raise self.last_error or closed_error(self.peer)
        try:
            async with asyncio.timeout(seconds):
                await self._connected.wait()
        except TimeoutError:
            raise AmiConnectionError(
                Text(
                    f"not connected to AMI at {self.peer}: still reconnecting after {seconds:g} s",
                    f"нет соединения с AMI по адресу {self.peer}: переподключение идёт "
                    f"дольше {seconds:g} с",
                ),
                evidence=Text(str(self.last_error), str(self.last_error)),
                next_step=Text(
                    "Check that Asterisk is running and its manager interface is enabled.",
                    "Проверьте, что Asterisk запущен и интерфейс управления включён.",
                ),
                peer=self.peer,
            ) from self.last_error
        assert self._proto is not None
        return self._proto

    async def _request(
        self,
        name: str,
        headers: Headers,
        more: Mapping[str, object],
        timeout: float | None,
        *,
        is_list: bool = False,
        partial_ok: bool = False,
    ) -> Message | ListResult:
        seconds = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        pairs = _pairs(headers, more)
        action_id = None
        for i, (key, value) in enumerate(pairs):
            if key.lower() == "actionid":
                action_id = str(value)
                del pairs[i]
                break
        proto = await self._ready(seconds)
        if log.isEnabledFor(logging.DEBUG):
            shown = Message.from_pairs((k, str(v)) for k, v in pairs).redacted()
            log.debug("AMI %s: -> %s %r", self.peer, name, shown)
        try:
            return await proto.send(
                name,
                pairs,
                timeout=max(deadline - loop.time(), 0.001),
                is_list=is_list,
                partial_ok=partial_ok,
                action_id=action_id,
                budget=seconds,
            )
        except (AmiConnectionError, AmiTimeoutError) as exc:
            # Handed to a live connection: Asterisk may have acted on it before the drop.
            exc.details.setdefault("maybe_sent", True)
            raise

    def _check(self, name: str, response: Message) -> None:
        if response.get("Response") == "Error":
            if response.get("Message") == "Permission denied":
                raise permission_error(self.peer, self.username, name)
            raise action_error(self.peer, name, response)

    async def action(
        self,
        name: str,
        headers: Headers = None,
        /,
        *,
        timeout: float | None = None,
        check: bool = True,
        **more: object,
    ) -> Message:
        """Send action ``name`` and return its response.

        Headers come as a mapping/pairs and/or keywords (``Channel=...``); keywords that
        clash with ours (``timeout``, ``check``) go in ``headers``. With ``check`` (default)
        ``Response: Error`` raises AmiPermissionError or AmiActionError.
        """
        response = await self._request(name, headers, more, timeout)
        assert isinstance(response, Message)
        if check:
            self._check(name, response)
        return response

    async def list_action(
        self,
        name: str,
        headers: Headers = None,
        /,
        *,
        timeout: float | None = None,
        partial_ok: bool = False,
        **more: object,
    ) -> ListResult:
        """Send a list action (PJSIPShowEndpoints...) and collect its events until Complete.

        On timeout raises AmiTimeoutError, or with ``partial_ok`` returns what came
        (``complete=False``). PJSIP list actions answer an empty list with an error
        (``No endpoints found``), raised as AmiActionError. A list longer than
        ``max_list_items`` events or ``max_list_bytes`` bytes raises AmiListTooLongError
        (its late items are dropped, never handed to listeners).
        """
        result = await self._request(
            name, headers, more, timeout, is_list=True, partial_ok=partial_ok
        )
        assert isinstance(result, ListResult)
        self._check(name, result.response)
        return result

    async def command(self, cli: str, *, timeout: float | None = None) -> list[str]:
        """Run an Asterisk CLI command; its output lines (Asterisk 14+ ``Output:`` headers)."""
        response = await self.action("Command", {"Command": cli}, timeout=timeout)
        return response.get_all("Output")

    async def ping(self, *, timeout: float | None = None) -> float:
        """Round trip of a Ping action, in seconds."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        await self.action("Ping", timeout=timeout)
        return loop.time() - start


async def connect(
    host: str,
    port: int,
    username: str,
    secret: str,
    *,
    timeout: float = 10.0,
    **options: object,
) -> AmiClient:
    """A connected, logged-in :class:`AmiClient` (close it, or use ``async with``)."""
    client = AmiClient(host, port, username, secret, timeout=timeout, **options)  # type: ignore[arg-type]
    return await client.connect()
