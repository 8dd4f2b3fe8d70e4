"""The message to NovoFon support, written from facts instead of from memory.

Modelled on the seed's message (shared/seed/GET_SIP_CREDENTIALS.ru.md): a greeting, what
was done, what fails, one clear request, then the facts support asks for — the termination
IP as NovoFon sees it (the OPTIONS answer's Via received/rport), the trunk login, the phone
number, the failing SIP exchange with times and codes, the Asterisk version. Never a
password or secret: the facts hold none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from trunkctl.errors import BadInput
from trunkctl.i18n import Lang, Text

from ._config import TrunkFacts
from ._model import DoctorReport

if TYPE_CHECKING:
    from trunkctl.trace import SipTrace

__all__ = [
    "CallFacts",
    "ExchangeStep",
    "Situation",
    "SupportFacts",
    "SupportMessage",
    "call_facts",
    "support_facts",
    "support_message",
]

Situation = Literal["ip_verification", "register_rejected", "call_failed", "no_answer", "general"]


@dataclass(frozen=True, slots=True)
class ExchangeStep:
    """One request and its final answer, as support reads them in their logs."""

    method: str
    target: str
    status_code: int | None
    reason: str
    latency_ms: float | None = None
    with_credentials: bool = False

    def line(self, lang: Lang) -> str:
        """``REGISTER sip:0053248@sip.novofon.ru → 401 Unauthorized (12.3 ms)``."""
        code = f"{self.status_code} {self.reason}".strip() if self.status_code else self.reason
        auth = {"en": " (with credentials)", "ru": " (с авторизацией)"}[lang]
        ms = {"en": "ms", "ru": "мс"}[lang]
        took = f" ({self.latency_ms:g} {ms})" if self.latency_ms is not None else ""
        return f"{self.method} {self.target}{auth if self.with_credentials else ''} → {code}{took}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "method": self.method,
            "target": self.target,
            "status_code": self.status_code,
            "reason": self.reason,
            "latency_ms": self.latency_ms,
            "with_credentials": self.with_credentials,
        }


@dataclass(frozen=True, slots=True)
class CallFacts:
    """The last test call (from ``trunkctl call --json``); ``approximate`` time from the file."""

    number: str | None
    at: datetime | None
    approximate: bool
    status: str | None
    sip_code: int | None
    sip_reason: str | None
    q850: int | None
    q850_text: str | None
    dial_status: str | None
    sip_trace: SipTrace | None = None
    """The call's SIP exchange when it was saved with ``--trace`` (credentials masked)."""

    @property
    def failed(self) -> bool:
        """True unless the call was answered."""
        return self.status != "answered"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "number": self.number,
            "at": self.at.isoformat(timespec="seconds") if self.at else None,
            "approximate_time": self.approximate,
            "status": self.status,
            "sip_code": self.sip_code,
            "sip_reason": self.sip_reason,
            "q850": self.q850,
            "q850_text": self.q850_text,
            "dial_status": self.dial_status,
            "sip_trace_messages": None if self.sip_trace is None else len(self.sip_trace.messages),
        }


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def call_facts(data: object, *, file_time: datetime | None = None) -> CallFacts:
    """Facts from a ``trunkctl call --json`` document (BadInput if it is not one).

    The document has no start time; ``started_at`` is used when present (a call log may add
    it), else the file's modification time minus the call's duration, marked approximate.
    A ``sip_trace`` (``call --json --trace``) is read back, re-parsed and masked again.
    """
    from trunkctl.trace import SipTrace

    result = data.get("result") if isinstance(data, Mapping) else None
    if not isinstance(data, Mapping) or not isinstance(result, Mapping):
        raise BadInput(
            Text(
                "this is not the JSON of `trunkctl call --json`",
                "это не JSON из `trunkctl call --json`",
            ),
            next_step=Text(
                "Save a call like this: `trunkctl call 79991234567 --json > call.json`.",
                "Сохраните звонок так: `trunkctl call 79991234567 --json > call.json`.",
            ),
        )
    at: datetime | None = None
    approximate = False
    started = _str(data.get("started_at"))
    if started:
        try:
            at = datetime.fromisoformat(started)
        except ValueError:
            at = None
    if at is None and file_time is not None:
        duration = result.get("duration")
        seconds = float(duration) if isinstance(duration, (int, float)) else 0.0
        at = datetime.fromtimestamp(file_time.timestamp() - seconds).astimezone()
        approximate = True
    return CallFacts(
        number=_str(data.get("number")),
        at=at,
        approximate=approximate,
        status=_str(result.get("status")),
        sip_code=_int(result.get("sip_code")),
        sip_reason=_str(result.get("sip_reason")),
        q850=_int(result.get("q850")),
        q850_text=_str(result.get("q850_text")),
        dial_status=_str(result.get("dial_status")),
        sip_trace=SipTrace.from_dict(trace)
        if isinstance(trace := data.get("sip_trace"), Mapping)
        else None,
    )


