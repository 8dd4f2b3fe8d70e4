"""What the emulator asks of the telephony behind it, and an in-memory implementation.

The API layer (signatures, tokens, limits, error shapes) lives in the emulator; the
telephony facts it reports live behind :class:`Backend`, so the same emulator can sit on
a dict (unit tests) or on the sandbox's provider Asterisk (registration state from
PJSIP contacts, originate through AMI, password changes written into its pjsip.conf).
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "BackendUnavailable",
    "CallRecord",
    "InMemoryBackend",
    "Registration",
    "SipLineInfo",
    "VirtualNumberInfo",
    "finish_reason",
]

CallSource = Literal["callback", "callapi"]
CallDirection = Literal["in", "out"]


@dataclass(frozen=True, slots=True)
class SipLineInfo:
    """A SIP line the account owns; ``login`` is the SIP user name (e.g. ``0053248``)."""

    id: int
    login: str
    channels: int = 2
    virtual_phone_number: str | None = None
    display_name: str | None = None
    billing_state: str = "active"
    type: str = "in_out"


@dataclass(frozen=True, slots=True)
class Registration:
    """Whether a login is registered now, and from which addresses since when (UTC)."""

    registered: bool
    contacts: tuple[tuple[str, datetime], ...] = ()


@dataclass(frozen=True, slots=True)
class VirtualNumberInfo:
    """A virtual (DID) number of the account, E.164 digits."""

    id: int
    number: str
    status: str = "active"
    type: str = "va"
    category: str = "usual"
    activation_date: datetime = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call the backend placed: ``first`` is rung first, then bridged to ``second``.

    ``disposition`` uses REST v1 statistics words (answered, busy, cancel, no answer,
    failed...); ``finish_reason`` the Data API's (subscriber_busy, sip_offline...).
    """

    id: str
    first: str
    second: str
    caller_id: str | None
    external_id: str | None
    source: CallSource
    started: datetime
    answered: datetime | None = None
    finished: datetime | None = None
    disposition: str | None = None
    finish_reason: str | None = None
    direction: CallDirection = "out"
    """The calls report's ``direction``: a Call API call takes it from ``start.simple_call``
    (default ``in``, NovoFon's method page); a REST v1 callback is ``out``."""

    @property
    def talk_seconds(self) -> int:
        """Seconds between answer and end (0 when unanswered or still going)."""
        if self.answered is None or self.finished is None:
            return 0
        return max(0, int((self.finished - self.answered).total_seconds()))

    @property
    def total_seconds(self) -> int:
        """Seconds between start and end (0 while still going)."""
        if self.finished is None:
            return 0
        return max(0, int((self.finished - self.started).total_seconds()))


class BackendUnavailable(Exception):
    """The telephony behind the emulator cannot be reached (the sandbox provider is down).

    The emulator answers HTTP 503 with this message: a fault of the platform, which the
    clients report as a server error (reads) or an unknown outcome (calls).
    """


@runtime_checkable
class Backend(Protocol):
    """The telephony the emulator reports on; all times are timezone-aware UTC."""

    async def sip_lines(self) -> Sequence[SipLineInfo]:
        """The account's SIP lines."""
        ...

    async def registration_state(self, login: str) -> Registration:
        """Is ``login`` registered right now (the sandbox: the provider's PJSIP contacts)."""
        ...

    async def set_sip_password(self, login: str) -> str:
        """Generate, store and return a new password for ``login`` (old one stops working)."""
        ...

    async def virtual_numbers(self) -> Sequence[VirtualNumberInfo]:
        """The account's virtual numbers."""
        ...

    async def originate(
        self,
        first: str,
        second: str,
        *,
        caller_id: str | None,
        external_id: str | None,
        source: CallSource,
        direction: CallDirection = "out",
    ) -> str:
        """Ring ``first``; when it answers, bridge it to ``second``. Returns the call's id.

        Returns as soon as the call is placed (not answered); the record appears in
        :meth:`active_calls` until it ends, then in :meth:`calls`.
        """
        ...

    async def release(self, call_id: str) -> bool:
        """Hang up a call in progress; False if no such call is in progress."""
        ...

    async def active_calls(self) -> Sequence[CallRecord]:
        """Calls in progress."""
        ...

    async def calls(self, since: datetime, till: datetime) -> Sequence[CallRecord]:
        """Finished calls that started within ``since``..``till``."""
        ...


