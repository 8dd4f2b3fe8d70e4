"""Nagios plugin verdicts for ``trunkctl probe``: one status line, details, exit code.

The Nagios plugin guidelines: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; the first line
is ``SERVICE STATUS - text|perfdata``, later lines are details. UNKNOWN is for a probe that
could not judge the peer (bad arguments, our own socket, a challenge we cannot answer);
anything the peer did or failed to do is OK, WARNING or CRITICAL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from trunkctl.errors import TrunkctlError
from trunkctl.i18n import Lang, Text

if TYPE_CHECKING:
    from trunkctl.sip import OptionsResult, RegisterResult

__all__ = ["NAGIOS_CODES", "NagiosVerdict", "nagios_error", "nagios_options", "nagios_register"]

NagiosStatus = Literal["OK", "WARNING", "CRITICAL", "UNKNOWN"]
NAGIOS_CODES: Final[dict[NagiosStatus, int]] = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


@dataclass(frozen=True, slots=True)
class NagiosVerdict:
    """A plugin's answer: ``service``, status, the text after it, perfdata, detail lines."""

    service: str
    status: NagiosStatus
    summary: Text
    perfdata: str = ""
    details: tuple[Text, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""
        return NAGIOS_CODES[self.status]

    def lines(self, lang: Lang | None = None) -> list[str]:
        """The status line (one line, perfdata after ``|``), then the details."""
        head = f"{self.service} {self.status} - {self.summary.render(lang)}"
        head = " ".join(head.split())  # a status line never wraps
        if self.perfdata:
            head += f"|{self.perfdata}"
        return [head, *(d.render(lang) for d in self.details)]

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """JSON: the status, the exit code, the status line and the probe's own data."""
        return {
            "service": self.service,
            "status": self.status,
            "exit_code": self.exit_code,
            "summary": self.summary.render(lang),
            "status_line": self.lines(lang)[0],
            "details": [d.render(lang) for d in self.details],
            **self.data,
        }


def _plain(value: str) -> Text:
    return Text(value, value)


def _perf(seconds: float | None, warning: float | None, critical: float | None) -> str:
    """``time=0.000512s;W;C;0;`` (thresholds empty when not set)."""
    if seconds is None:
        return ""
    w = f"{warning:g}" if warning is not None else ""
    c = f"{critical:g}" if critical is not None else ""
    return f"time={seconds:.6f}s;{w};{c};0;"


def _error_details(error: TrunkctlError | None) -> list[Text]:
    if error is None:
        return []
    out = [error.evidence] if error.evidence else []
    if error.next_step:
        out.append(error.next_step)
    return out


def nagios_error(service: str, error: TrunkctlError) -> NagiosVerdict:
    """UNKNOWN: the probe could not run (bad input, our own socket, unreadable password)."""
    return NagiosVerdict(
        service,
        "UNKNOWN",
        error.what,
        details=tuple(_error_details(error)),
        data={"error": error.to_dict()},
    )


def _latency_status(seconds: float, warning: float | None, critical: float | None) -> NagiosStatus:
    if critical is not None and seconds >= critical:
        return "CRITICAL"
    if warning is not None and seconds >= warning:
        return "WARNING"
    return "OK"


def nagios_options(
    result: OptionsResult,
    *,
    warning: float | None = None,
    critical: float | None = None,
    lang: Lang | None = None,
) -> NagiosVerdict:
    """OK for a 2xx answer in time; WARNING for another final code (alive, but says no) or
    a slow answer past ``warning`` s; CRITICAL for silence, garbage, refusal, no DNS, or an
    answer slower than ``critical`` s."""
    service = "SIP OPTIONS"
    where = f"{result.host}:{result.port}/{result.transport}"
    data = {"probe": result.to_dict(lang)}
    if result.outcome != "answered" or result.status_code is None or result.latency_ms is None:
        err = result.error
        summary = err.what if err else Text(f"no answer from {where}", f"нет ответа от {where}")
        return NagiosVerdict(
            service, "CRITICAL", summary, details=tuple(_error_details(err)), data=data
        )
    seconds = result.latency_ms / 1000
    status = _latency_status(seconds, warning, critical)
    code = f"{result.status_code} {result.reason}"
    if status == "OK" and not 200 <= result.status_code < 300:
        status = "WARNING"
    summary = Text(
        f"{code} from {where} in {result.latency_ms:.1f} ms",
        f"{code} от {where} за {result.latency_ms:.1f} мс",
    )
    details = [_plain(f"server: {result.server or result.user_agent or '?'}")]
    if result.seen_address is not None:
        details.append(
            Text(
                f"the peer sees us at {result.seen_address} (Via received/rport)",
                f"сервер видит нас как {result.seen_address} (Via received/rport)",
            )
        )
    if result.local_address is not None:
        details.append(_plain(f"local: {result.local_address}"))
    if result.allow:
        details.append(_plain(f"allow: {', '.join(result.allow)}"))
    if result.transmissions > 1:
        details.append(
            Text(
                f"answered after {result.transmissions} transmissions (packet loss?)",
                f"ответ после {result.transmissions} отправок (потери пакетов?)",
            )
        )
    return NagiosVerdict(
        service, status, summary, _perf(seconds, warning, critical), tuple(details), data
    )


def _step_line(step: Any) -> Text:
    auth = step.credentials is not None
    what = step.purpose.upper()
    return Text(
        f"{what}{' (with credentials)' if auth else ''} → {step.status_code} {step.reason} "
        f"({step.latency_ms:.1f} ms)",
        f"{what}{' (с авторизацией)' if auth else ''} → {step.status_code} {step.reason} "
        f"({step.latency_ms:.1f} мс)",
    )


def nagios_register(
    result: RegisterResult,
    *,
    warning: float | None = None,
    critical: float | None = None,
    lang: Lang | None = None,
) -> NagiosVerdict:
    """OK when the registrar accepted the credentials (and the test binding was removed);
    WARNING when the binding could not be removed or the answer was slow; CRITICAL for a
    refusal, silence or garbage; UNKNOWN for a challenge trunkctl cannot answer."""
    service = "SIP REGISTER"
    where = f"{result.host}:{result.port}/{result.transport}"
    data = {"probe": result.to_dict(lang)}
    steps = tuple(_step_line(s) for s in result.steps)
    total = sum(s.latency_ms for s in result.steps if s.purpose == "register") / 1000
    perf = _perf(total, warning, critical) if result.steps else ""
    if result.outcome == "unsupported_challenge":
        err = result.error
        summary = err.what if err else _plain("unsupported challenge")
        return NagiosVerdict(
            service, "UNKNOWN", summary, perf, steps + tuple(_error_details(err)), data
        )
    if not result.ok:
        err = result.error
        summary = err.what if err else Text(f"no answer from {where}", f"нет ответа от {where}")
        return NagiosVerdict(
            service, "CRITICAL", summary, perf, steps + tuple(_error_details(err)), data
        )
    how = f"{result.challenge_code} {result.algorithm} realm {result.realm}"
    if result.challenge_code is None:
        how = "no challenge"
    if result.mode == "bind":
        summary = Text(
            f"{result.username} registered at {where} ({how}) in {total * 1000:.1f} ms",
            f"{result.username} зарегистрирован на {where} ({how}) за {total * 1000:.1f} мс",
        )
    else:  # a REGISTER without Contact: the password was checked, no binding was made
        summary = Text(
            f"{result.username}'s credentials accepted at {where} ({how}) in {total * 1000:.1f} ms",
            f"учётные данные {result.username} приняты на {where} ({how}) за {total * 1000:.1f} мс",
        )
    status = _latency_status(total, warning, critical)
    details = list(steps)
    if not result.unregistered:
        if status == "OK":
            status = "WARNING"
        # The binding REGISTER's Expires (with --bind the Contact-less query comes first).
        expires = next(
            (s.expires for s in result.steps if s.purpose == "register" and not s.query), 0
        )
        details.append(
            Text(
                f"our test binding was not removed: it expires by itself in {expires} s",
                f"тестовая привязка не удалена: она истечёт сама через {expires} с",
            )
        )
    if result.seen_address is not None:
        details.append(
            Text(
                f"the registrar sees us at {result.seen_address}",
                f"регистратор видит нас как {result.seen_address}",
            )
        )
    return NagiosVerdict(service, status, summary, perf, tuple(details), data)
