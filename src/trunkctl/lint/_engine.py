"""Running the rules: every rule sees the same context; one that raises becomes a finding."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path

from trunkctl.conf import ConfMissingError
from trunkctl.i18n import Text

from . import _rules_access, _rules_conf, _rules_dialplan, _rules_pjsip  # noqa: F401 (register)
from ._context import LintContext
from ._model import Finding, LintFacts, LintReport, Rule, sort_findings
from ._registry import REGISTRY
from ._roles import EndpointRole

__all__ = ["INTERNAL_RULE_ID", "RULES", "get_rule", "lint", "run_rules"]

# Catalogue order: the files, then pjsip objects, the dialplan, the control interfaces.
_GROUPS = ("CONF", "PJSIP", "DIAL", "AMI", "ARI", "HTTP")
RULES: tuple[Rule, ...] = tuple(
    sorted(REGISTRY, key=lambda r: (_GROUPS.index(r.id.rstrip("0123456789")), r.id))
)
INTERNAL_RULE_ID = "LINT000"
_INTERNAL_FIX = Text(
    "This is a trunkctl bug, not your config's: please report it with the rule id (the "
    "other rules still ran).",
    "Это ошибка trunkctl, а не вашего конфига: сообщите о ней с номером правила (остальные "
    "правила отработали).",
)


def get_rule(rule_id: str) -> Rule:
    """The rule with this id (KeyError if there is none)."""
    for r in RULES:
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)


def _internal(what: str, exc: BaseException) -> Finding:
    # Only the exception's type and where it was raised: its message could quote a value.
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
    name = type(exc).__name__
    return Finding(
        INTERNAL_RULE_ID,
        "warning",
        Text(
            f"{what} failed on this config ({name}{where}); its checks were skipped",
            f"{what} не смог проверить этот конфиг ({name}{where}); его проверки пропущены",
        ),
        (),
        _INTERNAL_FIX,
    )


def run_rules(ctx: LintContext, rules: Iterable[Rule] = RULES) -> LintReport:
    """Run ``rules`` over a prepared context; never raises for a rule's own failure."""
    rules = tuple(rules)
    findings: list[Finding] = []
    for name, exc in ctx.load_failures.items():
        findings.append(_internal(f"reading {name}", exc))
    for r in rules:
        try:
            findings.extend(r.finding(hit) for hit in r.check(ctx))
        except Exception as exc:  # a rule bug must not hide the other rules' findings
            findings.append(_internal(f"rule {r.id}", exc))
    order = {r.id: i for i, r in enumerate(rules)}
    return LintReport(
        config_dir=str(ctx.config_dir),
        findings=sort_findings(findings, order),
        files=dict(ctx.status),
        rules_run=len(rules),
        roles=_roles(ctx),
    )


def _roles(ctx: LintContext) -> tuple[EndpointRole, ...]:
    try:
        return tuple(ctx.roles.values())
    except Exception:  # the roles are reported by the rules that use them (LINT000)
        return ()


def lint(
    config_dir: str | os.PathLike[str],
    *,
    facts: LintFacts | None = None,
    files: Mapping[str, bytes] | None = None,
    rules: Iterable[Rule] = RULES,
) -> LintReport:
    """Check an Asterisk config dir offline, as Asterisk would read it.

    ``files`` maps absolute paths to contents that stand in for the disk (lint staged edits
    before writing them). Never raises for odd configs: unreadable files and failing rules
    become findings. Raises ConfMissingError only when ``config_dir`` is not a directory
    (and nothing is staged): a mistyped --config-dir is not a config without a dialplan.
    """
    if files is None and not Path(config_dir).is_dir():
        raise ConfMissingError(
            Text(
                f"Asterisk config directory not found: {config_dir}",
                f"Каталог конфигурации Asterisk не найден: {config_dir}",
            ),
            next_step=Text(
                "Check --config-dir (usually /etc/asterisk).",
                "Проверьте --config-dir (обычно /etc/asterisk).",
            ),
        )
    return run_rules(LintContext(config_dir, facts, files=files), rules)
