"""Originate a call and follow every event of it to a verdict.

How the events of one call are told apart (Asterisk 22, checked in the sandbox): Originate
with ``ChannelId``/``OtherChannelId`` makes our ids the Uniqueid of the first channel (and
of a Local channel's ``;2`` half), and every channel of the call — the Local halves and the
``PJSIP/<endpoint>-xxxxxxxx`` leg Dial creates — carries the first one as ``Linkedid``.
Events without channel fields of their own (the originate's DialBegin/DialEnd) carry it as
``DestLinkedid``; ``OriginateResponse`` carries our ActionID and the id as ``Uniqueid``
(even when no channel was made: Asterisk 22 sends our id, never ``<null>``).

Asterisk writes ``OriginateResponse`` straight to the AMI sessions but publishes channel
events through Stasis, so on a busy machine the response can overtake the ``Newchannel`` of
a call that answered in under a millisecond. A call is over when the response has come and
every channel seen has hung up, and at least one channel has been seen. After a Failure
with no channel seen yet, the router waits ``CHANNEL_GRACE`` (0.5 s) for one before it calls the
call over: a channel request that failed outright (``Foo/bar``, an unknown endpoint) never
makes one.

Where the outcome comes from: OriginateResponse's ``Reason`` is 0 for every SIP rejection,
so the verdict is taken from, in order: the trunk leg answering; Asterisk cancelling the
ring (Reason 3, DialStatus CANCEL); the SIP code (the dialplan's ``UserEvent``, else the
trunk leg's Hangup ``TechCause``, Asterisk ≥ 20.17/22.7); the Q.850 ``Cause``; the Dial
status. DialEnd's status alone proves little: a 403 shows there as NOANSWER (checked).

The dialplan after ``Dial()`` should emit (header names matched case-insensitively; any
header whose value reads ``SIP <code> <reason>`` is taken as the SIP outcome)::

    UserEvent(TrunkctlDial,DialStatus: ${DIALSTATUS},HangupCause: ${HANGUPCAUSE},
              SipCause: ${HANGUPCAUSE(<pjsip channel>,tech)})

Channel events need the AMI user's read class ``call``; UserEvent needs ``user``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trunkctl.codes import (
    CallOutcome,
    CallStatus,
    CauseParseError,
    parse_hangupcause_tech,
    parse_tech_cause,
    q850_cause,
    sip_status,
)
from trunkctl.errors import AmiConnectionError, AmiError, AmiTimeoutError, BadInput
from trunkctl.i18n import Text

from ._parser import Message
from .client import AmiClient

__all__ = ["CHANNEL_GRACE", "USER_EVENT", "CallResult", "ChannelInfo", "originate_and_track"]

CHANNEL_GRACE = 0.5
"""Seconds to wait for a channel after an OriginateResponse Failure that came first."""

USER_EVENT = "TrunkctlDial"
"""The UserEvent name our generated dialplan emits after Dial (others are read too)."""

# OriginateResponse Reason (include/asterisk/frame.h AST_CONTROL_*): what the originated
# channel itself last signalled.
_REASON_HANGUP, _REASON_RING_TIMEOUT, _REASON_ANSWERED = 1, 3, 4
_REASON_BUSY, _REASON_CONGESTION = 5, 8

# The coarse verdict for a final SIP code the far end sent.
_SIP_STATUS: dict[int, CallStatus] = {
    408: "timeout",
    480: "unavailable",
    487: "no_answer",
    503: "congestion",
    **dict.fromkeys((486, 600), "busy"),
    **dict.fromkeys((404, 410, 484, 485, 604), "not_found"),
}
_SIP_CLASS_STATUS: dict[int, CallStatus] = {
    3: "failed",
    4: "rejected",
    5: "unavailable",
    6: "rejected",
}
# The verdict for a Q.850 cause when no SIP code is known (causes 0, 16, 31 tell nothing).
_Q850_STATUS: dict[int, CallStatus] = {
    17: "busy",
    18: "timeout",
    19: "no_answer",
    21: "rejected",
    58: "rejected",
    **dict.fromkeys((1, 2, 3, 5, 22, 28), "not_found"),
    **dict.fromkeys((20, 27, 38), "unavailable"),
    **dict.fromkeys((34, 41, 42, 44), "congestion"),
}
_DIAL_STATUS: dict[str, CallStatus] = {
    "ANSWER": "answered",
    "BUSY": "busy",
    "NOANSWER": "no_answer",
    "CANCEL": "no_answer",
    "CONGESTION": "congestion",
    "CHANUNAVAIL": "unavailable",
}
_REASON_STATUS: dict[int, CallStatus] = {
    _REASON_RING_TIMEOUT: "no_answer",
    _REASON_ANSWERED: "answered",
    _REASON_BUSY: "busy",
    _REASON_CONGESTION: "congestion",
}


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else None


@dataclass(slots=True)
class ChannelInfo:
    """One channel of the call; times are seconds since the Originate was sent."""

    uniqueid: str
    name: str
    created_at: float | None = None
    ringing_at: float | None = None
    answered_at: float | None = None
    hangup_at: float | None = None
    cause: int | None = None
    cause_txt: str | None = None
    tech_cause: int | None = None

    @property
    def is_local(self) -> bool:
        """A half of a Local channel (``Local/...;1`` or ``;2``), not a trunk leg."""
        return self.name.startswith("Local/")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "uniqueid": self.uniqueid,
            "name": self.name,
            "created_at": self.created_at,
            "ringing_at": self.ringing_at,
            "answered_at": self.answered_at,
            "hangup_at": self.hangup_at,
            "cause": self.cause,
            "cause_txt": self.cause_txt,
            "tech_cause": self.tech_cause,
        }


@dataclass(frozen=True, slots=True)
class CallResult:
    """How a tracked call went. ``status`` is trunkctl's verdict (see trunkctl.codes).

    ``sip_code``/``sip_reason`` are the far end's final answer (None when unknown, or when
    Asterisk itself cancelled the ring); ``q850``/``q850_text`` the trunk leg's Hangup
    cause. Times are seconds: from the Originate to the first ringing or answer, and the
    talk time from answer to the trunk leg's hangup. ``events`` are every event of the call.
    """

    status: CallStatus
    channel_id: str
    sip_code: int | None = None
    sip_reason: str | None = None
    q850: int | None = None
    q850_text: str | None = None
    dial_status: str | None = None
    originate_reason: int | None = None
    time_to_ring: float | None = None
    time_to_answer: float | None = None
    talk_duration: float | None = None
    duration: float = 0.0
    channels: tuple[ChannelInfo, ...] = ()
    events: tuple[Message, ...] = field(default=(), repr=False)
    error: AmiError | None = None

    @property
    def answered(self) -> bool:
        """True when the far end answered."""
        return self.status == "answered"

    def outcome(self, **context: Any) -> CallOutcome:
        """The codes layer's CallOutcome (``explain()`` input); ``context`` adds mode etc."""
        return CallOutcome(
            status=self.status,
            sip_code=self.sip_code,
            q850=self.q850,
            dial_status=self.dial_status,
            ring_limited=self.status == "no_answer"
            and self.originate_reason == _REASON_RING_TIMEOUT,
            **context,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (events as their names; secrets never appear in call events)."""
        return {
            "status": self.status,
            "channel_id": self.channel_id,
            "sip_code": self.sip_code,
            "sip_reason": self.sip_reason,
            "q850": self.q850,
            "q850_text": self.q850_text,
            "dial_status": self.dial_status,
            "originate_reason": self.originate_reason,
            "time_to_ring": self.time_to_ring,
            "time_to_answer": self.time_to_answer,
            "talk_duration": self.talk_duration,
            "duration": self.duration,
            "channels": [c.to_dict() for c in self.channels],
            "events": [m.get("Event") for m in self.events],
            "error": self.error.to_dict() if self.error else None,
        }


_NO_EVENTS = AmiError(
    Text(
        "no event of the call arrived before the timeout",
        "до истечения тайм-аута не пришло ни одного события звонка",
    ),
    next_step=Text(
        "Give the AMI user read classes call and user in manager.conf "
        "(`read = call,user,...`), log in with events on, then `manager reload`.",
        "Дайте пользователю AMI классы чтения call и user в manager.conf "
        "(`read = call,user,...`), входите с включёнными событиями, затем `manager reload`.",
    ),
)


class _Call:
    """Everything seen of one call. Pure: the router (or a test) feeds it events and times."""

    def __init__(self, channel_id: str, other_id: str, action_id: str, started: float) -> None:
        self.channel_id = channel_id
        self.keys = {channel_id, other_id, action_id}
        self.started = started
        self.channels: dict[str, ChannelInfo] = {}
        self.events: list[Message] = []
        self.originate: Message | None = None
        self.user_sip: tuple[int, str] | None = None
        self.user_dial_status: str | None = None
        self.user_q850: int | None = None
        self.trunk_dial_status: str | None = None
        self.ring_at: float | None = None
        self.answer_at: float | None = None
        self.cancelled = False
        self.interrupted: AmiError | None = None
        self.finished = False

    def _channel(self, msg: Message, prefix: str, now: float) -> ChannelInfo | None:
        uniqueid = msg.get(prefix + "Uniqueid")
        if uniqueid is None:
            return None
        info = self.channels.get(uniqueid)
        if info is None:
            info = ChannelInfo(uniqueid, msg.get(prefix + "Channel") or "", created_at=now)
            self.channels[uniqueid] = info
            self.keys.add(uniqueid)
        return info

    def feed(self, msg: Message, now: float) -> bool:
        """Take one event of this call (``now``: seconds since start); True when it is over."""
        self.events.append(msg)
        event = msg.get("Event") or ""
        if event == "OriginateResponse":
            # Not a channel event: its Uniqueid is ours, or "<null>" when no channel was made.
            chan = dest = None
        else:
            chan = self._channel(msg, "", now)
            dest = self._channel(msg, "Dest", now)
        if event == "Newstate" and chan is not None:
            state = msg.get("ChannelStateDesc")
            if state == "Ringing":
                chan.ringing_at = chan.ringing_at or now
                self.ring_at = self.ring_at or now
            elif state == "Up":
                chan.answered_at = chan.answered_at or now
                if not chan.is_local:
                    self.answer_at = self.answer_at or now
        elif event == "DialState" and dest is not None:
            if msg.get("DialStatus") in ("RINGING", "PROGRESS"):
                self.ring_at = self.ring_at or now
        elif event == "DialEnd" and dest is not None:
            status = msg.get("DialStatus")
            if not dest.is_local:
                self.trunk_dial_status = status
                if status == "ANSWER":
                    self.answer_at = self.answer_at or now
            if status == "CANCEL":
                self.cancelled = True
        elif event == "Hangup" and chan is not None:
            chan.hangup_at = now
            chan.cause = _int(msg.get("Cause"))
            chan.cause_txt = msg.get("Cause-txt")
            try:
                chan.tech_cause = parse_tech_cause(msg.get("TechCause"))
            except CauseParseError:
                chan.tech_cause = None
        elif event == "UserEvent":
            self._user_event(msg)
        elif event == "OriginateResponse":
            self.originate = msg
            reason = _int(msg.get("Reason"))
            if reason == _REASON_RING_TIMEOUT:
                self.cancelled = True
            if reason == _REASON_ANSWERED and not self._trunk_legs():
                self.answer_at = self.answer_at or now
        return self._check_done()

    def _user_event(self, msg: Message) -> None:
        for key, value in msg.headers:
            low = key.lower()
            if low == "dialstatus" and value:
                self.user_dial_status = value.strip().upper()
            elif low == "hangupcause":
                self.user_q850 = _int(value)
            elif value[:3].upper() == "SIP" and low not in ("channel", "userevent"):
                try:
                    self.user_sip = parse_hangupcause_tech(value)
                except CauseParseError:
                    continue

    def _trunk_legs(self) -> list[ChannelInfo]:
        return [c for c in self.channels.values() if not c.is_local]

    def _check_done(self) -> bool:
        if not self.finished and self.originate is not None and self.channels:
            self.finished = all(c.hangup_at is not None for c in self.channels.values())
        return self.finished

    @property
    def settling(self) -> bool:
        """Originate failed and none of its channels has shown up (yet): see the module doc."""
        return (
            not self.finished
            and not self.channels
            and self.originate is not None
            and self.originate.get("Response") != "Success"
        )

    def settle(self) -> bool:
        """The grace after a channel-less failure is over: over unless a channel came."""
        if not self.finished and not self.channels:
            self.finished = True
        return self.finished

    def interrupt(self, error: AmiError) -> None:
        """The AMI connection dropped: the call's end can no longer be observed."""
        self.interrupted = error
        self.finished = True

    # -- the verdict -----------------------------------------------------------------------
    def result(self, now: float, *, expired: bool = False) -> CallResult:
        """The verdict from what was seen; ``expired`` when trunkctl stopped waiting."""
        legs = self._trunk_legs()
        leg = next((c for c in reversed(legs) if c.answered_at is not None), None)
        if leg is None:
            leg = next((c for c in reversed(legs) if c.hangup_at is not None), None)
        if leg is None and legs:
            leg = legs[-1]
        reason = _int(self.originate.get("Reason")) if self.originate else None

        sip: tuple[int, str] | None = self.user_sip
        if sip is None and leg is not None and leg.tech_cause is not None:
            sip = (leg.tech_cause, sip_status(leg.tech_cause).reason)
        if self.cancelled and self.answer_at is None and self.user_sip is None:
            sip = None  # Asterisk's own CANCEL: TechCause then shows 480, not the far end
        q850 = self.user_q850
        q850_text: str | None = None
        if leg is not None and leg.cause is not None:
            q850, q850_text = leg.cause, leg.cause_txt
        elif q850 is None and self.answer_at is None:
            local = next((c for c in self.channels.values() if c.cause), None)
            if local is not None:
                q850, q850_text = local.cause, local.cause_txt
        if q850 is not None and q850_text is None:
            q850_text = q850_cause(q850).cause_txt
        dial_status = self.user_dial_status or self.trunk_dial_status
        error = self.interrupted
        if expired and not self.events:
            error = _NO_EVENTS

        status = self._status(sip, q850, dial_status, reason, expired)
        end = leg.hangup_at if leg is not None and leg.hangup_at is not None else now
        return CallResult(
            status=status,
            channel_id=self.channel_id,
            sip_code=sip[0] if sip else None,
            sip_reason=sip[1] if sip else None,
            q850=q850,
            q850_text=q850_text,
            dial_status=dial_status,
            originate_reason=reason,
            time_to_ring=self.ring_at,
            time_to_answer=self.answer_at,
            talk_duration=None if self.answer_at is None else max(end - self.answer_at, 0.0),
            duration=now,
            channels=tuple(self.channels.values()),
            events=tuple(self.events),
            error=error,
        )

    def _status(
        self,
        sip: tuple[int, str] | None,
        q850: int | None,
        dial_status: str | None,
        reason: int | None,
        expired: bool,
    ) -> CallStatus:
        if self.answer_at is not None:
            return "answered"
        if self.interrupted is not None:
            return "interrupted"
        if self.cancelled:
            return "no_answer"
        if sip is not None:
            code = sip[0]
            return _SIP_STATUS.get(code) or _SIP_CLASS_STATUS.get(code // 100, "failed")
        if q850 is not None and q850 in _Q850_STATUS:
            return _Q850_STATUS[q850]
        if expired:
            # Still going when we stopped waiting: ringing means nobody answered.
            return "no_answer" if self.ring_at is not None else "timeout"
        if dial_status in _DIAL_STATUS:
            return _DIAL_STATUS[dial_status]
        if reason in _REASON_STATUS:
            return _REASON_STATUS[reason]
        return "failed"


class _Router:
    """One per client: routes each event to the call whose ids it carries."""

    # Linkedid comes first: every channel of a call carries it (checked in Asterisk 22).
    _KEYS = ("Linkedid", "DestLinkedid", "Uniqueid", "DestUniqueid", "ActionID")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.by_key: dict[str, tuple[_Call, asyncio.Future[None]]] = {}

    def add(self, call: _Call) -> asyncio.Future[None]:
        done: asyncio.Future[None] = self.loop.create_future()
        for key in call.keys:
            self.by_key[key] = (call, done)
        return done

    def remove(self, call: _Call) -> None:
        for key in call.keys:
            entry = self.by_key.get(key)
            if entry is not None and entry[0] is call:
                del self.by_key[key]

    def on_event(self, msg: Message) -> None:
        by_key = self.by_key
        if not by_key:
            return
        linked = msg.get("Linkedid")
        if linked is not None and linked not in by_key and msg.get("DestLinkedid") is None:
            # Every channel of a call carries its Linkedid (Asterisk 22): another call's
            # event, dropped after one lookup instead of five.
            return
        for name in self._KEYS:
            value = linked if name == "Linkedid" else msg.get(name)
            if value is not None and value in by_key:
                call, done = by_key[value]
                if call.finished:
                    return
                known = len(call.keys)
                finished = call.feed(msg, self.loop.time() - call.started)
                if len(call.keys) != known:  # a new channel: route its own ids too
                    for key in call.keys:
                        by_key.setdefault(key, (call, done))
                if finished and not done.done():
                    done.set_result(None)
                elif call.originate is msg and call.settling:
                    # Only the OriginateResponse can start the grace, and it comes once.
                    self.loop.call_later(CHANNEL_GRACE, self._settle, call, done)
                return

    @staticmethod
    def _settle(call: _Call, done: asyncio.Future[None]) -> None:
        if call.settle():
            _resolve(done)

    def on_connection_lost(self, error: AmiError) -> None:
        for call, done in list(self.by_key.values()):
            if not call.finished:
                call.interrupt(error)
            _resolve(done)


_routers: weakref.WeakKeyDictionary[AmiClient, _Router] = weakref.WeakKeyDictionary()


def _router_for(client: AmiClient) -> _Router:
    router = _routers.get(client)
    if router is None:
        router = _routers[client] = _Router(asyncio.get_running_loop())
        client.add_listener(router)
    return router


_STOPPED = AmiError(
    Text(
        "trunkctl was stopped (Ctrl-C or a signal) and hung the call up",
        "trunkctl остановлен (Ctrl-C или сигнал) и положил трубку",
    ),
    next_step=Text(
        "Run the call again to see how it ends.",
        "Повторите звонок, чтобы увидеть, чем он закончится.",
    ),
)


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _bad_target() -> BadInput:
    return BadInput(
        Text(
            "originate needs either app (with data) or context and exten, not both",
            "для originate нужно либо app (с data), либо context и exten, но не оба сразу",
        ),
        next_step=Text(
            'Pass app="Playback", data="hello-world", or context="default", exten="s".',
            'Передайте app="Playback", data="hello-world" или context="default", exten="s".',
        ),
    )


async def originate_and_track(
    client: AmiClient,
    channel: str,
    *,
    app: str | None = None,
    data: str | None = None,
    context: str | None = None,
    exten: str | None = None,
    priority: int | str | None = None,
    timeout: float = 30.0,
    ring_timeout: float | None = None,
    variables: Mapping[str, str] | None = None,
    caller_id: str | None = None,
    hangup_on_timeout: bool = True,
    stop: asyncio.Event | None = None,
) -> CallResult:
    """Originate ``channel`` (e.g. ``Local/79991234567@outgoing``) and follow it to its end.

    Returns within ``timeout`` seconds (plus up to 1 s to hang up a call still going);
    ``ring_timeout`` (default ``timeout`` × 2/3) is how long Asterisk lets it ring. A
    dropped AMI connection ends the call as ``interrupted``. Raises AmiPermissionError when
    the user lacks the ``originate`` class, and AmiConnectionError if never connected.
    Setting ``stop`` (Ctrl-C in the CLI) hangs the call up and ends it as ``interrupted``.
    """
    if (app is None) == (context is None and exten is None) or (context is None) != (exten is None):
        raise _bad_target()
    ring = timeout * 2 / 3 if ring_timeout is None else ring_timeout
    channel_id = f"trunkctl-{uuid.uuid4().hex}"  # ChannelId may be up to 149 chars
    other_id = f"{channel_id}-2"
    action_id = f"{channel_id}-originate"
    headers: list[tuple[str, object]] = [
        ("Channel", channel),
        ("Async", True),
        ("ChannelId", channel_id),
        ("OtherChannelId", other_id),
        ("Timeout", max(int(ring * 1000), 1)),
        ("CallerID", caller_id),
        ("ActionID", action_id),
    ]
    if app is not None:
        headers += [("Application", app), ("Data", data)]
    else:
        headers += [("Context", context), ("Exten", exten), ("Priority", priority or 1)]
    headers += [("Variable", f"{k}={v}") for k, v in (variables or {}).items()]

    loop = asyncio.get_running_loop()
    router = _router_for(client)
    started = loop.time()
    call = _Call(channel_id, other_id, action_id, started)
    done = router.add(call)
    try:
        try:
            await client.action("Originate", headers, timeout=min(timeout, client.timeout))
        except (AmiConnectionError, AmiTimeoutError) as exc:
            # Only an action that never reached a connection proves no call happened; once
            # sent (even on a connection made by a reconnect meanwhile) the call may be
            # ringing, so it ends as interrupted and a caller never dials it twice.
            if not exc.details.get("maybe_sent"):
                raise
            call.interrupt(exc)
        expired = False
        if not call.finished:
            # One timer that resolves ``done`` itself: cheaper than timeout() + shield(),
            # and this runs for every call of a volume run.
            timer = loop.call_at(started + timeout, _resolve, done)
            stopper = None
            if stop is not None:
                stopper = asyncio.ensure_future(stop.wait())
                stopper.add_done_callback(lambda _: _resolve(done))
            try:
                await done
            finally:
                timer.cancel()
                if stopper is not None:
                    stopper.cancel()
            expired = not call.finished
        # Asked to stop: never leave the call ringing behind us. Hang up, let its Hangup
        # events arrive (bounded), and say it was interrupted.
        stopped = stop is not None and stop.is_set() and not call.finished
        if (stopped or (expired and hangup_on_timeout)) and client.connected:
            # Asterisk finds a channel by name or Uniqueid: hanging up the first channel
            # takes the Local chain and the trunk leg with it.
            with contextlib.suppress(AmiError):
                await client.action("Hangup", {"Channel": channel_id}, timeout=1.0, check=False)
            if stopped:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await router.add(call)  # a fresh future for its end
        if stopped:
            call.interrupt(_STOPPED)
            return call.result(loop.time() - started)
        return call.result(loop.time() - started, expired=expired)
    finally:
        router.remove(call)
