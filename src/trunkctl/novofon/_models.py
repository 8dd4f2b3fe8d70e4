"""Typed results of the NovoFon API methods trunkctl uses.

Optional fields NovoFon leaves out become None, and the wire dict stays in ``raw`` for
anything not modelled. A field the spec *requires* (zadarma/openapi spec/v1/openapi.json,
``required`` of each answer) is never defaulted: an answer without it is not NovoFon's
answer (a proxy's ``200 {}``, a truncated body), and parsing raises
:class:`~trunkctl.novofon.NovofonProtocolError` instead of inventing ``0.0`` or ``""``.
Field names follow the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trunkctl.i18n import Text

from ._errors import NovofonProtocolError

__all__ = [
    "Account",
    "ActiveCall",
    "ApiLimits",
    "Balance",
    "CallLeg",
    "CallReportRow",
    "CallbackResult",
    "PbxExtensionStatus",
    "PbxInternal",
    "RegisteredAddress",
    "SimpleCall",
    "SipLine",
    "SipNumber",
    "SipNumbers",
    "SipStatus",
    "Statistics",
    "StatisticsRecord",
    "VirtualNumber",
]

Wire = Mapping[str, Any]


def _str(d: Wire, key: str) -> str | None:
    value = d.get(key)
    return None if value is None else str(value)


def _int(d: Wire, key: str) -> int | None:
    try:
        return int(d[key])
    except (KeyError, TypeError, ValueError):
        return None


def _float(d: Wire, key: str) -> float | None:
    try:
        return float(d[key])
    except (KeyError, TypeError, ValueError):
        return None


def _missing(d: Wire, key: str, answer: str) -> NovofonProtocolError:
    return NovofonProtocolError(
        Text(
            "NovoFon's {answer} answer lacks the required field {key!r}",
            "В ответе NovoFon {answer} нет обязательного поля {key!r}",
        ).format(answer=answer, key=key),
        evidence=f"{answer}: fields {sorted(str(k) for k in d)}; {key}={d.get(key)!r}",
        next_step=Text(
            "A proxy or captive portal may be answering instead of NovoFon; check the base "
            "URL and proxy settings, then try again.",
            "Возможно, вместо NovoFon отвечает прокси или портал авторизации; проверьте "
            "базовый URL и настройки прокси и повторите.",
        ),
        field=key,
    )


def _req_str(d: Wire, key: str, answer: str) -> str:
    """A required string field (a number on the wire is accepted as its text)."""
    value = d.get(key)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise _missing(d, key, answer)


def _req_int(d: Wire, key: str, answer: str) -> int:
    """A required integer field."""
    value = _int(d, key)
    if value is None or isinstance(d.get(key), bool):
        raise _missing(d, key, answer)
    return value


def _req_float(d: Wire, key: str, answer: str) -> float:
    """A required number field."""
    value = _float(d, key)
    if value is None or isinstance(d.get(key), bool):
        raise _missing(d, key, answer)
    return value


def _req_bool(d: Wire, key: str, answer: str) -> bool:
    """A required boolean field (``"true"``/``"false"`` on REST v1)."""
    value = _bool(d, key)
    if value is None:
        raise _missing(d, key, answer)
    return value


def _bool(d: Wire, key: str) -> bool | None:
    """JSON booleans, and REST v1's ``"true"``/``"false"`` strings (zadarma/openapi)."""
    value = d.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int):
        return bool(value)
    return None


