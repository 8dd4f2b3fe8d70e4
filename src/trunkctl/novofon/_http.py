"""The one place where httpx meets NovoFon: sending, error translation, 429 back-off.

Every httpx exception is translated here (STYLE.md §5), and the translation depends on
whether the request had effects: a read that timed out is a plain timeout (repeat it), a
call whose answer was lost is an *unknown outcome* (do not repeat it blindly).

Two bounds hold for every request: ``timeout`` is one deadline from the connect to the
last byte of the answer (httpx's own timeouts are per read, so a server dripping a byte
every few seconds would never trip them), and the answer is streamed and cut at
``max_answer`` bytes (``max_report_answer`` for reports), so a flood cannot fill memory.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from trunkctl.i18n import Text

from ._errors import (
    NovofonConnectionError,
    NovofonError,
    NovofonProtocolError,
    NovofonServerError,
    NovofonTimeout,
    outcome_unknown,
)
from ._secret import Secret, scrub

__all__ = [
    "DEFAULT_MAX_ANSWER",
    "DEFAULT_MAX_REPORT_ANSWER",
    "EdgeClient",
    "HttpEdge",
    "RateLimitInfo",
    "RetryPolicy",
    "Sleep",
]

DEFAULT_MAX_ANSWER = 4 << 20
"""Bytes an ordinary answer may have (a balance is ~60; a SIP list a few KB)."""
DEFAULT_MAX_REPORT_ANSWER = 32 << 20
"""Bytes a report (statistics, get.calls_report: up to 1000 rows a page) may have."""

Sleep = Callable[[float], Awaitable[None]]

# Exceptions raised before any byte of the request left: always safe to report as "not sent".
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How idempotent reads back off on HTTP 429 / ``limit_exceeded``; nothing else retries.

    ``attempts`` counts the first try. A server asking for a longer wait than ``max_delay``
    gets a :class:`NovofonRateLimited` at once instead of a stuck command.
    """

    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 20.0

    def delay(self, attempt: int, hinted: float | None) -> float | None:
        """Seconds to wait before try ``attempt + 1`` (1-based), or None to give up."""
        if attempt >= self.attempts:
            return None
        wait = hinted if hinted is not None else self.base_delay * 2 ** (attempt - 1)
        return wait if wait <= self.max_delay else None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """``X-RateLimit-*`` headers of the last REST v1 answer (names as the server sent them).

    The official clients keep every ``X-RateLimit-<name>`` as an integer without naming
    them; ``limit``/``remaining``/``reset`` are the conventional ones, None when absent.
    """

    values: Mapping[str, int] = field(default_factory=dict)

    @property
    def limit(self) -> int | None:
        """Requests allowed in the window."""
        return self.values.get("limit")

    @property
    def remaining(self) -> int | None:
        """Requests left in the window."""
        return self.values.get("remaining")

    @property
    def reset(self) -> int | None:
        """When the window resets (epoch seconds, or seconds from now if small)."""
        return self.values.get("reset")

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimitInfo | None:
        """Parse ``X-RateLimit-<name>: <int>`` headers; None when there are none."""
        values: dict[str, int] = {}
        for name, value in headers.items():
            lowered = name.lower()
            if lowered.startswith("x-ratelimit-"):
                try:
                    values[lowered.removeprefix("x-ratelimit-")] = int(value.strip())
                except ValueError:
                    continue
        return cls(values) if values else None


def retry_after_seconds(headers: httpx.Headers, now: float) -> float | None:
    """The server's wait hint: ``Retry-After`` seconds, else ``X-RateLimit-Reset``.

    A reset value above 10^9 is read as epoch seconds, a smaller one as seconds from now.
    """
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
    reset = headers.get("x-ratelimit-reset")
    if reset is not None:
        try:
            value = float(reset)
        except ValueError:
            return None
        return max(0.0, value - now) if value > 1e9 else max(0.0, value)
    return None


