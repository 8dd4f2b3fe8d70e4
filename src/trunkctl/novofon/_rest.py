"""NovoFon REST API v1 (the legacy, Zadarma-compatible platform), async.

Request building and answer checking are plain functions; :class:`RestV1Client` only
loops over them with the transport (sans-I/O in spirit, STYLE.md §4). Facts used, from
novofon/user-api-v1 and zadarma/openapi: path ``/v1/<method>/``; GET sends the signed
query string, POST/PUT send it as the form body; success is ``{"status": "success"}`` and
nothing else is (the spec makes ``status`` required), failure ``{"status": "error",
"message": ...}`` and/or HTTP 4xx; 429 when a limit is hit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

import httpx

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

from ._errors import NovofonApiError, NovofonProtocolError, outcome_unknown, rest_error
from ._http import (
    DEFAULT_MAX_ANSWER,
    DEFAULT_MAX_REPORT_ANSWER,
    EdgeClient,
    RateLimitInfo,
    RetryPolicy,
    Sleep,
    default_sleep,
    retry_after_seconds,
)
from ._models import (
    Balance,
    CallbackResult,
    PbxExtensionStatus,
    PbxInternal,
    SipNumbers,
    SipStatus,
    Statistics,
)
from ._phone import e164_digits
from ._secret import Secret, as_secret
from ._sign import ParamValue, rest_v1_query, rest_v1_signature

__all__ = ["DEFAULT_REST_URL", "RestV1Client", "build_rest_request"]

DEFAULT_REST_URL = "https://api.novofon.com"
HttpMethod = Literal["GET", "POST", "PUT", "DELETE"]


def method_path(method: str) -> str:
    """``info/balance`` → ``/v1/info/balance/`` (the path that is also signed)."""
    return "/v1/" + method.strip("/") + "/"


def build_rest_request(
    key: Secret,
    secret: Secret,
    base_url: str,
    method: str,
    params: Mapping[str, ParamValue | None],
    http_method: HttpMethod,
) -> httpx.Request:
    """One signed REST v1 request; ``None`` params are dropped as PHP's clients drop them."""
    signed: dict[str, ParamValue] = {k: v for k, v in params.items() if v is not None}
    signed["format"] = "json"
    path = method_path(method)
    query = rest_v1_query(signed)
    headers = {"Authorization": f"{key.reveal()}:{rest_v1_signature(path, query, secret)}"}
    url = base_url.rstrip("/") + path
    if http_method == "GET":
        # The query string goes out byte for byte as signed (httpx keeps a raw query).
        return httpx.Request("GET", f"{url}?{query}", headers=headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return httpx.Request(http_method, url, headers=headers, content=query.encode())


def _stamp(value: datetime | str) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


class RestV1Client(EdgeClient):
    """Async client for ``https://api.novofon.com/v1/``; pass ``transport=`` or ``client=``.

    Idempotent reads back off and retry on HTTP 429 (bounded by ``retry``); nothing else is
    retried, and a callback whose answer is lost raises :class:`NovofonOutcomeUnknown`.
    """

    def __init__(
        self,
        key: str | Secret,
        secret: str | Secret,
        base_url: str = DEFAULT_REST_URL,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        sleep: Sleep = default_sleep,
        clock: Callable[[], float] = time.time,
        max_answer: int = DEFAULT_MAX_ANSWER,
        max_report_answer: int = DEFAULT_MAX_REPORT_ANSWER,
    ) -> None:
        self._key = as_secret(key)
        self._secret = as_secret(secret)
        self.base_url = base_url
        self.retry = retry
        super().__init__(
            client=client,
            transport=transport,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            secrets=(self._key, self._secret),
            max_answer=max_answer,
            max_report_answer=max_report_answer,
        )
        self.rate_limits: RateLimitInfo | None = None
        """``X-RateLimit-*`` of the most recent answer that carried them."""

    def __repr__(self) -> str:
        return f"RestV1Client(base_url={self.base_url!r})"

    async def call(
        self,
        method: str,
        params: Mapping[str, ParamValue | None] | None = None,
        *,
        http_method: HttpMethod = "GET",
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """Any v1 method (``"info/balance"``); the decoded success body.

        ``idempotent=True`` allows 429 retries and reports lost answers as timeouts; leave
        it False for anything with effects.
        """
        request = build_rest_request(
            self._key, self._secret, self.base_url, method, params or {}, http_method
        )
        attempt = 1
        while True:
            response = await self._edge.send(
                request,
                method=method,
                effects=not idempotent,
                report=method.startswith("statistics"),
            )
            self.rate_limits = RateLimitInfo.from_headers(response.headers) or self.rate_limits
            if response.status_code == 429:
                hinted = retry_after_seconds(response.headers, self._edge.clock())
                wait = self.retry.delay(attempt, hinted) if idempotent else None
                if wait is not None:
                    await self._edge.sleep(wait)
                    attempt += 1
                    continue
                raise rest_error(
                    method=method,
                    http_status=429,
                    message=self._message(response),
                    retry_after=hinted,
                    secrets=self._edge.masked,
                )
            return self._check(method, response, effects=not idempotent)

    def _message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return response.text[:200]
        return str(body.get("message", "")) if isinstance(body, Mapping) else ""

    def _check(self, method: str, response: httpx.Response, *, effects: bool) -> dict[str, Any]:
        if response.status_code >= 500:
            raise self._edge.server_failed(
                response, method=method, effects=effects, external_id=None
            )
        if response.status_code >= 400:
            # A 4xx is a definite refusal even when a proxy wrote the body in HTML.
            raise self._refusal(method, response.status_code, self._message(response))
        body = self._edge.json_of(response, method=method, effects=effects, external_id=None)
        if isinstance(body, dict) and body.get("status") == "error":
            raise self._refusal(method, response.status_code, str(body.get("message", "")))
        if isinstance(body, dict) and body.get("status") == "success" and response.is_success:
            return body
        # Not NovoFon's documented answer (zadarma/openapi: ``status`` is required,
        # success|error): a proxy's ``200 {}``, a redirect, an odd status. Never a success.
        shown = str(body.get("status")) if isinstance(body, dict) else type(body).__name__
        reason = f"HTTP {response.status_code} without status: success (status: {shown})"
        if effects:
            raise outcome_unknown(
                method=method, reason=reason, sent_at=self._edge.now_text(), external_id=None
            )
        raise NovofonProtocolError(
            Text(
                "NovoFon's answer does not say success (HTTP {status})",
                "Ответ NovoFon не сообщает об успехе (HTTP {status})",
            ).format(status=response.status_code),
            evidence=self._edge.scrub(f"{method}: {reason}\n{str(body)[:200]}"),
            next_step=Text(
                "A proxy or captive portal may be answering instead of NovoFon; check the "
                "base URL and proxy settings, then try again.",
                "Возможно, вместо NovoFon отвечает прокси или портал авторизации; проверьте "
                "базовый URL и настройки прокси и повторите.",
            ),
            method=method,
            http_status=response.status_code,
        )

    def _refusal(self, method: str, status: int, message: str) -> NovofonApiError:
        return rest_error(
            method=method,
            http_status=status,
            message=message,
            retry_after=None,
            secrets=self._edge.masked,
        )

    # --- the methods trunkctl uses ----------------------------------------------------

    async def balance(self) -> Balance:
        """``GET /v1/info/balance/``."""
        return Balance.from_wire(await self.call("info/balance", idempotent=True))

    async def sip_numbers(self) -> SipNumbers:
        """``GET /v1/sip/``: the account's SIP numbers."""
        return SipNumbers.from_wire(await self.call("sip", idempotent=True))

    async def sip_status(self, sip: str) -> SipStatus:
        """``GET /v1/sip/<sip>/status/``: is the SIP number registered now."""
        if not sip.isdigit():
            raise BadInput(
                Text("SIP id {sip!r} is not digits", "Id SIP {sip!r} — не цифры").format(sip=sip)
            )
        return SipStatus.from_wire(await self.call(f"sip/{sip}/status", idempotent=True))

    async def request_callback(
        self,
        from_: str,
        to: str,
        *,
        sip: str | None = None,
        predicted: bool = False,
    ) -> CallbackResult:
        """``GET /v1/request/callback/``: call ``from_`` first, then connect it to ``to``.

        Never retried: a lost answer raises :class:`NovofonOutcomeUnknown`. ``from_`` may be
        a phone, SIP number or extension and is passed as given; ``to`` is normalised when
        it is a phone number (7+ digits).
        """
        target = e164_digits(to, what="to") if len(to.strip()) >= 7 else to.strip()
        params: dict[str, ParamValue | None] = {"from": from_.strip(), "to": target, "sip": sip}
        if predicted:
            params["predicted"] = True
        wire = await self.call("request/callback", params)
        try:
            return CallbackResult.from_wire(wire)
        except NovofonProtocolError as exc:
            # "success" came, but not the documented fields: the call may have started.
            raise outcome_unknown(
                method="request/callback",
                reason=f"the answer lacks {exc.details.get('field')!r}",
                sent_at=self._edge.now_text(),
            ) from exc

    async def statistics(
        self,
        start: datetime | str,
        end: datetime | str,
        *,
        sip: str | None = None,
        skip: int | None = None,
        limit: int | None = None,
    ) -> Statistics:
        """``GET /v1/statistics/`` for ``start``..``end`` (``Y-m-d H:i:s``).

        NovoFon serves at most a month per request and cuts a longer period to 30 days
        (user-api-v1 docblock); the result's ``start``/``end`` say what was served.
        """
        if limit is not None and not 1 <= limit <= 1000:
            raise BadInput(
                Text("limit must be 1..1000", "limit должен быть от 1 до 1000"),
                evidence=f"limit={limit}",
            )
        params: dict[str, ParamValue | None] = {
            "start": _stamp(start),
            "end": _stamp(end),
            "sip": sip,
            "skip": skip,
            "limit": limit,
        }
        return Statistics.from_wire(await self.call("statistics", params, idempotent=True))

    async def pbx_internal(self) -> PbxInternal:
        """``GET /v1/pbx/internal/``: the PBX's extension numbers."""
        return PbxInternal.from_wire(await self.call("pbx/internal", idempotent=True))

    async def pbx_internal_status(self, number: int | str) -> PbxExtensionStatus:
        """``GET /v1/pbx/internal/<n>/status/``: is the extension registered."""
        wire = await self.call(f"pbx/internal/{int(number)}/status", idempotent=True)
        return PbxExtensionStatus.from_wire(wire)
