"""NovoFon's JSON-RPC 2.0 APIs (current platform): Data API 2.0 and Call API 4.0, async.

Facts used (novofon.github.io data_api/ and call_api/): POST only, JSON-RPC 2.0 without
batches or notifications; ``login.user {login, password}`` gives an ``access_token`` that
lives one hour, or a permanent API key from the cabinet is used directly; every method
takes ``params.access_token``; errors carry ``code`` plus ``data.mnemonic`` (key on the
mnemonic); ``metadata.limits`` reports day/minute points. A temporary token past its hour
is reported as ``access_token_invalid`` (Call API error table), so that mnemonic, in login
mode, means "log in again" — once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

import httpx

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

from ._errors import (
    NovofonAuthError,
    NovofonError,
    NovofonProtocolError,
    NovofonRateLimited,
    jsonrpc_error,
    outcome_unknown,
)
from ._http import (
    DEFAULT_MAX_ANSWER,
    DEFAULT_MAX_REPORT_ANSWER,
    EdgeClient,
    RetryPolicy,
    Sleep,
    default_sleep,
    retry_after_seconds,
)
from ._models import (
    Account,
    ActiveCall,
    ApiLimits,
    CallReportRow,
    SimpleCall,
    SipLine,
    VirtualNumber,
)
from ._phone import e164_digits
from ._secret import Secret, as_secret, scrub

__all__ = ["CALL_API_URL", "DATA_API_URL", "CallApiClient", "DataApiClient", "JsonRpcClient"]

DATA_API_URL = "https://dataapi-jsonrpc.novofon.ru/v2.0"
CALL_API_URL = "https://callapi-jsonrpc.novofon.ru/v4.0"
TOKEN_TTL = 3600.0
"""login.user tokens live one hour (both APIs' login.user pages)."""

_RELOGIN = frozenset({"access_token_invalid", "access_token_expired"})


def _stamp(value: datetime | str) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


class JsonRpcClient(EdgeClient):
    """Shared core of :class:`DataApiClient` and :class:`CallApiClient`.

    Give either ``login`` + ``password`` (tokens are cached and renewed ``renew_before``
    seconds ahead of expiry) or ``api_key`` (a permanent key, used as ``access_token``).
    """

    default_url: str = DATA_API_URL

    def __init__(
        self,
        *,
        login: str | None = None,
        password: str | Secret | None = None,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, shared safely
        renew_before: float = 300.0,
        sleep: Sleep = default_sleep,
        clock: Callable[[], float] = time.time,
        max_answer: int = DEFAULT_MAX_ANSWER,
        max_report_answer: int = DEFAULT_MAX_REPORT_ANSWER,
    ) -> None:
        if (api_key is None) == (login is None or password is None):
            raise BadInput(
                Text(
                    "Give either login and password, or an API key",
                    "Укажите либо логин и пароль, либо ключ API",
                )
            )
        self._login_name = login
        self._password = as_secret(password) if password is not None else None
        self._api_key = as_secret(api_key) if api_key is not None else None
        self._token: Secret | None = self._api_key
        self._token_expires = float("inf")
        self._login_lock: asyncio.Lock | None = None
        self._ids = itertools.count(1)
        self.base_url = base_url or self.default_url
        self.retry = retry
        self.renew_before = renew_before
        super().__init__(
            client=client,
            transport=transport,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            secrets=(self._password, self._api_key),
            max_answer=max_answer,
            max_report_answer=max_report_answer,
        )
        self.limits: ApiLimits | None = None
        """``metadata.limits`` of the most recent answer that carried them."""

    def __repr__(self) -> str:
        mode = "api_key" if self._api_key is not None else f"login={self._login_name!r}"
        return f"{type(self).__name__}(base_url={self.base_url!r}, {mode})"

    # --- tokens -------------------------------------------------------------------------

    @property
    def token_expires_at(self) -> float | None:
        """When the cached session token expires (epoch s); None without one or with a key."""
        if self._api_key is not None or self._token is None:
            return None
        return self._token_expires

    async def login(self) -> None:
        """Log in now (a no-op with an API key); later calls reuse the token."""
        if self._api_key is None:
            await self._relogin(stale=self._token)

    async def _access_token(self) -> Secret:
        token = self._token
        if token is not None and self._edge.clock() < self._token_expires - self.renew_before:
            return token
        return await self._relogin(stale=token)

    async def _relogin(self, *, stale: Secret | None) -> Secret:
        if self._login_lock is None:
            self._login_lock = asyncio.Lock()
        async with self._login_lock:
            if self._token is not None and self._token is not stale:
                return self._token  # another task logged in while this one waited
            assert self._login_name is not None and self._password is not None
            params = {"login": self._login_name, "password": self._password.reveal()}
            result = await self._exchange("login.user", params, effects=False)
            data = result.get("data", result) if isinstance(result, Mapping) else None
            if not isinstance(data, Mapping) or not data.get("access_token"):
                raise self._shape_error("login.user", result)
            now = self._edge.clock()
            # The docs name the expiry "expire_at" in the table and "expire" in the JSON
            # example; a value that is in the past or over a day away points at clock skew,
            # so fall back to the documented one-hour lifetime.
            expire = data.get("expire_at", data.get("expire"))
            try:
                ttl = float(expire) - now
            except (TypeError, ValueError):
                ttl = TOKEN_TTL
            if not 0 < ttl <= 86400:
                ttl = TOKEN_TTL
            self._token = Secret(str(data["access_token"]))
            self._token_expires = now + ttl
            self._edge.secrets = (self._password, self._api_key, self._token)
            return self._token

    # --- calls --------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        external_id: str | None = None,
    ) -> Any:
        """Any JSON-RPC method; returns ``result``. ``access_token`` is added here.

        ``idempotent=True`` allows back-off on ``limit_exceeded``/429; a request without it
        whose answer is lost raises :class:`NovofonOutcomeUnknown` (``external_id`` is
        quoted in it so the attempt can be found in the calls report).
        """
        relogged = False
        attempt = 1
        while True:
            token = await self._access_token()
            full = {**(params or {}), "access_token": token.reveal()}
            try:
                return await self._exchange(
                    method, full, effects=not idempotent, external_id=external_id
                )
            except NovofonAuthError as exc:
                # A definite refusal: nothing happened, so one re-login and repeat is safe
                # even for call-initiating methods.
                if self._api_key is None and exc.mnemonic in _RELOGIN and not relogged:
                    relogged = True
                    await self._relogin(stale=token)
                    continue
                raise
            except NovofonRateLimited as exc:
                wait = self.retry.delay(attempt, exc.retry_after) if idempotent else None
                if wait is None:
                    raise
                await self._edge.sleep(wait)
                attempt += 1

    async def _exchange(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        effects: bool,
        external_id: str | None = None,
    ) -> Any:
        request_id = next(self._ids)
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        request = httpx.Request(
            "POST",
            self.base_url,
            content=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )
        response = await self._edge.send(
            request,
            method=method,
            effects=effects,
            external_id=external_id,
            report=method == "get.calls_report",
        )
        if response.status_code >= 500:
            raise self._edge.server_failed(
                response, method=method, effects=effects, external_id=external_id
            )
        if response.status_code == 429 and not _looks_like_jsonrpc(response):
            # A bare HTTP 429 (a front proxy): read it as the documented -32029.
            hint = retry_after_seconds(response.headers, self._edge.clock())
            limits = {"minute_remaining": 0, "minute_reset": hint} if hint is not None else {}
            raise jsonrpc_error(
                {
                    "code": -32029,
                    "message": f"HTTP 429 {response.text[:200]}",
                    "data": {"mnemonic": "limit_exceeded", "metadata": {"limits": limits}},
                },
                method=method,
                http_status=429,
                secrets=self._edge.masked,
            )
        body = self._edge.json_of(response, method=method, effects=effects, external_id=external_id)
        if not isinstance(body, Mapping):
            raise self._shape_error(method, body, effects=effects, external_id=external_id)
        self._note_limits(body)
        error = body.get("error")
        if isinstance(error, Mapping):
            mapped = jsonrpc_error(
                error,
                method=method,
                http_status=response.status_code,
                secrets=self._edge.masked,
            )
            if effects and mapped.api_code == -32603:
                # An internal error after the request was accepted says nothing about
                # whether the call or the password change already happened.
                raise outcome_unknown(
                    method=method,
                    reason=f"JSON-RPC -32603 {mapped.mnemonic or 'internal_error'}",
                    sent_at=self._edge.now_text(),
                    external_id=external_id,
                ) from mapped
            raise mapped
        if "result" not in body or body.get("id") not in (request_id, str(request_id)):
            raise self._shape_error(method, body, effects=effects, external_id=external_id)
        return body["result"]

    def _note_limits(self, body: Mapping[str, Any]) -> None:
        holder = body.get("result")
        if not isinstance(holder, Mapping):
            error = body.get("error")
            holder = error.get("data") if isinstance(error, Mapping) else None
        metadata = holder.get("metadata") if isinstance(holder, Mapping) else None
        limits = metadata.get("limits") if isinstance(metadata, Mapping) else None
        if isinstance(limits, Mapping):
            self.limits = ApiLimits.from_wire(limits)

    def _shape_error(
        self,
        method: str,
        body: object,
        *,
        effects: bool = False,
        external_id: str | None = None,
    ) -> NovofonError:
        if effects:
            return outcome_unknown(
                method=method,
                reason="the answer is not a JSON-RPC result",
                sent_at=self._edge.now_text(),
                external_id=external_id,
            )
        return NovofonProtocolError(
            Text(
                "NovoFon's answer is not the JSON-RPC result it should be",
                "Ответ NovoFon — не тот результат JSON-RPC, что ожидался",
            ),
            evidence=scrub(f"{method}: {str(body)[:300]}", self._edge.masked),
            next_step=Text(
                "Check the base URL (it must point at the JSON-RPC API and its version).",
                "Проверьте базовый URL (он должен указывать на JSON-RPC API и его версию).",
            ),
            method=method,
        )

    def _data_list(self, method: str, result: Any) -> list[Mapping[str, Any]]:
        data = result.get("data") if isinstance(result, Mapping) else None
        if isinstance(data, Mapping):
            data = [data]
        if not isinstance(data, list):
            raise self._shape_error(method, result)
        return [item for item in data if isinstance(item, Mapping)]


