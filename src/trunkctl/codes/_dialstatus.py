"""The values of ``${DIALSTATUS}`` and of DialEnd's ``DialStatus`` (apps/app_dial.c)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..i18n import Text

__all__ = ["DIAL_STATUSES", "DialStatus", "dial_status"]


@dataclass(frozen=True, slots=True)
class DialStatus:
    """One Dial() result: Asterisk's word for it and what it means."""

    name: str
    meaning: Text
    known: bool = True


def _d(name: str, en: str, ru: str) -> DialStatus:
    return DialStatus(name, Text(en, ru))


DIAL_STATUSES: Mapping[str, DialStatus] = MappingProxyType(
    {
        row.name: row
        for row in (
            _d("ANSWER", "The call was answered.", "На вызов ответили."),
            _d(
                "BUSY",
                "The callee is busy (SIP 486 or 600).",
                "Абонент занят (SIP 486 или 600).",
            ),
            _d(
                "NOANSWER",
                "Nobody answered before the timeout, or the call ended unanswered without a "
                "busy or congestion signal.",
                "Никто не ответил до тайм-аута, или вызов закончился без ответа, но и без "
                "сигнала «занято» или «перегрузка».",
            ),
            _d(
                "CANCEL",
                "Our side cancelled the call before it was answered.",
                "Наша сторона отменила вызов до ответа.",
            ),
            _d(
                "CONGESTION",
                "Congestion: the provider answered 503 or another 5xx, or the call could not "
                "be routed.",
                "Перегрузка: оператор ответил 503 или другой 5xx, или вызов не удалось направить.",
            ),
            _d(
                "CHANUNAVAIL",
                "The channel could not be used: the provider rejected the call (403, 404, "
                "487…), the endpoint is unreachable or its name does not resolve.",
                "Канал не удалось использовать: оператор отклонил вызов (403, 404, 487…), "
                "точка подключения недоступна или её имя не разрешается.",
            ),
            _d(
                "DONTCALL",
                "Privacy mode: the callee sent the caller to the 'go away' script.",
                "Режим приватности: абонент отправил звонящего на сценарий «не звоните».",
            ),
            _d(
                "TORTURE",
                "Privacy mode: the callee sent the caller to the 'torture' script.",
                "Режим приватности: абонент отправил звонящего на сценарий «пытка».",
            ),
            _d(
                "INVALIDARGS",
                "Dial() failed because of invalid arguments in the dialplan.",
                "Dial() не выполнился: в диалплане неверные аргументы.",
            ),
        )
    }
)


def dial_status(name: str) -> DialStatus:
    """The row for a DIALSTATUS value (case-insensitive); unknown values get ``known=False``."""
    row = DIAL_STATUSES.get(name.strip().upper())
    if row is not None:
        return row
    return DialStatus(
        name,
        Text(
            "Not a DIALSTATUS value Asterisk 22 sets.",
            "Asterisk 22 не выставляет такой DIALSTATUS.",
        ),
        known=False,
    )
