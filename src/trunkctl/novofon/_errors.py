"""NovoFon's failures as trunkctl errors, and the tables that pick one for an API answer.

    NovofonError                      exit 7   anything between trunkctl and NovoFon's APIs
    ├── NovofonConnectionError                 could not connect; nothing was sent
    ├── NovofonTimeout                         a read got no answer in time
    ├── NovofonProtocolError                   the answer is not the JSON it should be
    ├── NovofonServerError                     HTTP 5xx on a read
    ├── NovofonOutcomeUnknown                  a call/password change was sent, its answer lost
    ├── NovofonWebhookError                    a webhook post failed verification
    └── NovofonApiError                        NovoFon answered with an error
        ├── NovofonAuthError                   -32001 / HTTP 401: key, secret, login, token
        ├── NovofonBlocked                     -32002: security rules or blacklist
        ├── NovofonForbidden                   -32003 forbidden / HTTP 403
        │   └── NovofonIpNotWhitelisted        -32003 ip_not_whitelisted
        ├── NovofonVirtualNumberError          -32007
        ├── NovofonComponentDisabled           -32008
        ├── NovofonAccountInactive             -32009
        ├── NovofonRateLimited                 -32029 / HTTP 429 (carries retry_after)
        └── NovofonBadParams                   -32602 / HTTP 400

Codes and mnemonics are the ones NovoFon documents for the Data API 2.0 and Call API 4.0
(novofon.github.io data_api/ and call_api/, "Группы кодов ошибок"); the docs advise
keying on the mnemonic, so the tables below do, with the code as fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trunkctl.errors import TrunkctlError
from trunkctl.i18n import Text

from ._secret import Secret, scrub

__all__ = [
    "NovofonAccountInactive",
    "NovofonApiError",
    "NovofonAuthError",
    "NovofonBadParams",
    "NovofonBlocked",
    "NovofonComponentDisabled",
    "NovofonConnectionError",
    "NovofonError",
    "NovofonForbidden",
    "NovofonIpNotWhitelisted",
    "NovofonOutcomeUnknown",
    "NovofonProtocolError",
    "NovofonRateLimited",
    "NovofonServerError",
    "NovofonTimeout",
    "NovofonVirtualNumberError",
    "NovofonWebhookError",
]


class NovofonError(TrunkctlError):
    """Talking to NovoFon's HTTP APIs (or verifying its webhooks) failed."""

    exit_code = 7
    code = "novofon"


class NovofonConnectionError(NovofonError):
    """No connection could be made; the request never left this machine."""

    code = "novofon_connection"


class NovofonTimeout(NovofonError):
    """A read-only request got no answer in time (safe to repeat)."""

    code = "novofon_timeout"


class NovofonProtocolError(NovofonError):
    """The answer is not the JSON the API documents (a proxy page, an HTML error...)."""

    code = "novofon_protocol"


class NovofonServerError(NovofonError):
    """NovoFon answered a read-only request with HTTP 5xx."""

    code = "novofon_server"


