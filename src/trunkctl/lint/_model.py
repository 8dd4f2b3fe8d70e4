"""The lint vocabulary: facts in, rules, findings and the report out.

Plain frozen dataclasses so a report can be built, compared in tests and turned into JSON
without the engine; every user-facing string is a :class:`~trunkctl.i18n.Text`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from trunkctl.i18n import Lang, Text
from trunkctl.providers import ProviderProfile

if TYPE_CHECKING:
    from ._context import LintContext
    from ._roles import EndpointRole

__all__ = [
    "SEVERITIES",
    "SUBJECTS",
    "Finding",
    "Hit",
    "LintFacts",
    "LintReport",
    "Rule",
    "Severity",
    "Subject",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: Final[tuple[Severity, ...]] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class LintFacts:
    """What the lint may know beyond the files; every field is optional.

    ``asterisk_version`` is ``core show version`` output or a bare ``22.10.1``; ``modules``
    holds module names without ``.so`` (``None``: unknown); ``provider`` is the profile the
    trunk is for; ``public_ip`` the server's public address, if it is behind NAT.
    """

    asterisk_version: str | None = None
    modules: frozenset[str] | None = None
    provider: ProviderProfile | None = None
    public_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check function yields: the engine adds the rule's id, severity and fix."""

    message: Text
    evidence: tuple[str, ...] = ()
    fix: Text | None = None
    severity: Severity | None = None


Subject = Literal["trunk", "phones", "apps", "endpoints", "pjsip", "dialplan", "files", "access"]
SUBJECTS: Final[tuple[Subject, ...]] = (
    "trunk",
    "phones",
    "apps",
    "endpoints",
    "pjsip",
    "dialplan",
    "files",
    "access",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found: evidence lines are ``file:line: excerpt`` with secrets masked.

    ``subject`` is what it is about (the trunk, the phones, the dialplan…) so reports can
    group a 20-phone config into a few blocks; ``count`` how many identical findings from
    the same line (one template inherited by 100 phones) this one stands for.
    """

    rule_id: str
    severity: Severity
    message: Text
    evidence: tuple[str, ...]
    fix: Text
    subject: Subject = "pjsip"
    count: int = 1

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view in one language."""
        return {
            "rule": self.rule_id,
            "severity": self.severity,
            "subject": self.subject,
            "count": self.count,
            "message": self.message.render(lang),
            "evidence": list(self.evidence),
            "fix": self.fix.render(lang),
        }


Check = Callable[["LintContext"], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A stable id (``PJSIP001``), a default severity, bilingual texts and a check."""

    id: str
    severity: Severity
    title: Text
    why: Text
    fix: Text
    check: Check = field(repr=False, compare=False)

    def finding(self, hit: Hit) -> Finding:
        """The hit as a finding of this rule."""
        return Finding(
            self.id, hit.severity or self.severity, hit.message, hit.evidence, hit.fix or self.fix
        )

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """The rule's catalogue entry (for ``doctor --list-rules`` and the docs test)."""
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title.render(lang),
            "why": self.why.render(lang),
            "fix": self.fix.render(lang),
        }


_RANK: Final = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class LintReport:
    """All findings, worst first; ``files`` tells what was read (``ok``/``missing``/``invalid``)."""

    config_dir: str
    findings: tuple[Finding, ...]
    files: dict[str, str] = field(default_factory=dict)
    rules_run: int = 0
    roles: tuple[EndpointRole, ...] = ()

    def counts(self) -> dict[Severity, int]:
        """How many findings of each severity (every severity present, zeros included)."""
        out: dict[Severity, int] = dict.fromkeys(SEVERITIES, 0)
        for f in self.findings:
            out[f.severity] += 1
        return out

    @property
    def ok(self) -> bool:
        """True when nothing has error severity."""
        return not any(f.severity == "error" for f in self.findings)

    def by_rule(self, rule_id: str) -> list[Finding]:
        """Findings of one rule, in report order."""
        return [f for f in self.findings if f.rule_id == rule_id]

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """The ``doctor --offline --json`` document."""
        return {
            "config_dir": self.config_dir,
            "ok": self.ok,
            "counts": self.counts(),
            "files": dict(self.files),
            "rules_run": self.rules_run,
            "roles": [r.to_dict(lang) for r in self.roles],
            "findings": [f.to_dict(lang) for f in self.findings],
        }


def sort_findings(findings: Iterable[Finding], order: dict[str, int]) -> tuple[Finding, ...]:
    """Worst severity first, then rule order, then the order the rule reported them."""
    indexed = list(enumerate(findings))
    indexed.sort(key=lambda p: (_RANK[p[1].severity], order.get(p[1].rule_id, 1 << 30), p[0]))
    return tuple(f for _, f in indexed)
