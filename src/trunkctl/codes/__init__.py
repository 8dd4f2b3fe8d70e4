"""SIP and Q.850 code tables, Asterisk's translations between them, and call explanations.

Pure data and pure functions: no I/O, no asyncio. Tables are registries keyed by code
(``sip_status(486)``, ``q850_cause(17)``) that answer even for codes they do not list.
``explain(CallOutcome(...))`` turns a call's result into advice in English and Russian;
``ProviderAnswer`` quotes the provider's own reason phrase and Warning/Reason headers.
"""

from ._catalog import CATALOG
from ._dialstatus import DIAL_STATUSES, DialStatus, dial_status
from ._explain import explain, situation_for
from ._mapping import (
    Q850_TO_SIP,
    SIP_TO_Q850,
    dial_status_for_cause,
    dialend_status_for_cause,
    q850_to_sip,
    sip_response_for_hangup,
    sip_to_q850,
)
from ._outcome import CallOutcome, CallStatus, Explanation, Severity, TrunkMode
from ._parse import CauseParseError, parse_hangupcause_tech, parse_tech_cause
from ._phrases import PROVIDER_PHRASES, ProviderAnswer, ProviderPhrase, provider_phrase
from ._q850 import Q850_CAUSES, Q850Cause, q850_cause
from ._registry import CodeTable
from ._sip import SIP_STATUSES, SipStatus, sip_status

__all__ = [
    "CATALOG",
    "DIAL_STATUSES",
    "PROVIDER_PHRASES",
    "Q850_CAUSES",
    "Q850_TO_SIP",
    "SIP_STATUSES",
    "SIP_TO_Q850",
    "CallOutcome",
    "CallStatus",
    "CauseParseError",
    "CodeTable",
    "DialStatus",
    "Explanation",
    "ProviderAnswer",
    "ProviderPhrase",
    "Q850Cause",
    "Severity",
    "SipStatus",
    "TrunkMode",
    "dial_status",
    "dial_status_for_cause",
    "dialend_status_for_cause",
    "explain",
    "parse_hangupcause_tech",
    "parse_tech_cause",
    "provider_phrase",
    "q850_cause",
    "q850_to_sip",
    "sip_response_for_hangup",
    "sip_status",
    "sip_to_q850",
    "situation_for",
]
