"""Many calls within limits: a campaign over a list of numbers, resumable, in the call log.

The rule that keeps anyone from being called twice: a number's row goes into the call log
(status ``dialing``) *before* its Originate is sent, and the log holds one row per number
and campaign. A crash, even SIGKILL, between the two cannot lead to a second call: a
resumed run finds the row, sees that the runner which wrote it is gone, marks it
``interrupted`` and does not dial it again unless asked (``retry={"interrupted"}``).

One AMI client serves the whole run (it reconnects by itself); a token bucket keeps the
calls-per-second limit and a semaphore the number of calls in progress. ``stop()`` (the
CLI's Ctrl-C) stops dispatching, waits for the calls in progress (each bounded by its own
timeout) and records them; a second ``stop()`` stops waiting and hangs them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from trunkctl.ami import AmiClient, CallResult, originate_and_track
from trunkctl.asterisk import ami_client
from trunkctl.calllog import CallLog
from trunkctl.codes import CallStatus, Explanation, explain
from trunkctl.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiError,
    AmiPermissionError,
    BadInput,
    EnvironmentProblem,
    TrunkctlError,
)
from trunkctl.i18n import Lang, Text
from trunkctl.numbers import PhoneNumber, local_channel
from trunkctl.settings import Settings

from ._numberlist import BadLine, NumberEntry, NumberList
from ._pacing import TokenBucket
from ._test_call import _trunk_context, _TrunkContext

__all__ = [
    "CALL_EVENTS",
    "READ_BATCH",
    "RETRY_CHOICES",
    "CampaignError",
    "CampaignProgress",
    "CampaignReport",
    "CampaignRunner",
    "NumberResult",
    "narrow_to_call_events",
    "record_call_result",
]

log = logging.getLogger("trunkctl.calling")

CALL_EVENTS: tuple[str, ...] = (
    "Newchannel",
    "Newstate",
    "DialBegin",
    "DialState",
    "DialEnd",
    "Hangup",
    "UserEvent",
    "OriginateResponse",
)
"""The AMI events a call's verdict is made from (what trunkctl.ami.calls reads)."""

READ_BATCH = 0.05
"""Seconds a volume run's AMI connection gathers events between reads: at 20 calls a
second this cut trunkctl's CPU by about a third (bench/call_volume_bench.py); a verdict comes
at most this much later, against calls that last seconds."""

_STATUSES: frozenset[str] = frozenset(get_args(CallStatus))
RETRY_CHOICES: frozenset[str] = _STATUSES | {"all"}
"""What ``retry`` accepts: call outcomes to dial again, or ``all``."""

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_APP_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ACTIVE_RUNNERS: set[str] = set()


class CampaignError(TrunkctlError):
    """A campaign cannot run as asked (another live runner is working on it)."""

    code = "campaign"


# -- runner identity: is the process that left a row in `dialing` still alive? --------------
def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (/proc/PID/stat field 22), telling reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the ")" closing the command name (which may hold spaces) start at field 3.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _new_runner_id() -> str:
    pid = os.getpid()
    return f"{pid}:{_process_start(pid)}:{uuid.uuid4().hex[:8]}"


def _runner_alive(runner: str) -> bool:
    pid, _, rest = runner.partition(":")
    start, _, _token = rest.partition(":")
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return runner in _ACTIVE_RUNNERS
    return _process_start(int(pid)) == start


