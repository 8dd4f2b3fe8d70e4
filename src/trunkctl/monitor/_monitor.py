"""The exporter's background half: one long-lived AMI session and periodic refreshers that
keep a :class:`Snapshot` current, so a scrape only formats what is already known.

Sources and their pace (each its own task; one failing never stops another):

- AMI (``interval``, default 5 s, and at once on a Registry/ContactStatus event): outbound
  registrations and, per trunk, the endpoint's device state, channels and contacts.
- the call log (``files_interval``): counts of finished calls by source, outcome and SIP
  code, read from the SQLite file itself, so they survive the exporter's restarts.
- the config dir's backups (``files_interval``): when ``apply`` last succeeded.
- NovoFon's balance (``balance_interval``, default 10 min; only with REST credentials).
- a full doctor run (``doctor_interval``, default 10 min; 0 turns it off).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trunkctl.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiError,
    AmiPermissionError,
    TrunkctlError,
)

from ._snapshot import (
    ApplySample,
    BalanceSample,
    CallCount,
    ContactSample,
    DoctorProblem,
    DoctorSample,
    Snapshot,
    SourceHealth,
    TrunkSample,
)

if TYPE_CHECKING:
    from trunkctl.ami import AmiClient, Message
    from trunkctl.novofon import NovofonConfig
    from trunkctl.settings import Settings

__all__ = ["APPLY_RESULT_FILE", "APPLY_SNAPSHOT_DIR", "Monitor"]

log = logging.getLogger("trunkctl.monitor")

APPLY_SNAPSHOT_DIR = "last-applied"
"""Where ``apply`` keeps the files Asterisk last accepted, inside the backup dir (the same
name as trunkctl.provision's SNAPSHOT_DIR; a test keeps the two equal)."""

APPLY_RESULT_FILE = "last-apply.json"
"""The record of the last proved ``apply`` (ok, outcome, at, rolled_back, registrations),
inside the backup dir (the same name as trunkctl.provision's LAST_RESULT; a test keeps the
two equal)."""

_WAKE_EVENTS = frozenset({"Registry", "ContactStatus"})


class _Wake:
    """AMI listener: a registration or contact event, or a lost connection, wakes the poll."""

    def __init__(self, event: asyncio.Event) -> None:
        self._event = event

    def on_event(self, msg: Message) -> None:
        if msg.get("Event") in _WAKE_EVENTS:
            self._event.set()

    def on_connection_lost(self, error: AmiError) -> None:
        self._event.set()


def _rtt(value: str | None) -> float | None:
    try:
        return int(value or "") / 1_000_000
    except ValueError:
        return None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TrunkctlError):
        return exc.what.render("en")
    return f"{type(exc).__name__}: {exc}"


