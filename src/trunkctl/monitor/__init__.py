"""Monitoring: the Prometheus exporter's library half (``trunkctl exporter`` is its CLI).

:class:`Monitor` keeps a :class:`Snapshot` current in the background (one long-lived AMI
session, the call log, backups, NovoFon's balance, a periodic doctor run);
:func:`serve_metrics` serves it with prometheus_client from its own thread, so a scrape
does no I/O. Metric names and labels: docs/monitoring.md.
"""

from ._collector import (
    APPLY_OUTCOMES,
    DEFAULT_PORT,
    DEVICE_STATES,
    REGISTRATION_STATES,
    MetricsServer,
    SnapshotCollector,
    parse_listen,
    serve_metrics,
)
from ._monitor import APPLY_RESULT_FILE, APPLY_SNAPSHOT_DIR, Monitor
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

__all__ = [
    "APPLY_OUTCOMES",
    "APPLY_RESULT_FILE",
    "APPLY_SNAPSHOT_DIR",
    "DEFAULT_PORT",
    "DEVICE_STATES",
    "REGISTRATION_STATES",
    "ApplySample",
    "BalanceSample",
    "CallCount",
    "ContactSample",
    "DoctorProblem",
    "DoctorSample",
    "MetricsServer",
    "Monitor",
    "Snapshot",
    "SnapshotCollector",
    "SourceHealth",
    "TrunkSample",
    "parse_listen",
    "serve_metrics",
]
