"""The sandbox's NovoFon HTTP APIs: the emulator of ``trunkctl.novofon`` over the provider.

:class:`SandboxBackend` is the emulator's telephony, and it is real: SIP lines are the
provider's line, registration state is the provider's PJSIP contacts, a password change
rewrites the provider's auth (``Sandbox.set_line_password``), and a callback or
``start.simple_call`` makes the provider Asterisk place the call over AMI — ring ``first``
(the SIP line means the pbx over its registration, as NovoFon rings the user's PBX), and
once it answers, ``Dial`` ``second``. What happened is read back from the provider's AMI
events (no CDR backend runs there), so the calls report shows real outcomes.

Why a twin of the provider's ``numbers`` context: its ``PJSIPHangup(486)`` etc. only work
on a PJSIP channel (checked: on a Local channel Dial sees NOANSWER with cause 0), and a
callback's second leg starts inside the provider. The emulator therefore installs, in
memory over AMI (``DialplanExtensionAdd``; gone at the next ``dialplan reload`` and put
back before each call), :data:`EMULATOR_CONTEXT`, built from the same :data:`TEST_NUMBERS`
table, with each ``PJSIPHangup(code)`` as ``Hangup(<Q.850 cause Asterisk maps that code
to>)``. The provider's config files are never touched.

:func:`start_emulator` runs it as a background uvicorn process on 127.0.0.1 (pid file,
log, a port kept across restarts) with a generated account whose key, secret, API token
and password sit in 0600 files in the sandbox's secrets folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import socket
import string
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx

from trunkctl.ami import AmiClient, Message
from trunkctl.ami.calls import CHANNEL_GRACE
from trunkctl.codes import sip_to_q850
from trunkctl.errors import AmiActionError, AmiError, SandboxError, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.novofon import NovofonConfig, load_novofon_config, webhook_signature
from trunkctl.novofon._asgi import Receive, Scope, Send, header, lifespan, read_body, respond
from trunkctl.novofon.emulator import (
    BackendUnavailable,
    CallRecord,
    Emulator,
    EmulatorAccount,
    EmulatorLimits,
    Registration,
    SipLineInfo,
    VirtualNumberInfo,
    finish_reason,
)

from ._configs import TEST_NUMBERS
from ._instance import stop_pid, tail
from ._sandbox import PROVIDER_ADDRESS, Sandbox

__all__ = [
    "EMULATOR_CONTEXT",
    "EMULATOR_LOGIN",
    "SANDBOX_LINE_ID",
    "SANDBOX_VIRTUAL_NUMBER",
    "CallTrack",
    "SandboxBackend",
    "WebhookNotifier",
    "arm_fault",
    "emulator_config",
    "emulator_dialplan",
    "emulator_settings_toml",
    "emulator_status",
    "set_webhook_url",
    "start_emulator",
    "stop_emulator",
]

log = logging.getLogger("trunkctl.sandbox.emulator")

EMULATOR_CONTEXT = "emulator-numbers"
EMULATOR_LOGIN = "sandbox@trunkctl.test"
SANDBOX_LINE_ID = 1001
SANDBOX_NUMBER_ID = 2001
SANDBOX_VIRTUAL_NUMBER = "74950000100"
"""The account's one virtual number: the caller ID of Call API calls."""

# The one machine the emulated account's API whitelist allows: the sandbox's "this
# server". Any other loopback address (127.0.0.3...) plays a foreign machine.
IP_WHITELIST = ("127.0.0.1/32", "::1/128")
# NovoFon publishes the shape of its JSON-RPC point budgets, not their size (novofon.md);
# the sandbox allows 300 a minute so a demo and a test run never wait on it. REST v1 keeps
# Zadarma's documented 100/min and 3/min for statistics.
LIMITS = EmulatorLimits(jsonrpc_per_minute=300)
_KEEP_CALLS = 10000
_PJSIP_HANGUP = re.compile(r"PJSIPHangup\((\d{3})\)")
_DIALABLE = re.compile(r"\+?\d{3,15}")

# --- the dialplan twin ----------------------------------------------------------------


def emulator_dialplan() -> list[tuple[str, int, str, str]]:
    """(extension, priority, application, data) of :data:`EMULATOR_CONTEXT`.

    Made from :data:`TEST_NUMBERS`, so the twin cannot drift from the provider's numbers;
    ``PJSIPHangup(code)`` becomes ``Hangup(cause)`` with res_pjsip's SIP→Q.850 mapping.
    """
    rows: list[tuple[str, int, str, str]] = [
        ("_+X.", 1, "Goto", f"{EMULATOR_CONTEXT},${{EXTEN:1}},1"),
        # Any other number: unallocated, as the provider's 404 is.
        ("_X.", 1, "Hangup", str(sip_to_q850(404))),
    ]
    for number in TEST_NUMBERS:
        for priority, step in enumerate(number.dialplan, 1):
            step = _PJSIP_HANGUP.sub(lambda m: f"Hangup({sip_to_q850(int(m[1]))})", step)
            app, _, data = step.partition("(")
            rows.append((number.number, priority, app, data.removesuffix(")")))
    return rows