def _looks_like_jsonrpc(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, Mapping) and isinstance(body.get("error"), Mapping)


class DataApiClient(JsonRpcClient):
    """Data API 2.0 (``dataapi-jsonrpc.novofon.ru/v2.0``): SIP lines, numbers, reports."""

    default_url = DATA_API_URL

    async def sip_lines(self) -> list[SipLine]:
        """``get.sip_lines``: every SIP line with its login and registration state."""
        result = await self.call("get.sip_lines", idempotent=True)
        return [SipLine.from_wire(x) for x in self._data_list("get.sip_lines", result)]

    async def update_sip_line_password(self, sip_line_id: int) -> Secret:
        """``update.sip_line_password``: NovoFon generates and returns a new password.

        Never retried: each call changes the password, and a lost answer raises
        :class:`NovofonOutcomeUnknown` (the line may already need the new password).
        """
        result = await self.call("update.sip_line_password", {"id": int(sip_line_id)})
        holder = result.get("data", result) if isinstance(result, Mapping) else None
        # The method page shows the password directly in "result", unlike other methods.
        if not isinstance(holder, Mapping) or not holder.get("password"):
            holder = result
        if not isinstance(holder, Mapping) or not holder.get("password"):
            raise self._shape_error("update.sip_line_password", "(no password in the answer)")
        password = Secret(str(holder["password"]))
        self._edge.secrets = (*self._edge.secrets, password)
        return password

    async def virtual_numbers(self) -> list[VirtualNumber]:
        """``get.virtual_numbers``: the account's numbers."""
        result = await self.call("get.virtual_numbers", idempotent=True)
        return [VirtualNumber.from_wire(x) for x in self._data_list("get.virtual_numbers", result)]

    async def calls_report(
        self,
        date_from: datetime | str,
        date_till: datetime | str,
        *,
        external_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[CallReportRow]:
        """``get.calls_report`` for a period of at most 3 months.

        ``external_id`` filters on ``call_api_external_id``: the way to learn whether a
        ``start.simple_call`` whose answer was lost placed its call.
        """
        params: dict[str, Any] = {"date_from": _stamp(date_from), "date_till": _stamp(date_till)}
        if external_id is not None:
            params["filter"] = {
                "field": "call_api_external_id",
                "operator": "=",
                "value": external_id,
            }
        if limit is not None:
            params["limit"] = limit
        if offset is not None:
            params["offset"] = offset
        result = await self.call("get.calls_report", params, idempotent=True)
        return [CallReportRow.from_wire(x) for x in self._data_list("get.calls_report", result)]

    async def account(self) -> Account:
        """``get.account``: app id, name, time zone."""
        result = await self.call("get.account", idempotent=True)
        items = self._data_list("get.account", result)
        if not items:
            raise self._shape_error("get.account", result)
        return Account.from_wire(items[0])


class CallApiClient(JsonRpcClient):
    """Call API 4.0 (``callapi-jsonrpc.novofon.ru/v4.0``): start, list and end calls."""

    default_url = CALL_API_URL

    async def start_simple_call(
        self,
        *,
        virtual_phone_number: str,
        contact: str,
        operator: str,
        first_call: Literal["operator", "contact"] = "operator",
        external_id: str | None = None,
        contact_message: Mapping[str, str] | None = None,
        operator_message: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> SimpleCall:
        """``start.simple_call``: ring ``first_call``'s side, then bridge to the other.

        Never retried. ``external_id`` defaults to a fresh ``trunkctl-<hex>``; it is in the
        result and in :class:`NovofonOutcomeUnknown`, so the calls report can show whether
        the call happened. Messages are ``{"type": "tts"|"media", "value": ...}``.
        """
        external_id = external_id or f"trunkctl-{uuid.uuid4().hex[:16]}"
        params: dict[str, Any] = {
            "first_call": first_call,
            "virtual_phone_number": e164_digits(virtual_phone_number, what="virtual number"),
            "contact": e164_digits(contact, what="contact"),
            "operator": e164_digits(operator, what="operator"),
            "external_id": external_id,
        }
        if contact_message is not None:
            params["contact_message"] = dict(contact_message)
        if operator_message is not None:
            params["operator_message"] = dict(operator_message)
        params.update(extra or {})
        result = await self.call("start.simple_call", params, external_id=external_id)
        data = result.get("data") if isinstance(result, Mapping) else None
        session = data.get("call_session_id") if isinstance(data, Mapping) else None
        if not isinstance(session, int | str) or not str(session).isdigit():
            raise outcome_unknown(
                method="start.simple_call",
                reason="the answer has no call_session_id",
                sent_at=self._edge.now_text(),
                external_id=external_id,
            )
        return SimpleCall(int(session), external_id)

    async def list_calls(
        self,
        *,
        direction: Literal["in", "out"] | None = None,
        virtual_phone_number: str | None = None,
    ) -> list[ActiveCall]:
        """``list.calls``: call sessions in progress."""
        params: dict[str, Any] = {}
        if direction is not None:
            params["direction"] = direction
        if virtual_phone_number is not None:
            params["virtual_phone_number"] = e164_digits(virtual_phone_number)
        result = await self.call("list.calls", params, idempotent=True)
        return [ActiveCall.from_wire(x) for x in self._data_list("list.calls", result)]

    async def release_call(self, call_session_id: int) -> None:
        """``release.call``: hang up a call session."""
        await self.call("release.call", {"call_session_id": int(call_session_id)})
