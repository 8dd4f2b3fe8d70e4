"""SIP probes for a trunk: OPTIONS reachability and REGISTER credential checks, UDP and TCP.

The REGISTER check asks for the line's bindings without a Contact (RFC 3261 §10.2.3), so it
never displaces a live trunk's registration; ``bind=True`` adds and removes a test binding.

Hand-written on stdlib asyncio because no kept Python library does a small async SIP UAC
with RFC 7616 digest: pjsua2's bindings are heavy and not on PyPI as wheels, aiosip is
unmaintained. Layers (asyncpg's split): ``_message`` (pure parser/builder), ``_digest``
(sans-I/O digest flow), ``_transport`` (asyncio UDP/TCP transactions), ``probe`` (this API).
"""

from ._errors import (
    SipAuthError,
    SipChallengeError,
    SipParseError,
    SipProbeError,
    SipRejectedError,
    SipResolveError,
    SipSocketError,
    SipTimeoutError,
    SipUnreachableError,
)
from ._transport import Address, TransportName
from .probe import (
    Binding,
    NatDiagnosis,
    NatFinding,
    OptionsResult,
    RegisterResult,
    RegisterStep,
    diagnose_nat,
    options,
    options_sync,
    register_check,
    register_check_sync,
)

__all__ = [
    "Address",
    "Binding",
    "NatDiagnosis",
    "NatFinding",
    "OptionsResult",
    "RegisterResult",
    "RegisterStep",
    "SipAuthError",
    "SipChallengeError",
    "SipParseError",
    "SipProbeError",
    "SipRejectedError",
    "SipResolveError",
    "SipSocketError",
    "SipTimeoutError",
    "SipUnreachableError",
    "TransportName",
    "diagnose_nat",
    "options",
    "options_sync",
    "register_check",
    "register_check_sync",
]
