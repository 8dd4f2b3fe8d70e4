"""REST v1 side of the emulator.

Which documented fact each behaviour follows:
- ``Authorization: key:signature`` checked by re-signing the *received* parameters sorted
  and PHP-urlencoded, with the path as requested (novofon/user-api-v1 Client.php).
- Failure body ``{"status": "error", "message": ...}`` with HTTP 401 "Auth error" for a
  bad key or signature, 429 "You exceeded the rate limit" (zadarma/openapi examples).
- Limits 100 requests/min, 3/min for ``statistics*`` (zadarma/openapi), counted per key
  in a sliding minute; ``X-RateLimit-Limit/-Remaining/-Reset`` (names as the official
  clients parse them; Reset is epoch seconds here, which the real API does not document).
- ``is_online`` is the string "true"/"false"; statistics longer than a month are cut to 30
  days (user-api-v1 docblock); ``limit`` at most 1000.
- A ``~`` may be signed literally (zadarma/user-api-py-v1 zadarma/api.py: Python's
  ``urlencode``) or as ``%7E`` (novofon/user-api-v1 lib/Client.php: PHP's
  ``http_build_query``); which one NovoFon's server accepts is not published, so both are.
- Answer shapes and ``required`` fields of ``info/timezone``, ``tariff``, ``PUT
  sip/callerid``, ``request/callback`` (``predicted``: ``to`` is called first) and
  ``statistics`` (disposition ``call failed``; ``sip`` is a SIP id, never a phone number)
  follow zadarma/openapi spec/v1/openapi.json.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from .._asgi import Receive, Scope, Send, header, read_body, respond
from .._sign import rest_v1_query, rest_v1_signature
from ._limits import SlidingWindow, WindowState

if TYPE_CHECKING:
    from ._app import Emulator

__all__ = ["RestService"]

_SIP_STATUS = re.compile(r"sip/(?P<sip>[^/]+)/status")
_PBX_STATUS = re.compile(r"pbx/internal/(?P<number>\d+)/status")
_STAMP = "%Y-%m-%d %H:%M:%S"


class _Reply(Exception):
    """Raised inside a handler to answer with an error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RestService:
    """Serves ``/v1/<method>/`` for one :class:`Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        limits = emulator.limits
        self.general = SlidingWindow(limits.rest_per_minute, 60.0, emulator.clock)
        self.statistics_window = SlidingWindow(
            limits.rest_statistics_per_minute, 60.0, emulator.clock
        )
        self.caller_ids: dict[str, str] = {}
        """SIP id → CallerID set with ``PUT sip/callerid`` (used by its callbacks)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request."""
        account = self.emulator.account
        body = await read_body(receive, 1 << 20) or b""
        if scope["method"] == "GET":
            raw = bytes(scope.get("query_string", b"")).decode("latin-1")
        else:
            raw = body.decode("utf-8", "replace")
        params = dict(parse_qsl(raw, keep_blank_values=True))
        path: str = scope["path"]
        client = (scope.get("client") or ("", 0))[0]
        if not account.allows(client, account.rest_ip_whitelist):
            await _error(send, 403, "IP address is not allowed")
            return
        if not self._authorized(header(scope, "authorization"), path, params):
            await _error(send, 401, "Auth error")
            return
        method = path.removeprefix("/v1/").strip("/")
        state = self._count(method, account.rest_key)
        limit_headers = self._limit_headers(state)
        if not state.allowed:
            retry = [("retry-after", str(max(1, round(state.reset_in))))]
            await _error(send, 429, "You exceeded the rate limit", limit_headers + retry)
            return
        try:
            result = await self._dispatch(method, params, scope["method"])
        except _Reply as reply:
            await _error(send, reply.status, reply.message, limit_headers)
            return
        if method == "request/callback":
            fault = self.emulator.take_fault(method)
            if fault is not None:
                await respond(send, fault[0], fault[1], content_type="text/html")
                return
        await respond(send, 200, {"status": "success", **result}, headers=limit_headers)

    def _authorized(self, authorization: str | None, path: str, params: Mapping[str, str]) -> bool:
        account = self.emulator.account
        key, _, signature = (authorization or "").partition(":")
        if not signature or not hmac.compare_digest(key.encode(), account.rest_key.encode()):
            return False
        given = signature.strip().encode()
        ok = False
        for literal_tilde in (False, True):  # PHP's %7E, Python's literal ~
            query = rest_v1_query(params, literal_tilde=literal_tilde)
            expected = rest_v1_signature(path, query, account.rest_secret)
            ok |= hmac.compare_digest(given, expected.encode())
        return ok

    def _count(self, method: str, key: str) -> WindowState:
        """Statistics calls count against their own 3/min window and the general one."""
        if not method.startswith("statistics"):
            return self.general.hit(key)
        state = self.statistics_window.hit(key)
        if state.allowed:
            general = self.general.hit(key)
            if not general.allowed:
                return general
        return state

    def _limit_headers(self, state: WindowState) -> list[tuple[str, str]]:
        reset_at = int(self.emulator.clock() + state.reset_in)
        return [
            ("x-ratelimit-limit", str(state.limit)),
            ("x-ratelimit-remaining", str(state.remaining)),
            ("x-ratelimit-reset", str(reset_at)),
        ]

    async def _dispatch(
        self, method: str, params: Mapping[str, str], http_method: str = "GET"
    ) -> dict[str, Any]:
        emulator = self.emulator
        account = emulator.account
        backend = emulator.backend
        if method == "info/balance":
            return {"balance": account.balance, "currency": account.currency}
        if method == "info/timezone":
            return self._timezone()
        if method == "tariff":
            return self._tariff()
        if method == "sip/callerid":
            if http_method != "PUT":
                raise _Reply(405, "Method not allowed: use PUT")
            return await self._callerid(params)
        if method == "sip":
            lines = await backend.sip_lines()
            sips = [
                {
                    "id": line.login,
                    "display_name": line.display_name or line.login,
                    "lines": line.channels,
                }
                for line in lines
            ]
            return {"sips": sips, "left": 0}
        if match := _SIP_STATUS.fullmatch(method):
            sip = match["sip"]
            if sip not in {line.login for line in await backend.sip_lines()}:
                raise _Reply(400, "Wrong SIP number")
            state = await backend.registration_state(sip)
            return {"sip": sip, "is_online": "true" if state.registered else "false"}
        if method == "request/callback":
            return await self._callback(params)
        if method == "statistics":
            return await self._statistics(params)
        if method == "pbx/internal":
            return {"pbx_id": account.pbx_id, "numbers": list(account.extensions)}
        if match := _PBX_STATUS.fullmatch(method):
            number = int(match["number"])
            if number not in account.extensions:
                raise _Reply(400, "Wrong PBX number")
            state = await backend.registration_state(f"{account.pbx_id}-{number}")
            return {
                "pbx_id": account.pbx_id,
                "number": number,
                "is_online": "true" if state.registered else "false",
            }
        raise _Reply(404, "Method not found")

    def _timezone(self) -> dict[str, Any]:
        """``info/timezone``: now in the account's zone, the zone as ``UTC+N``."""
        now = self.emulator.now().astimezone(ZoneInfo(self.emulator.account.timezone))
        offset = now.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        zone = f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")
        return {
            "unixtime": int(self.emulator.clock()),
            "datetime": now.strftime(_STAMP),
            "timezone": zone,
        }

    def _tariff(self) -> dict[str, Any]:
        """``tariff``: the emulated account's one price plan, nothing used."""
        account = self.emulator.account
        return {
            "info": {
                "tariff_id": account.tariff_id,
                "tariff_name": account.tariff_name,
                "is_active": True,
                "cost": 0,
                "currency": account.currency,
                "used_seconds": 0,
                "used_seconds_mobile": 0,
                "used_seconds_fix": 0,
                "used_seconds_speech_recognition": 0,
                "tariff_id_for_next_period": account.tariff_id,
                "tariff_for_next_period": account.tariff_name,
            }
        }

    async def _callerid(self, params: Mapping[str, str]) -> dict[str, Any]:
        """``PUT sip/callerid``: the new CallerID must be one of the account's numbers."""
        sip, number = params.get("id", ""), params.get("number", "").lstrip("+")
        if sip not in {line.login for line in await self.emulator.backend.sip_lines()}:
            raise _Reply(400, "Wrong SIP number")
        if number not in {n.number for n in await self.emulator.backend.virtual_numbers()}:
            raise _Reply(400, "Wrong CallerID: not a confirmed or purchased number")
        self.caller_ids[sip] = number
        return {"sip": sip, "new_caller_id": number}

    async def _callback(self, params: Mapping[str, str]) -> dict[str, Any]:
        source, target = params.get("from", ""), params.get("to", "")
        if not source or not target.lstrip("+").isdigit():
            raise _Reply(400, "Check phone's number")
        predicted = params.get("predicted", "0").strip().lower() not in ("", "0", "false")
        # The spec: normally `from` is called first, then connected to `to`; with
        # `predicted`, `to` is called first and `from` only once `to` has answered.
        first, second = (target.lstrip("+"), source) if predicted else (source, target.lstrip("+"))
        await self.emulator.backend.originate(
            first,
            second,
            caller_id=self.caller_ids.get(source),
            external_id=None,
            source="callback",
        )
        return {"from": source, "to": target, "time": int(self.emulator.clock())}

    async def _statistics(self, params: Mapping[str, str]) -> dict[str, Any]:
        now = self.emulator.now()
        try:
            start = (
                _parse(params["start"])
                if "start" in params
                else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            )
            end = _parse(params["end"]) if "end" in params else now
            skip = int(params.get("skip", "0"))
            limit = min(int(params.get("limit", "1000")), 1000)
        except ValueError as exc:
            raise _Reply(400, "Wrong parameters") from exc
        end = min(end, start + timedelta(days=30))
        sip = params.get("sip")
        records = sorted(await self.emulator.backend.calls(start, end), key=lambda c: c.started)
        logins = {line.login for line in await self.emulator.backend.sip_lines()}
        if sip:
            records = [r for r in records if sip in (r.first, r.second)]
        stats = [
            {
                "id": record.id,
                # The SIP id the call went through: never a phone number, even an all-digit
                # one (spec pattern ^[0-9]{5}$; the sandbox's logins are 7 digits).
                "sip": next((n for n in (record.first, record.second) if n in logins), ""),
                "callstart": record.started.strftime(_STAMP),
                "from": record.first,
                "to": record.second,
                "description": "",
                "disposition": _statistics_disposition(record.disposition),
                "billseconds": record.talk_seconds,
                "cost": 0.0,
                "billcost": 0.0,
                "currency": self.emulator.account.currency,
            }
            for record in records[skip : skip + limit]
        ]
        return {"start": start.strftime(_STAMP), "end": end.strftime(_STAMP), "stats": stats}


def _statistics_disposition(disposition: str | None) -> str:
    """The backend's word as statistics spell it: ``call failed``, where webhooks (and the
    backend) say ``failed`` (zadarma/openapi statistics enum; user-api-v1 NotifyOutEnd)."""
    return "call failed" if disposition in (None, "failed") else disposition


def _parse(text: str) -> datetime:
    return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)


async def _error(
    send: Send, status: int, message: str, headers: list[tuple[str, str]] | None = None
) -> None:
    await respond(send, status, {"status": "error", "message": message}, headers=headers or [])
