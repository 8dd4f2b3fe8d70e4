"""An in-process NovoFon: REST v1, Data API 2.0 and Call API 4.0 as one ASGI app.

``Emulator(backend)`` checks signatures, tokens, IP whitelist, rate limits and parameters
the way NovoFon documents them; the telephony (SIP lines, registrations, passwords,
virtual numbers, calls) comes from a :class:`Backend`: :class:`InMemoryBackend` for unit
tests, the sandbox's provider Asterisk for end-to-end runs.
"""

from ._app import Emulator, EmulatorAccount, EmulatorLimits
from ._backend import (
    Backend,
    BackendUnavailable,
    CallRecord,
    InMemoryBackend,
    Registration,
    SipLineInfo,
    VirtualNumberInfo,
    finish_reason,
)

__all__ = [
    "Backend",
    "BackendUnavailable",
    "CallRecord",
    "Emulator",
    "EmulatorAccount",
    "EmulatorLimits",
    "InMemoryBackend",
    "Registration",
    "SipLineInfo",
    "VirtualNumberInfo",
    "finish_reason",
]
