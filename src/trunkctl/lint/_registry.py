"""The rule registry: rule modules declare rules with :func:`rule`, in catalogue order."""

from __future__ import annotations

from collections.abc import Callable

from trunkctl.i18n import Text

from ._model import Check, Rule, Severity

__all__ = ["REGISTRY", "rule"]

REGISTRY: list[Rule] = []


def rule(
    id: str, severity: Severity, *, title: Text, why: Text, fix: Text
) -> Callable[[Check], Check]:
    """Register the decorated check as rule ``id`` (ids are unique and never reused)."""

    def register(check: Check) -> Check:
        if any(r.id == id for r in REGISTRY):
            raise ValueError(f"duplicate lint rule id {id}")
        REGISTRY.append(Rule(id, severity, title, why, fix, check))
        return check

    return register
