"""The asyncio adapter: feeds the parser, pairs responses with actions, hands events on.

Each action in flight owns a future keyed by its ActionID, with a ``loop.call_later``
timeout; a list action (``EventList: start``) collects its events until the one carrying
``EventList: Complete``. A dropped connection fails every pending future with a typed error.
Everything else goes to ``on_event``, synchronously, in wire order.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from trunkctl.errors import AmiError

from ._errors import list_too_long_error, lost_error, timeout_error
from ._parser import AmiProtocolError, Message, Parser, encode_action

__all__ = ["MAX_LIST_BYTES", "MAX_LIST_ITEMS", "AmiProtocol", "ListResult"]

log = logging.getLogger("trunkctl.ami")


@dataclass(frozen=True, slots=True)
class ListResult:
    """A list action's answer: the response, the item events, and whether the list ended.

    ``complete`` is False only when the caller accepted a partial list (timeout). The
    closing ``...Complete`` event (with ``ListItems``, and e.g. ``Registered`` for
    PJSIPShowRegistrationsOutbound) is ``complete_event``, not one of ``events``.
    """

    response: Message
    events: list[Message]
    complete: bool
    complete_event: Message | None = None


MAX_LIST_ITEMS = 100_000
"""Default cap on one list action's events (a PBX with 10 000 endpoints sends ~10 000)."""
MAX_LIST_BYTES = 64 * 1024 * 1024
"""Default cap on one list action's bytes (PJSIPShowEndpoint of a big endpoint is ~10 kB)."""
_DISCARD_KEEP = 64  # abandoned list ActionIDs remembered, to drop their late items


class _Pending:
    __slots__ = (
        "action",
        "events",
        "future",
        "is_list",
        "max_bytes",
        "max_items",
        "overflowed",
        "partial_ok",
        "peer",
        "response",
        "size",
        "timer",
    )

    def __init__(
        self,
        action: str,
        future: asyncio.Future[Message | ListResult],
        is_list: bool,
        peer: str = "",
        max_items: int = MAX_LIST_ITEMS,
        max_bytes: int = MAX_LIST_BYTES,
    ) -> None:
        self.action = action
        self.future = future
        self.is_list = is_list
        self.partial_ok = False
        self.response: Message | None = None
        self.events: list[Message] = []
        self.timer: asyncio.TimerHandle | None = None
        self.peer = peer
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.size = 0
        self.overflowed = False

    def take(self, msg: Message) -> bool:
        """Consume ``msg`` if it belongs to this action; True when the action is finished."""
        if self.response is None:
            self.response = msg
            if (
                self.is_list
                and msg.get("Response") == "Success"
                and (msg.get("EventList") or "").lower() == "start"
            ):
                return False
            self._finish(msg if not self.is_list else ListResult(msg, [], True))
            return True
        if (msg.get("EventList") or "").lower() == "complete":
            self._finish(ListResult(self.response, self.events, True, msg))
            return True
        self.size += msg.size
        if len(self.events) >= self.max_items or self.size > self.max_bytes:
            n, size = len(self.events) + 1, self.size
            self.events = []  # free them now: the caller gets the error, not the items
            self.overflowed = True
            self.fail(
                list_too_long_error(self.peer, self.action, n, size, self.max_items, self.max_bytes)
            )
            return True
        self.events.append(msg)
        return False

    def _finish(self, result: Message | ListResult) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if not self.future.done():
            self.future.set_result(result)

    def fail(self, exc: BaseException) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if not self.future.done():
            self.future.set_exception(exc)


