"""What the exporter knows at one moment: immutable samples that the background refreshers
replace whole, so a scrape (another thread) reads one consistent object without a lock."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "ApplySample",
    "BalanceSample",
    "CallCount",
    "ContactSample",
    "DoctorProblem",
    "DoctorSample",
    "Snapshot",
    "SourceHealth",
    "TrunkSample",
]


@dataclass(frozen=True, slots=True)
class ContactSample:
    """One qualified contact of a trunk's AOR: ``status`` as Asterisk says (Reachable...)."""

    uri: str
    status: str
    rtt_seconds: float | None


@dataclass(frozen=True, slots=True)
class TrunkSample:
    """One trunk as AMI showed it at the last poll; ``registration`` None: no outbound
    registration (an IP-mode trunk), ``loaded`` False: the endpoint is not in Asterisk."""

    name: str
    loaded: bool
    registration: str | None = None
    registration_changed_at: float | None = None
    device_state: str | None = None
    channels: int = 0
    contacts: tuple[ContactSample, ...] = ()


@dataclass(frozen=True, slots=True)
class CallCount:
    """Finished calls in the call log with this source, outcome and SIP code ("" unknown)."""

    source: str
    outcome: str
    sip_code: str
    count: int


@dataclass(frozen=True, slots=True)
class BalanceSample:
    """The NovoFon account balance as the REST API said it at ``fetched_at``."""

    balance: float
    currency: str
    fetched_at: float


@dataclass(frozen=True, slots=True)
class ApplySample:
    """When ``apply`` last succeeded (its snapshot of the accepted files) and when trunkctl
    last backed up a config file (setup, credentials, a rollback); the last proved apply's
    outcome (``applied``, ``needs_restart``, ``refused``) and time, from its
    ``last-apply.json``; None: never (or not recorded)."""

    last_success_at: float | None = None
    last_backup_at: float | None = None
    last_outcome: str | None = None
    last_at: float | None = None


@dataclass(frozen=True, slots=True)
class DoctorProblem:
    """One doctor item that is not ok: a live check or a lint rule, ``fail`` or ``warn``."""

    rule: str
    source: str
    status: str


@dataclass(frozen=True, slots=True)
class DoctorSample:
    """The last background doctor run."""

    finished_at: float
    duration: float
    problems: tuple[DoctorProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One data source's refresh record: up at the last try, when it last worked, the error."""

    up: bool = False
    last_success_at: float | None = None
    error: str | None = None


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _frozen(value: dict[str, SourceHealth] | None = None) -> MappingProxyType[str, SourceHealth]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a scrape shows. ``trunks`` is empty while AMI is down: the last known
    registration is not the current one, so it is not repeated."""

    ami_up: bool = False
    ami_connections: int = 0
    trunks: tuple[TrunkSample, ...] = ()
    calls: tuple[CallCount, ...] = ()
    calls_in_progress: int = 0
    balance: BalanceSample | None = None
    channel_limits: tuple[tuple[str, int], ...] = ()
    """(trunk, simultaneous lines) as NovoFon's REST ``sip`` tells for the configured line."""
    apply: ApplySample = field(default_factory=ApplySample)
    doctor: DoctorSample | None = None
    sources: MappingProxyType[str, SourceHealth] = field(default_factory=_frozen)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``exporter --once --json``): every field, sources by name."""
        data = {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "sources"}
        out = {k: _plain(v) for k, v in data.items()}
        out["sources"] = {k: asdict(v) for k, v in sorted(self.sources.items())}
        return out

    def with_source(self, name: str, health: SourceHealth) -> dict[str, Any]:
        """``replace()`` keywords that record ``health`` for source ``name``."""
        sources = dict(self.sources)
        sources[name] = health
        return {"sources": _frozen(sources)}
