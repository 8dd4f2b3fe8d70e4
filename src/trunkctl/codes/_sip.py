"""SIP response status codes: RFC 3261 §21 plus the extensions registered with IANA.

Reason phrases are the ones the defining RFC recommends; the far end may send another
phrase with the same code (RFC 3261 §7.2 makes the phrase informational only).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import Text
from ._registry import CodeTable

__all__ = ["SIP_STATUSES", "SipStatus", "sip_status"]


@dataclass(frozen=True, slots=True)
class SipStatus:
    """One SIP status code: the RFC's reason phrase, a short meaning, and where it is defined."""

    code: int
    reason: str
    meaning: Text
    rfc: str = "RFC 3261"
    known: bool = True

    @property
    def klass(self) -> int:
        """The class digit: 1 provisional, 2 success, 3 redirect, 4/5/6 client/server/global."""
        return self.code // 100

    @property
    def is_final(self) -> bool:
        """True for 2xx–6xx: the INVITE transaction is over (RFC 3261 §7.2)."""
        return 200 <= self.code <= 699


def _s(code: int, reason: str, en: str, ru: str, rfc: str = "RFC 3261") -> SipStatus:
    return SipStatus(code, reason, Text(en, ru), rfc)


_ROWS = (
    # 1xx provisional
    _s(
        100,
        "Trying",
        "The next hop received the request and is working on it.",
        "Следующий узел получил запрос и обрабатывает его.",
    ),
    _s(180, "Ringing", "The called phone is ringing.", "У вызываемого абонента идёт звонок."),
    _s(
        181,
        "Call Is Being Forwarded",
        "The call is being forwarded to another destination.",
        "Вызов переадресуется на другой номер.",
    ),
    _s(
        182,
        "Queued",
        "The callee is unavailable for now; the call waits in a queue.",
        "Абонент пока недоступен, вызов поставлен в очередь.",
    ),
    _s(
        183,
        "Session Progress",
        "Call progress with early media (ringback tone or announcement).",
        "Вызов продвигается; идёт ранний звук: гудки или сообщение оператора.",
    ),
    _s(
        199,
        "Early Dialog Terminated",
        "One of the forked early dialogs was closed.",
        "Один из ранних диалогов (при разветвлении вызова) закрыт.",
        "RFC 6228",
    ),
    # 2xx success
    _s(
        200,
        "OK",
        "The request succeeded; for INVITE the call was answered.",
        "Запрос выполнен; для INVITE это значит, что на вызов ответили.",
    ),
    _s(
        202,
        "Accepted",
        "Accepted for processing, not completed yet (REFER, SUBSCRIBE).",
        "Запрос принят в обработку, но ещё не выполнен (REFER, SUBSCRIBE).",
        "RFC 3265",
    ),
    _s(
        204,
        "No Notification",
        "The subscription was refreshed, no NOTIFY will follow.",
        "Подписка обновлена, уведомление NOTIFY не последует.",
        "RFC 5839",
    ),
    # 3xx redirection
    _s(
        300,
        "Multiple Choices",
        "The callee can be reached at several addresses.",
        "Абонент доступен по нескольким адресам, нужно выбрать один.",
    ),
    _s(
        301,
        "Moved Permanently",
        "The callee moved to the address in Contact for good.",
        "Абонент окончательно переехал на адрес из заголовка Contact.",
    ),
    _s(
        302,
        "Moved Temporarily",
        "Call the address in Contact instead (call forwarding).",
        "Звонить нужно на адрес из заголовка Contact (переадресация).",
    ),
    _s(
        305,
        "Use Proxy",
        "The request must go through the proxy in Contact.",
        "Запрос нужно отправить через прокси из заголовка Contact.",
    ),
    _s(
        380,
        "Alternative Service",
        "The call failed, but another service is possible.",
        "Вызов не прошёл, но возможна альтернативная услуга.",
    ),
    # 4xx client errors: something in our request
    _s(
        400,
        "Bad Request",
        "The request is malformed and the far end cannot parse it.",
        "Запрос составлен с ошибкой, и другая сторона не может его разобрать.",
    ),
    _s(
        401,
        "Unauthorized",
        "Authentication required: the server challenges us for credentials.",
        "Нужна авторизация: сервер запрашивает логин и пароль.",
    ),
    _s(
        402,
        "Payment Required",
        "Reserved for future use; some providers use it for no funds.",
        "Зарезервирован стандартом; некоторые операторы так сообщают о нехватке денег.",
    ),
    _s(
        403,
        "Forbidden",
        "The server understood the request and refuses to carry it.",
        "Сервер понял запрос, но отказывается его выполнять.",
    ),
    _s(
        404,
        "Not Found",
        "The called number or user does not exist at this server.",
        "Вызываемый номер или пользователь на этом сервере не найден.",
    ),
    _s(
        405,
        "Method Not Allowed",
        "The method is not allowed for this address.",
        "Этот метод для данного адреса не разрешён.",
    ),
    _s(
        406,
        "Not Acceptable",
        "The far end cannot produce a response we would accept.",
        "Другая сторона не может дать ответ в приемлемом для нас формате.",
    ),
    _s(
        407,
        "Proxy Authentication Required",
        "The provider's proxy challenges us for credentials (Proxy-Authenticate).",
        "Прокси оператора запрашивает логин и пароль (Proxy-Authenticate).",
    ),
    _s(
        408,
        "Request Timeout",
        "No final answer in time; PJSIP also reports its own timeout as 408.",
        "Окончательного ответа не дождались; PJSIP так же сообщает и о собственном тайм-ауте.",
    ),
    _s(
        409,
        "Conflict",
        "Conflicting request (defined only in the obsolete RFC 2543).",
        "Конфликт запросов (код был только в устаревшем RFC 2543).",
        "RFC 2543",
    ),
    _s(
        410,
        "Gone",
        "The number existed but is no longer in service.",
        "Номер раньше существовал, но больше не обслуживается.",
    ),
    _s(
        411,
        "Length Required",
        "Content-Length missing (defined only in the obsolete RFC 2543).",
        "Не хватает Content-Length (код был только в устаревшем RFC 2543).",
        "RFC 2543",
    ),
    _s(
        412,
        "Conditional Request Failed",
        "The precondition of a PUBLISH did not hold.",
        "Не выполнилось условие запроса PUBLISH.",
        "RFC 3903",
    ),
    _s(
        413,
        "Request Entity Too Large",
        "The message body is too large for the server.",
        "Тело сообщения слишком велико для сервера.",
    ),
    _s(
        414,
        "Request-URI Too Long",
        "The Request-URI is too long for the server.",
        "Адрес в запросе (Request-URI) слишком длинный для сервера.",
    ),
    _s(
        415,
        "Unsupported Media Type",
        "The body type (e.g. the SDP format) is not supported.",
        "Тип тела сообщения (например, формат SDP) не поддерживается.",
    ),
    _s(
        416,
        "Unsupported URI Scheme",
        "The URI scheme (sip:, sips:, tel:) is not supported.",
        "Схема адреса (sip:, sips:, tel:) не поддерживается.",
    ),
    _s(
        417,
        "Unknown Resource-Priority",
        "The Resource-Priority header was not understood.",
        "Заголовок Resource-Priority не распознан.",
        "RFC 4412",
    ),
    _s(
        420,
        "Bad Extension",
        "A SIP extension listed in Require is not supported.",
        "Расширение SIP из заголовка Require не поддерживается.",
    ),
    _s(
        421,
        "Extension Required",
        "The server needs a SIP extension we did not offer.",
        "Серверу нужно расширение SIP, которое мы не предложили.",
    ),
    _s(
        422,
        "Session Interval Too Small",
        "The session timer interval is below the minimum.",
        "Интервал session timer меньше допустимого минимума.",
        "RFC 4028",
    ),
    _s(
        423,
        "Interval Too Brief",
        "The requested registration expiry is too short.",
        "Запрошенный срок регистрации слишком короткий.",
    ),
    _s(
        424,
        "Bad Location Information",
        "The location information in the request is invalid.",
        "Сведения о местоположении в запросе неверны.",
        "RFC 6442",
    ),
    _s(
        425,
        "Bad Alert Message",
        "The Alert-Info content was rejected.",
        "Содержимое Alert-Info отклонено.",
        "RFC 8876",
    ),
    _s(
        428,
        "Use Identity Header",
        "The request must carry an Identity header.",
        "Запрос должен содержать заголовок Identity.",
        "RFC 8224",
    ),
    _s(
        429,
        "Provide Referrer Identity",
        "The REFER must carry the referrer's identity.",
        "В REFER нужно указать, кто передаёт вызов.",
        "RFC 3892",
    ),
    _s(
        430,
        "Flow Failed",
        "The connection (flow) to the user agent broke.",
        "Соединение (flow) с абонентским устройством оборвалось.",
        "RFC 5626",
    ),
    _s(
        433,
        "Anonymity Disallowed",
        "Anonymous calls are refused by the callee.",
        "Абонент не принимает анонимные вызовы.",
        "RFC 5079",
    ),
    _s(
        436,
        "Bad Identity Info",
        "The Identity header's info could not be used.",
        "Сведения из заголовка Identity использовать не удалось.",
        "RFC 8224",
    ),
    _s(
        437,
        "Unsupported Credential",
        "The certificate behind Identity is not supported.",
        "Сертификат, указанный в Identity, не поддерживается.",
        "RFC 8224",
    ),
    _s(
        438,
        "Invalid Identity Header",
        "The Identity header signature did not verify.",
        "Подпись в заголовке Identity не прошла проверку.",
        "RFC 8224",
    ),
    _s(
        439,
        "First Hop Lacks Outbound Support",
        "The first proxy does not support SIP Outbound.",
        "Первый прокси не поддерживает SIP Outbound.",
        "RFC 5626",
    ),
    _s(
        440,
        "Max-Breadth Exceeded",
        "Too many parallel forks of the request.",
        "Запрос слишком сильно разветвлён параллельно.",
        "RFC 5393",
    ),
    _s(
        469,
        "Bad Info Package",
        "The INFO package is not supported by the far end.",
        "Пакет INFO не поддерживается другой стороной.",
        "RFC 6086",
    ),
    _s(
        470,
        "Consent Needed",
        "The recipient has not consented to receive this request.",
        "Получатель не давал согласия на такие запросы.",
        "RFC 5360",
    ),
    _s(
        480,
        "Temporarily Unavailable",
        "The callee is unreachable for now (phone off, no coverage).",
        "Абонент временно недоступен (выключен или вне сети).",
    ),
    _s(
        481,
        "Call/Transaction Does Not Exist",
        "The request refers to a call the far end does not know.",
        "Запрос относится к вызову, о котором другая сторона не знает.",
    ),
    _s(
        482,
        "Loop Detected",
        "The request came back to a server it had passed (routing loop).",
        "Запрос вернулся на уже пройденный сервер (петля маршрутизации).",
    ),
    _s(
        483,
        "Too Many Hops",
        "Max-Forwards reached zero: the route is too long or loops.",
        "Max-Forwards дошёл до нуля: маршрут слишком длинный или зациклен.",
    ),
    _s(
        484,
        "Address Incomplete",
        "The number is incomplete: too few digits.",
        "Номер неполный: не хватает цифр.",
    ),
    _s(
        485,
        "Ambiguous",
        "The number or address matches several users.",
        "Номер или адрес подходит сразу нескольким абонентам.",
    ),
    _s(
        486,
        "Busy Here",
        "The callee is busy (or rejected the call, or has do-not-disturb on).",
        "Абонент занят (или сбросил вызов, или включил «не беспокоить»).",
    ),
    _s(
        487,
        "Request Terminated",
        "The call was cancelled (CANCEL) before anyone answered.",
        "Вызов отменён (CANCEL) до ответа.",
    ),
    _s(
        488,
        "Not Acceptable Here",
        "The offered media (codecs, encryption) is not acceptable.",
        "Предложенные параметры звука (кодеки, шифрование) не подходят.",
    ),
    _s(
        489,
        "Bad Event",
        "The event package of the SUBSCRIBE is not supported.",
        "Пакет событий в SUBSCRIBE не поддерживается.",
        "RFC 6665",
    ),
    _s(
        491,
        "Request Pending",
        "Another request on the same dialog is still in progress.",
        "В этом диалоге ещё выполняется другой запрос.",
    ),
    _s(
        493,
        "Undecipherable",
        "An encrypted body could not be decrypted.",
        "Зашифрованное тело сообщения не удалось расшифровать.",
    ),
    _s(
        494,
        "Security Agreement Required",
        "The server requires a security mechanism agreement.",
        "Сервер требует согласовать механизм безопасности.",
        "RFC 3329",
    ),
    # 5xx server errors: the far end or the network failed
    _s(
        500,
        "Server Internal Error",
        "The provider's server failed while handling the call.",
        "Сервер оператора сломался при обработке вызова.",
    ),
    _s(
        501,
        "Not Implemented",
        "The server does not support what the request asks for.",
        "Сервер не поддерживает то, что требуется для запроса.",
    ),
    _s(
        502,
        "Bad Gateway",
        "A gateway further on got an invalid answer from the next network.",
        "Шлюз дальше по пути получил некорректный ответ от следующей сети.",
    ),
    _s(
        503,
        "Service Unavailable",
        "Overloaded or down; PJSIP also reports failing to send as 503.",
        "Сервер перегружен или не работает; PJSIP так же сообщает, что не смог отправить запрос.",
    ),
    _s(
        504,
        "Server Time-out",
        "A server further on did not answer in time.",
        "Сервер дальше по пути не ответил вовремя.",
    ),
    _s(
        505,
        "Version Not Supported",
        "The SIP protocol version is not supported.",
        "Версия протокола SIP не поддерживается.",
    ),
    _s(
        513,
        "Message Too Large",
        "The message is too large; often UDP fragmentation.",
        "Сообщение слишком большое; часто мешает фрагментация UDP.",
    ),
    _s(
        555,
        "Push Notification Service Not Supported",
        "The requested push notification service is not supported.",
        "Запрошенный сервис push-уведомлений не поддерживается.",
        "RFC 8599",
    ),
    _s(
        580,
        "Precondition Failure",
        "The media preconditions (QoS, security) could not be met.",
        "Не удалось выполнить предварительные условия для звука (QoS, защита).",
        "RFC 3312",
    ),
    # 6xx global failures: final for every destination
    _s(
        600,
        "Busy Everywhere",
        "The callee is busy on every device.",
        "Абонент занят на всех своих устройствах.",
    ),
    _s(
        603,
        "Decline",
        "The callee (or the network on their behalf) declined the call.",
        "Абонент (или сеть от его имени) отклонил вызов.",
    ),
    _s(
        604,
        "Does Not Exist Anywhere",
        "The number does not exist anywhere in the network.",
        "Такого номера нет нигде в сети.",
    ),
    _s(
        606,
        "Not Acceptable",
        "The callee cannot accept the offered media anywhere.",
        "Абонент не может принять предложенные параметры звука ни на одном устройстве.",
    ),
    _s(
        607,
        "Unwanted",
        "The callee marked the call as unwanted (spam).",
        "Абонент отметил вызов как нежелательный (спам).",
        "RFC 8197",
    ),
    _s(
        608,
        "Rejected",
        "An intermediary (e.g. an anti-spam service) rejected the call.",
        "Промежуточный узел (например, антиспам) отклонил вызов.",
        "RFC 8688",
    ),
)

