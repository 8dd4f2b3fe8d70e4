"""Calls placed through NovoFon's HTTP APIs rather than through Asterisk: ``start.simple_call``
(Call API) or ``request/callback`` (REST v1), their outcome in the calls report, and a row
in the call log for each one.

NovoFon rings the first party (your SIP line, by default), then connects the number; the
call never passes through the user's own dialplan, so nothing here talks to AMI.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

if TYPE_CHECKING:
    from trunkctl.calllog import CallLog
    from trunkctl.novofon import CallReportRow, NovofonConfig, RestV1Client, StatisticsRecord

__all__ = [
    "CallsReport",
    "PlacedCall",
    "call_via",
    "calls_report",
    "new_external_id",
    "place_call",
    "wait_for_call",
]


@dataclass(frozen=True)
class PlacedCall:
    """A call NovoFon accepted: how it was asked for and the ids to find it by."""

    via: Literal["callapi", "callback"]
    from_number: str
    to_number: str
    external_id: str | None
    call_session_id: int | None
    requested_at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "via": self.via,
            "from": self.from_number,
            "to": self.to_number,
            "external_id": self.external_id,
            "call_session_id": self.call_session_id,
            "requested_at": self.requested_at,
        }


def new_external_id() -> str:
    """A fresh idempotency key for ``start.simple_call`` (the calls report finds it)."""
    return f"trunkctl-{uuid.uuid4().hex[:16]}"


def _window(hours: float) -> tuple[datetime, datetime]:
    # The report's stamps may be read in the account's time zone (Moscow for most), which
    # is not published: asking from N hours ago in UTC up to 14 h ahead never misses a call
    # in a zone at or east of UTC (every Russian one) — it can only show a few more.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    return now - timedelta(hours=hours), now + timedelta(hours=14)


async def _existing_call(conf: NovofonConfig, external_id: str) -> dict[str, Any] | None:
    since, till = _window(72)
    async with conf.data_client() as data:
        rows = await data.calls_report(since, till, external_id=external_id)
    if rows:
        return {"call_session_id": rows[-1].id, "finish_reason": rows[-1].finish_reason}
    async with conf.call_client() as calls:
        for active in await calls.list_calls():
            if active.external_id == external_id:
                return {"call_session_id": active.call_session_id, "finish_reason": None}
    return None


def call_via(
    conf: NovofonConfig, via: Literal["auto", "callapi", "callback"]
) -> Literal["callapi", "callback"]:
    """``auto``: the Call API when JSON-RPC credentials are set, else the v1 callback."""
    if via == "auto":
        return "callback" if conf.has_rest and not conf.has_jsonrpc else "callapi"
    return via


async def place_call(
    conf: NovofonConfig,
    number: str,
    *,
    from_: str | None = None,
    via: Literal["auto", "callapi", "callback"] = "auto",
    virtual_number: str | None = None,
    external_id: str | None = None,
    check_duplicate: bool = True,
    call_log: CallLog | None = None,
) -> PlacedCall:
    """Ask NovoFon to ring ``from_`` (default: the configured line) and connect ``number``.

    ``callapi`` (``start.simple_call``, the default with JSON-RPC credentials) or
    ``callback`` (REST v1 ``request/callback``). Never retried: a lost answer raises
    :class:`~trunkctl.novofon.NovofonOutcomeUnknown`. A caller-given ``external_id`` is
    first looked up in the calls report and the active calls, and a call already there
    is not placed again. ``number`` is read as ``trunkctl call`` reads it
    (:func:`trunkctl.numbers.parse_number`, not strict; international numbers with '+'):
    one it refuses raises :class:`BadInput` before anything is sent or logged.
    """
    from trunkctl.numbers import parse_number

    # Checked here, before any request: NovoFon would only refuse a short or malformed
    # number later (call_direction_prohibited), after a round trip and a log row.
    target = parse_number(number, strict=False).digits
    how = call_via(conf, via)
    first = from_ or conf.line
    if not first:
        raise BadInput(
            Text("whom to ring first is not known", "неизвестно, кому звонить первым"),
            next_step=Text(
                "Give --from (your SIP line's login or a phone number), or set line in the "
                "settings file's [novofon] table.",
                "Укажите --from (логин SIP-линии или номер телефона) или задайте line в "
                "таблице [novofon] файла настроек.",
            ),
        )
    if how == "callapi":
        key = external_id or new_external_id()
        if external_id is not None and check_duplicate:
            found = await _existing_call(conf, external_id)
            if found is not None:
                raise BadInput(
                    Text(
                        "a call with this external_id was already placed: not calling again",
                        "звонок с таким external_id уже был: повторно не звоню",
                    ),
                    evidence=f"external_id {external_id}: {found}",
                    next_step=Text(
                        "See it with `trunkctl api calls --external-id {x}`; use a new "
                        "external_id for a new call.",
                        "Посмотрите его: `trunkctl api calls --external-id {x}`; для нового "
                        "звонка нужен новый external_id.",
                    ).format(x=external_id),
                )
        async with conf.call_client() as calls:
            caller = virtual_number or conf.virtual_number
            if caller is None:
                async with conf.data_client() as data:
                    numbers = [n for n in await data.virtual_numbers() if n.status == "active"]
                caller = numbers[0].virtual_phone_number if numbers else None
            if caller is None:
                raise BadInput(
                    Text("the account has no virtual number", "у аккаунта нет виртуального номера"),
                    next_step=Text(
                        "Give --virtual-number, or use --via callback.",
                        "Укажите --virtual-number или используйте --via callback.",
                    ),
                )
            row = _log_start(call_log, target, key)
            try:
                started = await calls.start_simple_call(
                    virtual_phone_number=caller, contact=target, operator=first, external_id=key
                )
            except TrunkctlError as exc:
                _log_finish(call_log, row, "unknown" if _unknown(exc) else "refused")
                raise
        _log_finish(call_log, row, "requested", channel_id=str(started.call_session_id))
        return PlacedCall("callapi", first, target, key, started.call_session_id, time.time())
    async with conf.rest_client() as rest:
        row = _log_start(call_log, target, None)
        try:
            result = await rest.request_callback(first, target)
        except TrunkctlError as exc:
            _log_finish(call_log, row, "unknown" if _unknown(exc) else "refused")
            raise
    _log_finish(call_log, row, "requested")
    return PlacedCall("callback", first, target, None, None, float(result.time))


def _unknown(exc: TrunkctlError) -> bool:
    from trunkctl.novofon import NovofonOutcomeUnknown

    return isinstance(exc, NovofonOutcomeUnknown)


def _log_start(log: CallLog | None, number: str, external_id: str | None) -> int | None:
    # The call log is a record, not a gate: a log that cannot be written never stops a call.
    if log is None:
        return None
    try:
        return log.start_call(source="api", number=number, external_id=external_id)
    except Exception:  # sqlite3 errors; the call matters more than its log row
        return None


def _log_finish(log: CallLog | None, row: int | None, status: str, **fields: Any) -> None:
    if log is None or row is None:
        return
    try:
        log.finish_call(row, status=status, **fields)
    except Exception:  # see _log_start
        return


async def wait_for_call(
    conf: NovofonConfig, external_id: str, *, timeout: float = 60.0, interval: float = 1.0
) -> CallReportRow | None:
    """Poll the calls report until the call with ``external_id`` has finished (or None)."""
    since, till = _window(24)
    deadline = time.monotonic() + timeout
    async with conf.data_client() as data:
        while True:
            rows = await data.calls_report(since, till, external_id=external_id)
            done = [r for r in rows if r.finish_time]
            if done:
                return done[-1]
            if time.monotonic() + interval > deadline:
                return None
            await asyncio.sleep(interval)


V1_WINDOW = timedelta(days=30)
"""What one REST v1 ``statistics`` request serves: "Maximum period: 1 month" (zadarma/openapi
spec/v1/openapi.json), cut to 30 days (novofon/user-api-v1 lib/Api.php docblock)."""
V1_MAX_REQUESTS = 3
"""``statistics`` allows 3 requests a minute (zadarma/openapi): more windows would stall."""
DATA_WINDOW = timedelta(days=90)
"""``get.calls_report`` refuses a period over 3 months (``date_interval_limit_reached``)."""
DATA_MAX_REQUESTS = 4
_V1_PAGE = 1000
_STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class CallsReport:
    """The calls of a period and the period the server really covered.

    ``covered`` is what NovoFon said it served (REST v1 ``start``/``end`` of each answer,
    first start to last end), or the requested period for the Data API, which does not
    say; ``complete`` is False when the server served less than was asked for.
    """

    via: Literal["data", "v1"]
    rows: list[CallReportRow] | list[StatisticsRecord]
    requested: tuple[datetime, datetime]
    covered: tuple[datetime, datetime]
    requests: int

    @property
    def complete(self) -> bool:
        """Whether the covered period contains the requested one."""
        return self.covered[0] <= self.requested[0] and self.covered[1] >= self.requested[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the periods (rows are rendered by the caller)."""
        return {
            "requested": {"start": _text(self.requested[0]), "end": _text(self.requested[1])},
            "covered": {"start": _text(self.covered[0]), "end": _text(self.covered[1])},
            "complete": self.complete,
            "requests": self.requests,
        }