# --- following one call through AMI events ---------------------------------------------


@dataclass(slots=True)
class _Leg:
    name: str
    answered: bool = False
    hung_up: bool = False
    cause: int | None = None


def _cause(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


# OriginateResponse Reason (include/asterisk/frame.h AST_CONTROL_*): 3 ring timeout, 5 busy.
_REASON_RING_TIMEOUT, _REASON_BUSY = 3, 5


# How long a release retries a Hangup that finds no channel yet while the call is on.
_RELEASE_WAIT = 2.0


def _disposition(cause: int | None, dial_status: str | None, reason: int | None) -> str:
    """A REST v1 disposition for a leg that was not answered (Q.850 cause first)."""
    if cause == 17 or reason == _REASON_BUSY or dial_status == "BUSY":
        return "busy"
    if cause in (1, 3, 22, 28):
        return "unallocated number"
    if cause in (18, 19) or reason == _REASON_RING_TIMEOUT or dial_status == "NOANSWER":
        return "no answer"
    if dial_status == "CANCEL":
        return "cancel"
    return "failed"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class CallTrack:
    """One emulated call fed with its AMI events in order; pure (tests feed it by hand).

    The call's ChannelId is the first leg's Uniqueid and every channel's Linkedid; the
    first leg's ``Dial`` of the second shows as DialBegin/DialEnd with ``Uniqueid`` = id.
    """

    record: CallRecord
    first_is_line: bool = False
    second_is_line: bool = False
    line_registered: bool = True
    legs: dict[str, _Leg] = field(default_factory=dict)
    originated: bool | None = None
    reason: int | None = None
    second_id: str | None = None
    second_status: str | None = None
    answered_at: float | None = None

    @property
    def call_id(self) -> str:
        """The call's id (the AMI ChannelId)."""
        return self.record.id

    @property
    def first_channel(self) -> str | None:
        """The first leg's channel name, once Asterisk created it."""
        leg = self.legs.get(self.call_id)
        return leg.name if leg else None

    def feed(self, msg: Message, now: float) -> bool:
        """Take one event of this call; True once the call is over."""
        event = msg.get("Event")
        uniqueid = msg.get("Uniqueid") or ""
        if event == "Newchannel":
            self.legs[uniqueid] = _Leg(msg.get("Channel") or "")
        elif event == "Newstate" and msg.get("ChannelStateDesc") == "Up":
            if uniqueid in self.legs:
                self.legs[uniqueid].answered = True
        elif event == "DialEnd" and uniqueid == self.call_id:
            self.second_id = msg.get("DestUniqueid")
            self.second_status = msg.get("DialStatus")
            if self.second_status == "ANSWER":
                self.answered_at = now
        elif event == "Hangup" and uniqueid in self.legs:
            leg = self.legs[uniqueid]
            leg.hung_up, leg.cause = True, _cause(msg.get("Cause"))
        elif event == "OriginateResponse":
            self.originated = msg.get("Response") == "Success"
            self.reason = _cause(msg.get("Reason"))
        # OriginateResponse can overtake the first leg's Newchannel (trunkctl.ami.calls says
        # why): no leg seen yet is never "all legs hung up".
        legs = self.legs.values()
        return self.originated is not None and bool(legs) and all(leg.hung_up for leg in legs)

    @property
    def settling(self) -> bool:
        """Originate failed and no leg has shown up (yet): the backend gives it a grace."""
        return self.originated is False and not self.legs

    def settle(self) -> bool:
        """The grace is over: True when still no leg came (the call made no channel)."""
        return not self.legs

    @property
    def cause(self) -> int:
        """The Q.850 cause of the leg that decided the call (16 once both talked)."""
        if self.second_status == "ANSWER":
            return 16
        first = self.legs.get(self.call_id)
        second = self.legs.get(self.second_id or "")
        deciding = second if first is not None and first.answered else first
        return (deciding.cause if deciding else None) or 16

    def snapshot(self) -> CallRecord:
        """The record as it stands (answered once the second leg answers)."""
        answered = _utc(self.answered_at) if self.answered_at is not None else None
        return replace(self.record, answered=answered)

    def finish(self, now: float, *, lost: bool = False) -> CallRecord:
        """The finished record: disposition and finish reason from what was seen."""
        first = self.legs.get(self.call_id)
        offline = not self.line_registered
        if lost:
            disposition, reason = "failed", "internal_error"
        elif first is None or not (first.answered or self.originated):
            disposition = _disposition(first.cause if first else None, None, self.reason)
            offline = offline and self.first_is_line
            reason = "sip_offline" if offline else finish_reason(disposition)
        elif self.second_status == "ANSWER":
            disposition, reason = "answered", finish_reason("answered")
        else:
            second = self.legs.get(self.second_id or "")
            status = self.second_status or "CANCEL"
            disposition = _disposition(second.cause if second else None, status, None)
            offline = offline and self.second_is_line
            reason = "sip_offline" if offline else finish_reason(disposition)
        answered = _utc(self.answered_at) if self.answered_at is not None else None
        if disposition != "answered":
            answered = None
        return replace(
            self.record,
            answered=answered,
            finished=_utc(now),
            disposition=disposition,
            finish_reason=reason,
        )


# --- the backend ------------------------------------------------------------------------


def _record_to_json(record: CallRecord) -> dict[str, Any]:
    data = asdict(record)
    for key in ("started", "answered", "finished"):
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return data


def _record_from_json(data: dict[str, Any]) -> CallRecord:
    for key in ("started", "answered", "finished"):
        if data.get(key) is not None:
            data[key] = datetime.fromisoformat(data[key])
    return CallRecord(**data)


def _webhook_url(url_file: Path) -> str | None:
    """The notification URL ``set_webhook_url`` stored (None: not set)."""
    try:
        return url_file.read_text().strip() or None
    except OSError:
        return None


class WebhookNotifier:
    """Posts NOTIFY_OUT_START / NOTIFY_OUT_END for the emulator's calls to the URL in
    ``url_file`` (none: nothing is sent), signed with the account's REST secret as NovoFon
    signs them (``internal + destination + call_start``). Failures are logged, never raised.
    """

    def __init__(
        self,
        url_file: Path,
        secret: str,
        *,
        timeout: float = 5.0,
        caller_id: str = SANDBOX_VIRTUAL_NUMBER,
        zone: str = "Europe/Moscow",
    ) -> None:
        self.url_file = url_file
        self._secret = secret
        self.timeout = timeout
        self.caller_id = caller_id
        """NOTIFY_OUT_END's ``caller_id`` for a call placed without one (a callback)."""
        self.zone = ZoneInfo(zone)
        """The account's zone, which NovoFon stamps ``call_start`` in."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    def url(self) -> str | None:
        """The receiver's URL, re-read each time (``set_webhook_url`` may change it)."""
        return _webhook_url(self.url_file)

    def started(self, record: CallRecord) -> None:
        """A call was placed: NOTIFY_OUT_START."""
        self._send(self._form("NOTIFY_OUT_START", record))

    def ended(self, record: CallRecord, cause: int) -> None:
        """A call ended: NOTIFY_OUT_END with duration, disposition and Q.850 status_code."""
        form = self._form("NOTIFY_OUT_END", record)
        # novofon/user-api-v1 lib/Webhook/NotifyOutEnd.php: caller_id, "the caller's phone
        # number" (unsigned; the signature covers internal + destination + call_start).
        form.update(
            caller_id=record.caller_id or self.caller_id,
            duration=str(record.talk_seconds),
            disposition=record.disposition or "failed",
            status_code=str(cause),
            is_recorded="0",
            call_id_with_rec="",
        )
        self._send(form)

    def _form(self, event: str, record: CallRecord) -> dict[str, str]:
        return {
            "event": event,
            "call_start": record.started.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S"),
            "pbx_call_id": record.id,
            "internal": record.first,
            "destination": record.second,
        }

    def _send(self, form: dict[str, str]) -> None:
        url = self.url()
        if url is None:
            return
        task = asyncio.get_running_loop().create_task(self._post(url, form))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, form: dict[str, str]) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)
        headers = {"Signature": webhook_signature(self._secret, form)}
        try:
            answer = await self._http.post(url, data=form, headers=headers)
            log.info(
                "%s %s → %s: HTTP %s", form["event"], form["pbx_call_id"], url, answer.status_code
            )
        except httpx.HTTPError as exc:
            log.warning("%s to %s failed: %s", form["event"], url, type(exc).__name__)

    async def aclose(self) -> None:
        """Let posts in flight finish (briefly), then close the HTTP client."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.timeout)
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class SandboxBackend:
    """The emulator's :class:`~trunkctl.novofon.emulator.Backend` on the sandbox provider.

    Keeps one AMI session to the provider (reopened on demand with the current port and
    secret); finished calls are appended to ``calls_file`` (JSON lines) and survive
    restarts. Calls whose end was not seen because AMI dropped end as ``failed``.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        *,
        virtual_number: str = SANDBOX_VIRTUAL_NUMBER,
        ring_timeout: float = 30.0,
        dial_timeout: float = 30.0,
        calls_file: Path | None = None,
        notifier: WebhookNotifier | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sandbox = sandbox
        self.notifier = notifier
        self.virtual_number = virtual_number
        self.ring_timeout = ring_timeout
        self.dial_timeout = dial_timeout
        self.calls_file = calls_file
        self.clock = clock
        self._ami: AmiClient | None = None
        self._lock: asyncio.Lock | None = None
        self._active: dict[str, CallTrack] = {}
        self._done: list[CallRecord] = self._load()
        self._since: dict[str, datetime] = {}

    def __repr__(self) -> str:
        return f"SandboxBackend({str(self.sandbox.dir)!r})"

    # --- persistence ------------------------------------------------------------------

    def _load(self) -> list[CallRecord]:
        if self.calls_file is None or not self.calls_file.exists():
            return []
        records = []
        for line in self.calls_file.read_text(encoding="utf-8").splitlines()[-_KEEP_CALLS:]:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                records.append(_record_from_json(json.loads(line)))
        return records

    def _store(self, record: CallRecord) -> None:
        self._done.append(record)
        del self._done[:-_KEEP_CALLS]
        if self.calls_file is not None:
            with self.calls_file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(_record_to_json(record)) + "\n")

    # --- AMI ----------------------------------------------------------------------------

    def _line_login(self) -> str:
        state = self.sandbox.state()
        if state is None or not state.line_login:
            raise BackendUnavailable("the sandbox has never been started (trunkctl sandbox up)")
        return state.line_login

    async def _client(self) -> AmiClient:
        client = self._ami
        if client is not None and client.connected:
            return client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._ami is not None and self._ami.connected:
                return self._ami
            if self._ami is not None:
                await self._ami.close()
                self._ami = None
            state = self.sandbox.state()
            try:
                secret = self.sandbox.provider_ami_secret_file.read_text().strip()
            except OSError as exc:
                raise BackendUnavailable(f"no provider AMI secret: {exc.strerror}") from exc
            if state is None:
                raise BackendUnavailable("the sandbox has never been started")
            client = AmiClient(
                PROVIDER_ADDRESS,
                state.provider_ami_port,
                "sandbox",
                secret,
                events=("call", "system"),
                reconnect=False,
                keepalive=15.0,
            )
            client.add_listener(self)
            try:
                await client.connect()
            except AmiError as exc:
                raise BackendUnavailable(
                    f"the provider Asterisk is not reachable over AMI: {exc.what.en}"
                ) from exc
            self._ami = client
            return client

    async def aclose(self) -> None:
        """Close the AMI session (and let webhook posts in flight finish)."""
        if self.notifier is not None:
            await self.notifier.aclose()
        if self._ami is not None:
            await self._ami.close()
            self._ami = None

    # EventListener: called synchronously for every AMI event, in wire order.
    def on_event(self, msg: Message) -> None:
        """Route an AMI event to the call it belongs to; note contacts' registration time."""
        event = msg.get("Event")
        if event == "ContactStatus":
            uri = msg.get("URI") or ""
            if msg.get("ContactStatus") == "Created":
                self._since[uri] = _utc(self.clock())
            elif msg.get("ContactStatus") == "Removed":
                self._since.pop(uri, None)
            return
        key = msg.get("Uniqueid") if event == "OriginateResponse" else msg.get("Linkedid")
        track = self._active.get(key or "")
        if track is None:
            return
        if track.feed(msg, self.clock()):
            self._finished(track)
        elif event == "OriginateResponse" and track.settling:
            asyncio.get_running_loop().call_later(CHANNEL_GRACE, self._settle, track)

    def _settle(self, track: CallTrack) -> None:
        if self._active.get(track.call_id) is track and track.settle():
            self._finished(track)

    def on_connection_lost(self, error: AmiError) -> None:
        """The calls in progress can no longer be followed: they end as failed."""
        for track in list(self._active.values()):
            self._finished(track, lost=True)

    def _finished(self, track: CallTrack, *, lost: bool = False) -> None:
        self._active.pop(track.call_id, None)
        record = track.finish(self.clock(), lost=lost)
        self._store(record)
        if self.notifier is not None:
            self.notifier.ended(record, track.cause)

    async def _ensure_dialplan(self, ami: AmiClient) -> None:
        rows = emulator_dialplan()
        try:
            # After `dialplan reload` the context itself lingers, emptied (checked on
            # Asterisk 22): ask for an extension, the last one added.
            await ami.list_action("ShowDialPlan", Context=EMULATOR_CONTEXT, Extension=rows[-1][0])
            return
        except AmiActionError:
            pass  # not there: a dialplan reload removed it, or never added
        for exten, priority, app, data in rows:
            await ami.action(
                "DialplanExtensionAdd",
                Context=EMULATOR_CONTEXT,
                Extension=exten,
                Priority=priority,
                Application=app,
                ApplicationData=data,
                Replace="yes",
            )

    # --- Backend ------------------------------------------------------------------------

    async def sip_lines(self) -> Sequence[SipLineInfo]:
        """The sandbox's one SIP line (the provider's registration line)."""
        login = self._line_login()
        return [
            SipLineInfo(
                SANDBOX_LINE_ID,
                login,
                channels=2,
                virtual_phone_number=self.virtual_number,
                display_name="sandbox line",
            )
        ]

    async def registration_state(self, login: str) -> Registration:
        """Registered when the provider holds a live contact for the line's AOR."""
        if login != self._line_login():
            return Registration(False)
        ami = await self._client()
        try:
            listing = await ami.list_action("PJSIPShowContacts")
        except AmiActionError:
            return Registration(False)  # Asterisk answers an empty list with an error
        except AmiError as exc:
            raise BackendUnavailable(f"PJSIPShowContacts failed: {exc.what.en}") from exc
        now = self.clock()
        contacts: list[tuple[str, datetime]] = []
        for item in listing.events:
            expires = _cause(item.get("ExpirationTime")) or 0
            if item.get("Endpoint") != login or item.get("Status") in ("Unavailable", "Removed"):
                continue
            if expires and expires < now:
                continue
            uri = item.get("Uri") or ""
            # Asterisk does not report when a contact registered: the time of the
            # ContactStatus Created event, else when the emulator first saw it.
            since = self._since.setdefault(uri, _utc(now))
            contacts.append((item.get("ViaAddr") or "", since))
        return Registration(bool(contacts), tuple(contacts))

    async def set_sip_password(self, login: str) -> str:
        """A new password into the provider's auth (and the sandbox's secrets file)."""
        password = secrets.token_urlsafe(12)
        try:
            await asyncio.to_thread(self.sandbox.set_line_password, password)
        except TrunkctlError as exc:
            raise BackendUnavailable(f"the password change failed: {exc.what.en}") from exc
        return password

    async def virtual_numbers(self) -> Sequence[VirtualNumberInfo]:
        """The account's one virtual number."""
        return [VirtualNumberInfo(SANDBOX_NUMBER_ID, self.virtual_number)]

    def _dial(self, number: str, line: str) -> str | None:
        if number == line:
            return f"PJSIP/{line}"
        if _DIALABLE.fullmatch(number):
            return f"Local/{number.lstrip('+')}@{EMULATOR_CONTEXT}"
        return None  # never put anything else into a Dial string (',' and '&' are syntax)

    async def originate(
        self,
        first: str,
        second: str,
        *,
        caller_id: str | None,
        external_id: str | None,
        source: Literal["callback", "callapi"],
        direction: Literal["in", "out"] = "out",
    ) -> str:
        """Provider AMI Originate: ring ``first``; on answer, ``Dial`` ``second``."""
        line = self._line_login()
        call_id = f"emu-{secrets.token_hex(6)}"
        record = CallRecord(
            call_id, first, second, caller_id, external_id, source, self._now(), direction=direction
        )
        first_dial, second_dial = self._dial(first, line), self._dial(second, line)
        if first_dial is None or second_dial is None:
            # Not a number NovoFon could dial: the call fails at once, as unallocated.
            track = CallTrack(record, originated=False)
            self._store(replace(track.finish(self.clock()), disposition="unallocated number"))
            return call_id
        ami = await self._client()
        try:
            await self._ensure_dialplan(ami)
            registered = True
            if line in (first, second):
                registered = (await self.registration_state(line)).registered
            track = CallTrack(record, first == line, second == line, registered)
            # Registered before sending: the call's first events may precede the response.
            self._active[call_id] = track
            number = caller_id or self.virtual_number
            await ami.action(
                "Originate",
                Channel=first_dial,
                Application="Dial",
                Data=f"{second_dial},{int(self.dial_timeout)}",
                Async="true",
                ChannelId=call_id,
                Timeout=int(self.ring_timeout * 1000),
                CallerID=f'"{number}" <{number}>',
            )
        except AmiError as exc:
            self._active.pop(call_id, None)
            raise BackendUnavailable(f"the provider's Originate failed: {exc.what.en}") from exc
        if self.notifier is not None:
            self.notifier.started(record)
        return call_id

    def _now(self) -> datetime:
        return _utc(self.clock())

    async def release(self, call_id: str) -> bool:
        """Hang up the call's first leg (the rest follows it).

        By its Uniqueid (the call's id), not its name: the leg's Newchannel may not have
        reached AMI yet (Stasis lags behind under load), and for a few milliseconds after
        the Originate the channel may not exist at all, so a refused Hangup is retried while
        the call is still in progress.
        """
        track = self._active.get(call_id)
        if track is None:
            return False
        ami = await self._client()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _RELEASE_WAIT
        while True:
            try:
                await ami.action("Hangup", Channel=call_id, Cause=16)
                return True
            except AmiActionError:
                if self._active.get(call_id) is not track or loop.time() >= deadline:
                    return False  # already gone
            except AmiError as exc:
                raise BackendUnavailable(f"Hangup failed: {exc.what.en}") from exc
            await asyncio.sleep(0.05)

    async def active_calls(self) -> Sequence[CallRecord]:
        """Calls still in progress, as seen so far."""
        return [track.snapshot() for track in self._active.values()]

    async def calls(self, since: datetime, till: datetime) -> Sequence[CallRecord]:
        """Finished calls that started within ``since``..``till``."""
        return [c for c in self._done if since <= c.started <= till]