class AmiProtocol(asyncio.Protocol):
    """One AMI connection. ``banner`` resolves with the AMI version; ``closed`` at the end."""

    def __init__(
        self,
        peer: str,
        on_event: Callable[[Message], None],
        on_lost: Callable[[AmiProtocol, AmiError], None] | None = None,
        raw_sink: Callable[[bytes], None] | None = None,
        *,
        read_batch: float = 0.0,
        max_list_items: int = MAX_LIST_ITEMS,
        max_list_bytes: int = MAX_LIST_BYTES,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.max_list_items = max_list_items
        self.max_list_bytes = max_list_bytes
        # ActionIDs of lists we gave up on (cap, timeout): their late items are dropped,
        # not handed on as events, until their Complete arrives.
        self._discard: dict[str, None] = {}
        self.discarded = 0
        """Late items of abandoned list actions that were dropped."""
        self._loop = loop
        self.peer = peer
        self._on_event = on_event
        self._on_lost = on_lost
        self._raw_sink = raw_sink
        self._parser = Parser()
        self._pending: dict[str, _Pending] = {}
        self._transport: asyncio.Transport | None = None
        self._ids = itertools.count(1)
        self._id_prefix = f"trunkctl-{secrets.token_hex(4)}-"
        self.banner: asyncio.Future[str] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.error: AmiError | None = None
        self.read_batch = read_batch
        """Seconds to stop reading after each read (0: read at once); see data_received."""
        self._resume: asyncio.TimerHandle | None = None

    # -- asyncio callbacks -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports are not asyncio.Transport subclasses.
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        if self._raw_sink is not None:
            self._raw_sink(data)
        try:
            messages = self._parser.feed(data)
        except AmiProtocolError as exc:
            exc.details["peer"] = self.peer
            self._abort(exc)
            return
        if not self.banner.done() and self._parser.banner is not None:
            self.banner.set_result(self._parser.banner)
        pending = self._pending
        discard = self._discard
        on_event = self._on_event
        for msg in messages:
            # Only look for an ActionID while one is awaited: most events carry none.
            if pending or discard:
                action_id = msg.get("ActionID")
                if action_id is not None:
                    waiter = pending.get(action_id)
                    # Ours: the response, or (after it) an item of a list action. An event
                    # with our ActionID outside those (OriginateResponse) is an event.
                    if waiter is not None and (
                        (waiter.response is None and msg.get("Response") is not None)
                        or (waiter.response is not None and waiter.is_list)
                    ):
                        if waiter.take(msg):
                            del pending[action_id]
                            if waiter.overflowed:
                                self._abandon(action_id)
                        continue
                    if action_id in discard:
                        self.discarded += 1
                        if (msg.get("EventList") or "").lower() == "complete":
                            del discard[action_id]
                        continue
            if msg.get("Event") is not None:
                on_event(msg)
            else:
                log.debug("AMI %s: unexpected message %r", self.peer, msg)
        if self.read_batch > 0 and self._resume is None and self.banner.done():
            # Batch reads: under a call firehose each wake-up of this process costs more
            # than the events it brings (measured: 1 900 reads of ~1.5 events each for 200
            # calls). Pausing lets the kernel gather what Asterisk sends meanwhile, so one
            # read takes many events; a message waits at most read_batch seconds longer.
            transport = self._transport
            if transport is not None and not transport.is_closing():
                transport.pause_reading()
                self._resume = self._loop.call_later(self.read_batch, self._resume_reading)

    def _resume_reading(self) -> None:
        self._resume = None
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        aborted = self.error
        self.error = aborted or lost_error(self.peer, exc)
        for waiter in self._pending.values():
            waiter.fail(aborted or lost_error(self.peer, exc, waiter.action))
        self._pending.clear()
        if not self.banner.done():
            self.banner.set_exception(self.error)
            self.banner.exception()  # retrieved: nobody may be waiting any more
        if not self.closed.done():
            self.closed.set_result(None)
        if self._on_lost is not None:
            self._on_lost(self, self.error)

    # -- use -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """True until the transport is closing or closed."""
        return self._transport is not None and not self._transport.is_closing()

    def next_action_id(self) -> str:
        """A fresh ActionID, unique on this connection and across connections."""
        return f"{self._id_prefix}{next(self._ids)}"

    def send(
        self,
        action: str,
        headers: Iterable[tuple[str, object]],
        *,
        timeout: float,
        is_list: bool = False,
        partial_ok: bool = False,
        action_id: str | None = None,
        budget: float | None = None,
    ) -> asyncio.Future[Message | ListResult]:
        """Write an action; the future resolves with its response (or ListResult).

        ``budget`` is the timeout the caller asked for, named in the timeout error when
        ``timeout`` is what is left of it. Raises BadInput (from the encoder) before
        anything is written.
        """
        if action_id is None:
            action_id = self.next_action_id()
        data = encode_action(action, [*headers, ("ActionID", action_id)])
        future: asyncio.Future[Message | ListResult] = self._loop.create_future()
        if self.error is not None or not self.is_open:
            future.set_exception(self.error or lost_error(self.peer, None, action))
            return future
        if action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already in flight")
        waiter = _Pending(
            action, future, is_list, self.peer, self.max_list_items, self.max_list_bytes
        )
        waiter.partial_ok = partial_ok
        waiter.timer = self._loop.call_later(timeout, self._expire, action_id, budget or timeout)
        self._pending[action_id] = waiter
        assert self._transport is not None
        self._transport.write(data)
        return future

    def _abandon(self, action_id: str) -> None:
        self._discard[action_id] = None
        while len(self._discard) > _DISCARD_KEEP:
            del self._discard[next(iter(self._discard))]

    def _expire(self, action_id: str, seconds: float) -> None:
        waiter = self._pending.pop(action_id, None)
        if waiter is None:
            return
        if waiter.is_list and waiter.response is not None:
            self._abandon(action_id)
        if waiter.partial_ok and waiter.response is not None:
            waiter.future.set_result(ListResult(waiter.response, waiter.events, False))
        else:
            waiter.fail(timeout_error(self.peer, waiter.action, seconds))

    def _abort(self, exc: AmiError) -> None:
        self.error = exc
        if self._transport is not None:
            self._transport.abort()

    def abort(self, exc: AmiError) -> None:
        """Drop the connection at once, failing everything pending with ``exc``."""
        self._abort(exc)

    def close(self) -> None:
        """Close the transport after pending writes (Asterisk sees an orderly close)."""
        if self._transport is not None:
            self._transport.close()