@dataclass(frozen=True, slots=True)
class SupportFacts:
    """What the message states; built from a doctor report, the config and the last call."""

    checked_at: datetime
    trunk: str
    mode: str | None
    provider: str | None
    termination_ip: str | None
    seen_address: str | None
    local_ip: str | None
    login: str | None
    phone: str | None
    asterisk_version: str | None
    registration_status: str | None
    register_outcome: str | None
    register_steps: tuple[ExchangeStep, ...] = ()
    options_outcome: str | None = None
    options_transmissions: int = 0
    call: CallFacts | None = None
    own_problems: tuple[Text, ...] = field(default_factory=tuple)

    @property
    def situation(self) -> Situation:
        """Which message fits: the seed's verification case first, then what fails."""
        # The provider's own answer to our REGISTER outranks Asterisk's state, which may
        # lag behind (a retry not yet due) or describe an old password.
        if self.register_outcome is not None:
            rejected = self.register_outcome != "registered"
        else:
            rejected = self.registration_status not in (None, "Registered")
        if self.mode == "ip" and not self.login:
            return "ip_verification"
        if self.mode == "registration" and rejected:
            return "register_rejected"
        if self.call is not None and self.call.failed:
            return "call_failed"
        if self.options_outcome not in (None, "answered"):
            return "no_answer"
        return "general"

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view (no secret is ever among the facts)."""
        return {
            "situation": self.situation,
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
            "trunk": self.trunk,
            "mode": self.mode,
            "provider": self.provider,
            "termination_ip": self.termination_ip,
            "seen_address": self.seen_address,
            "local_ip": self.local_ip,
            "login": self.login,
            "phone": f"+{self.phone}" if self.phone else None,
            "asterisk_version": self.asterisk_version,
            "registration_status": self.registration_status,
            "register_outcome": self.register_outcome,
            "register_steps": [s.to_dict() for s in self.register_steps],
            "options_outcome": self.options_outcome,
            "call": self.call.to_dict() if self.call else None,
            "own_problems": [p.render(lang) for p in self.own_problems],
        }


def _steps(probe: Mapping[str, Any] | None, login: str | None) -> tuple[ExchangeStep, ...]:
    if not probe:
        return ()
    domain = probe.get("domain") or probe.get("host") or "?"
    target = f"sip:{probe.get('username') or login or '?'}@{domain}"
    return tuple(
        ExchangeStep(
            "REGISTER",
            target,
            _int(step.get("status_code")),
            str(step.get("reason") or ""),
            step.get("latency_ms"),
            bool(step.get("credentials")),
        )
        for step in probe.get("steps", [])
        if step.get("purpose") == "register"
    )


def support_facts(
    report: DoctorReport,
    trunk: TrunkFacts,
    *,
    call: CallFacts | None = None,
    phone: str | None = None,
) -> SupportFacts:
    """The message's facts from a live doctor report and the trunk's config."""
    options = report.check("sip_options")
    odata: Mapping[str, Any] = options.data if options else {}
    seen = _str(odata.get("seen_address"))
    termination = seen.rsplit(":", 1)[0].strip("[]") if seen else None
    reg = report.check("registration")
    rdata: Mapping[str, Any] = reg.data if reg else {}
    registration = rdata.get("registration") or {}
    probe = rdata.get("probe")
    version_check = report.check("asterisk_version")
    own = tuple(
        item.title + Text(": ", ": ") + item.message
        for item in report.items
        if item.status == "fail" and item.id not in ("registration", "sip_options")
    )
    local = _str(odata.get("local_address"))
    return SupportFacts(
        checked_at=report.started_at,
        trunk=trunk.name,
        mode=trunk.mode,
        provider=f"{trunk.host}:{trunk.port}" if trunk.host else None,
        termination_ip=termination,
        seen_address=seen,
        local_ip=local.rsplit(":", 1)[0].strip("[]") if local else trunk.bind_ip,
        login=trunk.login,
        phone=phone or trunk.caller_id,
        asterisk_version=_str(version_check.data.get("version")) if version_check else None,
        registration_status=_str(registration.get("status")),
        register_outcome=_str(probe.get("outcome")) if isinstance(probe, Mapping) else None,
        register_steps=_steps(probe if isinstance(probe, Mapping) else None, trunk.login),
        options_outcome=_str(odata.get("outcome")),
        options_transmissions=_int(odata.get("transmissions")) or 0,
        call=call,
        own_problems=own,
    )


@dataclass(frozen=True, slots=True)
class SupportMessage:
    """A subject line and the body, ready to paste into the chat or an e-mail."""

    lang: Lang
    subject: str
    body: str

    def text(self) -> str:
        """Subject and body as one plain text."""
        return f"{self.subject}\n\n{self.body}"


# --- wording --------------------------------------------------------------------------------


def _when(at: datetime | None, lang: Lang, approximate: bool = False) -> str:
    if at is None:
        return ""
    stamp = at.strftime("%Y-%m-%d %H:%M:%S %z")
    if approximate:
        return f"около {stamp}" if lang == "ru" else f"around {stamp}"
    return stamp


def _code(code: int | None, reason: str | None) -> str:
    return f"{code} {reason or ''}".strip() if code else (reason or "?")


def _call_answer(call: CallFacts, lang: Lang) -> str:
    """``403 Forbidden (Q.850 21, DIALSTATUS CONGESTION)`` — what the call got."""
    extra = []
    if call.q850 is not None:
        extra.append(f"Q.850 {call.q850}" + (f" {call.q850_text}" if call.q850_text else ""))
    if call.dial_status:
        extra.append(f"DIALSTATUS {call.dial_status}")
    head = (
        _code(call.sip_code, call.sip_reason)
        if call.sip_code
        else ({"ru": "без SIP-кода", "en": "no SIP code"}[lang])
    )
    return head + (f" ({', '.join(extra)})" if extra else "")


def _last_register(facts: SupportFacts) -> ExchangeStep | None:
    return facts.register_steps[-1] if facts.register_steps else None


def _facts_block(facts: SupportFacts, lang: Lang) -> list[str]:
    ru = lang == "ru"
    lines = ["Данные для проверки:" if ru else "Details for your check:"]
    if facts.termination_ip:
        where = f" ({facts.provider})" if facts.provider else ""
        lines.append(
            f"- IP-адрес сервера, как его видит ваш SIP-сервер{where}: {facts.termination_ip}"
            if ru
            else f"- Server IP as your SIP server{where} sees it: {facts.termination_ip}"
        )
    elif facts.local_ip:
        lines.append(
            f"- IP-адрес сервера: {facts.local_ip}" if ru else f"- Server IP: {facts.local_ip}"
        )
    if facts.login:
        lines.append(
            f"- SIP-логин транка: {facts.login}" if ru else f"- Trunk SIP login: {facts.login}"
        )
    else:
        lines.append("- SIP-логин: ещё не выдан" if ru else "- SIP login: not issued yet")
    if facts.phone:
        lines.append(
            f"- Номер телефона: +{facts.phone}" if ru else f"- Phone number: +{facts.phone}"
        )
    if facts.asterisk_version:
        lines.append(
            f"- АТС: Asterisk {facts.asterisk_version}"
            if ru
            else f"- PBX: Asterisk {facts.asterisk_version}"
        )
    if facts.register_steps:
        lines.append(
            f"- Проверка регистрации {_when(facts.checked_at, lang)}:"
            if ru
            else f"- Registration check at {_when(facts.checked_at, lang)}:"
        )
        lines += [f"    {s.line(lang)}" for s in facts.register_steps]
    call = facts.call
    if call is not None:
        when = _when(call.at, lang, call.approximate)
        head = f"- Тестовый звонок {when}:" if ru else f"- Test call at {when}:"
        if not when:
            head = "- Тестовый звонок:" if ru else "- Test call:"
        lines.append(head)
        lines.append(f"    INVITE {call.number or '?'} → {_call_answer(call, lang)}")
        if call.sip_trace is not None and call.sip_trace.messages:
            from trunkctl.trace import ladder_lines

            lines += [f"    {line}" for line in ladder_lines(call.sip_trace, lang)]
    return lines


def _intro(facts: SupportFacts, lang: Lang) -> tuple[str, list[str]]:
    """The subject and the opening paragraph(s) for the situation."""
    ru = lang == "ru"
    ip = facts.termination_ip or facts.local_ip or "?"
    call = facts.call
    situation = facts.situation
    if situation == "ip_verification":
        subject = (
            "Верификация IP SIP-транка: нет логина и пароля для тестового звонка"
            if ru
            else "SIP trunk IP verification: no login and password for the test call"
        )
        text = (
            f"Я создал SIP-транк в личном кабинете и указал адрес терминации {ip}. Система "
            "требует совершить тестовый звонок для верификации IP, но для звонка нужны "
            "SIP-логин и пароль, которых у меня пока нет."
            if ru
            else f"I created a SIP trunk in the cabinet and gave {ip} as its termination "
            "address. To verify the IP the system asks for a test call, but a call needs the "
            "SIP login and password, which I do not have yet."
        )
        paras = [text]
        if call is not None and call.failed:
            when = _when(call.at, lang, call.approximate)
            paras.append(
                f"Тестовый звонок с этого адреса на {call.number or '?'} ({when}) отклонён: "
                f"{_call_answer(call, lang)}."
                if ru
                else f"A test call from this address to {call.number or '?'} ({when}) was "
                f"rejected: {_call_answer(call, lang)}."
            )
        paras.append(
            "Можете предоставить временные данные для верификации или активировать транк вручную?"
            if ru
            else "Could you give me temporary credentials for the verification, or activate "
            "the trunk manually?"
        )
        return subject, paras
    if situation == "register_rejected":
        last = _last_register(facts)
        answer = _code(last.status_code, last.reason) if last else facts.registration_status
        after = bool(last and last.with_credentials)
        login = facts.login or "?"
        subject = (
            f"SIP-транк {login}: регистрация отклоняется ({answer})"
            if ru
            else f"SIP trunk {login}: registration refused ({answer})"
        )
        text = (
            f"Мой SIP-транк (логин {login}) не регистрируется: ваш сервер "
            f"{facts.provider or ''} отвечает на REGISTER кодом {answer}"
            + (" уже после отправки логина и пароля" if after else "")
            + ". Логин и пароль скопированы из личного кабинета."
            if ru
            else f"My SIP trunk (login {login}) does not register: your server "
            f"{facts.provider or ''} answers REGISTER with {answer}"
            + (" after the login and password were sent" if after else "")
            + ". The login and password were copied from the cabinet."
        )
        ask = (
            "Проверьте, пожалуйста, активна ли линия и верны ли данные; если нужно, выдайте "
            "новый пароль."
            if ru
            else "Please check that the line is active and the credentials are right, and "
            "issue a new password if needed."
        )
        return subject, [text, ask]
    if situation == "call_failed" and call is not None:
        answer = _call_answer(call, lang)
        when = _when(call.at, lang, call.approximate)
        subject = (
            f"SIP-транк: исходящие звонки отклоняются ({_code(call.sip_code, call.sip_reason)})"
            if ru
            else f"SIP trunk: outgoing calls rejected ({_code(call.sip_code, call.sip_reason)})"
        )
        reg = ""
        if facts.registration_status == "Registered":
            reg = (
                " Регистрация при этом проходит успешно."
                if ru
                else " Registration itself succeeds."
            )
        text = (
            f"Исходящие звонки через мой SIP-транк с адреса {ip} не проходят: звонок на "
            f"{call.number or '?'} ({when}) получил ответ {answer}.{reg}"
            if ru
            else f"Outgoing calls through my SIP trunk from {ip} fail: a call to "
            f"{call.number or '?'} ({when}) got {answer}.{reg}"
        )
        ask = (
            "Подскажите, пожалуйста, в чём причина: статус транка, разрешённые направления, "
            "баланс или номер для исходящих?"
            if ru
            else "Could you tell me why: the trunk's status, the allowed directions, the "
            "balance or the outgoing caller ID?"
        )
        return subject, [text, ask]
    if situation == "no_answer":
        subject = (
            "SIP-сервер не отвечает на запросы с моего адреса"
            if ru
            else "Your SIP server does not answer requests from my address"
        )
        tries = facts.options_transmissions
        text = (
            f"Ваш SIP-сервер {facts.provider or ''} не отвечает на запросы с моего сервера "
            f"{ip}: SIP OPTIONS остался без ответа ({tries} попыток, "
            f"{_when(facts.checked_at, lang)})."
            if ru
            else f"Your SIP server {facts.provider or ''} does not answer requests from my "
            f"server {ip}: SIP OPTIONS got no answer ({tries} tries, "
            f"{_when(facts.checked_at, lang)})."
        )
        ask = (
            "Проверьте, пожалуйста, не заблокирован ли этот адрес на вашей стороне."
            if ru
            else "Please check whether this address is blocked on your side."
        )
        return subject, [text, ask]
    subject = "Проверка SIP-транка" if ru else "SIP trunk check"
    text = (
        f"Прошу проверить мой SIP-транк: с моей стороны он настроен, сервер {ip} "
        "связывается с вашим SIP-сервером. Всё ли в порядке на вашей стороне?"
        if ru
        else f"Please check my SIP trunk: it is set up on my side and my server {ip} "
        "reaches your SIP server. Is everything in order on your side?"
    )
    return subject, [text]


def support_message(facts: SupportFacts, lang: Lang = "ru") -> SupportMessage:
    """The message to NovoFon support in ``lang`` (Russian by default: NovoFon's language)."""
    subject, paras = _intro(facts, lang)
    greeting = "Здравствуйте!" if lang == "ru" else "Hello,"
    thanks = "Спасибо!" if lang == "ru" else "Thank you."
    body = "\n\n".join([greeting, *paras, "\n".join(_facts_block(facts, lang)), thanks])
    return SupportMessage(lang, subject, body + "\n")