_CLASS_NAMES: dict[int, Text] = {
    1: Text("provisional response", "промежуточный ответ"),
    2: Text("success", "успешный ответ"),
    3: Text("redirection", "перенаправление"),
    4: Text("client error: the far end refused our request", "ошибка клиента: наш запрос отклонён"),
    5: Text(
        "server error: the far end or the network failed",
        "ошибка сервера: сбой у оператора или в сети",
    ),
    6: Text(
        "global failure: the call fails everywhere", "глобальный отказ: вызов не пройдёт никуда"
    ),
}


def _unknown_sip(code: int) -> SipStatus:
    # RFC 3261 §8.1.3.2: an unrecognised final response is treated as the x00 code of its class.
    klass = _CLASS_NAMES.get(code // 100) if 100 <= code <= 699 else None
    if klass is None:
        return SipStatus(
            code,
            "Unknown",
            Text("Not a SIP status code.", "Это не код ответа SIP."),
            rfc="",
            known=False,
        )
    base = code // 100 * 100
    meaning = Text(
        "Unregistered code, {klass}; SIP treats it like {base}.",
        "Незарегистрированный код, {klass}; SIP трактует его как {base}.",
    )
    return SipStatus(
        code,
        "Unknown",
        Text(
            meaning.en.format(klass=klass.en, base=base),
            meaning.ru.format(klass=klass.ru, base=base),
        ),
        rfc="RFC 3261 §8.1.3.2",
        known=False,
    )


SIP_STATUSES: CodeTable[SipStatus] = CodeTable("SIP status", _ROWS, _unknown_sip)


def sip_status(code: int) -> SipStatus:
    """The row for a SIP status code; unknown codes get a class-based row (``known=False``)."""
    return SIP_STATUSES.lookup(code)