def _text(stamp: datetime) -> str:
    return stamp.strftime(_STAMP)


def _windows_needed(since: datetime, till: datetime, window: timedelta) -> int:
    return max(1, -(-(till - since) // window))


def _too_long(hours: float, via: str, window: timedelta, most: int, extra: timedelta) -> BadInput:
    limit_hours = int((window * most - extra) / timedelta(hours=1))
    what = (
        Text(
            "REST v1 statistics serve at most 30 days a request and 3 requests a minute, "
            "so --hours can be at most {limit} here",
            "Статистика REST v1 отдаёт не больше 30 дней за запрос и 3 запроса в минуту, "
            "поэтому --hours здесь не больше {limit}",
        )
        if via == "v1"
        else Text(
            "The calls report serves at most 3 months a request, so --hours can be at most "
            "{limit} here",
            "Отчёт по звонкам отдаёт не больше 3 месяцев за запрос, поэтому --hours здесь "
            "не больше {limit}",
        )
    )
    return BadInput(
        what.format(limit=limit_hours),
        evidence=f"--hours {hours:g} ({via})",
        next_step=Text(
            "Ask for a shorter period (--hours {limit} or less){alt}.",
            "Запросите период короче (--hours {limit} или меньше){alt}.",
        ).format(
            limit=limit_hours,
            alt=", or use --via data (3 months a request)" if via == "v1" else "",
        ),
    )


async def calls_report(
    conf: NovofonConfig,
    *,
    hours: float = 24.0,
    external_id: str | None = None,
    via: Literal["data", "v1"] = "data",
) -> CallsReport:
    """The calls of the last ``hours``: Data API report rows, or REST v1 statistics.

    A period longer than one request may serve is split into the server's windows (30 days
    for v1, 3 months for the Data API), each v1 window following the ``end`` NovoFon says
    it served; a period needing more requests than the rate limits allow is refused with
    :class:`BadInput` naming the limit, before anything is sent.
    """
    since, till = _window(hours)
    extra = timedelta(hours=14)  # _window's look-ahead
    if via == "v1":
        if _windows_needed(since, till, V1_WINDOW) > V1_MAX_REQUESTS:
            raise _too_long(hours, via, V1_WINDOW, V1_MAX_REQUESTS, extra)
        async with conf.rest_client() as rest:
            return await _v1_report(rest, since, till)
    if _windows_needed(since, till, DATA_WINDOW) > DATA_MAX_REQUESTS:
        raise _too_long(hours, via, DATA_WINDOW, DATA_MAX_REQUESTS, extra)
    rows: dict[int, CallReportRow] = {}
    requests = 0
    async with conf.data_client() as data:
        cursor = since
        while cursor < till:
            end = min(till, cursor + DATA_WINDOW)
            for row in await data.calls_report(cursor, end, external_id=external_id):
                rows[row.id] = row
            requests += 1
            cursor = end
    ordered = sorted(rows.values(), key=lambda r: (r.start_time or "", r.id))
    return CallsReport("data", ordered, (since, till), (since, till), requests)


async def _v1_report(rest: RestV1Client, since: datetime, till: datetime) -> CallsReport:
    from trunkctl.novofon import NovofonProtocolError

    found: dict[str, StatisticsRecord] = {}
    covered_start: datetime | None = None
    cursor, requests = since, 0
    covered_end = since
    while cursor < till and requests < V1_MAX_REQUESTS:
        window_end = min(till, cursor + V1_WINDOW)
        skip = 0
        while True:
            page = await rest.statistics(cursor, window_end, skip=skip or None, limit=_V1_PAGE)
            requests += 1
            for record in page.stats:
                found[record.id] = record
            if len(page.stats) < _V1_PAGE or requests >= V1_MAX_REQUESTS:
                break
            skip += _V1_PAGE
        try:
            served_start = datetime.strptime(page.start, _STAMP)
            served_end = datetime.strptime(page.end, _STAMP)
        except ValueError as exc:
            raise NovofonProtocolError(
                Text(
                    "NovoFon's statistics period is not a date",
                    "Период статистики NovoFon — не дата",
                ),
                evidence=f"statistics: start={page.start!r} end={page.end!r}",
                method="statistics",
            ) from exc
        if covered_start is None:
            covered_start = served_start
        covered_end = max(covered_end, served_end)
        if served_end <= cursor:
            break  # no progress: report what was covered rather than loop
        cursor = served_end
    ordered = sorted(found.values(), key=lambda r: (r.callstart, r.id))
    covered = (covered_start or since, covered_end)
    return CallsReport("v1", ordered, (since, till), covered, requests)