# --- the HTTP server process -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Paths:
    """Where one sandbox's emulator keeps its state (its secrets live in ``secrets/``)."""

    sandbox: Sandbox

    @property
    def dir(self) -> Path:
        return self.sandbox.dir / "emulator"

    @property
    def info(self) -> Path:
        return self.dir / "emulator.json"

    @property
    def pid(self) -> Path:
        return self.dir / "emulator.pid"

    @property
    def log(self) -> Path:
        return self.dir / "emulator.log"

    @property
    def calls(self) -> Path:
        return self.dir / "calls.jsonl"

    @property
    def webhook_url(self) -> Path:
        return self.dir / "webhook-url"

    def secret(self, name: str) -> Path:
        return self.sandbox.secrets_dir / name


# Secret files of the emulated account (0600 in the sandbox's secrets folder).
_KEY, _SECRET = "novofon-rest.key", "novofon-rest.secret"
_TOKEN, _PASSWORD = "novofon-api.token", "novofon-api.password"
_EXPIRED, _ADMIN = "novofon-api.expired-token", "emulator-admin.token"
_ALNUM = string.ascii_lowercase + string.digits


def _twenty() -> str:
    # NovoFon's REST key and secret are 20 characters.
    return "".join(secrets.choice(_ALNUM) for _ in range(20))