# -- results ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class NumberResult:
    """One number of the list: its outcome now or from an earlier run of the campaign.

    ``status`` is a call outcome (trunkctl.codes.CallStatus), ``pending`` (not dialled:
    the run stopped first) or ``skipped`` (another runner took it). ``called`` is True when
    this run dialled it; ``explanation`` is the trunkctl.codes explanation id.
    """

    number: str
    line: int
    status: str
    called: bool = False
    attempt: int = 0
    sip_code: int | None = None
    sip_reason: str | None = None
    q850: int | None = None
    dial_status: str | None = None
    explanation: str | None = None
    channel_id: str | None = None
    duration: float | None = None
    error: dict[str, Any] | None = None
    result: CallResult | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the CallResult's events are left out)."""
        return {
            "number": self.number,
            "line": self.line,
            "status": self.status,
            "called": self.called,
            "attempt": self.attempt,
            "sip_code": self.sip_code,
            "sip_reason": self.sip_reason,
            "q850": self.q850,
            "dial_status": self.dial_status,
            "explanation": self.explanation,
            "channel_id": self.channel_id,
            "duration": self.duration,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class CampaignProgress:
    """What the progress callback gets: after planning, after every call, on stop."""

    campaign: str
    total: int
    to_call: int
    done: int
    in_flight: int
    counts: dict[str, int]
    last: NumberResult | None
    stopping: bool


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """How a run went: one result per number of the list, in list order."""

    campaign: str
    source: str
    results: tuple[NumberResult, ...]
    invalid: tuple[BadLine, ...] = ()
    duplicates: tuple[tuple[int, int], ...] = ()
    stopped: bool = False
    error: TrunkctlError | None = None
    elapsed: float = 0.0
    reconnects: int = 0
    recovered: int = 0
    log_path: str = ""

    @property
    def called(self) -> int:
        """Numbers dialled by this run."""
        return sum(r.called for r in self.results)

    def counts(self) -> dict[str, int]:
        """Status → how many numbers of the list have it (this run and earlier ones)."""
        return dict(Counter(r.status for r in self.results))

    @property
    def exit_code(self) -> int:
        """130 stopped by the user; the error's code; 1 when an outcome is unknown
        (``interrupted``) or a number is left ``pending``; else 0, whatever the outcomes."""
        if self.stopped:
            return 130
        if self.error is not None:
            return self.error.exit_code
        if any(r.status in ("interrupted", "pending") for r in self.results):
            return 1
        return 0

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """JSON-ready view: summary, per-number results, invalid and repeated lines."""
        return {
            "ok": self.exit_code == 0,
            "campaign": self.campaign,
            "source": self.source,
            "total": len(self.results),
            "called": self.called,
            "counts": self.counts(),
            "stopped": self.stopped,
            "elapsed": round(self.elapsed, 3),
            "reconnects": self.reconnects,
            "recovered": self.recovered,
            "call_log": self.log_path,
            "error": self.error.to_dict(lang) if self.error else None,
            "results": [r.to_dict() for r in self.results],
            "invalid": [b.to_dict() for b in self.invalid],
            "duplicates": [{"line": a, "first_line": b} for a, b in self.duplicates],
        }


def record_call_result(
    log: CallLog,
    row: int,
    result: CallResult,
    explanation: Explanation,
    detail: dict[str, Any] | None = None,
) -> None:
    """Store a finished call's outcome, timings and explanation id in its call-log row."""
    log.finish_call(
        row,
        status=result.status,
        sip_code=result.sip_code,
        q850=result.q850,
        dial_status=result.dial_status,
        time_to_ring=result.time_to_ring,
        time_to_answer=result.time_to_answer,
        talk_duration=result.talk_duration,
        channel_id=result.channel_id,
        detail={
            **(detail or {}),
            "explanation": explanation.id,
            "notes": list(explanation.notes),
            "sip_reason": result.sip_reason,
            "q850_text": result.q850_text,
            "duration": round(result.duration, 3),
            "error": result.error.to_dict("en") if result.error else None,
        },
    )


@contextlib.contextmanager
def _log_errors(log: CallLog) -> Iterator[None]:
    """sqlite3 errors (disk full, locked too long) become EnvironmentProblem."""
    try:
        yield
    except sqlite3.IntegrityError:
        raise
    except sqlite3.Error as exc:
        raise EnvironmentProblem(
            Text("the call log cannot be written", "журнал звонков не удаётся записать"),
            evidence=f"{log.path}: {exc}",
            next_step=Text(
                "Free disk space or fix the file's permissions, then run the same command "
                "again: the campaign resumes where it stopped.",
                "Освободите место на диске или исправьте права на файл и запустите ту же "
                "команду снова: кампания продолжится с места остановки.",
            ),
        ) from exc


@dataclass(slots=True)
class _Todo:
    entry: NumberEntry
    attempt: int
    previous: list[dict[str, Any]]
    channel: str


async def narrow_to_call_events(client: AmiClient) -> bool:
    """Ask Asterisk to send this session only :data:`CALL_EVENTS` of trunkctl's own calls;
    True when it agreed.

    Halves the events per call (24.7 → 13.4 measured on Asterisk 22: no DeviceStateChange,
    NewCallerid, HangupRequest, Bridge* …) and drops other calls' events. Needs the
    ``system`` write class; without it (or on any error) the session keeps every event,
    which is slower but just as right.
    """
    # Action Filter (Asterisk 10+) with no MatchCriteria is a POSIX extended regex over
    # the whole event text, which starts with "Event: <name>\r\n" ('.' crosses lines);
    # filters last as long as the session, so a reconnected client must ask again. Every
    # event of a tracked call names its ChannelId ("trunkctl-…", ami/calls.py) in Linkedid,
    # DestLinkedid, Uniqueid or ActionID: other calls on a busy server are not sent at all.
    pattern = f"^Event: ({'|'.join(CALL_EVENTS)})[[:space:]].*trunkctl-"
    try:
        await client.action("Filter", Operation="Add", Filter=pattern, timeout=5.0)
    except AmiError as exc:
        log.debug("AMI %s: event filter refused, keeping all events: %s", client.peer, exc)
        return False
    return True


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _bad(what: Text, hint: Text) -> BadInput:
    return BadInput(what, next_step=hint)


class CampaignRunner:
    """Calls every number of ``numbers`` once, ``concurrency`` at a time, ``cps`` a second.

    ``campaign`` defaults to :meth:`NumberList.campaign_id`: running the same list again
    resumes it. Numbers already in the campaign's log are not dialled again unless their
    status is in ``retry`` (e.g. ``{"interrupted", "failed"}``, or ``{"all"}``). A list with
    bad lines is refused (BadInput) unless ``skip_invalid``.
    """

    def __init__(
        self,
        numbers: NumberList,
        log: CallLog,
        *,
        campaign: str | None = None,
        concurrency: int = 5,
        cps: float = 1.0,
        timeout: float = 30.0,
        ring_timeout: float | None = None,
        context: str = "outgoing",
        app: str = "Playback",
        data: str = "hello-world",
        retry: Collection[str] = (),
        skip_invalid: bool = False,
        trunk: str = "novofon",
        drain_timeout: float | None = None,
        reconnect_wait: float = 30.0,
        on_progress: Callable[[CampaignProgress], None] | None = None,
    ) -> None:
        if not skip_invalid:
            numbers.require_valid()
        if not numbers.entries:
            raise _bad(
                Text(f"no numbers to call in {numbers.source}", f"в {numbers.source} нет номеров"),
                Text(
                    "Put one number per line, e.g. 79991234567.",
                    "Укажите по одному номеру в строке, например 79991234567.",
                ),
            )
        if not 1 <= concurrency <= 1000:
            raise _bad(
                Text(f"--concurrency must be 1–1000 (got {concurrency})", "--concurrency: 1–1000"),
                Text("E.g. --concurrency 5.", "Например: --concurrency 5."),
            )
        if not 1 <= timeout <= 3600 or (ring_timeout is not None and ring_timeout <= 0):
            raise _bad(
                Text("--timeout must be 1–3600 s", "--timeout: от 1 до 3600 с"),
                Text("E.g. --timeout 30.", "Например: --timeout 30."),
            )
        if not app or any(c not in _APP_CHARS for c in app):
            raise _bad(
                Text(
                    f"not a dialplan application name: {app!r}", f"это не имя приложения: {app!r}"
                ),
                Text("E.g. --app Playback.", "Например: --app Playback."),
            )
        if any(c in data for c in "\r\n\0") or len(data) > 256:
            raise _bad(
                Text(
                    "the application data has a line break or is too long",
                    "данные приложения содержат перевод строки или слишком длинные",
                ),
                Text("E.g. --data hello-world.", "Например: --data hello-world."),
            )
        unknown = set(retry) - RETRY_CHOICES
        if unknown:
            raise _bad(
                Text(
                    f"--retry: unknown status {', '.join(sorted(unknown))}",
                    f"--retry: неизвестный итог {', '.join(sorted(unknown))}",
                ),
                Text(
                    f"Use some of: {', '.join(sorted(RETRY_CHOICES))}.",
                    f"Допустимо: {', '.join(sorted(RETRY_CHOICES))}.",
                ),
            )
        name = campaign or numbers.campaign_id()
        if not 1 <= len(name) <= 64 or any(c not in _NAME_CHARS for c in name):
            raise _bad(
                Text(
                    f"not a usable campaign name: {name!r}", f"непригодное имя кампании: {name!r}"
                ),
                Text(
                    "Use up to 64 Latin letters, digits, '.', '_' or '-'.",
                    "Используйте до 64 латинских букв, цифр, '.', '_' или '-'.",
                ),
            )
        self.numbers = numbers
        self.log = log
        self.campaign = name
        self.concurrency = concurrency
        self.bucket = TokenBucket(cps)
        self.timeout = timeout
        self.ring_timeout = ring_timeout
        self.context = context
        self.app = app
        self.data = data
        self.retry = frozenset(retry)
        self.trunk = trunk
        self.drain_timeout = timeout + 5.0 if drain_timeout is None else drain_timeout
        self.reconnect_wait = reconnect_wait
        self.on_progress = on_progress
        # Validates the context name once, before anything is written.
        local_channel(PhoneNumber.from_e164(numbers.entries[0].number), context)
        self._runner = _new_runner_id()
        self._halt = asyncio.Event()
        self._force = asyncio.Event()
        self._stopped = False
        self._error: TrunkctlError | None = None
        self._results: dict[str, NumberResult] = {}
        self._in_flight: dict[str, _Todo] = {}
        self._to_call = 0
        self._done = 0
        self._counts: Counter[str] = Counter()
        self._trunk_state = _TrunkContext()
        self._sem = asyncio.Semaphore(concurrency)
        self._narrow = False
        self._narrowed_at = 0
        self._pauses: set[asyncio.Future[None]] = set()

    # -- control ---------------------------------------------------------------------------
    def stop(self) -> None:
        """First call: dispatch no more and let calls in progress end. Second: hang them up."""
        if self._stopped:
            self._force.set()
            return
        self._stopped = True
        self._halt.set()
        self._wake()
        self._progress(None)

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopped

    def _fail(self, error: TrunkctlError) -> None:
        if self._error is None:
            self._error = error
        self._halt.set()
        self._wake()

    def _progress(self, last: NumberResult | None) -> None:
        if self.on_progress is not None:
            self.on_progress(
                CampaignProgress(
                    campaign=self.campaign,
                    total=len(self.numbers.entries),
                    to_call=self._to_call,
                    done=self._done,
                    in_flight=len(self._in_flight),
                    counts=dict(self._counts),
                    last=last,
                    stopping=self._halt.is_set(),
                )
            )

    # -- planning --------------------------------------------------------------------------
    def _plan(self) -> tuple[list[_Todo], int]:
        """Open the campaign, mark rows of dead runners interrupted, pick what to dial."""
        entries = self.numbers.entries
        with _log_errors(self.log):
            known = self.log.open_campaign(
                self.campaign, total=len(entries), detail={"source": self.numbers.source}
            )
            rows = self.log.calls(campaign=self.campaign, limit=len(known) + 10)
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:  # newest first
            latest.setdefault(row["number"], row)
        recovered = 0
        for row in latest.values():
            if row["status"] != "dialing":
                continue
            runner = str(row["detail"].get("runner") or "")
            if runner and _runner_alive(runner):
                raise CampaignError(
                    Text(
                        f"campaign {self.campaign} is being run by another trunkctl right now",
                        f"кампанию {self.campaign} прямо сейчас выполняет другой trunkctl",
                    ),
                    evidence=Text(
                        f"number {row['number']} is being dialled by process "
                        f"{runner.split(':')[0]}",
                        f"номер {row['number']} набирает процесс {runner.split(':')[0]}",
                    ),
                    next_step=Text(
                        "Wait for it to finish (or stop it with Ctrl-C), then run this again.",
                        "Дождитесь его окончания (или остановите его Ctrl-C) и запустите снова.",
                    ),
                    campaign=self.campaign,
                )
            detail = {k: v for k, v in row["detail"].items() if k != "runner"}
            detail["recovered"] = (
                "the run that dialled this number stopped before its outcome was known"
            )
            with _log_errors(self.log):
                self.log.finish_call(row["id"], status="interrupted", detail=detail)
            row["status"] = "interrupted"
            recovered += 1
        todo: list[_Todo] = []
        redo_all = "all" in self.retry
        for entry in entries:
            found = latest.get(entry.number)
            channel = local_channel(PhoneNumber.from_e164(entry.number), self.context)
            if found is None:
                todo.append(_Todo(entry, 1, [], channel))
            elif redo_all or found["status"] in self.retry:
                detail = found["detail"]
                previous = [
                    *detail.get("previous", []),
                    {
                        "status": found["status"],
                        "sip_code": found["sip_code"],
                        "started_at": found["started_at"],
                    },
                ]
                todo.append(_Todo(entry, int(detail.get("attempt", 1)) + 1, previous, channel))
            else:
                self._results[entry.number] = self._from_row(entry, found)
        return todo, recovered

    @staticmethod
    def _from_row(entry: NumberEntry, row: dict[str, Any]) -> NumberResult:
        detail = row["detail"]
        return NumberResult(
            number=entry.number,
            line=entry.line,
            status=row["status"],
            attempt=int(detail.get("attempt", 1)),
            sip_code=row["sip_code"],
            sip_reason=detail.get("sip_reason"),
            q850=row["q850"],
            dial_status=row["dial_status"],
            explanation=detail.get("explanation"),
            channel_id=row["channel_id"],
            duration=detail.get("duration"),
            error=detail.get("error"),
        )

    # -- running ---------------------------------------------------------------------------
    async def run(
        self, settings: Settings | None = None, *, client: AmiClient | None = None
    ) -> CampaignReport:
        """Plan, then dial what is left through ``client`` or one built from ``settings``.

        Raises BadInput/CampaignError before anything is dialled, and the AMI errors of
        logging in (auth, refused, timeout); later problems end the run and are in
        :attr:`CampaignReport.error`, after every call in progress was recorded.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        _ACTIVE_RUNNERS.add(self._runner)
        reconnects = 0
        try:
            todo, recovered = self._plan()
            self._to_call = len(todo)
            self._progress(None)
            if todo and not self._halt.is_set():
                if settings is not None:
                    self._trunk_state = await _trunk_context(settings, self.trunk)
                if client is not None:
                    first = client.connections
                    await self._dispatch(client, todo)
                    reconnects = client.connections - first
                elif settings is not None:
                    ami = ami_client(
                        settings, events=("call", "user"), reconnect=True, keepalive=10.0
                    )
                    ami.backoff = (0.2, 2.0)  # Asterisk restarts in ~2 s: be back soon after
                    ami.read_batch = READ_BATCH
                    self._narrow = True
                    async with ami:
                        await self._dispatch(ami, todo)
                        reconnects = ami.connections - 1
                else:
                    raise TypeError("CampaignRunner.run needs settings or a client")
        finally:
            _ACTIVE_RUNNERS.discard(self._runner)
        results = tuple(
            self._results.get(e.number) or NumberResult(e.number, e.line, "pending")
            for e in self.numbers.entries
        )
        return CampaignReport(
            campaign=self.campaign,
            source=self.numbers.source,
            results=results,
            invalid=self.numbers.bad,
            duplicates=self.numbers.duplicates,
            stopped=self._stopped,
            error=self._error,
            elapsed=loop.time() - started,
            reconnects=reconnects,
            recovered=recovered,
            log_path=str(self.log.path),
        )

    def _wake(self) -> None:
        for waiter in self._pauses:
            _resolve(waiter)

    async def _pause(self, delay: float) -> bool:
        """Sleep ``delay`` s unless the run is halted first; True when not halted.

        A future and a timer, no task: this runs before every call.
        """
        if self._halt.is_set():
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = waiter.get_loop().call_later(delay, _resolve, waiter)
        try:
            return await self._wait(waiter)
        finally:
            timer.cancel()

    async def _until_halted(self, aw: Awaitable[Any]) -> bool:
        """Await ``aw`` unless the run is halted first; True when ``aw`` completed."""
        if self._halt.is_set():
            if asyncio.iscoroutine(aw):
                aw.close()
            return False
        task = asyncio.ensure_future(aw)
        waiter: asyncio.Future[None] = task.get_loop().create_future()
        task.add_done_callback(lambda _: _resolve(waiter))
        try:
            await self._wait(waiter)
        finally:
            if not task.done():
                task.cancel()
        return task.done() and not task.cancelled() and task.exception() is None

    async def _wait(self, waiter: asyncio.Future[None]) -> bool:
        """Await ``waiter``, which :meth:`_wake` (stop, failure) resolves early; True when
        the run was not halted meanwhile."""
        self._pauses.add(waiter)
        try:
            await waiter
        finally:
            self._pauses.discard(waiter)
        return not self._halt.is_set()

    async def _connection(self, ami: AmiClient) -> bool:
        """Wait (bounded) until the client is logged in again after a loss."""
        if ami.connected:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.reconnect_wait if ami.reconnect else 0.0)
        while not ami.connected:
            if loop.time() >= deadline:
                self._fail(self._lost(ami))
                return False
            if not await self._pause(0.05):
                return False
        return True

    def _lost(self, ami: AmiClient) -> AmiConnectionError:
        last = ami.last_error
        left = self._to_call - self._done - len(self._in_flight)
        return AmiConnectionError(
            Text(
                f"lost the AMI connection to {ami.peer} and it did not come back within "
                f"{self.reconnect_wait:g} s; {left} number(s) not called yet",
                f"соединение AMI с {ami.peer} потеряно и не восстановилось за "
                f"{self.reconnect_wait:g} с; не набрано номеров: {left}",
            ),
            evidence=last.what if last else None,
            next_step=(last.next_step + Text(" ", " ") if last and last.next_step else Text("", ""))
            + Text(
                "Then run the same command again: numbers already called are not called again.",
                "Затем запустите ту же команду снова: уже набранные номера повторно не набираются.",
            ),
            peer=ami.peer,
        )

    async def _dispatch(self, ami: AmiClient, todo: list[_Todo]) -> None:
        tasks: set[asyncio.Task[None]] = set()
        try:
            for item in todo:
                if self._sem.locked():
                    if not await self._until_halted(self._sem.acquire()):
                        break
                else:
                    await self._sem.acquire()  # a free slot: returns at once
                if self._halt.is_set():
                    self._sem.release()
                    break
                if not await self._connection(ami):
                    self._sem.release()
                    break
                if self._narrow and self._narrowed_at != ami.connections:
                    self._narrowed_at = ami.connections  # once per login
                    await narrow_to_call_events(ami)
                # The token is taken last, right before the Originate: a wait in between
                # (the Filter's answer, up to READ_BATCH late) would squeeze the spacing.
                delay = self.bucket.reserve()
                ready = delay <= 0 or await self._pause(delay)
                if not ready or not await self._connection(ami):
                    self._sem.release()
                    break
                row = self._start(item)
                if row is None:
                    self._sem.release()
                    continue
                self._in_flight[item.entry.number] = item
                task = asyncio.create_task(self._call(ami, item, row))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await self._drain(ami, tasks)
        except asyncio.CancelledError:
            await self._abandon(ami, tasks)
            raise

    def _start(self, item: _Todo) -> int | None:
        """The number's row, written before its Originate; None if it must not be dialled."""
        number = item.entry.number
        detail: dict[str, Any] = {
            "runner": self._runner,
            "line": item.entry.line,
            "channel": item.channel,
            "attempt": item.attempt,
        }
        if item.previous:
            detail["previous"] = item.previous
        try:
            with _log_errors(self.log):
                if item.previous:
                    self.log.forget(self.campaign, [number])
                return self.log.start_call(
                    source="asterisk", number=number, campaign=self.campaign, detail=detail
                )
        except sqlite3.IntegrityError:
            # Another runner started this number a moment ago: it is theirs.
            self._results[number] = NumberResult(number, item.entry.line, "skipped")
            return None
        except EnvironmentProblem as exc:
            self._fail(exc)
            return None

    async def _call(self, ami: AmiClient, item: _Todo, row: int) -> None:
        result: CallResult | None = None
        error: AmiError | None = None
        try:
            try:
                result = await originate_and_track(
                    ami,
                    item.channel,
                    app=self.app,
                    data=self.data,
                    timeout=self.timeout,
                    ring_timeout=self.ring_timeout,
                )
            except (AmiPermissionError, AmiActionError) as exc:
                # Asterisk refused the Originate: nobody was dialled. The number stays
                # uncalled (a re-run after the fix dials it) and the run stops: the next
                # Originate would be refused the same way.
                self._refused(item, exc)
                return
            except AmiError as exc:
                # No answer to the Originate (or the connection dropped before it was
                # confirmed): it may be ringing, so the outcome is unknown, not "not called".
                error = exc
            self._finish(item, row, result, error)
        except asyncio.CancelledError:
            self._finish(item, row, None, None, abandoned=True)
            raise
        finally:
            self._in_flight.pop(item.entry.number, None)
            self._sem.release()

    def _refused(self, item: _Todo, exc: AmiError) -> None:
        with contextlib.suppress(TrunkctlError, sqlite3.Error), _log_errors(self.log):
            self.log.forget(self.campaign, [item.entry.number])
        self._results[item.entry.number] = NumberResult(
            item.entry.number, item.entry.line, "pending", error=exc.to_dict("en")
        )
        self._fail(exc)

    def _finish(
        self,
        item: _Todo,
        row: int,
        result: CallResult | None,
        error: AmiError | None,
        *,
        abandoned: bool = False,
    ) -> None:
        entry = item.entry
        detail: dict[str, Any] = {
            "line": entry.line,
            "channel": item.channel,
            "attempt": item.attempt,
        }
        if item.previous:
            detail["previous"] = item.previous
        explanation: Explanation | None = None
        try:
            with _log_errors(self.log):
                if result is not None:
                    explanation = explain(result.outcome(**self._trunk_state.outcome()))
                    record_call_result(self.log, row, result, explanation, detail)
                else:
                    detail["error"] = (
                        error.to_dict("en")
                        if error
                        else {"what": "trunkctl stopped waiting (asked to stop at once)"}
                    )
                    self.log.finish_call(row, status="interrupted", detail=detail)
        except EnvironmentProblem as exc:
            self._fail(exc)
        status = result.status if result is not None else "interrupted"
        outcome = NumberResult(
            number=entry.number,
            line=entry.line,
            status=status,
            called=True,
            attempt=item.attempt,
            sip_code=result.sip_code if result else None,
            sip_reason=result.sip_reason if result else None,
            q850=result.q850 if result else None,
            dial_status=result.dial_status if result else None,
            explanation=explanation.id if explanation else None,
            channel_id=result.channel_id if result else None,
            duration=round(result.duration, 3) if result else None,
            error=(
                result.error.to_dict("en")
                if result is not None and result.error
                else detail.get("error")
            ),
            result=result,
        )
        self._results[entry.number] = outcome
        self._done += 1
        self._counts[status] += 1
        if not abandoned:
            self._progress(outcome)

    async def _drain(self, ami: AmiClient, tasks: set[asyncio.Task[None]]) -> None:
        """Wait for calls in progress: each ends within its own timeout; a second stop() or
        ``drain_timeout`` cuts the wait short."""
        if not tasks:
            return
        force = asyncio.ensure_future(self._force.wait())
        try:
            async with asyncio.timeout(self.drain_timeout):
                while tasks and not force.done():
                    await asyncio.wait({*tasks, force}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            pass
        finally:
            force.cancel()
        if tasks:
            await self._abandon(ami, tasks)

    async def _abandon(self, ami: AmiClient, tasks: set[asyncio.Task[None]]) -> None:
        """Stop following calls still in progress: record them interrupted, hang them up."""
        items = list(self._in_flight.values())
        pending = [t for t in tasks if not t.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for item in items:
            # Hangup takes a /regex/ channel name: every Local half of this number's call
            # (Local/[+]<digits>@<context>-<id>;1/;2), and with it the trunk leg.
            with contextlib.suppress(AmiError):
                await ami.action(
                    "Hangup",
                    {"Channel": f"/^Local\\/\\+?{item.entry.number}@{self.context}-/"},
                    timeout=1.0,
                    check=False,
                )
