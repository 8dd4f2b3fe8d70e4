"""Running the rules: every rule sees the same context; one that raises becomes a finding."""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Final

from trunkctl.conf import ConfMissingError
from trunkctl.i18n import Text

from . import _rules_access, _rules_conf, _rules_dialplan, _rules_pjsip  # noqa: F401 (register)
from ._context import LintContext
from ._model import Finding, LintFacts, LintReport, Rule, Subject, sort_findings
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
            for hit in r.check(ctx):
                f = r.finding(hit)
                findings.append(replace(f, subject=_subject(ctx, f)))
        except Exception as exc:  # a rule bug must not hide the other rules' findings
            findings.append(_internal(f"rule {r.id}", exc))
    findings = collapse(findings)
    order = {r.id: i for i, r in enumerate(rules)}
    return LintReport(
        config_dir=str(ctx.config_dir),
        findings=sort_findings(findings, order),
        files=dict(ctx.status),
        rules_run=len(rules),
        roles=_roles(ctx),
    )


_BRACKETED: Final = re.compile(r"\[([^\]\s]+)\]")
_ROLE_SUBJECT: Final[dict[str, Subject]] = {
    "trunk": "trunk",
    "phone": "phones",
    "app": "apps",
    "unknown": "endpoints",
}
_PREFIX_SUBJECT: Final[dict[str, Subject]] = {
    "CONF": "files",
    "DIAL": "dialplan",
    "AMI": "access",
    "ARI": "access",
    "HTTP": "access",
}


def _subject(ctx: LintContext, f: Finding) -> Subject:
    """What a finding is about: the role of the first endpoint its message names (an
    auth's message names its endpoint too), else its rule's area."""
    prefix = f.rule_id.rstrip("0123456789")
    if prefix == "CONF" and f.evidence and f.evidence[0].startswith("extensions"):
        return "dialplan"  # a placeholder in a context belongs with the dialplan
    if prefix != "PJSIP":
        return _PREFIX_SUBJECT.get(prefix, "files")
    try:
        roles = ctx.roles
    except Exception:
        return "pjsip"
    for name in _BRACKETED.findall(f.message.en):
        role = roles.get(name)
        if role is not None:
            return _ROLE_SUBJECT[role.role]
    return "pjsip"


def _line_of(evidence: tuple[str, ...]) -> str | None:
    """``pjsip.conf:12`` of the first evidence line, if it has one."""
    if not evidence:
        return None
    m = re.match(r"([^:\s]+:\d+):", evidence[0])
    return m.group(1) if m else None


def collapse(findings: Iterable[Finding]) -> list[Finding]:
    """Identical findings from one line (a template inherited by 100 phones) become one,
    with ``count`` and the names of the others in the message."""
    out: list[Finding] = []
    index: dict[tuple[str, str, str], int] = {}
    extra: dict[int, list[str]] = {}
    for f in findings:
        line = _line_of(f.evidence)
        key = (f.rule_id, f.severity, line or "")
        if line is None or "(in template [" not in f.evidence[0] or key not in index:
            if line is not None:
                index.setdefault(key, len(out))
            out.append(f)
            continue
        i = index[key]
        out[i] = replace(out[i], count=out[i].count + 1)
        names = _BRACKETED.findall(f.message.en)
        extra.setdefault(i, []).append(names[0] if names else "?")
    for i, more in extra.items():
        f = out[i]
        shown = ", ".join(f"[{n}]" for n in more[:5]) + (" …" if len(more) > 5 else "")
        out[i] = replace(
            f,
            message=Text(
                f"{f.message.en}; the same for {len(more)} more from this template: {shown}",
                f"{f.message.ru}; то же ещё у {len(more)} из этого шаблона: {shown}",
            ),
            evidence=(re.sub(r", inherited by \[[^\]]*\]", "", f.evidence[0]), *f.evidence[1:]),
        )
    return out


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
