"""SIP status codes as data: reason phrase and what it means for a trunk, in EN and RU.

A registry keyed by code with a fallback per class (1xx...6xx), like asyncpg's exception
table: the probe looks codes up here instead of branching on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from trunkctl.i18n import Text

__all__ = ["StatusInfo", "status_info"]


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """One status code: RFC reason phrase, meaning, and the next step if it is a problem."""

    code: int
    reason: str
    meaning: Text
    next_step: Text | None = None


_T = Text

_CHECK_CREDS = _T(
    "Check the SIP login and password in the provider's cabinet (copy them again, no spaces).",
    "Проверьте SIP-логин и пароль в личном кабинете провайдера (скопируйте заново, без пробелов).",
)

_TABLE: dict[int, StatusInfo] = {
    s.code: s
    for s in (
        StatusInfo(100, "Trying", _T("The request is being processed.", "Запрос обрабатывается.")),
        StatusInfo(180, "Ringing", _T("The callee is ringing.", "Вызываемый абонент звонит.")),
        StatusInfo(183, "Session Progress", _T("Early media (ringback).", "Ранние медиа (гудки).")),
        StatusInfo(200, "OK", _T("Success.", "Успешно.")),
        StatusInfo(202, "Accepted", _T("Accepted for processing.", "Принято к обработке.")),
        StatusInfo(
            400,
            "Bad Request",
            _T("The peer could not parse our request.", "Сервер не смог разобрать наш запрос."),
            _T(
                "Report it with the raw exchange (trunkctl --json output).",
                "Сообщите об ошибке, приложив сырой обмен (вывод trunkctl --json).",
            ),
        ),
        StatusInfo(
            401,
            "Unauthorized",
            _T(
                "The registrar wants digest credentials.",
                "Регистратор требует digest-аутентификацию.",
            ),
            _CHECK_CREDS,
        ),
        StatusInfo(
            403,
            "Forbidden",
            _T(
                "Refused: wrong credentials, an IP address the provider has not verified, "
                "or a blocked account.",
                "Отказано: неверные учётные данные, IP-адрес не подтверждён у провайдера "
                "или аккаунт заблокирован.",
            ),
            _T(
                "Check the login and password; in the cabinet check the trunk's allowed IP "
                "addresses and the account status.",
                "Проверьте логин и пароль; в кабинете проверьте разрешённые IP-адреса транка "
                "и статус аккаунта.",
            ),
        ),
        StatusInfo(
            404,
            "Not Found",
            _T("The user or number does not exist there.", "Такого пользователя или номера нет."),
            _T(
                "Check the SIP login (NovoFon: 7 digits with leading zeros) and the domain.",
                "Проверьте SIP-логин (NovoFon: 7 цифр с ведущими нулями) и домен.",
            ),
        ),
        StatusInfo(
            405,
            "Method Not Allowed",
            _T("The peer does not accept this method.", "Сервер не принимает этот метод."),
            _T(
                "Registration is probably not used on this trunk (IP-based trunk).",
                "Вероятно, на этом транке регистрация не используется (транк по IP).",
            ),
        ),
        StatusInfo(
            407,
            "Proxy Authentication Required",
            _T("The proxy wants digest credentials.", "Прокси требует digest-аутентификацию."),
            _CHECK_CREDS,
        ),
        StatusInfo(
            408,
            "Request Timeout",
            _T(
                "The peer gave up waiting downstream.",
                "Сервер не дождался ответа дальше по цепочке.",
            ),
        ),
        StatusInfo(
            423,
            "Interval Too Brief",
            _T("The registration period is too short.", "Слишком короткий срок регистрации."),
            _T(
                "Raise expiration to at least the Min-Expires the peer sent.",
                "Увеличьте expiration не меньше Min-Expires из ответа.",
            ),
        ),
        StatusInfo(
            480,
            "Temporarily Unavailable",
            _T("The callee is not reachable now.", "Абонент сейчас недоступен."),
        ),
        StatusInfo(
            481,
            "Call/Transaction Does Not Exist",
            _T("No such dialog or transaction.", "Нет такого диалога или транзакции."),
        ),
        StatusInfo(482, "Loop Detected", _T("The request looped.", "Запрос зациклился.")),
        StatusInfo(483, "Too Many Hops", _T("Max-Forwards ran out.", "Исчерпан Max-Forwards.")),
        StatusInfo(486, "Busy Here", _T("The callee is busy.", "Абонент занят.")),
        StatusInfo(487, "Request Terminated", _T("The request was cancelled.", "Запрос отменён.")),
        StatusInfo(
            488,
            "Not Acceptable Here",
            _T("No common codec or media.", "Нет общего кодека или медиа."),
            _T(
                "Allow alaw and ulaw on the provider endpoint.",
                "Разрешите alaw и ulaw на endpoint провайдера.",
            ),
        ),
        StatusInfo(
            500,
            "Server Internal Error",
            _T("The peer failed internally.", "Внутренняя ошибка сервера."),
            _T(
                "Retry later; if it persists, contact the provider.",
                "Повторите позже; если не пройдёт — обратитесь к провайдеру.",
            ),
        ),
        StatusInfo(
            501,
            "Not Implemented",
            _T("The peer does not implement this method.", "Сервер не поддерживает этот метод."),
        ),
        StatusInfo(
            503,
            "Service Unavailable",
            _T(
                "The peer is overloaded or in maintenance.",
                "Сервер перегружен или на обслуживании.",
            ),
            _T(
                "Retry later; if it persists, contact the provider.",
                "Повторите позже; если не пройдёт — обратитесь к провайдеру.",
            ),
        ),
        StatusInfo(
            504,
            "Server Time-out",
            _T("A server downstream did not answer.", "Следующий сервер в цепочке не ответил."),
        ),
        StatusInfo(603, "Decline", _T("The callee declined.", "Абонент отклонил вызов.")),
    )
}

_CLASSES: dict[int, Text] = {
    1: _T("Provisional answer.", "Предварительный ответ."),
    2: _T("Success.", "Успешно."),
    3: _T("Redirection.", "Перенаправление."),
    4: _T("The request was refused (client error).", "Запрос отклонён (ошибка клиента)."),
    5: _T("The server failed.", "Ошибка сервера."),
    6: _T("Global failure.", "Глобальный отказ."),
}


def status_info(code: int, reason: str = "") -> StatusInfo:
    """What ``code`` means; unknown codes fall back to their class (4xx, 5xx...)."""
    known = _TABLE.get(code)
    if known is not None:
        return known
    meaning = _CLASSES.get(code // 100, _T("Unknown status.", "Неизвестный статус."))
    return StatusInfo(code, reason, meaning)