_MAKERS: dict[str, Callable[[], str]] = {
    _KEY: _twenty,
    _SECRET: _twenty,
    _TOKEN: lambda: secrets.token_hex(24),
    _PASSWORD: lambda: secrets.token_urlsafe(15),
    _EXPIRED: lambda: secrets.token_hex(24),
    _ADMIN: lambda: secrets.token_hex(24),
}


def _ensure_secrets(paths: _Paths) -> None:
    folder = paths.sandbox.secrets_dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, make in _MAKERS.items():
        path = paths.secret(name)
        if path.is_file() and path.read_text().strip():
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make() + "\n")
        path.chmod(0o600)


def _read_secret(paths: _Paths, name: str) -> str:
    return paths.secret(name).read_text().strip()


def _account(paths: _Paths) -> EmulatorAccount:
    return EmulatorAccount(
        rest_key=_read_secret(paths, _KEY),
        rest_secret=_read_secret(paths, _SECRET),
        login=EMULATOR_LOGIN,
        password=_read_secret(paths, _PASSWORD),
        api_keys=frozenset({_read_secret(paths, _TOKEN)}),
        expired_api_keys=frozenset({_read_secret(paths, _EXPIRED)}),
        ip_whitelist=IP_WHITELIST,
        name="trunkctl sandbox",
    )


