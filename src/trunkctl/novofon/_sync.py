"""Blocking facades for scripts: each runs the async client's coroutine on its own loop.

One ``asyncio.Runner`` per facade keeps the httpx connection pool on one event loop for
the facade's life; every method is a one-line delegation, so there is no second copy of
any logic (STYLE.md §4). Not for use inside a running event loop: await the async client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from ._jsonrpc import CallApiClient, DataApiClient, JsonRpcClient
from ._models import (
    Account,
    ActiveCall,
    Balance,
    CallbackResult,
    CallReportRow,
    PbxExtensionStatus,
    PbxInternal,
    SimpleCall,
    SipLine,
    SipNumbers,
    SipStatus,
    Statistics,
    VirtualNumber,
)
from ._rest import HttpMethod, RestV1Client
from ._secret import Secret
from ._sign import ParamValue

__all__ = ["CallApiSync", "DataApiSync", "RestV1Sync"]

T = TypeVar("T")
C = TypeVar("C", bound=RestV1Client | JsonRpcClient)
J = TypeVar("J", bound=JsonRpcClient)


class _Blocking(Generic[C]):
    def __init__(self, client: C) -> None:
        self.client = client
        self._runner = asyncio.Runner()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def close(self) -> None:
        """Close the async client and the private event loop."""
        try:
            self._run(self.client.aclose())
        finally:
            self._runner.close()

    def __enter__(self: Any) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RestV1Sync(_Blocking[RestV1Client]):
    """Blocking :class:`RestV1Client`: ``RestV1Sync(RestV1Client(key, secret))``."""

    def call(
        self,
        method: str,
        params: Mapping[str, ParamValue | None] | None = None,
        *,
        http_method: HttpMethod = "GET",
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """See :meth:`RestV1Client.call`."""
        return self._run(
            self.client.call(method, params, http_method=http_method, idempotent=idempotent)
        )

    def balance(self) -> Balance:
        """See :meth:`RestV1Client.balance`."""
        return self._run(self.client.balance())

    def sip_numbers(self) -> SipNumbers:
        """See :meth:`RestV1Client.sip_numbers`."""
        return self._run(self.client.sip_numbers())

    def sip_status(self, sip: str) -> SipStatus:
        """See :meth:`RestV1Client.sip_status`."""
        return self._run(self.client.sip_status(sip))

    def request_callback(
        self, from_: str, to: str, *, sip: str | None = None, predicted: bool = False
    ) -> CallbackResult:
        """See :meth:`RestV1Client.request_callback` (never retried)."""
        return self._run(self.client.request_callback(from_, to, sip=sip, predicted=predicted))

    def statistics(
        self,
        start: datetime | str,
        end: datetime | str,
        *,
        sip: str | None = None,
        skip: int | None = None,
        limit: int | None = None,
    ) -> Statistics:
        """See :meth:`RestV1Client.statistics`."""
        return self._run(self.client.statistics(start, end, sip=sip, skip=skip, limit=limit))

    def pbx_internal(self) -> PbxInternal:
        """See :meth:`RestV1Client.pbx_internal`."""
        return self._run(self.client.pbx_internal())

    def pbx_internal_status(self, number: int | str) -> PbxExtensionStatus:
        """See :meth:`RestV1Client.pbx_internal_status`."""
        return self._run(self.client.pbx_internal_status(number))


class _JsonRpcSync(_Blocking[J]):
    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        external_id: str | None = None,
    ) -> Any:
        """See :meth:`JsonRpcClient.call`."""
        return self._run(
            self.client.call(method, params, idempotent=idempotent, external_id=external_id)
        )


class DataApiSync(_JsonRpcSync[DataApiClient]):
    """Blocking :class:`DataApiClient`: ``DataApiSync(DataApiClient(api_key=...))``."""

    def sip_lines(self) -> list[SipLine]:
        """See :meth:`DataApiClient.sip_lines`."""
        return self._run(self.client.sip_lines())

    def update_sip_line_password(self, sip_line_id: int) -> Secret:
        """See :meth:`DataApiClient.update_sip_line_password` (never retried)."""
        return self._run(self.client.update_sip_line_password(sip_line_id))

    def virtual_numbers(self) -> list[VirtualNumber]:
        """See :meth:`DataApiClient.virtual_numbers`."""
        return self._run(self.client.virtual_numbers())

    def calls_report(
        self,
        date_from: datetime | str,
        date_till: datetime | str,
        *,
        external_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[CallReportRow]:
        """See :meth:`DataApiClient.calls_report`."""
        return self._run(
            self.client.calls_report(
                date_from, date_till, external_id=external_id, limit=limit, offset=offset
            )
        )

    def account(self) -> Account:
        """See :meth:`DataApiClient.account`."""
        return self._run(self.client.account())


class CallApiSync(_JsonRpcSync[CallApiClient]):
    """Blocking :class:`CallApiClient`: ``CallApiSync(CallApiClient(api_key=...))``."""

    def start_simple_call(
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
        """See :meth:`CallApiClient.start_simple_call` (never retried)."""
        return self._run(
            self.client.start_simple_call(
                virtual_phone_number=virtual_phone_number,
                contact=contact,
                operator=operator,
                first_call=first_call,
                external_id=external_id,
                contact_message=contact_message,
                operator_message=operator_message,
                extra=extra,
            )
        )

    def list_calls(
        self,
        *,
        direction: Literal["in", "out"] | None = None,
        virtual_phone_number: str | None = None,
    ) -> list[ActiveCall]:
        """See :meth:`CallApiClient.list_calls`."""
        return self._run(
            self.client.list_calls(direction=direction, virtual_phone_number=virtual_phone_number)
        )

    def release_call(self, call_session_id: int) -> None:
        """See :meth:`CallApiClient.release_call`."""
        self._run(self.client.release_call(call_session_id))
