"""Data API 2.0 and Call API 4.0 sides of the emulator (JSON-RPC 2.0 over POST).

Which documented fact each behaviour follows (novofon.github.io data_api/, call_api/):
- Checks in order: JSON (-32700 parse_error), no batches (-32099
  batch_opreations_not_supported, NovoFon's spelling), envelope (-32600 invalid_request),
  an ``id`` (-32099 notifications_not_supported), caller IP in the whitelist (-32003
  ip_not_whitelisted, "Your IP {ip} is not whitelisted"), method (-32601
  method_not_found), access_token (-32001 access_token_invalid for unknown or expired
  session tokens, access_token_expired/blocked for permanent keys), account active
  (-32009 account_inactive), limits (-32029 limit_exceeded with the documented message
  template), parameters (-32602 required_parameter_missed / unexpected_parameters /
  invalid_parameter_value / invalid_parameters_combination), components (-32008).
- ``login.user`` → ``{"data": {"access_token", "expire_at"[, "app_id"]}}``, one hour.
- ``metadata.limits`` (day/minute limit, remaining, reset seconds) in every Call API
  answer and every Data API ``get.*`` answer, success or error; ``total_items`` on get.
- ``update.sip_line_password`` answers ``{"password": ...}`` directly in ``result``.
- start.simple_call errors: -32007 virtual_phone_number_not_found, -32602
  own_virtual_phone_number_not_allowed, -32002 contact_in_blacklist; international
  calls are off by default (-32002; its mnemonic is not published, so
  ``call_direction_prohibited`` is the emulator's word).
Not published, so chosen here: HTTP 200 for every JSON-RPC answer, 1 point per call,
the point budgets (:class:`EmulatorLimits`), physical_state tokens
``registered``/``unregistered``.
"""

from __future__ import annotations

import json
import re
import secrets
from calendar import monthrange
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._asgi import Receive, Scope, Send, read_body, respond
from ._backend import CallRecord
from ._limits import SlidingWindow, WindowState

if TYPE_CHECKING:
    from ._app import Emulator

__all__ = ["CallApiService", "DataApiService"]

_STAMP = "%Y-%m-%d %H:%M:%S"
_GET_PARAMS = frozenset({"access_token", "user_id", "limit", "offset", "filter", "fields", "sort"})


