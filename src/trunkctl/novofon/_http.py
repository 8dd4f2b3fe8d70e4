"""The one place where httpx meets NovoFon: sending, error translation, 429 back-off.

Every httpx exception is translated here (STYLE.md §5), and the translation depends on
whether the request had effects: a read that timed out is a plain timeout (repeat it), a
call whose answer was lost is an *unknown outcome* (do not repeat it blindly).
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

__all__ = ["EdgeClient", "HttpEdge", "RateLimitInfo", "RetryPolicy", "Sleep"]

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
    ) -> None:
        if client is not None and transport is not None:
            raise ValueError("pass either client= or transport=, not both")
        self._owned = client is None
        self.client = client or httpx.AsyncClient(transport=transport, timeout=timeout)
        self.timeout = timeout
        self.sleep = sleep
        self.clock = clock
        self.secrets: tuple[Secret | None, ...] = tuple(secrets)

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
    ) -> httpx.Response:
        """Send one request; read the whole body; translate every httpx failure."""
        sent_at = self.now_text()
        with self._translate(
            request, method=method, effects=effects, sent_at=sent_at, external_id=external_id
        ):
            response = await self.client.send(request)
            await response.aread()
            return response

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
                evidence=self._scrub(f"{type(exc).__name__}: {exc}"),
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
                    reason=self._scrub(reason),
                    sent_at=sent_at,
                    external_id=external_id,
                ) from exc
            if not isinstance(exc, httpx.TimeoutException):
                raise NovofonConnectionError(
                    Text(
                        "The connection to NovoFon ({host}) broke before the answer came",
                        "Соединение с NovoFon ({host}) оборвалось до ответа",
                    ).format(host=host),
                    evidence=self._scrub(f"{method}: {reason}"),
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
                evidence=self._scrub(f"{method}: {reason}"),
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
                evidence=self._scrub(f"{method}: {type(exc).__name__}: {exc}"),
                next_step=Text(
                    "Check the base URL and proxy settings.",
                    "Проверьте базовый URL и настройки прокси.",
                ),
                method=method,
            ) from exc

    def _scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

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
            evidence=self._scrub(f"{method}: HTTP {response.status_code}\n{_head(response)}"),
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
            if effects and response.is_success:
                # A 2xx that is not the API's JSON (a proxy page): the request reached
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
                evidence=self._scrub(f"{method}: {_head(response)}"),
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
    ) -> None:
        self._edge = HttpEdge(
            client=client,
            transport=transport,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            secrets=secrets,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it (a borrowed one stays open)."""
        await self._edge.aclose()