_FINISH_REASONS = {
    "answered": "subscriber_disconnects",
    "busy": "subscriber_busy",
    "no answer": "subscriber_not_responsible",
    "cancel": "operator_disconnects",
    "failed": "subscriber_number_problems",
    "unallocated number": "subscriber_number_problems",
    "no money": "no_money",
}


def finish_reason(disposition: str) -> str:
    """The Data API ``finish_reason`` standing for a REST v1 ``disposition``."""
    return _FINISH_REASONS.get(disposition, "internal_error")


@dataclass
class InMemoryBackend:
    """A dict-backed :class:`Backend` with knobs for tests (register, answer, finish)."""

    lines: list[SipLineInfo] = field(default_factory=list)
    numbers: list[VirtualNumberInfo] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    _passwords: dict[str, str] = field(default_factory=dict, repr=False)
    _registrations: dict[str, Registration] = field(default_factory=dict)
    _calls: dict[str, CallRecord] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- knobs for tests ----------------------------------------------------------------

    def password(self, login: str) -> str | None:
        """The current password of ``login`` (None if never set)."""
        return self._passwords.get(login)

    def register(self, login: str, ip: str = "127.0.0.1") -> None:
        """Mark ``login`` registered from ``ip`` now."""
        self._registrations[login] = Registration(True, ((ip, self._now()),))

    def unregister(self, login: str) -> None:
        """Mark ``login`` unregistered."""
        self._registrations[login] = Registration(False)

    def add_call(self, record: CallRecord) -> None:
        """Put a call into the history as is (a past call, for report periods)."""
        self._calls[record.id] = record

    def answer(self, call_id: str) -> None:
        """The first leg of a call in progress answers."""
        self._calls[call_id] = replace(self._calls[call_id], answered=self._now())

    def finish(self, call_id: str, disposition: str = "answered") -> CallRecord:
        """End a call with a REST v1 ``disposition`` (answered, busy, no answer...)."""
        record = self._calls[call_id]
        answered = record.answered
        if disposition == "answered" and answered is None:
            answered = record.started
        done = replace(
            record,
            answered=answered if disposition == "answered" else None,
            finished=self._now(),
            disposition=disposition,
            finish_reason=finish_reason(disposition),
        )
        self._calls[call_id] = done
        return done

    # --- Backend ------------------------------------------------------------------------

    async def sip_lines(self) -> Sequence[SipLineInfo]:
        """See :class:`Backend`."""
        return list(self.lines)

    async def registration_state(self, login: str) -> Registration:
        """See :class:`Backend`."""
        return self._registrations.get(login, Registration(False))

    async def set_sip_password(self, login: str) -> str:
        """See :class:`Backend`."""
        password = secrets.token_urlsafe(12)
        self._passwords[login] = password
        return password

    async def virtual_numbers(self) -> Sequence[VirtualNumberInfo]:
        """See :class:`Backend`."""
        return list(self.numbers)

    async def originate(
        self,
        first: str,
        second: str,
        *,
        caller_id: str | None,
        external_id: str | None,
        source: CallSource,
        direction: CallDirection = "out",
    ) -> str:
        """See :class:`Backend`."""
        call_id = str(next(self._ids))
        self._calls[call_id] = CallRecord(
            call_id, first, second, caller_id, external_id, source, self._now(), direction=direction
        )
        return call_id

    async def release(self, call_id: str) -> bool:
        """See :class:`Backend`."""
        record = self._calls.get(call_id)
        if record is None or record.finished is not None:
            return False
        self.finish(call_id, "answered" if record.answered else "cancel")
        return True

    async def active_calls(self) -> Sequence[CallRecord]:
        """See :class:`Backend`."""
        return [c for c in self._calls.values() if c.finished is None]

    async def calls(self, since: datetime, till: datetime) -> Sequence[CallRecord]:
        """See :class:`Backend`."""
        return [
            c for c in self._calls.values() if c.finished is not None and since <= c.started <= till
        ]
