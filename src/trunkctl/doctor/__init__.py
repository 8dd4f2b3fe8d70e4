"""``trunkctl doctor``, ``probe`` and ``support-request``: the trunk checked and explained.

``await run_doctor(settings)`` runs every check in :data:`LIVE_CHECKS` concurrently (AMI,
Asterisk version, PJSIP modules, the trunk, registration, qualify RTT, DNS, SIP OPTIONS,
NAT), each under its own timeout, then lints the config dir with what they learned; the
:class:`DoctorReport` groups it all (fail, warn, info, ok, skip) with evidence and fixes.
``nagios_options``/``nagios_register`` turn a SIP probe into a Nagios plugin verdict;
``support_request`` writes the message to NovoFon support and an evidence bundle.
"""

from ._bundle import Bundle, BundleError, collect_secrets, config_excerpts, scrub, write_bundle
from ._config import TrunkFacts, read_trunk, split_host_port
from ._context import DoctorContext, Skip
from ._model import (
    GROUPS,
    CheckResult,
    DoctorReport,
    ItemStatus,
    ReportItem,
    Status,
    lint_summary,
)
from ._nagios import NAGIOS_CODES, NagiosVerdict, nagios_error, nagios_options, nagios_register
from ._request import SupportRequest, support_request
from ._runner import provider_profile, run_checks, run_doctor
from ._support import (
    CallFacts,
    ExchangeStep,
    Situation,
    SupportFacts,
    SupportMessage,
    call_facts,
    support_facts,
    support_message,
)
from .checks import LIVE_CHECKS, LiveCheck

__all__ = [
    "GROUPS",
    "LIVE_CHECKS",
    "NAGIOS_CODES",
    "Bundle",
    "BundleError",
    "CallFacts",
    "CheckResult",
    "DoctorContext",
    "DoctorReport",
    "ExchangeStep",
    "ItemStatus",
    "LiveCheck",
    "NagiosVerdict",
    "ReportItem",
    "Situation",
    "Skip",
    "Status",
    "SupportFacts",
    "SupportMessage",
    "SupportRequest",
    "TrunkFacts",
    "call_facts",
    "collect_secrets",
    "config_excerpts",
    "lint_summary",
    "nagios_error",
    "nagios_options",
    "nagios_register",
    "provider_profile",
    "read_trunk",
    "run_checks",
    "run_doctor",
    "scrub",
    "split_host_port",
    "support_facts",
    "support_message",
    "support_request",
    "write_bundle",
]
