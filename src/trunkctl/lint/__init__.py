"""Offline lint of an Asterisk config dir for ``trunkctl doctor --offline``.

``lint(config_dir, facts=LintFacts(...))`` reads pjsip.conf, extensions.conf, manager.conf,
ari.conf and http.conf exactly as Asterisk 22 does (templates, includes) and runs every
rule in :data:`RULES` over them; the :class:`LintReport` lists :class:`Finding` objects with
``file:line`` evidence (secrets masked) and a fix, in English and Russian.
"""

from ._context import LintContext
from ._engine import INTERNAL_RULE_ID, RULES, get_rule, lint, run_rules
from ._model import SEVERITIES, Finding, Hit, LintFacts, LintReport, Rule, Severity
from ._roles import ROLE_KINDS, EndpointRole, RoleKind
from ._values import parse_module_list, parse_version

__all__ = [
    "INTERNAL_RULE_ID",
    "ROLE_KINDS",
    "RULES",
    "SEVERITIES",
    "EndpointRole",
    "Finding",
    "Hit",
    "LintContext",
    "LintFacts",
    "LintReport",
    "RoleKind",
    "Rule",
    "Severity",
    "get_rule",
    "lint",
    "parse_module_list",
    "parse_version",
    "run_rules",
]