class NovofonOutcomeUnknown(NovofonError):
    """A request with effects (a call, a password change) was sent and its answer lost.

    Never retried automatically: repeating could place a second call. ``external_id`` (Call
    API) names the attempt so the calls report can tell whether it happened.
    """

    code = "novofon_outcome_unknown"

    def __init__(
        self,
        what: Text | str,
        *,
        method: str,
        external_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.method = method
        self.external_id = external_id
        super().__init__(what, method=method, external_id=external_id, **kwargs)


class NovofonWebhookError(NovofonError):
    """A webhook post was refused: bad or missing signature, unknown event, bad form."""

    code = "novofon_webhook"


class NovofonApiError(NovofonError):
    """NovoFon answered with an error: JSON-RPC ``error`` or REST ``status: error``/HTTP 4xx."""

    code = "novofon_api"

    def __init__(
        self,
        what: Text | str,
        *,
        method: str,
        api_code: int | None = None,
        mnemonic: str | None = None,
        http_status: int | None = None,
        field: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.method = method
        self.api_code = api_code
        self.mnemonic = mnemonic
        self.http_status = http_status
        self.field = field
        details: dict[str, Any] = {
            "method": method,
            "api_code": api_code,
            "mnemonic": mnemonic,
            "http_status": http_status,
            "field": field,
        }
        kwargs.update((k, v) for k, v in details.items() if v is not None)
        super().__init__(what, **kwargs)


class NovofonAuthError(NovofonApiError):
    """Credentials refused: REST key/secret, JSON-RPC login/password, token or API key."""

    code = "novofon_auth"


class NovofonBlocked(NovofonApiError):
    """-32002: the account's security rules or blacklist forbid this call."""

    code = "novofon_blocked"


class NovofonForbidden(NovofonApiError):
    """-32003 or HTTP 403: the user or this machine may not call the method."""

    code = "novofon_forbidden"


class NovofonIpNotWhitelisted(NovofonForbidden):
    """-32003 ip_not_whitelisted: this machine's address is not in the API whitelist."""

    code = "novofon_ip_not_whitelisted"


class NovofonVirtualNumberError(NovofonApiError):
    """-32007: the virtual number is unknown to the account or not usable."""

    code = "novofon_virtual_number"


class NovofonComponentDisabled(NovofonApiError):
    """-32008: the component (Call API package...) the method needs is off."""

    code = "novofon_component_disabled"


class NovofonAccountInactive(NovofonApiError):
    """-32009: the account is disabled."""

    code = "novofon_account_inactive"


class NovofonRateLimited(NovofonApiError):
    """-32029 or HTTP 429: a rate limit is used up; ``retry_after`` seconds if known."""

    code = "novofon_rate_limited"

    def __init__(self, what: Text | str, *, retry_after: float | None = None, **kwargs: Any):
        self.retry_after = retry_after
        super().__init__(what, **kwargs)


class NovofonBadParams(NovofonApiError):
    """-32602 or HTTP 400: a parameter is missing, unexpected or has a bad value."""

    code = "novofon_bad_params"


# --- JSON-RPC: mnemonic first, then code ------------------------------------------------

_Entry = tuple[type[NovofonApiError], Text, Text]

_REPORT_BUG = Text(
    "This is a bug in trunkctl: please report it with the evidence above.",
    "Это ошибка trunkctl: сообщите о ней, приложив сведения выше.",
)
_FIX_PARAM = Text(
    "Fix the parameter named in the evidence and try again.",
    "Исправьте параметр, указанный в сведениях выше, и повторите.",
)
_CABINET_KEY = Text(
    "Copy the API key again from the NovoFon cabinet (PBX users → Administrator → API tab).",
    "Скопируйте ключ API заново в кабинете NovoFon (Пользователи АТС → Администратор → "
    "вкладка API).",
)

_BY_MNEMONIC: dict[str, _Entry] = {
    "auth_error": (
        NovofonAuthError,
        Text("NovoFon refused the login or password", "NovoFon не принял логин или пароль"),
        Text(
            "Check the API user's login and password in the NovoFon cabinet and try again.",
            "Проверьте логин и пароль пользователя API в кабинете NovoFon и повторите.",
        ),
    ),
    "access_token_invalid": (
        NovofonAuthError,
        Text("NovoFon did not accept the access token", "NovoFon не принял ключ доступа"),
        _CABINET_KEY,
    ),
    "access_token_expired": (
        NovofonAuthError,
        Text("The permanent API key has expired", "Срок действия постоянного ключа API истёк"),
        Text(
            "Issue a new API key in the NovoFon cabinet (PBX users → Administrator → API tab).",
            "Выпустите новый ключ API в кабинете NovoFon (Пользователи АТС → Администратор → "
            "вкладка API).",
        ),
    ),
    "access_token_blocked": (
        NovofonAuthError,
        Text("The API key is blocked", "Ключ API заблокирован"),
        Text(
            "Unblock the key or issue a new one in the NovoFon cabinet.",
            "Разблокируйте ключ или выпустите новый в кабинете NovoFon.",
        ),
    ),
    "ip_not_whitelisted": (
        NovofonIpNotWhitelisted,
        Text(
            "NovoFon refused this machine's IP address: it is not in the API whitelist",
            "NovoFon отклонил IP-адрес этой машины: его нет в списке разрешённых для API",
        ),
        Text(
            "Add the address shown in the evidence in the cabinet: Settings → Rules and "
            "security settings → API tab. Then repeat.",
            "Добавьте адрес из сведений выше в кабинете: Настройки → Правила и настройки "
            "безопасности → вкладка API. Затем повторите.",
        ),
    ),
    "forbidden": (
        NovofonForbidden,
        Text(
            "The API user has no right to call this method",
            "У пользователя API нет прав на этот метод",
        ),
        Text(
            "Grant the user API rights in the cabinet, or use the administrator's key.",
            "Дайте пользователю права на API в кабинете или используйте ключ администратора.",
        ),
    ),
    "contact_in_blacklist": (
        NovofonBlocked,
        Text(
            "NovoFon refused the call: the number is in the blacklist",
            "NovoFon отказал в звонке: номер в чёрном списке",
        ),
        Text(
            "Remove the number from the blacklist in the cabinet, or call another number.",
            "Уберите номер из чёрного списка в кабинете или позвоните на другой номер.",
        ),
    ),
    "virtual_phone_number_not_found": (
        NovofonVirtualNumberError,
        Text(
            "The virtual number is not one of this account's numbers",
            "Виртуальный номер не принадлежит этому аккаунту",
        ),
        Text(
            "Use one of the numbers that get.virtual_numbers lists.",
            "Укажите один из номеров, которые возвращает get.virtual_numbers.",
        ),
    ),
    "own_virtual_phone_number_not_allowed": (
        NovofonBadParams,
        Text(
            "A call to the account's own virtual number is not allowed",
            "Звонок на собственный виртуальный номер запрещён",
        ),
        Text(
            "Call a number outside the account (the contact must not be a virtual number).",
            "Позвоните на внешний номер (contact не может быть своим виртуальным номером).",
        ),
    ),
    "date_interval_limit_reached": (
        NovofonBadParams,
        Text(
            "The requested period is longer than 3 months", "Запрошенный период длиннее 3 месяцев"
        ),
        Text(
            "Split the period into parts of at most 3 months.",
            "Разбейте период на части не длиннее 3 месяцев.",
        ),
    ),
    "call_session_not_found": (
        NovofonBadParams,
        Text("No call with that session id is in progress", "Звонка с таким id сессии нет"),
        Text(
            "List the active calls (list.calls); the call may have ended already.",
            "Посмотрите активные звонки (list.calls): звонок мог уже завершиться.",
        ),
    ),
}

_BY_CODE: dict[int, _Entry] = {
    -32001: (
        NovofonAuthError,
        Text("NovoFon refused the credentials", "NovoFon не принял учётные данные"),
        _CABINET_KEY,
    ),
    -32002: (
        NovofonBlocked,
        Text(
            "NovoFon's security rules forbid this call",
            "Правила безопасности NovoFon запрещают этот звонок",
        ),
        Text(
            "Allow the direction in Settings → Rules and security settings → API "
            "(international calls are off by default).",
            "Разрешите направление в Настройки → Правила и настройки безопасности → API "
            "(международные звонки по умолчанию запрещены).",
        ),
    ),
    -32003: _BY_MNEMONIC["forbidden"],
    -32007: _BY_MNEMONIC["virtual_phone_number_not_found"],
    -32008: (
        NovofonComponentDisabled,
        Text(
            "The NovoFon component this method needs is not enabled",
            "Компонент NovoFon, нужный этому методу, не подключён",
        ),
        Text(
            "Enable the component named in the evidence (e.g. «Call API basic set») in the "
            "cabinet or ask NovoFon support.",
            "Подключите компонент из сведений выше (например, «Call API Базовый набор») в "
            "кабинете или через поддержку NovoFon.",
        ),
    ),
    -32009: (
        NovofonAccountInactive,
        Text("The NovoFon account is disabled", "Аккаунт NovoFon заблокирован"),
        Text(
            "Contact NovoFon support and give them the time of this request.",
            "Обратитесь в поддержку NovoFon и назовите время этого запроса.",
        ),
    ),
    -32029: (
        NovofonRateLimited,
        Text("NovoFon's API limit is used up", "Лимит запросов к API NovoFon исчерпан"),
        Text(
            "Wait until the limit resets (see the evidence) and spread requests out.",
            "Дождитесь сброса лимита (см. сведения выше) и делайте запросы реже.",
        ),
    ),
    -32602: (
        NovofonBadParams,
        Text("NovoFon rejected a parameter", "NovoFon отклонил параметр"),
        _FIX_PARAM,
    ),
    -32601: (
        NovofonApiError,
        Text(
            "NovoFon does not know this method in this API version",
            "NovoFon не знает этот метод в этой версии API",
        ),
        Text(
            "Check the base URL: v2.0 for the Data API, v4.0 for the Call API.",
            "Проверьте базовый URL: v2.0 для Data API, v4.0 для Call API.",
        ),
    ),
    -32603: (
        NovofonApiError,
        Text("NovoFon reported an internal error", "NovoFon сообщил о внутренней ошибке"),
        Text(
            "Try again later; if it repeats, send NovoFon support the method and time.",
            "Повторите позже; если ошибка повторяется, сообщите поддержке NovoFon метод и время.",
        ),
    ),
}

_FALLBACK: _Entry = (
    NovofonApiError,
    Text("NovoFon answered with an error", "NovoFon ответил ошибкой"),
    _REPORT_BUG,
)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


def retry_after_from_limits(limits: Mapping[str, Any] | None) -> float | None:
    """Seconds until a JSON-RPC limit resets, from ``metadata.limits`` (minute before day)."""
    if not limits:
        return None
    for name in ("minute", "day"):
        remaining = _int_or_none(limits.get(f"{name}_remaining"))
        reset = limits.get(f"{name}_reset")
        if remaining is not None and remaining <= 0 and isinstance(reset, int | float):
            return float(reset)
    return None


def jsonrpc_error(
    error: Mapping[str, Any],
    *,
    method: str,
    http_status: int,
    secrets: Iterable[Secret | str | None],
) -> NovofonApiError:
    """The typed error for one JSON-RPC ``error`` object (secrets scrubbed from evidence)."""
    secrets = tuple(secrets)
    data = error.get("data") if isinstance(error.get("data"), Mapping) else {}
    assert isinstance(data, Mapping)
    api_code = _int_or_none(error.get("code"))
    mnemonic = str(data["mnemonic"]) if data.get("mnemonic") is not None else None
    field = str(data["field"]) if data.get("field") is not None else None
    entry = _BY_MNEMONIC.get(mnemonic or "") or _BY_CODE.get(api_code or 0) or _FALLBACK
    cls, what, next_step = entry
    lines = [f"{method}: JSON-RPC error {api_code} {mnemonic or ''}".rstrip()]
    lines.append(f"message: {error.get('message', '')}")
    if field:
        lines.append(f"field: {field}")
    # data.value echoes the caller's input verbatim; a password or token must not reach
    # the evidence, so it is only shown for fields that are not credentials.
    if data.get("value") is not None and (field or "") not in _SECRET_FIELDS:
        lines.append(f"value: {data['value']}")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else None
    limits = metadata.get("limits") if metadata else None
    retry_after = retry_after_from_limits(limits if isinstance(limits, Mapping) else None)
    if retry_after is not None:
        lines.append(f"limit resets in {retry_after:g} s")
    evidence = scrub("\n".join(lines), secrets)
    kwargs: dict[str, Any] = {
        "method": method,
        "api_code": api_code,
        "mnemonic": mnemonic,
        "http_status": http_status,
        "field": field,
    }
    if cls is NovofonRateLimited:
        return NovofonRateLimited(
            what, evidence=evidence, next_step=next_step, retry_after=retry_after, **kwargs
        )
    return cls(what, evidence=evidence, next_step=next_step, **kwargs)


_SECRET_FIELDS = frozenset({"password", "access_token", "login"})


# --- REST v1: HTTP status first, then the body's message ---------------------------------

_REST_AUTH = (
    Text("NovoFon refused the API key or signature", "NovoFon не принял ключ API или подпись"),
    Text(
        "Check the key and secret in the NovoFon cabinet (Settings → API); both are 20 "
        "characters; copy them again without spaces.",
        "Проверьте ключ и секрет в кабинете NovoFon (Настройки → API): оба длиной 20 "
        "символов; скопируйте их заново без пробелов.",
    ),
)
_REST_RATE = (
    Text(
        "NovoFon's rate limit is reached (documented: 100 requests a minute, 3 a minute "
        "for statistics)",
        "Достигнут лимит запросов NovoFon (по документации: 100 в минуту, 3 в минуту для "
        "статистики)",
    ),
    Text(
        "Wait until the limit resets (see the evidence) and try again.",
        "Дождитесь сброса лимита (см. сведения выше) и повторите.",
    ),
)
_REST_FORBIDDEN = (
    Text("NovoFon refused access (HTTP 403)", "NovoFon запретил доступ (HTTP 403)"),
    Text(
        "Check that API access is enabled for this key and, if the cabinet limits API "
        "access by IP address, that this machine's address is allowed.",
        "Проверьте, что доступ к API для ключа включён и, если в кабинете доступ к API "
        "ограничен по IP, что адрес этой машины разрешён.",
    ),
)
_REST_NOT_FOUND = (
    Text("NovoFon does not know this API method", "NovoFon не знает такой метод API"),
    Text(
        "Check the method path (it starts with /v1/ and ends with '/').",
        "Проверьте путь метода (начинается с /v1/ и заканчивается на '/').",
    ),
)
_REST_ERROR = (
    Text("NovoFon answered with an error", "NovoFon ответил ошибкой"),
    Text(
        "Read NovoFon's message in the evidence, fix the request and try again.",
        "Прочитайте сообщение NovoFon в сведениях выше, исправьте запрос и повторите.",
    ),
)


def rest_error(
    *,
    method: str,
    http_status: int,
    message: str,
    retry_after: float | None,
    secrets: Iterable[Secret | str | None],
) -> NovofonApiError:
    """The typed error for a REST v1 answer with ``status: error`` or HTTP 4xx."""
    evidence = scrub(f"{method}: HTTP {http_status}\nmessage: {message}", secrets)
    kwargs: dict[str, Any] = {"method": method, "http_status": http_status}
    if http_status == 429:
        if retry_after is not None:
            evidence += f"\nlimit resets in {retry_after:g} s"
        what, next_step = _REST_RATE
        return NovofonRateLimited(
            what, evidence=evidence, next_step=next_step, retry_after=retry_after, **kwargs
        )
    cls: type[NovofonApiError]
    if http_status == 401:
        cls, (what, next_step) = NovofonAuthError, _REST_AUTH
    elif http_status == 403:
        cls, (what, next_step) = NovofonForbidden, _REST_FORBIDDEN
    elif http_status == 404:
        cls, (what, next_step) = NovofonApiError, _REST_NOT_FOUND
    elif http_status == 400:
        cls, (what, next_step) = NovofonBadParams, _REST_ERROR
    else:
        cls, (what, next_step) = NovofonApiError, _REST_ERROR
    return cls(what, evidence=evidence, next_step=next_step, **kwargs)


# --- transport-level failures -----------------------------------------------------------

_UNKNOWN_NEXT: dict[str, Text] = {
    "start.simple_call": Text(
        "Do not repeat it blindly: first look for external_id {external_id} in the calls "
        "report (get.calls_report, field call_api_external_id) and in the active calls "
        "(list.calls); repeat only if it is in neither.",
        "Не повторяйте вслепую: сначала найдите external_id {external_id} в отчёте по "
        "звонкам (get.calls_report, поле call_api_external_id) и в активных звонках "
        "(list.calls); повторяйте, только если его нет ни там, ни там.",
    ),
    "request/callback": Text(
        "Do not repeat it blindly: first check the call statistics (statistics: "
        "`trunkctl api calls --via v1`) from {sent_at} on; repeat only if the callback is "
        "not there.",
        "Не повторяйте вслепую: сначала проверьте статистику звонков (statistics: "
        "`trunkctl api calls --via v1`) начиная с {sent_at}; повторяйте, только если "
        "обратного звонка там нет.",
    ),
    "update.sip_line_password": Text(
        "The SIP password may already have changed: check whether the line still "
        "registers; if not, generate a new password again and put it into pjsip.conf.",
        "Пароль SIP мог уже смениться: проверьте, регистрируется ли линия; если нет, "
        "сгенерируйте пароль ещё раз и впишите его в pjsip.conf.",
    ),
    "release.call": Text(
        "List the active calls (list.calls) to see whether the call is still there.",
        "Посмотрите активные звонки (list.calls): есть ли там ещё этот звонок.",
    ),
}
_UNKNOWN_DEFAULT = Text(
    "Check the request's effect in the NovoFon cabinet before repeating it.",
    "Прежде чем повторять, проверьте в кабинете NovoFon, выполнился ли запрос.",
)


def outcome_unknown(
    *, method: str, reason: str, sent_at: str, external_id: str | None = None
) -> NovofonOutcomeUnknown:
    """The error for a request with effects whose answer never came back intact."""
    what = Text(
        "The {method} request was sent, but NovoFon's answer was lost ({reason}): it may "
        "or may not have taken effect",
        "Запрос {method} отправлен, но ответ NovoFon потерян ({reason}): он мог как "
        "выполниться, так и нет",
    ).format(method=method, reason=reason)
    next_step = _UNKNOWN_NEXT.get(method, _UNKNOWN_DEFAULT).format(
        external_id=external_id or "-", sent_at=sent_at
    )
    evidence = Text(
        f"{method} sent at {sent_at}; external_id: {external_id or '-'}; {reason}",
        f"{method} отправлен в {sent_at}; external_id: {external_id or '-'}; {reason}",
    )
    return NovofonOutcomeUnknown(
        what, evidence=evidence, next_step=next_step, method=method, external_id=external_id
    )