class RpcError(Exception):
    """A JSON-RPC error answer in NovoFon's shape."""

    def __init__(
        self,
        code: int,
        mnemonic: str,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.mnemonic, self.message = code, mnemonic, message
        self.field, self.value, self.params = field, value, params
        self.request_id: Any = None

    def data(self) -> dict[str, Any]:
        """The ``error.data`` object."""
        data: dict[str, Any] = {"mnemonic": self.mnemonic}
        if self.field is not None:
            data["field"] = self.field
        if self.value is not None:
            data["value"] = self.value
        if self.params:
            data["params"] = dict(self.params)
        return data


def _bad(mnemonic: str, message: str, field: str, value: Any = None) -> RpcError:
    return RpcError(-32602, mnemonic, message, field=field, value=value)


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class _Method:
    handler: Handler
    allowed: frozenset[str]
    required: frozenset[str] = frozenset()
    component: str | None = None
    metadata: bool = True


class _JsonRpcService:
    """Envelope, auth, limits and errors shared by both JSON-RPC APIs."""

    login_result_has_app_id = False

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        limits = emulator.limits
        self.minute = SlidingWindow(limits.jsonrpc_per_minute, 60.0, emulator.clock)
        self.day = SlidingWindow(limits.jsonrpc_per_day, 86400.0, emulator.clock)
        self.tokens: dict[str, float] = {}
        self.methods: dict[str, _Method] = {}

    # --- plumbing -------------------------------------------------------------------

    def limits(self, minute: WindowState | None = None) -> dict[str, int]:
        """``metadata.limits`` as it stands (after the current request's hit)."""
        key = str(self.emulator.account.app_id)
        m = minute or self.minute.state(key)
        d = self.day.state(key)
        return {
            "day_limit": d.limit,
            "day_remaining": d.remaining,
            "day_reset": round(d.reset_in),
            "minute_limit": m.limit,
            "minute_remaining": m.remaining,
            "minute_reset": round(m.reset_in),
        }

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request carrying one JSON-RPC call."""
        body = await read_body(receive, 1 << 20)
        try:
            request_id, result = await self._process(scope, body)
        except RpcError as exc:
            data = exc.data()
            data["metadata"] = {"limits": self.limits()}
            answer = {
                "jsonrpc": "2.0",
                "id": exc.request_id,
                "error": {"code": exc.code, "message": exc.message, "data": data},
            }
            await respond(send, 200, answer)
            return
        except _Fault as fault:
            await respond(send, fault.status, fault.body, content_type="text/html")
            return
        await respond(send, 200, {"jsonrpc": "2.0", "id": request_id, "result": result})

    async def _process(self, scope: Scope, body: bytes | None) -> tuple[Any, dict[str, Any]]:
        if scope["method"] != "POST" or body is None:
            raise RpcError(-32600, "invalid_request", "Invalid Request")
        try:
            envelope = json.loads(body)
        except ValueError as exc:
            raise RpcError(
                -32700, "parse_error", "Invalid JSON was received by the server."
            ) from exc
        if isinstance(envelope, list):
            raise RpcError(
                -32099, "batch_opreations_not_supported", "Batch operations not supported"
            )
        if (
            not isinstance(envelope, dict)
            or envelope.get("jsonrpc") != "2.0"
            or not isinstance(envelope.get("method"), str)
        ):
            raise RpcError(
                -32600,
                "invalid_request",
                "Invalid Request The JSON sent is not a valid Request object",
            )
        if "id" not in envelope:
            raise RpcError(-32099, "notifications_not_supported", "Notifications not supported")
        request_id = envelope["id"]
        try:
            return request_id, await self._call(scope, envelope)
        except RpcError as exc:
            exc.request_id = request_id
            raise

    async def _call(self, scope: Scope, envelope: dict[str, Any]) -> dict[str, Any]:
        account = self.emulator.account
        client = (scope.get("client") or ("", 0))[0]
        if not account.allows(client, account.ip_whitelist):
            raise RpcError(
                -32003,
                "ip_not_whitelisted",
                f"Your IP {client} is not whitelisted",
                params={"ip": client},
            )
        name: str = envelope["method"]
        params = envelope.get("params", {})
        if not isinstance(params, dict):
            raise _bad("data_type_error", "Data supplied is of wrong type", "params")
        if name == "login.user":
            return await self._login(params)
        method = self.methods.get(name)
        if method is None:
            raise RpcError(
                -32601, "method_not_found", "The method does not exist / is not available"
            )
        self._authenticate(params.get("access_token"))
        if not account.active:
            raise RpcError(
                -32009,
                "account_inactive",
                "Your account has been disabled, contact the support service",
            )
        minute = self._count()
        _check_params(params, method.allowed, method.required | {"access_token"})
        if method.component is not None and method.component not in account.components:
            raise RpcError(
                -32008,
                "component_disabled",
                f"Component {method.component} has been disabled",
                params={"component_name": method.component},
            )
        result = await method.handler(params)
        if method.metadata:
            result.setdefault("metadata", {})["limits"] = self.limits(minute)
        return result

    def _count(self) -> WindowState:
        key = str(self.emulator.account.app_id)
        for window, limit_type in ((self.day, "day"), (self.minute, "minute")):
            if not window.state(key).allowed:
                raise RpcError(
                    -32029,
                    "limit_exceeded",
                    f"Limit per {limit_type} has been exceeded. Value of current limit per "
                    f"{limit_type} is {window.limit}",
                    params={"limit_type": limit_type, "limit_max_value": window.limit},
                )
        self.day.hit(key)
        return self.minute.hit(key)

    def _authenticate(self, token: object) -> None:
        account = self.emulator.account
        if not isinstance(token, str) or not token:
            raise _bad(
                "required_parameter_missed",
                "The required parameter has been missed",
                "access_token",
            )
        if token in account.expired_api_keys:
            raise RpcError(-32001, "access_token_expired", "Access token has been expired")
        if token in account.blocked_api_keys:
            raise RpcError(-32001, "access_token_blocked", "Access token has been blocked")
        if token in account.api_keys:
            return
        expires = self.tokens.get(token)
        if expires is None or expires <= self.emulator.clock():
            raise RpcError(-32001, "access_token_invalid", "Access token is invalid")

    async def _login(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self.emulator.account
        _check_params(params, frozenset({"login", "password"}), frozenset({"login", "password"}))
        if not account.active:
            raise RpcError(
                -32009,
                "account_inactive",
                "Your account has been disabled, contact the support service",
            )
        self._count()
        if params["login"] != account.login or params["password"] != account.password:
            raise RpcError(-32001, "auth_error", "Login or password is wrong")
        token = secrets.token_hex(36)
        expire_at = int(self.emulator.clock() + self.emulator.limits.token_ttl)
        self.tokens[token] = float(expire_at)
        data: dict[str, Any] = {"access_token": token, "expire_at": expire_at}
        if self.login_result_has_app_id:
            data["app_id"] = account.app_id
        return {"data": data}

    def fault(self, method: str) -> None:
        """Raise the armed after-commit fault for ``method``, if any."""
        armed = self.emulator.take_fault(method)
        if armed is not None:
            raise _Fault(*armed)


class _Fault(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _check_params(
    params: Mapping[str, Any], allowed: frozenset[str], required: frozenset[str]
) -> None:
    for name in params:
        if name not in allowed:
            raise _bad("unexpected_parameters", "Unexpected method parameter(s)", name)
    for name in sorted(required):
        if params.get(name) in (None, ""):
            raise _bad("required_parameter_missed", "The required parameter has been missed", name)


def _digits(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not re.fullmatch(r"\d{3,15}", value):
        raise _bad("invalid_parameter_value", "Invalid parameter value", name, value)
    return value


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(_STAMP)


def _matches(row: Mapping[str, Any], spec: Mapping[str, Any], filterable: frozenset[str]) -> bool:
    if "filters" in spec:
        results = [_matches(row, sub, filterable) for sub in spec["filters"]]
        return all(results) if spec.get("condition", "and") == "and" else any(results)
    name = spec.get("field")
    if name not in filterable:
        raise _bad("filter_prohibited", "Filter by parameter is prohibited", str(name))
    operator, value = spec.get("operator"), spec.get("value")
    if operator == "=":
        return bool(row.get(name) == value)
    if operator == "!=":
        return bool(row.get(name) != value)
    if operator == "in" and isinstance(value, list):
        return row.get(name) in value
    raise _bad("invalid_parameter_value", "Invalid parameter value", "filter.operator", operator)


def _get(
    rows: list[dict[str, Any]], params: Mapping[str, Any], filterable: frozenset[str]
) -> dict[str, Any]:
    """Apply the documented get-verb options: filter, offset/limit, fields."""
    if isinstance(params.get("filter"), Mapping) and params["filter"]:
        rows = [row for row in rows if _matches(row, params["filter"], filterable)]
    total = len(rows)
    try:
        offset = int(params.get("offset", 0))
        limit = int(params.get("limit", 1000))
    except (TypeError, ValueError) as exc:
        raise _bad("invalid_parameter_value", "Invalid parameter value", "limit") from exc
    if not 0 <= offset <= 100000 or not 0 < limit <= 10000:
        raise _bad("invalid_parameter_value", "Invalid parameter value", "limit", limit)
    rows = rows[offset : offset + limit]
    fields = params.get("fields")
    if isinstance(fields, list) and fields:
        for name in fields:
            if rows and name not in rows[0]:
                raise _bad(
                    "unexpected_parameters", "Unexpected method parameter(s)", f"fields.{name}"
                )
        rows = [{name: row.get(name) for name in fields} for row in rows]
    return {"data": rows, "metadata": {"total_items": total}}


class DataApiService(_JsonRpcService):
    """``/v2.0``: login.user, get.sip_lines, update.sip_line_password, get.virtual_numbers,
    get.calls_report, get.account."""

    login_result_has_app_id = True

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.methods = {
            "get.sip_lines": _Method(self._sip_lines, _GET_PARAMS),
            "update.sip_line_password": _Method(
                self._sip_password,
                frozenset({"access_token", "user_id", "id"}),
                frozenset({"id"}),
                metadata=False,
            ),
            "get.virtual_numbers": _Method(self._virtual_numbers, _GET_PARAMS),
            "get.calls_report": _Method(
                self._calls_report,
                _GET_PARAMS | {"date_from", "date_till", "include_ongoing_calls"},
                frozenset({"date_from", "date_till"}),
            ),
            "get.account": _Method(self._account, frozenset({"access_token"})),
        }

    async def _sip_lines(self, params: dict[str, Any]) -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        for line in await self.emulator.backend.sip_lines():
            state = await self.emulator.backend.registration_state(line.login)
            rows.append(
                {
                    "id": line.id,
                    "phone_number": line.login,
                    "type": line.type,
                    "employee_id": None,
                    "employee_full_name": None,
                    "channels_count": line.channels,
                    "dial_time": 60,
                    "billing_state": line.billing_state,
                    "physical_state": "registered" if state.registered else "unregistered",
                    "status": "active",
                    "virtual_phone_number": line.virtual_phone_number,
                    "ip_addresses": [
                        {"date_time": _stamp(since), "ip": ip} for ip, since in state.contacts
                    ],
                }
            )
        filterable = frozenset(
            {
                "id",
                "phone_number",
                "type",
                "billing_state",
                "physical_state",
                "virtual_phone_number",
                "status",
            }
        )
        return _get(rows, params, filterable)

    async def _sip_password(self, params: dict[str, Any]) -> dict[str, Any]:
        lines = {line.id: line for line in await self.emulator.backend.sip_lines()}
        line = lines.get(params["id"]) if isinstance(params["id"], int) else None
        if line is None:
            raise _bad("entity_not_found", "Entity not found", "id", params["id"])
        password = await self.emulator.backend.set_sip_password(line.login)
        self.fault("update.sip_line_password")
        return {"password": password}

    async def _virtual_numbers(self, params: dict[str, Any]) -> dict[str, Any]:
        rows: list[dict[str, Any]] = [
            {
                "id": n.id,
                "virtual_phone_number": n.number,
                "redirection_phone_number": None,
                "activation_date": _stamp(n.activation_date),
                "status": n.status,
                "category": n.category,
                "type": n.type,
                "campaigns": [],
                "scenarios": [],
            }
            for n in await self.emulator.backend.virtual_numbers()
        ]
        filterable = frozenset({"id", "virtual_phone_number", "status", "category", "type"})
        return _get(rows, params, filterable)

    async def _calls_report(self, params: dict[str, Any]) -> dict[str, Any]:
        since = _parse_stamp(params, "date_from")
        till = _parse_stamp(params, "date_till")
        if till < since:
            raise _bad("invalid_parameter_value", "Invalid parameter value", "date_till")
        if till > _add_months(since, 3):
            raise _bad(
                "date_interval_limit_reached",
                "Max value of requested date interval is 3 months",
                "date_till",
            )
        backend = self.emulator.backend
        records = list(await backend.calls(since, till))
        if params.get("include_ongoing_calls") is True:
            records += [c for c in await backend.active_calls() if since <= c.started <= till]
        rows = [self._report_row(c) for c in sorted(records, key=lambda c: c.started)]
        filterable = frozenset(
            {
                "id",
                "finish_reason",
                "direction",
                "is_lost",
                "contact_phone_number",
                "virtual_phone_number",
                "call_api_external_id",
                "source",
            }
        )
        return _get(rows, params, filterable)

    def _report_row(self, call: CallRecord) -> dict[str, Any]:
        return {
            "id": self.emulator.session_id(call.id),
            "start_time": _stamp(call.started),
            "finish_time": _stamp(call.finished),
            "finish_reason": call.finish_reason,
            "direction": call.direction,
            "source": call.source,
            "is_lost": call.disposition != "answered",
            "contact_phone_number": call.second,
            "virtual_phone_number": call.caller_id,
            "total_duration": call.total_seconds,
            "talk_duration": call.talk_seconds,
            "call_api_external_id": call.external_id,
        }

    async def _account(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self.emulator.account
        return {
            "data": [{"app_id": account.app_id, "name": account.name, "timezone": account.timezone}]
        }


_SIMPLE_CALL_PARAMS = frozenset(
    {
        "access_token",
        "first_call",
        "switch_at_once",
        "early_switching",
        "media_file_id",
        "virtual_phone_number",
        "virtual_phone_usage_rule",
        "show_virtual_phone_number",
        "contact",
        "external_id",
        "dtmf_string",
        "direction",
        "operator",
        "operator_confirmation",
        "contact_message",
        "operator_message",
    }
)


class CallApiService(_JsonRpcService):
    """``/v4.0``: login.user, start.simple_call, list.calls, release.call."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.methods = {
            "start.simple_call": _Method(
                self._simple_call,
                _SIMPLE_CALL_PARAMS,
                frozenset({"first_call", "virtual_phone_number", "contact", "operator"}),
                component="call_api_basic",
            ),
            "list.calls": _Method(
                self._list_calls,
                frozenset({"access_token", "direction", "virtual_phone_number"}),
                component="call_api_management",
            ),
            "release.call": _Method(
                self._release,
                frozenset({"access_token", "call_session_id"}),
                frozenset({"call_session_id"}),
                component="call_api_basic",
            ),
        }

    async def _simple_call(self, params: dict[str, Any]) -> dict[str, Any]:
        account = self.emulator.account
        backend = self.emulator.backend
        first_call = params["first_call"]
        if first_call not in ("operator", "contact"):
            raise _bad(
                "invalid_parameter_value", "Invalid parameter value", "first_call", first_call
            )
        if params.get("early_switching") is True and not (
            first_call == "operator" and params.get("switch_at_once") is True
        ):
            raise _bad(
                "invalid_parameters_combination",
                "The combination of parameters is not permitted",
                "early_switching",
            )
        number = _digits(params, "virtual_phone_number")
        contact = _digits(params, "contact")
        operator = _digits(params, "operator")
        own = {n.number for n in await backend.virtual_numbers()}
        if number not in own:
            raise RpcError(
                -32007,
                "virtual_phone_number_not_found",
                f"Virtual phone number {number} not found. It is not your virtual phone number.",
                field="virtual_phone_number",
                value=number,
            )
        if contact in own:
            raise _bad(
                "own_virtual_phone_number_not_allowed",
                "Parameter contact can not contain own virtual phone number",
                "contact",
                contact,
            )
        if contact in account.blacklist:
            raise RpcError(
                -32002,
                "contact_in_blacklist",
                f"The contact {contact} has been found in the blacklist",
                field="contact",
                value=contact,
            )
        if not contact.startswith("7") and not account.allow_international:
            raise RpcError(
                -32002,
                "call_direction_prohibited",
                "Calls in this direction are prohibited by the security rules",
                field="contact",
                value=contact,
            )
        # NovoFon's start.simple_call page (callgear.github.io/call_api/create_call/
        # start_simple_call mirrors it): direction in|out, default "in"; the report keeps it.
        direction = params.get("direction", "in")
        if direction not in ("in", "out"):
            raise _bad("invalid_parameter_value", "Invalid parameter value", "direction", direction)
        first, second = (operator, contact) if first_call == "operator" else (contact, operator)
        external_id = params.get("external_id")
        call_id = await backend.originate(
            first,
            second,
            caller_id=number,
            external_id=str(external_id) if external_id is not None else None,
            source="callapi",
            direction="in" if direction == "in" else "out",
        )
        session = self.emulator.session_id(call_id)
        self.fault("start.simple_call")
        return {"data": {"call_session_id": session}}

    async def _list_calls(self, params: dict[str, Any]) -> dict[str, Any]:
        direction = params.get("direction")
        if direction not in (None, "in", "out"):
            raise _bad("invalid_parameter_value", "Invalid parameter value", "direction", direction)
        wanted_number = params.get("virtual_phone_number")
        rows: list[dict[str, Any]] = []
        for call in await self.emulator.backend.active_calls():
            if (direction and call.direction != direction) or (
                wanted_number and call.caller_id != wanted_number
            ):
                continue
            session = self.emulator.session_id(call.id)
            state = "Разговор" if call.answered else "Дозвон"
            rows.append(
                {
                    "call_session_id": session,
                    "direction": call.direction,
                    "start_time": _stamp(call.started),
                    "virtual_phone_number": call.caller_id,
                    "contact_phone_number": call.second,
                    "external_id": call.external_id,
                    "tags": [],
                    "legs": [
                        {
                            "leg_id": session * 10 + 1,
                            "calling_phone_number": call.caller_id,
                            "called_phone_number": call.first,
                            "is_operator": True,
                            "employee_id": None,
                            "employee_full_name": None,
                            "record_call_enabled": False,
                            "state": state,
                        },
                        {
                            "leg_id": session * 10 + 2,
                            "calling_phone_number": call.caller_id,
                            "called_phone_number": call.second,
                            "is_operator": False,
                            "employee_id": None,
                            "employee_full_name": None,
                            "record_call_enabled": False,
                            "state": state if call.answered else "Дозвон",
                        },
                    ],
                }
            )
        return {"data": rows}

    async def _release(self, params: dict[str, Any]) -> dict[str, Any]:
        session = params["call_session_id"]
        call_id = self.emulator.call_id(session) if isinstance(session, int) else None
        if call_id is None or not await self.emulator.backend.release(call_id):
            raise _bad(
                "call_session_not_found", "Call session not found", "call_session_id", session
            )
        return {"data": {"success": True}}


def _parse_stamp(params: Mapping[str, Any], name: str) -> datetime:
    value = params.get(name)
    try:
        return datetime.strptime(str(value), _STAMP).replace(tzinfo=UTC)
    except ValueError as exc:
        raise _bad("invalid_parameter_value", "Invalid parameter value", name, value) from exc


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))
