"""The SIP probe's errors: a subtree under :class:`trunkctl.errors.TrunkctlError`.

SipProbeError                 exit 7   a SIP probe could not get a usable answer
├── SipResolveError                    the host name does not resolve (DNS)
├── SipUnreachableError                ICMP port unreachable, TCP refused/reset/closed
├── SipTimeoutError                    no SIP answer in time (firewall, NAT, wrong port)
├── SipParseError                      the peer sent bytes that are not SIP (garbage)
├── SipChallengeError                  a digest challenge trunkctl cannot answer
├── SipRejectedError                   a final non-2xx answer (404 unknown user, 423...)
│   └── SipAuthError                   credentials refused (401/407 after auth, 403)
└── SipSocketError                     our own socket: bind to local_address failed
"""

from __future__ import annotations

from typing import Any, ClassVar

from trunkctl.errors import TrunkctlError
from trunkctl.i18n import Text

__all__ = [
    "SipAuthError",
    "SipChallengeError",
    "SipParseError",
    "SipProbeError",
    "SipRejectedError",
    "SipResolveError",
    "SipSocketError",
    "SipTimeoutError",
    "SipUnreachableError",
]


class SipProbeError(TrunkctlError):
    """A SIP probe (OPTIONS, REGISTER) could not get a usable answer from the peer."""

    exit_code: ClassVar[int] = 8
    code: ClassVar[str] = "sip"


class SipResolveError(SipProbeError):
    """The peer's host name does not resolve."""

    code = "sip_dns"


class SipUnreachableError(SipProbeError):
    """The network said no: ICMP port unreachable, TCP refused, reset or closed."""

    code = "sip_unreachable"


class SipTimeoutError(SipProbeError):
    """No SIP answer arrived in time although the request was (re)sent."""

    code = "sip_timeout"


class SipParseError(SipProbeError):
    """Bytes that are not a SIP message; ``raw`` keeps them (bounded) as evidence."""

    code = "sip_garbage"

    def __init__(self, what: Text | str, *, raw: bytes = b"", **kwargs: Any) -> None:
        self.raw = raw[:2048]
        super().__init__(what, **kwargs)


class SipChallengeError(SipProbeError):
    """A digest challenge trunkctl cannot answer (unknown algorithm, missing nonce...)."""

    code = "sip_challenge"


class SipRejectedError(SipProbeError):
    """The peer answered with a final non-2xx status; ``status_code`` says which."""

    code = "sip_rejected"

    def __init__(self, what: Text | str, *, status_code: int, **kwargs: Any) -> None:
        self.status_code = status_code
        super().__init__(what, **kwargs)


class SipAuthError(SipRejectedError):
    """The peer refused our credentials (401/407 after answering a challenge, or 403)."""

    code = "sip_auth"


class SipSocketError(SipProbeError):
    """Our own socket failed (cannot bind ``local_address``, no route from it)."""

    code = "sip_socket"