class SandboxEmulatorApp:
    """The emulator plus ``/_sandbox/`` routes: health, and after-commit faults for tests.

    ``POST /_sandbox/fault`` with ``X-Sandbox-Admin: <token>`` and
    ``{"method": "start.simple_call", "status": 502}`` arms :meth:`Emulator.fail_after_commit`.
    """

    def __init__(self, emulator: Emulator, backend: SandboxBackend, admin_token: str) -> None:
        self.emulator = emulator
        self.backend = backend
        self._admin = admin_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # Log off AMI before saying done: after that the loop may be gone.
            await lifespan(receive, send, on_shutdown=self.backend.aclose)
            return
        if scope["type"] == "http" and str(scope["path"]).startswith("/_sandbox/"):
            await self._admin_route(scope, receive, send)
            return
        await self.emulator(scope, receive, send)

    async def _admin_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/_sandbox/health":
            await respond(send, 200, {"ok": True, "pid": os.getpid()})
            return
        if scope["path"] != "/_sandbox/fault" or scope["method"] != "POST":
            await respond(send, 404, "not found")
            return
        given = header(scope, "x-sandbox-admin") or ""
        if not secrets.compare_digest(given.encode(), self._admin.encode()):
            await respond(send, 403, "forbidden")
            return
        try:
            body = json.loads(await read_body(receive, 4096) or b"")
            self.emulator.fail_after_commit(str(body["method"]), int(body.get("status", 502)))
        except (ValueError, KeyError, TypeError):
            await respond(send, 400, 'expected {"method": ..., "status": 502}')
            return
        await respond(send, 200, {"armed": body["method"]})


