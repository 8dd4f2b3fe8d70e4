"""The scrape half: a prometheus_client collector that formats the current :class:`Snapshot`
(no I/O, no AMI, no lock), and the HTTP server that serves it from its own thread.

Names follow Prometheus's conventions: a ``trunkctl_`` prefix, base units (``_seconds``),
``_total`` for counters, ``_timestamp_seconds`` for Unix times, and enumerations as one
series per state with value 1 for the current one.
"""

from __future__ import annotations

import errno
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from trunkctl import __version__
from trunkctl.errors import BadInput, EnvironmentProblem
from trunkctl.i18n import Text

from ._snapshot import Snapshot

__all__ = [
    "APPLY_OUTCOMES",
    "DEFAULT_PORT",
    "DEVICE_STATES",
    "REGISTRATION_STATES",
    "MetricsServer",
    "SnapshotCollector",
    "parse_listen",
    "serve_metrics",
]

DEFAULT_PORT = 10150
"""The exporter's default TCP port (see docs/monitoring.md for why this number)."""

APPLY_OUTCOMES = ("applied", "needs_restart", "refused")
"""``trunkctl apply``'s outcomes, always exported (0 or 1) once an apply was recorded."""

REGISTRATION_STATES = ("Registered", "Unregistered", "Rejected", "Stopped")
"""Outbound registration states of Asterisk's res_pjsip_outbound_registration, always
exported (0 or 1) so a query need not guess which exist; another state Asterisk reports is
added as it appears."""

DEVICE_STATES = (
    "Not in use",
    "In use",
    "Busy",
    "Unavailable",
    "Ringing",
    "Ring+Inuse",
    "On Hold",
    "Invalid",
    "Unknown",
)
"""Device states as Asterisk 22 names them in PJSIPShowEndpoint (ast_devstate2str; seen on
the sandbox: "Not in use"), the vocabulary status and doctor use too (they read the
``DEVICE_STATE()`` tokens and map them, trunkctl.provision.DEVICE_STATE_NAMES); another one
is added as it appears."""


def _states(known: tuple[str, ...], current: str) -> list[tuple[str, float]]:
    names = known if current in known else (*known, current)
    return [(name, 1.0 if name == current else 0.0) for name in names]


