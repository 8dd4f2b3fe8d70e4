"""A SIP trace as a text ladder: time, direction, start line, and the headers that explain."""

from __future__ import annotations

from trunkctl.i18n import Lang, Text

from ._model import SipTrace, TracedMessage

__all__ = ["ladder_lines", "ladder_text"]

# Headers worth a line under a message, in this order (the rest is in --json's raw text).
_KEY_REQUEST = ("From", "To", "Authorization", "Proxy-Authorization", "Contact")
_KEY_RESPONSE = ("Warning", "Reason", "WWW-Authenticate", "Proxy-Authenticate",
                 "Retry-After", "Server", "Contact")  # fmt: skip
_INITIAL = frozenset({"INVITE", "REGISTER"})


def _arrow(m: TracedMessage) -> str:
    a = f"{m.src[0]}:{m.src[1]}"
    b = f"{m.dst[0]}:{m.dst[1]}"
    return f"{a} → {b}"


def _details(m: TracedMessage) -> list[str]:
    if m.is_request:
        names: tuple[str, ...] = _KEY_REQUEST if m.method in _INITIAL else ()
    else:
        names = _KEY_RESPONSE
    out = []
    for name in names:
        for value in m.header_all(name):
            out.append(f"{name}: {value}")
    if m.is_request and m.method in _INITIAL and m.call_id:
        out.insert(0, f"Call-ID: {m.call_id}")
    return out


def ladder_lines(trace: SipTrace, lang: Lang | None = None) -> list[str]:
    """The ladder, one string per line: ``+0.012  →  INVITE sip:…`` and indented headers.

    ``→`` is a message Asterisk sent, ``←`` one it received; a retransmission says so.
    A trace that could not be taken, or a call that never reached SIP, is one line saying so.
    """
    if trace.unavailable is not None:
        why = trace.unavailable.render(lang)
        return [Text(f"No SIP trace: {why}.", f"SIP-трассировки нет: {why}.").render(lang)]
    if trace.subject == "registration" and not trace.messages:
        return [
            Text(
                "No SIP trace: no REGISTER crossed the wire (is the registration loaded? "
                "`pjsip show registrations`).",
                "SIP-трассировки нет: ни один REGISTER не прошёл по сети (загружена ли "
                "регистрация? `pjsip show registrations`).",
            ).render(lang)
        ]
    if trace.no_sip_leg or not trace.messages:
        return [
            Text(
                "No SIP trace: Asterisk sent no SIP message for this call (it never reached "
                "the trunk: the dialplan ended it first).",
                "SIP-трассировки нет: Asterisk не отправил для этого звонка ни одного "
                "SIP-сообщения (до транка дело не дошло: звонок завершил диалплан).",
            ).render(lang)
        ]
    again = Text("retransmission", "повтор").render(lang)
    lines = [
        Text(
            "SIP trace (→ sent by Asterisk, ← received; times from the first message):",
            "SIP-трассировка (→ отправил Asterisk, ← получил; время от первого сообщения):",
        ).render(lang)
    ]
    start = trace.start
    for m in trace.messages:
        arrow = "→" if m.direction == "out" else "←"
        mark = f"  [{again}]" if m.retransmission else ""
        lines.append(
            f"  {m.time - start:+8.3f}  {arrow}  {m.first_line}{mark}   ({m.transport} {_arrow(m)})"
        )
        if not m.retransmission:
            lines.extend(f"               {d}" for d in _details(m))
    for note in trace.notes:
        lines.append(note.render(lang))
    return lines


def ladder_text(trace: SipTrace, lang: Lang | None = None) -> str:
    """:func:`ladder_lines` joined: for a support request, a log, or a status report."""
    return "\n".join(ladder_lines(trace, lang)) + "\n"