class HttpEdge:
    """Owns or borrows an ``httpx.AsyncClient`` and turns its failures into NovoFon errors."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        sleep: Sleep,
        clock: Callable[[], float],
        secrets: Iterable[Secret | None],
        max_answer: int = DEFAULT_MAX_ANSWER,
        max_report_answer: int = DEFAULT_MAX_REPORT_ANSWER,
    ) -> None:
        if client is not None and transport is not None:
            raise ValueError("pass either client= or transport=, not both")
        self._owned = client is None
        self.client = client or httpx.AsyncClient(transport=transport, timeout=timeout)
        self.timeout = timeout
        self.max_answer = max_answer
        self.max_report_answer = max_report_answer
        self.sleep = sleep
        self.clock = clock
        self.secrets: tuple[Secret | None, ...] = tuple(secrets)
        self.request_secrets: tuple[Secret, ...] = ()
        """The last request's ``Authorization`` value and signature: a server that echoes
        them must not get them into evidence (the signature replays that very request)."""

    async def aclose(self) -> None:
        """Close the client if this edge created it (a borrowed client stays open)."""
        if self._owned:
            await self.client.aclose()

    def now_text(self) -> str:
        """The clock as an ISO-8601 UTC timestamp, for evidence."""
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    async def send(
        self,
        request: httpx.Request,
        *,
        method: str,
        effects: bool,
        external_id: str | None = None,
        report: bool = False,
    ) -> httpx.Response:
        """Send one request and read its whole answer within ``timeout`` (connect to last
        byte) and ``max_answer`` bytes (``max_report_answer`` when ``report``); every
        failure becomes a NovoFon error."""
        sent_at = self.now_text()
        auth = request.headers.get("authorization")
        self.request_secrets = (
            (Secret(auth), Secret(auth.rpartition(":")[2])) if auth and ":" in auth else ()
        )
        cap = self.max_report_answer if report else self.max_answer
        received = [0]
        try:
            async with asyncio.timeout(self.timeout):
                with self._translate(
                    request,
                    method=method,
                    effects=effects,
                    sent_at=sent_at,
                    external_id=external_id,
                ):
                    return await self._read(request, cap, received, method, effects, sent_at)
        except TimeoutError as exc:
            raise self._deadline(
                request, method, effects, sent_at, external_id, received[0]
            ) from exc

    async def _read(
        self,
        request: httpx.Request,
        cap: int,
        received: list[int],
        method: str,
        effects: bool,
        sent_at: str,
    ) -> httpx.Response:
        response = await self.client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise self._too_big(method, effects, sent_at, cap, f"Content-Length {declared}")
            chunks: list[bytes] = []
            async for chunk in response.aiter_bytes():
                received[0] += len(chunk)
                if received[0] > cap:
                    raise self._too_big(
                        method, effects, sent_at, cap, f"more than {cap} bytes received"
                    )
                chunks.append(chunk)
        finally:
            await response.aclose()
        # The body is decoded already: the copy must not announce an encoding again.
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=request,
            extensions=response.extensions,
        )

    def _too_big(
        self, method: str, effects: bool, sent_at: str, cap: int, seen: str
    ) -> NovofonError:
        if effects:
            return outcome_unknown(
                method=method, reason=f"answer over the {cap}-byte cap ({seen})", sent_at=sent_at
            )
        return NovofonProtocolError(
            Text(
                "NovoFon's answer is larger than {mb:g} MB, so it was not read",
                "Ответ NovoFon больше {mb:g} МБ, поэтому он не дочитан",
            ).format(mb=round(cap / (1 << 20), 2)),
            evidence=f"{method}: {seen}; cap {cap} bytes",
            next_step=Text(
                "No NovoFon answer is that large: check the base URL and proxy settings. "
                "For a genuinely large report, ask for a shorter period or raise "
                "[novofon] max_report_answer_mb.",
                "Ответы NovoFon не бывают такими большими: проверьте базовый URL и настройки "
                "прокси. Для действительно большого отчёта запросите период короче или "
                "увеличьте [novofon] max_report_answer_mb.",
            ),
            method=method,
        )

    def _deadline(
        self,
        request: httpx.Request,
        method: str,
        effects: bool,
        sent_at: str,
        external_id: str | None,
        received: int,
    ) -> NovofonError:
        reason = f"no complete answer within {self.timeout:g} s ({received} bytes received)"
        if effects:
            return outcome_unknown(
                method=method, reason=reason, sent_at=sent_at, external_id=external_id
            )
        host = request.url.host
        return NovofonTimeout(
            Text(
                "NovoFon ({host}) did not answer within {timeout:g} s",
                "NovoFon ({host}) не ответил за {timeout:g} с",
            ).format(host=host, timeout=self.timeout),
            evidence=f"{method}: deadline {self.timeout:g} s from connect to the last byte; "
            f"{received} bytes of the answer had arrived",
            next_step=Text(
                "Try again; if it repeats, check the network path to {host} or raise --timeout.",
                "Повторите; если повторяется, проверьте сетевой путь до {host} или увеличьте "
                "--timeout.",
            ).format(host=host),
            method=method,
        )

    @contextmanager
    def _translate(
        self,
        request: httpx.Request,
        *,
        method: str,
        effects: bool,
        sent_at: str,
        external_id: str | None,
    ) -> Iterator[None]:
        host = request.url.host
        try:
            yield
        except NovofonError:
            raise
        except _NOT_SENT as exc:
            raise NovofonConnectionError(
                Text(
                    "Could not connect to NovoFon at {host}: nothing was sent",
                    "Не удалось подключиться к NovoFon ({host}): ничего не отправлено",
                ).format(host=host),
                evidence=self.scrub(f"{type(exc).__name__}: {exc}"),
                next_step=Text(
                    "Check the network, DNS and proxy settings; it is safe to try again.",
                    "Проверьте сеть, DNS и настройки прокси; повторить запрос безопасно.",
                ),
                method=method,
            ) from exc
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if effects:
                raise outcome_unknown(
                    method=method,
                    reason=self.scrub(reason),
                    sent_at=sent_at,
                    external_id=external_id,
                ) from exc
            if not isinstance(exc, httpx.TimeoutException):
                raise NovofonConnectionError(
                    Text(
                        "The connection to NovoFon ({host}) broke before the answer came",
                        "Соединение с NovoFon ({host}) оборвалось до ответа",
                    ).format(host=host),
                    evidence=self.scrub(f"{method}: {reason}"),
                    next_step=Text(
                        "The request only reads data, so it is safe to try again.",
                        "Запрос только читает данные, повторить его безопасно.",
                    ),
                    method=method,
                ) from exc
            raise NovofonTimeout(
                Text(
                    "NovoFon ({host}) did not answer within {timeout:g} s",
                    "NovoFon ({host}) не ответил за {timeout:g} с",
                ).format(host=host, timeout=self.timeout),
                evidence=self.scrub(f"{method}: {reason}"),
                next_step=Text(
                    "Try again; if it repeats, check the network path to {host}.",
                    "Повторите; если повторяется, проверьте сетевой путь до {host}.",
                ).format(host=host),
                method=method,
            ) from exc
        except httpx.HTTPError as exc:
            raise NovofonProtocolError(
                Text(
                    "The HTTP exchange with NovoFon failed",
                    "Обмен данными с NovoFon по HTTP не удался",
                ),
                evidence=self.scrub(f"{method}: {type(exc).__name__}: {exc}"),
                next_step=Text(
                    "Check the base URL and proxy settings.",
                    "Проверьте базовый URL и настройки прокси.",
                ),
                method=method,
            ) from exc

    def scrub(self, text: str) -> str:
        """``text`` with this client's secrets masked (for evidence)."""
        return scrub(text, self.masked)

    @property
    def masked(self) -> tuple[Secret | None, ...]:
        """Every value evidence must not show: credentials and the last signature."""
        return (*self.secrets, *self.request_secrets)

    def server_failed(
        self, response: httpx.Response, *, method: str, effects: bool, external_id: str | None
    ) -> NovofonError:
        """The error for an HTTP 5xx answer (unknown outcome if the request had effects)."""
        reason = f"HTTP {response.status_code}"
        if effects:
            return outcome_unknown(
                method=method, reason=reason, sent_at=self.now_text(), external_id=external_id
            )
        return NovofonServerError(
            Text(
                "NovoFon's server failed (HTTP {status})",
                "Сервер NovoFon дал сбой (HTTP {status})",
            ).format(status=response.status_code),
            evidence=self.scrub(f"{method}: HTTP {response.status_code}\n{_head(response)}"),
            next_step=Text(
                "Try again in a minute; if it persists, ask NovoFon support.",
                "Повторите через минуту; если не проходит, обратитесь в поддержку NovoFon.",
            ),
            method=method,
            http_status=response.status_code,
        )

    def json_of(
        self, response: httpx.Response, *, method: str, effects: bool, external_id: str | None
    ) -> Any:
        """The decoded JSON body, or the right error when it is not JSON."""
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            if effects and response.status_code < 400:
                # A 2xx/3xx that is not the API's JSON (a proxy page): the request reached
                # something, and whether the call started is unknown.
                raise outcome_unknown(
                    method=method,
                    reason=f"HTTP {response.status_code} with a non-JSON body",
                    sent_at=self.now_text(),
                    external_id=external_id,
                ) from exc
            raise NovofonProtocolError(
                Text(
                    "NovoFon's answer is not JSON (HTTP {status}, {ctype})",
                    "Ответ NovoFon не JSON (HTTP {status}, {ctype})",
                ).format(
                    status=response.status_code,
                    ctype=response.headers.get("content-type", "no content-type"),
                ),
                evidence=self.scrub(f"{method}: {_head(response)}"),
                next_step=Text(
                    "A proxy or captive portal may be answering instead of NovoFon; check "
                    "the base URL and proxy settings.",
                    "Возможно, вместо NovoFon отвечает прокси или портал авторизации; "
                    "проверьте базовый URL и настройки прокси.",
                ),
                method=method,
                http_status=response.status_code,
            ) from exc


def _head(response: httpx.Response, limit: int = 200) -> str:
    text = response.content[:limit].decode("utf-8", "replace")
    return text + ("…" if len(response.content) > limit else "")


async def default_sleep(seconds: float) -> None:
    """``asyncio.sleep`` (the seam tests replace)."""
    await asyncio.sleep(seconds)


class EdgeClient:
    """Base of the API clients: one :class:`HttpEdge`, async context manager, ``aclose``."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        sleep: Sleep,
        clock: Callable[[], float],
        secrets: Iterable[Secret | None],
        max_answer: int = DEFAULT_MAX_ANSWER,
        max_report_answer: int = DEFAULT_MAX_REPORT_ANSWER,
    ) -> None:
        self._edge = HttpEdge(
            client=client,
            transport=transport,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            secrets=secrets,
            max_answer=max_answer,
            max_report_answer=max_report_answer,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it (a borrowed one stays open)."""
        await self._edge.aclose()
