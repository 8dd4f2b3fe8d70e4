"""The doctor's vocabulary: one live check's result, and the report merging them with lint.

Plain dataclasses with bilingual texts; ``to_dict(lang)`` renders one language for JSON.
A report groups items by status (fail, warn, info, ok, skip) and decides the exit code:
2 when something failed, 1 for warnings only, 0 otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from trunkctl.i18n import Lang, Text
from trunkctl.lint import Finding, LintReport, get_rule

__all__ = [
    "GROUPS",
    "CheckResult",
    "DoctorReport",
    "ItemStatus",
    "ReportItem",
    "Status",
    "lint_summary",
]

Status = Literal["ok", "warn", "fail", "skip"]
ItemStatus = Literal["fail", "warn", "info", "ok", "skip"]
# Report order: what needs fixing first.
GROUPS: Final[tuple[ItemStatus, ...]] = ("fail", "warn", "info", "ok", "skip")
_LINT_STATUS: Final[dict[str, ItemStatus]] = {"error": "fail", "warning": "warn", "info": "info"}


def _texts(items: tuple[Text, ...], lang: Lang | None) -> list[str]:
    return [t.render(lang) for t in items]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One live check: what was checked (``title``), what was found (``message``), and why.

    ``evidence`` holds the facts behind the verdict; ``fix`` what to do when it is not ok;
    ``data`` JSON-ready values for scripts and the support request (never a secret);
    ``duration`` seconds, set by the runner.
    """

    id: str
    title: Text
    status: Status
    message: Text
    evidence: tuple[Text, ...] = ()
    fix: Text | None = None
    duration: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view in one language: the report line's fields plus ``data``."""
        line = ReportItem.from_check(self).to_dict(lang)
        del line["source"]
        return {**line, "data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class ReportItem:
    """A line of the report: a live check or a lint finding, in one shape."""

    source: Literal["check", "lint"]
    id: str
    status: ItemStatus
    title: Text
    message: Text
    evidence: tuple[Text, ...] = ()
    fix: Text | None = None
    duration: float | None = None
    subject: str | None = None  # lint: trunk, phones, apps, dialplan, files, access…
    count: int = 1  # lint: identical findings from one template line

    @classmethod
    def from_check(cls, check: CheckResult) -> ReportItem:
        """A live check as a report line."""
        return cls(
            "check",
            check.id,
            check.status,
            check.title,
            check.message,
            check.evidence,
            check.fix,
            check.duration,
        )

    @classmethod
    def from_finding(cls, finding: Finding) -> ReportItem:
        """A lint finding as a report line (title from its rule; LINT000 has none)."""
        try:
            title = get_rule(finding.rule_id).title
        except KeyError:
            title = finding.message
        evidence = tuple(Text(e, e) for e in finding.evidence)
        status = _LINT_STATUS.get(finding.severity, "warn")
        return cls(
            "lint",
            finding.rule_id,
            status,
            title,
            finding.message,
            evidence,
            finding.fix,
            subject=finding.subject,
            count=finding.count,
        )

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view in one language."""
        out: dict[str, Any] = {
            "source": self.source,
            "id": self.id,
            "status": self.status,
            "title": self.title.render(lang),
            "message": self.message.render(lang),
            "evidence": _texts(self.evidence, lang),
            "fix": self.fix.render(lang) if self.fix else None,
        }
        if self.duration is not None:
            out["duration_ms"] = round(self.duration * 1000, 1)
        if self.subject is not None:
            out["subject"] = self.subject
            out["count"] = self.count
        return out


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def lint_summary(lint: LintReport) -> Text:
    """One line saying the lint ran and what it found (so a clean config is visible too).

    It is a summary, not a finding: it never joins the groups nor the counts, so one
    error reads as "1 failed", not 2.
    """
    read = ", ".join(name for name, st in lint.files.items() if st == "ok") or "-"
    counts = lint.counts()
    return Text(
        f"Config lint: {lint.rules_run} rules over {read}: "
        f"{_plural(counts['error'], 'error')}, "
        f"{_plural(counts['warning'], 'warning')}, {_plural(counts['info'], 'note')}",
        f"Проверка конфигурации: {lint.rules_run} правил по {read}: ошибок — "
        f"{counts['error']}, предупреждений — {counts['warning']}, замечаний — {counts['info']}",
    )


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Everything one ``doctor`` run found: live checks, lint, timing."""

    config_dir: str
    trunk: str | None
    offline: bool
    started_at: datetime
    duration: float
    checks: tuple[CheckResult, ...] = ()
    lint: LintReport | None = None

    @property
    def items(self) -> list[ReportItem]:
        """Checks first (in run order), then lint findings (worst first); the lint's
        summary line is not an item (see :func:`lint_summary`)."""
        items = [ReportItem.from_check(c) for c in self.checks]
        if self.lint is not None:
            items += [ReportItem.from_finding(f) for f in self.lint.findings]
        return items

    def groups(self) -> dict[ItemStatus, list[ReportItem]]:
        """Items by status, in :data:`GROUPS` order (every group present, maybe empty)."""
        out: dict[ItemStatus, list[ReportItem]] = {g: [] for g in GROUPS}
        for item in self.items:
            out[item.status].append(item)
        return out

    def counts(self) -> dict[ItemStatus, int]:
        """How many items of each status."""
        return {g: len(items) for g, items in self.groups().items()}

    def check(self, check_id: str) -> CheckResult | None:
        """The live check with this id, if it ran."""
        return next((c for c in self.checks if c.id == check_id), None)

    @property
    def exit_code(self) -> int:
        """2 when anything failed, 1 when something warns, else 0."""
        counts = self.counts()
        return 2 if counts["fail"] else 1 if counts["warn"] else 0

    @property
    def ok(self) -> bool:
        """True when nothing failed (warnings allowed)."""
        return self.exit_code < 2

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """The ``doctor --json`` document."""
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "offline": self.offline,
            "config_dir": self.config_dir,
            "trunk": self.trunk,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "duration_ms": round(self.duration * 1000, 1),
            "counts": self.counts(),
            "groups": {g: [i.to_dict(lang) for i in items] for g, items in self.groups().items()},
            "checks": [c.to_dict(lang) for c in self.checks],
            "lint": None
            if self.lint is None
            else {
                "files": dict(self.lint.files),
                "rules_run": self.lint.rules_run,
                "counts": self.lint.counts(),
                "summary": lint_summary(self.lint).render(lang),
                "roles": [r.to_dict(lang) for r in self.lint.roles],
            },
        }
