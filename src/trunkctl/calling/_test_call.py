"""The seed's test call, done so the user learns what happened and what to do.

``channel originate Local/NUMBER@outgoing application Playback hello-world``, tracked to its
end through AMI, then explained with the trunk's state as context (registered? IP mode?).
With ``capture=True`` the SIP exchange of the call's trunk leg is traced (:mod:`trunkctl.trace`)
and the provider's own words (reason phrase, Warning, Reason) lead the explanation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trunkctl.ami import CallResult, Message, Subscription, originate_and_track
from trunkctl.asterisk import ami_client, log_position, log_since
from trunkctl.codes import Explanation, ProviderAnswer, explain
from trunkctl.errors import AmiError, BadInput
from trunkctl.i18n import Lang, Text
from trunkctl.numbers import local_channel, parse_number
from trunkctl.settings import Settings
from trunkctl.trace import SipTrace, SipTracer, provider_answer

__all__ = ["CALL_EXIT_CODES", "CallReport", "place_test_call"]

# Exit codes of `trunkctl call`, one per outcome, so scripts can branch without JSON.
CALL_EXIT_CODES: dict[str, int] = {
    "answered": 0,
    "busy": 10,
    "no_answer": 11,
    "rejected": 12,
    "not_found": 13,
    "congestion": 14,
    "unavailable": 15,
    "failed": 16,
    "timeout": 17,
    "interrupted": 18,
}


_LOG_LINES = 8


@dataclass(frozen=True, slots=True)
class CallReport:
    """A finished test call and what it means."""

    number: str
    channel: str
    result: CallResult
    explanation: Explanation
    trunk_registered: bool | None
    mode: str | None
    asterisk_log: tuple[str, ...] = ()
    """Asterisk's NOTICE/WARNING/ERROR lines written during a call that was not answered (its
    reason in Asterisk's words, e.g. "No such extension/context"), from settings' log."""
    log_file: str | None = None
    sip_trace: SipTrace | None = None
    """The trunk leg's SIP messages (None: not asked for); see :mod:`trunkctl.trace`."""
    provider_answer: ProviderAnswer | None = None
    """The provider's final answer in its own words, when the trace caught one (not 2xx)."""

    @property
    def exit_code(self) -> int:
        return CALL_EXIT_CODES.get(self.result.status, 16)

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        return {
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "number": self.number,
            "channel": self.channel,
            "trunk_registered": self.trunk_registered,
            "mode": self.mode,
            "result": self.result.to_dict(),
            "explanation": self.explanation.to_dict(lang),
            "asterisk_log": list(self.asterisk_log),
            "log_file": self.log_file,
            "provider_answer": (
                None if self.provider_answer is None else self.provider_answer.to_dict()
            ),
            **({} if self.sip_trace is None else {"sip_trace": self.sip_trace.to_dict(lang)}),
        }


@dataclass(frozen=True, slots=True)
class _TrunkContext:
    """What the trunk's live state adds to an explanation (None: unknown)."""

    registered: bool | None = None
    mode: str | None = None
    has_outbound_auth: bool | None = None

    def outcome(self) -> dict[str, Any]:
        return {
            "trunk_registered": self.registered,
            "mode": self.mode,
            "has_outbound_auth": self.has_outbound_auth,
        }


async def _trunk_context(settings: Settings, trunk: str) -> _TrunkContext:
    from trunkctl.provision import trunk_status

    try:
        st = await trunk_status(settings, trunk, probe=False)
    except AmiError:
        return _TrunkContext()
    if not st.loaded:
        return _TrunkContext()
    auth = None if st.outbound_auth is None else bool(st.outbound_auth)
    if st.registration is None:
        return _TrunkContext(None, "ip", auth)
    return _TrunkContext(st.registration.get("status") == "Registered", "registration", auth)


async def place_test_call(
    settings: Settings,
    number: str,
    *,
    context: str = "outgoing",
    app: str | None = "Playback",
    data: str | None = "hello-world",
    timeout: float = 30.0,
    trunk: str = "novofon",
    verification: bool = False,
    on_event: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    capture: bool = False,
) -> CallReport:
    """Originate ``Local/NUMBER@context`` and explain how it ended.

    ``on_event`` receives progress words (dialing, ringing, answered, hangup) as they happen.
    Setting ``stop`` hangs the call up and reports it as ``interrupted`` (Ctrl-C).
    ``capture`` traces the call's SIP messages; if that is impossible (not root…) the call
    still runs and ``sip_trace.unavailable`` says why.
    """
    if not 1 <= timeout <= 3600:
        raise BadInput(Text("--timeout must be 1–3600 s", "--timeout: от 1 до 3600 с"))
    parsed = parse_number(number, strict=False)
    digits = parsed.digits
    channel = local_channel(parsed, context)
    trunk_ctx = await _trunk_context(settings, trunk)
    position = log_position(settings)
    async with ami_client(settings, events=("call", "user"), timeout=10.0) as ami:
        progress = None
        if on_event is not None:
            progress = asyncio.ensure_future(
                _report_progress(ami.subscribe(_progress_filter), on_event)
            )
        tracer = await SipTracer.for_asterisk(ami, settings) if capture else None
        if tracer is not None:
            tracer.start()
        try:
            result = await originate_and_track(
                ami, channel, app=app, data=data, timeout=timeout, stop=stop
            )
            messages = await tracer.finish() if tracer is not None else []
        finally:
            if tracer is not None:
                tracer.stop()
            if progress is not None:
                progress.cancel()
                with contextlib.suppress(asyncio.CancelledError, AmiError):
                    await progress
    explanation = explain(result.outcome(**trunk_ctx.outcome(), is_verification_call=verification))
    trace = None if tracer is None else tracer.trace(messages, call_digits=digits)
    answer = None if trace is None else provider_answer(trace)
    if answer is not None:
        explanation = answer.explain(explanation)
    lines: tuple[str, ...] = ()
    if result.status != "answered":
        # The last lines only: a busy server logs other calls' trouble too.
        # NOTICE too: "No such extension/context … while calling Local channel" is one.
        found = log_since(settings, position, levels=("ERROR", "WARNING", "NOTICE"))
        lines = tuple(found[-_LOG_LINES:])
    log_file = str(settings.log_file) if settings.log_file else None
    return CallReport(
        digits,
        channel,
        result,
        explanation,
        trunk_ctx.registered,
        trunk_ctx.mode,
        lines,
        log_file,
        trace,
        answer,
    )


def _progress_filter(msg: Message) -> bool:
    return (msg.get("Linkedid") or "").startswith("trunkctl-") and msg.get("Event") in (
        "Newstate",
        "DialBegin",
        "DialEnd",
        "Hangup",
    )


async def _report_progress(watcher: Subscription, on_event: Callable[[str], None]) -> None:
    """Turn the trunk leg's events into progress words, each said once."""
    said: set[str] = set()

    def say(word: str) -> None:
        if word not in said:
            said.add(word)
            on_event(word)

    say("dialing")
    try:
        while True:
            ev = await watcher.get()
            if (ev.get("Channel") or "").startswith("Local/"):
                continue
            kind, state = ev.get("Event"), ev.get("ChannelStateDesc")
            if kind == "Newstate" and state == "Ringing":
                say("ringing")
            elif kind == "Newstate" and state == "Up":
                say("answered")
            elif kind == "Hangup":
                say("hangup")
    finally:
        watcher.close()