# --- REST v1 ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Balance:
    """``info/balance``: account balance and ISO 4217 currency."""

    balance: float
    currency: str
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> Balance:
        """Parse the JSON answer."""
        return cls(
            _req_float(d, "balance", "info/balance"),
            _req_str(d, "currency", "info/balance"),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class SipNumber:
    """One SIP number of ``sip``: id (the SIP login), display name, simultaneous lines."""

    id: str
    display_name: str | None
    lines: int | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> SipNumber:
        """Parse one ``sips`` item."""
        return cls(_req_str(d, "id", "sip"), _str(d, "display_name"), _int(d, "lines"), raw=d)


@dataclass(frozen=True, slots=True)
class SipNumbers:
    """``sip``: the account's SIP numbers and how many more may be created."""

    sips: tuple[SipNumber, ...]
    left: int | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> SipNumbers:
        """Parse the JSON answer."""
        items = d.get("sips") or []
        sips = tuple(SipNumber.from_wire(x) for x in items if isinstance(x, Mapping))
        return cls(sips, _int(d, "left"), raw=d)


@dataclass(frozen=True, slots=True)
class SipStatus:
    """``sip/<id>/status``: whether the SIP number is registered right now."""

    sip: str
    is_online: bool
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> SipStatus:
        """Parse the JSON answer (``is_online`` is the string "true"/"false" on the wire)."""
        answer = "sip/status"
        return cls(_req_str(d, "sip", answer), _req_bool(d, "is_online", answer), raw=d)


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """``request/callback``: the two numbers and the Unix time the callback started."""

    from_number: str
    to_number: str
    time: int
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> CallbackResult:
        """Parse the JSON answer."""
        answer = "request/callback"
        return cls(
            _req_str(d, "from", answer),
            _req_str(d, "to", answer),
            _req_int(d, "time", answer),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class StatisticsRecord:
    """One call of ``statistics`` (disposition: answered, busy, cancel, no answer...)."""

    id: str
    sip: str | None
    callstart: str
    from_number: str | None
    to_number: str | None
    disposition: str
    billseconds: int | None
    cost: float | None
    billcost: float | None
    currency: str | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> StatisticsRecord:
        """Parse one ``stats`` item."""
        return cls(
            id=_req_str(d, "id", "statistics"),
            sip=_str(d, "sip"),
            callstart=_req_str(d, "callstart", "statistics"),
            from_number=_str(d, "from"),
            to_number=_str(d, "to"),
            disposition=_req_str(d, "disposition", "statistics"),
            billseconds=_int(d, "billseconds"),
            cost=_float(d, "cost"),
            billcost=_float(d, "billcost"),
            currency=_str(d, "currency"),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class Statistics:
    """``statistics``: the period the server actually used and its calls."""

    start: str
    end: str
    stats: tuple[StatisticsRecord, ...]
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> Statistics:
        """Parse the JSON answer."""
        items = d.get("stats")
        if not isinstance(items, list):
            raise _missing(d, "stats", "statistics")
        stats = tuple(StatisticsRecord.from_wire(x) for x in items if isinstance(x, Mapping))
        start = _req_str(d, "start", "statistics")
        return cls(start, _req_str(d, "end", "statistics"), stats, raw=d)


@dataclass(frozen=True, slots=True)
class PbxInternal:
    """``pbx/internal``: the PBX id and its extension numbers."""

    pbx_id: int | None
    numbers: tuple[int, ...]
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> PbxInternal:
        """Parse the JSON answer."""
        numbers = tuple(int(n) for n in d.get("numbers") or [] if str(n).isdigit())
        return cls(_int(d, "pbx_id"), numbers, raw=d)


@dataclass(frozen=True, slots=True)
class PbxExtensionStatus:
    """``pbx/internal/<n>/status``: whether the extension is registered."""

    pbx_id: int | None
    number: int | None
    is_online: bool
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> PbxExtensionStatus:
        """Parse the JSON answer."""
        online = _req_bool(d, "is_online", "pbx/internal/status")
        return cls(_int(d, "pbx_id"), _int(d, "number"), online, raw=d)


# --- JSON-RPC ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiLimits:
    """``metadata.limits`` of a JSON-RPC answer: points per day and per minute."""

    day_limit: int | None
    day_remaining: int | None
    day_reset: int | None
    minute_limit: int | None
    minute_remaining: int | None
    minute_reset: int | None

    @classmethod
    def from_wire(cls, d: Wire) -> ApiLimits:
        """Parse ``metadata.limits``."""
        names = ("day_limit", "day_remaining", "day_reset", "minute_limit")
        return cls(*(_int(d, n) for n in (*names, "minute_remaining", "minute_reset")))


@dataclass(frozen=True, slots=True)
class RegisteredAddress:
    """One registered terminal of a SIP line: its IP and registration time."""

    ip: str
    date_time: str | None


# NovoFon's get.sip_lines page lists physical_state's values by their Russian labels
# ("Зарегистрирован" / "Не зарегистрирован"); the wire tokens are not published, so both
# the labels and the English tokens count.
_REGISTERED = frozenset({"registered", "зарегистрирован"})


@dataclass(frozen=True, slots=True)
class SipLine:
    """``get.sip_lines`` item: the line id, its SIP login (phone_number) and state."""

    id: int
    phone_number: str
    physical_state: str | None
    ip_addresses: tuple[RegisteredAddress, ...]
    billing_state: str | None
    channels_count: int | None
    virtual_phone_number: str | None
    type: str | None
    status: str | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @property
    def registered(self) -> bool:
        """Whether NovoFon sees the line registered."""
        return (self.physical_state or "").strip().lower() in _REGISTERED

    @classmethod
    def from_wire(cls, d: Wire) -> SipLine:
        """Parse one ``data`` item."""
        addresses = tuple(
            RegisteredAddress(str(a.get("ip", "")), _str(a, "date_time"))
            for a in d.get("ip_addresses") or []
            if isinstance(a, Mapping)
        )
        return cls(
            id=_req_int(d, "id", "get.sip_lines"),
            phone_number=_req_str(d, "phone_number", "get.sip_lines"),
            physical_state=_str(d, "physical_state"),
            ip_addresses=addresses,
            billing_state=_str(d, "billing_state"),
            channels_count=_int(d, "channels_count"),
            virtual_phone_number=_str(d, "virtual_phone_number"),
            type=_str(d, "type"),
            status=_str(d, "status"),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class VirtualNumber:
    """``get.virtual_numbers`` item."""

    id: int
    virtual_phone_number: str
    status: str | None
    type: str | None
    category: str | None
    activation_date: str | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> VirtualNumber:
        """Parse one ``data`` item."""
        return cls(
            id=_req_int(d, "id", "get.virtual_numbers"),
            virtual_phone_number=_req_str(d, "virtual_phone_number", "get.virtual_numbers"),
            status=_str(d, "status"),
            type=_str(d, "type"),
            category=_str(d, "category"),
            activation_date=_str(d, "activation_date"),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class CallReportRow:
    """``get.calls_report`` item (finish_reason: sip_offline, no_money, ...)."""

    id: int
    start_time: str | None
    finish_time: str | None
    finish_reason: str | None
    direction: str | None
    contact_phone_number: str | None
    virtual_phone_number: str | None
    total_duration: int | None
    talk_duration: int | None
    is_lost: bool | None
    call_api_external_id: str | None
    source: str | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> CallReportRow:
        """Parse one ``data`` item."""
        return cls(
            id=_req_int(d, "id", "get.calls_report"),
            start_time=_str(d, "start_time"),
            finish_time=_str(d, "finish_time"),
            finish_reason=_str(d, "finish_reason"),
            direction=_str(d, "direction"),
            contact_phone_number=_str(d, "contact_phone_number"),
            virtual_phone_number=_str(d, "virtual_phone_number"),
            total_duration=_int(d, "total_duration"),
            talk_duration=_int(d, "talk_duration"),
            is_lost=_bool(d, "is_lost"),
            call_api_external_id=_str(d, "call_api_external_id"),
            source=_str(d, "source"),
            raw=d,
        )


@dataclass(frozen=True, slots=True)
class Account:
    """``get.account``: account id, name and IANA time zone."""

    app_id: int
    name: str | None
    timezone: str | None
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> Account:
        """Parse one ``data`` item."""
        return cls(
            _req_int(d, "app_id", "get.account"), _str(d, "name"), _str(d, "timezone"), raw=d
        )


@dataclass(frozen=True, slots=True)
class SimpleCall:
    """``start.simple_call``: the call session id and the external_id it was started with."""

    call_session_id: int
    external_id: str


@dataclass(frozen=True, slots=True)
class CallLeg:
    """One participant of an active call (``list.calls`` legs)."""

    leg_id: int
    calling_phone_number: str | None
    called_phone_number: str | None
    is_operator: bool | None
    state: str | None

    @classmethod
    def from_wire(cls, d: Wire) -> CallLeg:
        """Parse one ``legs`` item."""
        return cls(
            _req_int(d, "leg_id", "list.calls"),
            _str(d, "calling_phone_number"),
            _str(d, "called_phone_number"),
            _bool(d, "is_operator"),
            _str(d, "state"),
        )


@dataclass(frozen=True, slots=True)
class ActiveCall:
    """``list.calls`` item: a call session in progress and its legs."""

    call_session_id: int
    direction: str | None
    start_time: str | None
    virtual_phone_number: str | None
    contact_phone_number: str | None
    external_id: str | None
    legs: tuple[CallLeg, ...]
    raw: Wire = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, d: Wire) -> ActiveCall:
        """Parse one ``data`` item."""
        legs = tuple(CallLeg.from_wire(x) for x in d.get("legs") or [] if isinstance(x, Mapping))
        return cls(
            call_session_id=_req_int(d, "call_session_id", "list.calls"),
            direction=_str(d, "direction"),
            start_time=_str(d, "start_time"),
            virtual_phone_number=_str(d, "virtual_phone_number"),
            contact_phone_number=_str(d, "contact_phone_number"),
            external_id=_str(d, "external_id"),
            legs=legs,
            raw=d,
        )