def _bind(port: int) -> socket.socket:
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP (base_events._set_nodelay), and accepted sockets inherit it. With proto 0 every
    # answer (headers, then body) waited ~40 ms on Nagle and delayed ACK (measured).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((PROVIDER_ADDRESS, port))
    except OSError:
        if port == 0:
            raise
        sock.bind((PROVIDER_ADDRESS, 0))  # the old port is taken: any free one
    sock.listen(128)
    return sock


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _serve(argv: list[str]) -> int:
    """The background process: ``python -m trunkctl.sandbox._emulator --sandbox-dir D``."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="trunkctl.sandbox._emulator")
    parser.add_argument("--sandbox-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    paths = _Paths(Sandbox(args.sandbox_dir))
    notifier = WebhookNotifier(paths.webhook_url, _read_secret(paths, _SECRET))
    backend = SandboxBackend(paths.sandbox, calls_file=paths.calls, notifier=notifier)
    app = SandboxEmulatorApp(
        Emulator(backend, _account(paths), LIMITS), backend, _read_secret(paths, _ADMIN)
    )
    sock = _bind(args.port)
    port = int(sock.getsockname()[1])
    _write_json(paths.info, {"pid": os.getpid(), "port": port, "started": time.time()})
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


@contextlib.contextmanager
def _locked(paths: _Paths) -> Iterator[None]:
    paths.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (paths.dir / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _running_pid(paths: _Paths) -> int | None:
    try:
        pid = int(paths.pid.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    ours = b"trunkctl.sandbox._emulator" in cmdline and str(paths.sandbox.dir).encode() in cmdline
    return pid if ours else None


def _healthy(port: int) -> bool:
    try:
        answer = httpx.get(f"http://{PROVIDER_ADDRESS}:{port}/_sandbox/health", timeout=1.0)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def start_emulator(sandbox: Sandbox, *, timeout: float = 15.0) -> dict[str, Any]:
    """Start the sandbox's NovoFon API emulator (once; idempotent) and return its status.

    A background uvicorn process on 127.0.0.1, on the port it had before when that is
    free; the account's credentials are generated once into 0600 files.
    """
    paths = _Paths(sandbox)
    with _locked(paths):
        if _running_pid(paths) is not None:
            return emulator_status(sandbox)
        _ensure_secrets(paths)
        previous = int(_read_json(paths.info).get("port") or 0)
        with paths.log.open("ab") as log_file:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "trunkctl.sandbox._emulator",
                    "--sandbox-dir",
                    str(sandbox.dir),
                    "--port",
                    str(previous),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        paths.pid.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise _start_failed(paths, f"exited with code {proc.returncode}")
            info = _read_json(paths.info)
            if info.get("pid") == proc.pid and _healthy(int(info["port"])):
                return emulator_status(sandbox)
            time.sleep(0.05)
        _stop(paths)
        raise _start_failed(paths, f"not answering after {timeout:.0f} s")


def _start_failed(paths: _Paths, why: str) -> SandboxError:
    return SandboxError(
        Text(
            f"the sandbox's NovoFon API emulator did not start ({why})",
            f"эмулятор API NovoFon в песочнице не запустился ({why})",
        ),
        evidence=f"{paths.log}:\n{tail(paths.log, 20)}",
        next_step=Text(
            "Read the log above and run `trunkctl sandbox up` again.",
            "Посмотрите журнал выше и снова выполните `trunkctl sandbox up`.",
        ),
    )


def _stop(paths: _Paths, timeout: float = 5.0) -> bool:
    pid = _running_pid(paths)
    if pid is None:
        paths.pid.unlink(missing_ok=True)
        return False
    stop_pid(pid, timeout)
    paths.pid.unlink(missing_ok=True)
    return True


def stop_emulator(sandbox: Sandbox) -> bool:
    """Stop the emulator by its pid (TERM, then KILL); True when one was running."""
    paths = _Paths(sandbox)
    with _locked(paths):
        return _stop(paths)


def emulator_status(sandbox: Sandbox) -> dict[str, Any]:
    """Addresses, account and files of the emulator (paths to secrets, never their values)."""
    paths = _Paths(sandbox)
    pid = _running_pid(paths)
    port = _read_json(paths.info).get("port")
    url = f"http://{PROVIDER_ADDRESS}:{port}" if port else None
    state = sandbox.state()
    return {
        "running": pid is not None,
        "pid": pid,
        "url": url,
        "rest_url": url,
        "data_api_url": f"{url}/v2.0" if url else None,
        "call_api_url": f"{url}/v4.0" if url else None,
        "log_file": str(paths.log),
        "calls_file": str(paths.calls),
        "ip_whitelist": list(IP_WHITELIST),
        "account": {
            "login": EMULATOR_LOGIN,
            "key_file": str(paths.secret(_KEY)),
            "secret_file": str(paths.secret(_SECRET)),
            "api_token_file": str(paths.secret(_TOKEN)),
            "password_file": str(paths.secret(_PASSWORD)),
            "expired_api_token_file": str(paths.secret(_EXPIRED)),
            "admin_token_file": str(paths.secret(_ADMIN)),
        },
        "virtual_number": SANDBOX_VIRTUAL_NUMBER,
        "line": {"id": SANDBOX_LINE_ID, "login": state.line_login if state else None},
        "webhook_url": _webhook_url(paths.webhook_url),
    }


def set_webhook_url(sandbox: Sandbox, url: str | None) -> None:
    """Where the emulator posts NOTIFY_OUT_START/END (the cabinet's notification URL);
    None stops the posts. Takes effect for the next call, no restart needed."""
    paths = _Paths(sandbox)
    paths.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if url is None:
        paths.webhook_url.unlink(missing_ok=True)
        return
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise SandboxError(
            Text(f"not an http(s) URL: {url!r}", f"это не адрес http(s): {url!r}"),
            next_step=Text(
                "Give the receiver's URL, e.g. http://127.0.0.1:8089/novofon/webhook.",
                "Укажите адрес приёмника, например http://127.0.0.1:8089/novofon/webhook.",
            ),
        )
    paths.webhook_url.write_text(url + "\n")


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emulator_settings_toml(sandbox: Sandbox) -> str:
    """The ``[novofon]`` table that points trunkctl's API commands at this emulator."""
    status = emulator_status(sandbox)
    account = status["account"]
    rows = [
        "[novofon]",
        "# The sandbox's emulated NovoFon HTTP APIs (REST v1, Data API, Call API).",
    ]
    if status["url"]:
        rows.append(f"api_url = {_toml(status['url'])}")
    rows += [
        f"key_file = {_toml(account['key_file'])}",
        f"secret_file = {_toml(account['secret_file'])}",
        f"api_token_file = {_toml(account['api_token_file'])}",
        f"login = {_toml(account['login'])}",
        f"password_file = {_toml(account['password_file'])}",
        f"virtual_number = {_toml(status['virtual_number'])}",
    ]
    if status["line"]["login"]:
        rows.append(f"line = {_toml(status['line']['login'])}")
    rows.append('trunk = "novofon"')
    return "\n".join(rows) + "\n"


def emulator_config(sandbox: Sandbox) -> NovofonConfig:
    """API settings pointing at this sandbox's emulator (what ``trunkctl --sandbox api``
    reads from the settings file), for library callers such as the demo."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "settings.toml"
        path.write_text(emulator_settings_toml(sandbox))
        conf = load_novofon_config(path, environ={})
    # Credentials stay file paths (read when a client is made); forget the temporary source.
    return replace(conf, source=sandbox.settings_file)


def arm_fault(sandbox: Sandbox, method: str, status: int = 502) -> None:
    """Make the running emulator's next ``method`` take effect and then answer ``status``
    (a gateway losing the answer): how tests prove a lost answer never repeats a call."""
    paths = _Paths(sandbox)
    port = _read_json(paths.info).get("port")
    token = _read_secret(paths, _ADMIN)
    try:
        answer = httpx.post(
            f"http://{PROVIDER_ADDRESS}:{port}/_sandbox/fault",
            json={"method": method, "status": status},
            headers={"X-Sandbox-Admin": token},
            timeout=5.0,
        )
    except httpx.HTTPError as exc:
        raise SandboxError(
            Text("the emulator is not reachable", "эмулятор недоступен"),
            evidence=f"{type(exc).__name__}: {exc}",
            next_step=Text("Run `trunkctl sandbox up`.", "Выполните `trunkctl sandbox up`."),
        ) from exc
    if answer.status_code != 200:
        raise SandboxError(
            Text("the emulator refused the fault", "эмулятор отклонил сбой"),
            evidence=f"HTTP {answer.status_code}: {answer.text[:200]}",
        )


if __name__ == "__main__":
    raise SystemExit(_serve(sys.argv[1:]))