class SnapshotCollector(Collector):
    """Turns the snapshot that ``source`` returns into metric families, on each scrape."""

    def __init__(self, source: Callable[[], Snapshot]) -> None:
        self._source = source

    def describe(self) -> list[Metric]:
        """Nothing up front: the families depend on the trunks found."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every trunkctl_* family from one snapshot (read once: consistent)."""
        snap = self._source()
        info = InfoMetricFamily("trunkctl_exporter", "trunkctl exporter version.")
        info.add_metric([], {"version": __version__})
        yield info
        yield GaugeMetricFamily(
            "trunkctl_ami_up", "1 while the exporter's AMI session is logged in.", snap.ami_up
        )
        yield CounterMetricFamily(
            "trunkctl_ami_connections",
            "AMI logins of the exporter's session (1 + reconnects).",
            snap.ami_connections,
        )
        yield from self._trunks(snap)
        yield from self._calls(snap)
        yield from self._novofon(snap)
        yield from self._apply_and_doctor(snap)
        yield from self._sources(snap)

    def _trunks(self, snap: Snapshot) -> Iterator[Metric]:
        loaded = GaugeMetricFamily(
            "trunkctl_trunk_loaded", "1 when the trunk's endpoint is loaded.", labels=["trunk"]
        )
        reg_up = GaugeMetricFamily(
            "trunkctl_registration_up",
            "1 when the trunk's outbound registration is Registered (absent: IP mode).",
            labels=["trunk"],
        )
        reg_state = GaugeMetricFamily(
            "trunkctl_registration_state",
            "Outbound registration state: 1 for the current one.",
            labels=["trunk", "state"],
        )
        reg_change = GaugeMetricFamily(
            "trunkctl_registration_last_change_timestamp_seconds",
            "When the registration's state last changed (or was first seen by this exporter).",
            labels=["trunk"],
        )
        device = GaugeMetricFamily(
            "trunkctl_endpoint_device_state",
            "The endpoint's device state: 1 for the current one.",
            labels=["trunk", "state"],
        )
        channels = GaugeMetricFamily(
            "trunkctl_endpoint_channels", "Channels up on the trunk's endpoint.", labels=["trunk"]
        )
        contact_up = GaugeMetricFamily(
            "trunkctl_contact_up",
            "1 when the contact answers qualify (Reachable).",
            labels=["trunk", "uri"],
        )
        contact_status = GaugeMetricFamily(
            "trunkctl_contact_status",
            "The contact's qualify status: 1 for the current one.",
            labels=["trunk", "uri", "status"],
        )
        rtt = GaugeMetricFamily(
            "trunkctl_contact_rtt_seconds",
            "Round trip of the last qualify OPTIONS.",
            labels=["trunk", "uri"],
        )
        for t in snap.trunks:
            loaded.add_metric([t.name], 1.0 if t.loaded else 0.0)
            if t.registration is not None:
                reg_up.add_metric([t.name], 1.0 if t.registration == "Registered" else 0.0)
                for state, value in _states(REGISTRATION_STATES, t.registration):
                    reg_state.add_metric([t.name, state], value)
                if t.registration_changed_at is not None:
                    reg_change.add_metric([t.name], t.registration_changed_at)
            if t.loaded:
                if t.device_state:
                    for state, value in _states(DEVICE_STATES, t.device_state):
                        device.add_metric([t.name, state], value)
                channels.add_metric([t.name], float(t.channels))
            for c in t.contacts:
                contact_up.add_metric([t.name, c.uri], 1.0 if c.status == "Reachable" else 0.0)
                contact_status.add_metric([t.name, c.uri, c.status], 1.0)
                if c.rtt_seconds is not None and c.status == "Reachable":
                    rtt.add_metric([t.name, c.uri], c.rtt_seconds)
        yield from (loaded, reg_up, reg_state, reg_change, device, channels)
        yield from (contact_up, contact_status, rtt)

    def _calls(self, snap: Snapshot) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "trunkctl_calls",
            "Finished calls in the call log by source, outcome and SIP code (from the log "
            "itself: survives restarts).",
            labels=["source", "outcome", "sip_code"],
        )
        for c in snap.calls:
            calls.add_metric([c.source, c.outcome, c.sip_code], float(c.count))
        yield calls
        yield GaugeMetricFamily(
            "trunkctl_calls_dialing",
            "Call log rows still dialing (in progress, or cut off before they ended).",
            float(snap.calls_in_progress),
        )

    def _novofon(self, snap: Snapshot) -> Iterator[Metric]:
        if snap.balance is None:
            return
        balance = GaugeMetricFamily(
            "trunkctl_novofon_balance",
            "NovoFon account balance (REST info/balance, cached).",
            labels=["currency"],
        )
        balance.add_metric([snap.balance.currency], snap.balance.balance)
        yield balance
        yield GaugeMetricFamily(
            "trunkctl_novofon_balance_timestamp_seconds",
            "When the balance was fetched.",
            snap.balance.fetched_at,
        )
        limit = GaugeMetricFamily(
            "trunkctl_endpoint_channel_limit",
            "Simultaneous lines NovoFon allows on the trunk's SIP line (REST sip, cached).",
            labels=["trunk"],
        )
        for trunk, lines in snap.channel_limits:
            limit.add_metric([trunk], float(lines))
        yield limit

    def _apply_and_doctor(self, snap: Snapshot) -> Iterator[Metric]:
        if snap.apply.last_success_at is not None:
            yield GaugeMetricFamily(
                "trunkctl_apply_last_success_timestamp_seconds",
                "When `trunkctl apply` last proved a configuration loaded.",
                snap.apply.last_success_at,
            )
        if snap.apply.last_outcome is not None:
            last = GaugeMetricFamily(
                "trunkctl_apply_last_result",
                "The last proved `trunkctl apply`: 1 for its outcome (applied, needs_restart, "
                "refused), 0 for the others.",
                labels=["outcome"],
            )
            for outcome, value in _states(APPLY_OUTCOMES, snap.apply.last_outcome):
                last.add_metric([outcome], value)
            yield last
        if snap.apply.last_at is not None:
            yield GaugeMetricFamily(
                "trunkctl_apply_last_timestamp_seconds",
                "When the last proved `trunkctl apply` ran, whatever its outcome.",
                snap.apply.last_at,
            )
        if snap.apply.last_backup_at is not None:
            yield GaugeMetricFamily(
                "trunkctl_config_last_backup_timestamp_seconds",
                "When trunkctl last backed up a config file before changing it.",
                snap.apply.last_backup_at,
            )
        if snap.doctor is None:
            return
        problems = GaugeMetricFamily(
            "trunkctl_doctor_problems",
            "Doctor items that failed or warn, by rule (live check id or lint rule id).",
            labels=["rule", "source", "status"],
        )
        counts = Counter((p.rule, p.source, p.status) for p in snap.doctor.problems)
        for (rule, source, status), n in sorted(counts.items()):
            problems.add_metric([rule, source, status], float(n))
        yield problems
        yield GaugeMetricFamily(
            "trunkctl_doctor_last_run_timestamp_seconds",
            "When the background doctor run finished.",
            snap.doctor.finished_at,
        )
        yield GaugeMetricFamily(
            "trunkctl_doctor_duration_seconds",
            "How long the last doctor run took.",
            snap.doctor.duration,
        )

    def _sources(self, snap: Snapshot) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "trunkctl_source_up",
            "1 when the source's last refresh worked (ami, calllog, backups, config, "
            "novofon_balance, doctor).",
            labels=["source"],
        )
        last = GaugeMetricFamily(
            "trunkctl_source_last_success_timestamp_seconds",
            "When the source last refreshed successfully.",
            labels=["source"],
        )
        for name, health in sorted(snap.sources.items()):
            up.add_metric([name], 1.0 if health.up else 0.0)
            if health.last_success_at is not None:
                last.add_metric([name], health.last_success_at)
        yield up
        yield last


