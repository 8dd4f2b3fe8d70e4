"""Q.850 cause values, as Asterisk defines them (include/asterisk/causes.h).

``name`` is Asterisk's symbolic name (``AST_CAUSE_`` dropped, as ``HANGUPCAUSE`` and
``ast_str2cause`` spell it) and ``cause_txt`` the exact text the AMI ``Hangup`` event sends in
``Cause-txt`` (``ast_cause2str`` in main/channel.c). Cause 0 is Asterisk's
``AST_CAUSE_NOTDEFINED``: not in Q.850, Cause-txt "Unknown".
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import Text
from ._registry import CodeTable

__all__ = ["Q850_CAUSES", "Q850Cause", "q850_cause"]


@dataclass(frozen=True, slots=True)
class Q850Cause:
    """One hangup cause: number, Asterisk's name and Cause-txt, a short meaning."""

    code: int
    name: str
    cause_txt: str
    meaning: Text
    known: bool = True


def _c(code: int, name: str, cause_txt: str, en: str, ru: str) -> Q850Cause:
    return Q850Cause(code, name, cause_txt, Text(en, ru))


_ROWS = (
    _c(0, "NOTDEFINED", "Unknown", "No cause was set.", "Причина не указана."),
    _c(
        1,
        "UNALLOCATED",
        "Unallocated (unassigned) number",
        "The number is not assigned to anyone.",
        "Номер никому не выделен.",
    ),
    _c(
        2,
        "NO_ROUTE_TRANSIT_NET",
        "No route to specified transmit network",
        "No route to the transit network asked for.",
        "Нет маршрута в указанную транзитную сеть.",
    ),
    _c(
        3,
        "NO_ROUTE_DESTINATION",
        "No route to destination",
        "No route to the destination.",
        "Нет маршрута до адресата.",
    ),
    _c(
        5,
        "MISDIALLED_TRUNK_PREFIX",
        "Misdialed trunk prefix",
        "A trunk prefix (such as a leading 8) was dialled where it must not be.",
        "Набран префикс выхода на межгород (например, 8) там, где его быть не должно.",
    ),
    _c(
        6,
        "CHANNEL_UNACCEPTABLE",
        "Channel unacceptable",
        "The channel offered is not acceptable.",
        "Предложенный канал не подходит.",
    ),
    _c(
        7,
        "CALL_AWARDED_DELIVERED",
        "Call awarded and being delivered in an established channel",
        "The call is delivered over an already established channel.",
        "Вызов доставлен по уже установленному каналу.",
    ),
    _c(
        8,
        "PRE_EMPTED",
        "Pre-empted",
        "The call was pre-empted by a higher-priority call.",
        "Вызов вытеснен более приоритетным.",
    ),
    _c(
        14,
        "NUMBER_PORTED_NOT_HERE",
        "Number ported elsewhere",
        "The number was ported to another operator.",
        "Номер перенесён к другому оператору.",
    ),
    _c(
        16,
        "NORMAL_CLEARING",
        "Normal Clearing",
        "A normal hang-up by one of the parties.",
        "Обычное завершение: кто-то положил трубку.",
    ),
    _c(17, "USER_BUSY", "User busy", "The callee is busy.", "Абонент занят."),
    _c(
        18,
        "NO_USER_RESPONSE",
        "No user responding",
        "Nothing answered the call set-up in time.",
        "На попытку вызова никто не ответил вовремя.",
    ),
    _c(
        19,
        "NO_ANSWER",
        "User alerting, no answer",
        "The phone rang but nobody answered.",
        "Телефон звонил, но трубку не взяли.",
    ),
    _c(
        20,
        "SUBSCRIBER_ABSENT",
        "Subscriber absent",
        "The subscriber is absent (phone off, not registered).",
        "Абонент отсутствует в сети (выключен или не зарегистрирован).",
    ),
    _c(
        21,
        "CALL_REJECTED",
        "Call Rejected",
        "The call was rejected (with PJSIP: 401, 403, 407 or 603).",
        "Вызов отклонён (в PJSIP так выглядят 401, 403, 407 и 603).",
    ),
    _c(
        22,
        "NUMBER_CHANGED",
        "Number changed",
        "The number has changed.",
        "Номер абонента изменился.",
    ),
    _c(
        23,
        "REDIRECTED_TO_NEW_DESTINATION",
        "Redirected to new destination",
        "The call was redirected elsewhere.",
        "Вызов перенаправлен на другой адрес.",
    ),
    _c(
        26,
        "ANSWERED_ELSEWHERE",
        "Answered elsewhere",
        "Another device answered the call.",
        "На вызов ответили с другого устройства.",
    ),
    _c(
        27,
        "DESTINATION_OUT_OF_ORDER",
        "Destination out of order",
        "The destination is out of order.",
        "Адресат неисправен или недоступен.",
    ),
    _c(
        28,
        "INVALID_NUMBER_FORMAT",
        "Invalid number format",
        "The number is in a wrong format or incomplete.",
        "Номер набран в неверном формате или неполностью.",
    ),
    _c(
        29,
        "FACILITY_REJECTED",
        "Facility rejected",
        "The network refused a requested service.",
        "Сеть отказала в запрошенной услуге.",
    ),
    _c(
        30,
        "RESPONSE_TO_STATUS_ENQUIRY",
        "Response to STATus ENQuiry",
        "Answer to a status enquiry.",
        "Ответ на запрос состояния.",
    ),
    _c(
        31,
        "NORMAL_UNSPECIFIED",
        "Normal, unspecified",
        "A normal ending without a more specific cause.",
        "Обычное завершение без уточнения причины.",
    ),
    _c(
        34,
        "NORMAL_CIRCUIT_CONGESTION",
        "Circuit/channel congestion",
        "No free channel (with PJSIP: 503 or other 5xx).",
        "Нет свободного канала (в PJSIP так выглядят 503 и прочие 5xx).",
    ),
    _c(
        38,
        "NETWORK_OUT_OF_ORDER",
        "Network out of order",
        "The network is out of order (with PJSIP: 500).",
        "Сеть неисправна (в PJSIP так выглядит 500).",
    ),
    _c(
        41,
        "NORMAL_TEMPORARY_FAILURE",
        "Temporary failure",
        "A temporary failure; trying again soon may work.",
        "Временный сбой; повторная попытка скоро может пройти.",
    ),
    _c(
        42,
        "SWITCH_CONGESTION",
        "Switching equipment congestion",
        "The switching equipment is overloaded.",
        "Коммутационное оборудование перегружено.",
    ),
    _c(
        43,
        "ACCESS_INFO_DISCARDED",
        "Access information discarded",
        "Some access information was dropped on the way.",
        "Часть служебной информации потерялась по пути.",
    ),
    _c(
        44,
        "REQUESTED_CHAN_UNAVAIL",
        "Requested channel not available",
        "The channel asked for is not available.",
        "Запрошенный канал недоступен.",
    ),
    _c(
        50,
        "FACILITY_NOT_SUBSCRIBED",
        "Facility not subscribed",
        "The service is not part of the subscription.",
        "Услуга не подключена.",
    ),
    _c(
        52,
        "OUTGOING_CALL_BARRED",
        "Outgoing call barred",
        "Outgoing calls are barred.",
        "Исходящие вызовы запрещены.",
    ),
    _c(
        54,
        "INCOMING_CALL_BARRED",
        "Incoming call barred",
        "Incoming calls are barred.",
        "Входящие вызовы запрещены.",
    ),
    _c(
        57,
        "BEARERCAPABILITY_NOTAUTH",
        "Bearer capability not authorized",
        "The bearer capability is not allowed for this user.",
        "Этот тип передачи абоненту не разрешён.",
    ),
    _c(
        58,
        "BEARERCAPABILITY_NOTAVAIL",
        "Bearer capability not available",
        "No common media: usually codecs (with PJSIP: 488 or 606).",
        "Нет общих параметров звука, обычно кодеков (в PJSIP так выглядят 488 и 606).",
    ),
    _c(
        65,
        "BEARERCAPABILITY_NOTIMPL",
        "Bearer capability not implemented",
        "The bearer capability is not implemented.",
        "Этот тип передачи не реализован.",
    ),
    _c(
        66,
        "CHAN_NOT_IMPLEMENTED",
        "Channel not implemented",
        "The channel type is not implemented (no such channel driver).",
        "Тип канала не реализован (нет такого драйвера каналов).",
    ),
    _c(
        69,
        "FACILITY_NOT_IMPLEMENTED",
        "Facility not implemented",
        "The requested service is not implemented.",
        "Запрошенная услуга не реализована.",
    ),
    _c(
        81,
        "INVALID_CALL_REFERENCE",
        "Invalid call reference value",
        "The message refers to an unknown call.",
        "Сообщение ссылается на неизвестный вызов.",
    ),
    _c(
        88,
        "INCOMPATIBLE_DESTINATION",
        "Incompatible destination",
        "The destination cannot handle this kind of call.",
        "Адресат не может принять такой тип вызова.",
    ),
    _c(
        95,
        "INVALID_MSG_UNSPECIFIED",
        "Invalid message unspecified",
        "An invalid message, no detail given.",
        "Некорректное сообщение без уточнения.",
    ),
    _c(
        96,
        "MANDATORY_IE_MISSING",
        "Mandatory information element is missing",
        "A mandatory element of the message is missing.",
        "В сообщении нет обязательного элемента.",
    ),
    _c(
        97,
        "MESSAGE_TYPE_NONEXIST",
        "Message type nonexist.",
        "The message type does not exist or is not implemented.",
        "Такого типа сообщения нет или он не реализован.",
    ),
    _c(
        98,
        "WRONG_MESSAGE",
        "Wrong message",
        "The message does not fit the call state.",
        "Сообщение не подходит к состоянию вызова.",
    ),
    _c(
        99,
        "IE_NONEXIST",
        "Info. element nonexist or not implemented",
        "An element of the message does not exist or is not implemented.",
        "Элемента сообщения нет или он не реализован.",
    ),
    _c(
        100,
        "INVALID_IE_CONTENTS",
        "Invalid information element contents",
        "An element of the message has invalid contents.",
        "Элемент сообщения содержит недопустимое значение.",
    ),
    _c(
        101,
        "WRONG_CALL_STATE",
        "Message not compatible with call state",
        "The message is not compatible with the call state.",
        "Сообщение несовместимо с состоянием вызова.",
    ),
    _c(
        102,
        "RECOVERY_ON_TIMER_EXPIRE",
        "Recover on timer expiry",
        "A timer expired further on (with PJSIP: 504).",
        "Дальше по пути истёк таймер ожидания (в PJSIP так выглядит 504).",
    ),
    _c(
        103,
        "MANDATORY_IE_LENGTH_ERROR",
        "Mandatory IE length error",
        "A mandatory element of the message has a wrong length.",
        "Обязательный элемент сообщения неверной длины.",
    ),
    _c(
        111,
        "PROTOCOL_ERROR",
        "Protocol error, unspecified",
        "A protocol error, no detail given.",
        "Ошибка протокола без уточнения.",
    ),
    _c(
        127,
        "INTERWORKING",
        "Interworking, unspecified",
        "Lost in translation between networks; with PJSIP: 487 or an unlisted 4xx/6xx.",
        "Причина потерялась при переводе между сетями; в PJSIP так выглядят 487 и прочие 4xx/6xx.",
    ),
)