class Monitor:
    """Keeps :attr:`snapshot` current from AMI, the call log, backups, NovoFon and doctor.

    ``trunks``: the endpoints to report (default: the ones trunkctl manages in the config
    dir, plus every outbound registration). ``novofon``: API settings; the balance is
    fetched only when they hold REST credentials. Use :meth:`run` as a task, or the
    ``refresh_*`` coroutines one at a time (tests, a one-shot dump).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        trunks: Iterable[str] = (),
        call_log: Path | None = None,
        novofon: NovofonConfig | None = None,
        interval: float = 5.0,
        files_interval: float = 15.0,
        balance_interval: float = 600.0,
        doctor_interval: float = 600.0,
        ami_timeout: float = 3.0,
    ) -> None:
        from trunkctl.calllog import default_path

        self.settings = settings
        self.trunks = tuple(trunks)
        self.call_log = call_log or default_path()
        self.novofon = novofon
        self.interval = interval
        self.files_interval = files_interval
        self.balance_interval = balance_interval
        self.doctor_interval = doctor_interval
        self.ami_timeout = ami_timeout
        self._snapshot = Snapshot()
        self._ami: AmiClient | None = None
        self._wake = asyncio.Event()
        self._seen: dict[str, tuple[str, float]] = {}
        self._getvar_only = False
        """PJSIPShowEndpoint was refused (no `system` class): read endpoints with Getvar."""
        self._managed: tuple[float, tuple[str, ...]] = (0.0, ())
        self.balance_requests = 0
        """How many balance requests were sent (the cache's contract: one per interval)."""

    @property
    def snapshot(self) -> Snapshot:
        """The current state; safe to read from any thread (replaced whole, never mutated)."""
        return self._snapshot

    def _update(self, source: str, health: SourceHealth, **fields: Any) -> None:
        self._snapshot = replace(
            self._snapshot, **fields, **self._snapshot.with_source(source, health)
        )

    def _ok(self, source: str, **fields: Any) -> None:
        self._update(source, SourceHealth(True, time.time()), **fields)

    def _failed(self, source: str, exc: BaseException, **fields: Any) -> None:
        previous = self._snapshot.sources.get(source, SourceHealth())
        text = _error_text(exc)
        if previous.error != text:
            log.warning("%s: %s", source, text)
        self._update(source, SourceHealth(False, previous.last_success_at, text), **fields)

    # -- AMI -------------------------------------------------------------------------------
    async def _session(self) -> AmiClient:
        """The one AMI session: connected on first use, then reconnected by the client."""
        if self._ami is None:
            from trunkctl.asterisk import ami_client

            ami = ami_client(
                self.settings,
                events=("system",),
                timeout=self.ami_timeout,
                reconnect=True,
                keepalive=30.0,
            )
            ami.connect_timeout = self.ami_timeout
            ami.add_listener(_Wake(self._wake))
            self._ami = ami
        ami = self._ami
        if ami.connections == 0:  # never logged in: the client reconnects only after one
            await ami.connect()
        return ami

    def _managed_endpoints(self) -> tuple[str, ...]:
        """Endpoints trunkctl's markers claim in pjsip.conf (re-read at most every 30 s)."""
        read_at, names = self._managed
        if time.monotonic() - read_at < 30.0 and read_at:
            return names
        from trunkctl.conf import ConfigDir
        from trunkctl.provision import managed_objects

        try:
            objects, _ = managed_objects(ConfigDir(self.settings.config_dir))
        except (TrunkctlError, OSError) as exc:
            self._failed("config", exc)
            names = ()
        else:
            self._ok("config")
            names = tuple(n for n, t in objects if t == "endpoint")
        self._managed = (time.monotonic(), names)
        return names

    async def refresh_ami(self) -> None:
        """One AMI poll; on any AMI failure the trunks are dropped and ``ami_up`` is 0."""
        try:
            ami = await self._session()
            if not ami.connected:  # reconnecting: say so now rather than wait for it
                raise ami.last_error or AmiConnectionError(f"AMI {ami.peer}: reconnecting")
            trunks = await self._poll(ami)
        except (TrunkctlError, OSError) as exc:
            connections = self._ami.connections if self._ami is not None else 0
            self._failed("ami", exc, ami_up=False, trunks=(), ami_connections=connections)
            return
        self._ok("ami", ami_up=True, trunks=trunks, ami_connections=ami.connections)

    async def _poll(self, ami: AmiClient) -> tuple[TrunkSample, ...]:
        try:
            found = await ami.list_action("PJSIPShowRegistrationsOutbound")
            regs = {
                ev.get("ObjectName") or "": ev.get("Status") or "Unknown"
                for ev in found.events
                if ev.get("Event") == "OutboundRegistrationDetail"
            }
        except AmiActionError:  # "No registrations found": an empty list is an error
            regs = {}
        names = self.trunks or tuple(dict.fromkeys((*self._managed_endpoints(), *regs)))
        now = time.time()
        samples = []
        for name in names or ("novofon",):
            sample = await self._endpoint(ami, name)
            status = regs.get(name)
            if status is not None:
                seen = self._seen.get(name)
                if seen is None or seen[0] != status:
                    seen = (status, now)
                    self._seen[name] = seen
                sample = replace(sample, registration=status, registration_changed_at=seen[1])
            samples.append(sample)
        return tuple(samples)

    async def _endpoint(self, ami: AmiClient, name: str) -> TrunkSample:
        if self._getvar_only:
            return await self._endpoint_by_getvar(ami, name)
        try:
            found = await ami.list_action("PJSIPShowEndpoint", Endpoint=name)
        except AmiPermissionError:
            # trunkctl's own AMI user (init) has no `system` class: read what status reads.
            self._getvar_only = True
            return await self._endpoint_by_getvar(ami, name)
        except AmiActionError:
            return TrunkSample(name, loaded=False)
        device_state, channels, contacts = None, 0, []
        for ev in found.events:
            kind = ev.get("Event")
            if kind == "EndpointDetail":
                device_state = ev.get("DeviceState")
                channels = int(ev.get("ActiveChannels") or 0)
            elif kind == "ContactStatusDetail":
                contacts.append(
                    ContactSample(
                        ev.get("URI") or ev.get("Uri") or "",
                        ev.get("Status") or "Unknown",
                        _rtt(ev.get("RoundtripUsec")),
                    )
                )
        return TrunkSample(name, True, None, None, device_state, channels, tuple(contacts))

    async def _endpoint_by_getvar(self, ami: AmiClient, name: str) -> TrunkSample:
        """The sample from Getvar of the PJSIP functions (class ``reporting``), as status."""
        from trunkctl.provision._status import read_endpoint

        reading = await read_endpoint(ami, name)
        if reading is None:
            return TrunkSample(name, loaded=False)
        contacts = tuple(
            ContactSample(
                c["uri"] or "",
                c["status"] or "Unknown",
                None if c["rtt_ms"] is None else c["rtt_ms"] / 1000,
            )
            for c in reading.contacts
        )
        return TrunkSample(
            name, True, None, None, reading.device_state, reading.active_channels, contacts
        )

    # -- files -----------------------------------------------------------------------------
    async def refresh_calls(self) -> None:
        """Count finished calls from the call log (read-only; a missing log is no calls)."""
        try:
            calls, dialing = await asyncio.to_thread(_count_calls, self.call_log)
        except (sqlite3.Error, OSError) as exc:
            self._failed("calllog", exc)
            return
        self._ok("calllog", calls=calls, calls_in_progress=dialing)

    async def refresh_apply(self) -> None:
        """When apply last succeeded and when trunkctl last made a backup (file times)."""
        try:
            sample = await asyncio.to_thread(_apply_times, self.settings.config_dir)
        except OSError as exc:
            self._failed("backups", exc)
            return
        self._ok("backups", apply=sample)

    # -- NovoFon ---------------------------------------------------------------------------
    async def refresh_balance(self) -> None:
        """Ask NovoFon's REST API for the balance and, when ``[novofon] line`` names the
        trunk's SIP line, its simultaneous-lines limit (only with REST credentials)."""
        conf = self.novofon
        if conf is None or not conf.has_rest:
            return
        self.balance_requests += 1
        limits: tuple[tuple[str, int], ...] = ()
        try:
            async with asyncio.timeout(2 * max(conf.timeout, 1.0) + 5.0):
                async with conf.rest_client() as rest:
                    got = await rest.balance()
                    if conf.line:
                        sips = (await rest.sip_numbers()).sips
                        limits = tuple(
                            (conf.trunk, s.lines)
                            for s in sips
                            if s.id == conf.line and s.lines is not None
                        )
        except (TrunkctlError, TimeoutError, OSError) as exc:
            self._failed("novofon_balance", exc)
            return
        sample = BalanceSample(got.balance, got.currency or "RUB", time.time())
        self._ok("novofon_balance", balance=sample, channel_limits=limits)

    # -- doctor ----------------------------------------------------------------------------
    async def refresh_doctor(self) -> None:
        """Run the doctor (live checks and lint) and keep its problems by rule."""
        from trunkctl.doctor import run_doctor

        start = time.time()
        try:
            trunk = self.trunks[0] if self.trunks else None
            report = await run_doctor(self.settings, trunk=trunk)
        except (TrunkctlError, OSError) as exc:
            self._failed("doctor", exc)
            return
        problems = tuple(
            DoctorProblem(item.id, item.source, item.status)
            for item in report.items
            if item.status in ("fail", "warn") and not (item.source == item.id == "lint")
        )
        sample = DoctorSample(time.time(), time.time() - start, problems)
        self._ok("doctor", doctor=sample)

    # -- running ---------------------------------------------------------------------------
    async def _every(self, seconds: float, refresh: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await refresh()
            except Exception:  # a bug in one source must not stop the others
                log.exception("refresh failed")
            await asyncio.sleep(seconds)

    async def _ami_loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.refresh_ami()
            except Exception:
                log.exception("AMI refresh failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            await asyncio.sleep(0.05)  # a burst of events makes one poll, not many

    async def run(self) -> None:
        """Refresh every source at its pace until cancelled; then log off AMI."""
        tasks = [
            self._ami_loop(),
            self._every(self.files_interval, self.refresh_calls),
            self._every(self.files_interval, self.refresh_apply),
        ]
        if self.novofon is not None and self.novofon.has_rest:
            tasks.append(self._every(self.balance_interval, self.refresh_balance))
        if self.doctor_interval > 0:
            tasks.append(self._every(self.doctor_interval, self.refresh_doctor))
        try:
            await asyncio.gather(*tasks)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Log off AMI (idempotent)."""
        ami, self._ami = self._ami, None
        if ami is not None:
            with contextlib.suppress(AmiError):
                await ami.close()


def _count_calls(path: Path) -> tuple[tuple[CallCount, ...], int]:
    if not path.exists():
        return (), 0
    # Read-only: the exporter never creates or changes the log (nor its schema).
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        rows = db.execute(
            "SELECT source, status, COALESCE(sip_code, ''), COUNT(*) FROM calls"
            " WHERE status != 'dialing' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ).fetchall()
        (dialing,) = db.execute("SELECT COUNT(*) FROM calls WHERE status = 'dialing'").fetchone()
    finally:
        db.close()
    return tuple(CallCount(str(s), str(o), str(c), int(n)) for s, o, c, n in rows), int(dialing)


def _newest_mtime(folder: Path, skip: frozenset[str] = frozenset()) -> float | None:
    newest: float | None = None
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return None
    for entry in entries:
        if entry.name not in skip and entry.is_file(follow_symlinks=False):
            mtime = entry.stat(follow_symlinks=False).st_mtime
            newest = mtime if newest is None else max(newest, mtime)
    return newest


def _apply_times(config_dir: Path) -> ApplySample:
    from trunkctl.conf import ConfigDir

    backups = ConfigDir(config_dir).backup_dir
    outcome, at = _last_result(backups / APPLY_RESULT_FILE)
    return ApplySample(
        _newest_mtime(backups / APPLY_SNAPSHOT_DIR),
        _newest_mtime(backups, skip=frozenset({APPLY_RESULT_FILE})),  # a record, not a backup
        outcome,
        at,
    )


def _last_result(path: Path) -> tuple[str | None, float | None]:
    """(outcome, Unix time) from apply's record; (None, None) when there is none yet or it
    is not one (an unreadable file is an OSError: the source is reported down)."""
    import json

    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None, None
    except ValueError:
        log.warning("%s is not apply's JSON record; ignored", path)
        return None, None
    if not isinstance(data, dict):
        return None, None
    outcome, at = data.get("outcome"), data.get("at")
    return (
        outcome if isinstance(outcome, str) else None,
        float(at) if isinstance(at, int | float) and not isinstance(at, bool) else None,
    )