@dataclass(slots=True)
class MetricsServer:
    """The running HTTP server (its own thread); :meth:`close` stops it."""

    server: WSGIServer
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        """``http://HOST:PORT/metrics`` (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5.0)


_LISTEN = re.compile(
    r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<p6>\d{1,5}))?"
    r"|(?P<host>[^:\[\]]*)(?::(?P<port>\d{1,5}))?"
)


def parse_listen(value: str) -> tuple[str, int]:
    """``ADDR:PORT``, ``[V6]:PORT``, ``ADDR`` (default port) or ``:PORT`` (loopback)."""
    m = _LISTEN.fullmatch(value.strip())
    port = int((m["p6"] or m["port"] or DEFAULT_PORT) if m else -1)
    if m is None or not 0 <= port <= 65535:
        raise BadInput(
            Text(f"cannot read --listen {value!r}", f"не удаётся разобрать --listen {value!r}"),
            next_step=Text(
                f"Give ADDR:PORT, e.g. 127.0.0.1:{DEFAULT_PORT} or [::1]:{DEFAULT_PORT}.",
                f"Укажите АДРЕС:ПОРТ, например 127.0.0.1:{DEFAULT_PORT} или [::1]:{DEFAULT_PORT}.",
            ),
        )
    return m["v6"] or m["host"] or "127.0.0.1", port


def serve_metrics(source: Callable[[], Snapshot], host: str, port: int) -> MetricsServer:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread (port 0: any free one).

    Raises EnvironmentProblem when the port is taken or the address is not this machine's.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(source))
    ProcessCollector(registry=registry)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise _bind_error(host, port, exc) from exc
    bound = server.server_address[1]
    return MetricsServer(server, thread, host, int(bound))


def _bind_error(host: str, port: int, exc: OSError) -> EnvironmentProblem:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return EnvironmentProblem(
            Text(f"port {where} is already in use", f"порт {where} уже занят"),
            evidence=str(exc),
            next_step=Text(
                f"Find who holds it (`ss -ltnp 'sport = :{port}'`): another exporter is "
                "probably running already; or pick another with --listen ADDR:PORT.",
                f"Посмотрите, кто его держит (`ss -ltnp 'sport = :{port}'`): вероятно, "
                "экспортер уже запущен; или выберите другой порт через --listen АДРЕС:ПОРТ.",
            ),
        )
    if exc.errno == errno.EACCES:
        return EnvironmentProblem(
            Text(f"not allowed to listen on {where}", f"нет права слушать {where}"),
            evidence=str(exc),
            next_step=Text(
                "Ports below 1024 need root: use the default port or another above 1024.",
                "Порты ниже 1024 требуют root: используйте порт по умолчанию или другой выше 1024.",
            ),
        )
    hint = isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL
    return EnvironmentProblem(
        Text(f"cannot listen on {where}", f"не удаётся слушать {where}"),
        evidence=str(exc),
        next_step=Text(
            "Give an address of this machine (127.0.0.1, ::1, or an interface's address)."
            if hint
            else "Check the address and port given to --listen.",
            "Укажите адрес этой машины (127.0.0.1, ::1 или адрес интерфейса)."
            if hint
            else "Проверьте адрес и порт в --listen.",
        ),
    )