# Q.850 §2.2.7 groups cause values in classes by their upper three bits (value // 16).
_CLASSES: dict[int, Text] = {
    0: Text("normal event", "обычное событие"),
    1: Text("normal event", "обычное событие"),
    2: Text("resource unavailable", "ресурс недоступен"),
    3: Text("service or option not available", "услуга или опция недоступна"),
    4: Text("service or option not implemented", "услуга или опция не реализована"),
    5: Text("invalid message", "некорректное сообщение"),
    6: Text("protocol error", "ошибка протокола"),
    7: Text("interworking", "взаимодействие сетей"),
}


def _unknown_q850(code: int) -> Q850Cause:
    klass = _CLASSES.get(code // 16) if 0 <= code <= 127 else None
    if klass is None:
        meaning = Text("Not a Q.850 cause value.", "Это не код причины Q.850.")
    else:
        meaning = Text(
            f"A cause Asterisk has no name for; Q.850 class: {klass.en}.",
            f"Причина, которой в Asterisk нет названия; класс Q.850: {klass.ru}.",
        )
    # ast_cause2str() answers "Unknown" for any value missing from its table.
    return Q850Cause(code, "UNKNOWN", "Unknown", meaning, known=False)


Q850_CAUSES: CodeTable[Q850Cause] = CodeTable("Q.850 cause", _ROWS, _unknown_q850)


def q850_cause(code: int) -> Q850Cause:
    """The row for a hangup cause; values Asterisk does not define get a class-based row."""
    return Q850_CAUSES.lookup(code)
