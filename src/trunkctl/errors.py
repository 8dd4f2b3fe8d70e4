"""Every error trunkctl raises on purpose, in one tree.

Each carries *what* happened, the *evidence* (a log tail, a SIP code, a file:line) and the
*next* step, in Russian and English, so the CLI can print it in either language or as JSON
and map its class to an exit code. Foreign exceptions (OSError, subprocess, httpx…) are
translated at each layer's edge and chained with ``raise ... from exc``.

    TrunkctlError                 exit 1
    ├── ApplyError                         Asterisk refused a reload; files rolled back
    ├── BundleError                        a support bundle not written (or a secret survived)
    ├── CampaignError                      another live runner is dialling that campaign
    ├── BadInput                  exit 2   invalid argument, value or file content
    │   ├── ConfValueError                 a .conf value that would change meaning
    │   ├── CauseParseError                a HANGUPCAUSE/TechCause text we cannot read
    │   └── NovofonConfigError             [novofon] settings or credentials missing
    ├── EnvironmentProblem        exit 3   not root, missing tool, unsupported system
    ├── ConfError                 exit 4   reading or writing an Asterisk .conf file
    │   ├── ConfParseError                 with file, line, column
    │   ├── ConfMissingError               the file, or one it must #include, is missing
    │   ├── ConfLockError                  another trunkctl holds the lock
    │   └── ConfWriteError                 the atomic write failed; the old file stands
    ├── SandboxError              exit 5   building or running the sandbox
    ├── AmiError                  exit 6   talking to Asterisk's manager interface
    │   ├── AmiConnectionError             refused, reset, closed
    │   │   └── AmiProtocolError           the peer does not speak AMI
    │   ├── AmiAuthError                   login refused
    │   ├── AmiPermissionError             a class (originate, system…) is missing
    │   ├── AmiActionError                 Response: Error
    │   └── AmiTimeoutError                no answer in time
    ├── NovofonError              exit 7   NovoFon's HTTP APIs and webhooks (trunkctl.novofon)
    │   ├── NovofonConnectionError, NovofonTimeout, NovofonProtocolError, NovofonServerError
    │   ├── NovofonOutcomeUnknown          a call request whose outcome is unknown: never retried
    │   ├── NovofonWebhookError            a webhook that fails verification
    │   └── NovofonApiError                an API error by code and mnemonic
    │       ├── NovofonAuthError, NovofonBlocked, NovofonAccountInactive, NovofonBadParams
    │       ├── NovofonForbidden ─ NovofonIpNotWhitelisted
    │       ├── NovofonVirtualNumberError, NovofonComponentDisabled
    │       └── NovofonRateLimited         with retry_after
    └── SipProbeError             exit 8   a SIP probe got no usable answer (trunkctl.sip)
        ├── SipResolveError                the host name does not resolve
        ├── SipUnreachableError            ICMP port unreachable, TCP refused/reset
        ├── SipTimeoutError                no SIP answer in time (firewall, NAT, port)
        ├── SipParseError                  the peer sent bytes that are not SIP
        ├── SipChallengeError              a digest challenge trunkctl cannot answer
        ├── SipSocketError                 our own socket could not bind
        └── SipRejectedError               a final non-2xx answer
            └── SipAuthError               credentials refused (401/407 after auth, 403)

Subclasses live with their layer (``trunkctl.sip``, ``trunkctl.novofon``…); this drawing is
the one place that shows them all. `trunkctl call` adds exit codes 10–18, one per outcome.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .i18n import Lang, Text

__all__ = [
    "AmiActionError",
    "AmiAuthError",
    "AmiConnectionError",
    "AmiError",
    "AmiPermissionError",
    "AmiTimeoutError",
    "BadInput",
    "ConfError",
    "ConfLockError",
    "ConfParseError",
    "ConfValueError",
    "ConfWriteError",
    "EnvironmentProblem",
    "SandboxError",
    "TrunkctlError",
]


def _as_text(value: Text | str | None) -> Text | None:
    if value is None or isinstance(value, Text):
        return value
    return Text(value, value)


class TrunkctlError(Exception):
    """Root of trunkctl's errors: what happened, the evidence, and the next step."""

    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "error"

    def __init__(
        self,
        what: Text | str,
        *,
        evidence: Text | str | None = None,
        next_step: Text | str | None = None,
        **details: Any,
    ) -> None:
        self.what: Text = _as_text(what) or Text("", "")
        self.evidence = _as_text(evidence)
        self.next_step = _as_text(next_step)
        self.details: dict[str, Any] = details
        super().__init__(self.what.en)

    def to_dict(self, lang: Lang | None = None) -> dict[str, Any]:
        """A JSON-ready view (no secrets: callers never put them in errors)."""
        return {
            "code": self.code,
            "type": type(self).__name__,
            "what": self.what.render(lang),
            "evidence": self.evidence.render(lang) if self.evidence else None,
            "next": self.next_step.render(lang) if self.next_step else None,
            **({"details": self.details} if self.details else {}),
        }


class BadInput(TrunkctlError):
    """The user's input is invalid; nothing was changed."""

    exit_code = 2
    code = "bad_input"


class EnvironmentProblem(TrunkctlError):
    """The machine lacks something trunkctl needs (root, a tool, a kernel feature)."""

    exit_code = 3
    code = "environment"


class ConfError(TrunkctlError):
    """Reading or writing an Asterisk configuration file failed."""

    exit_code = 4
    code = "conf"


class ConfParseError(ConfError):
    """A file could not be read as Asterisk would read it (carries file, line, column)."""

    code = "conf_parse"

    def __init__(
        self,
        what: Text | str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.file, self.line, self.column = file, line, column
        super().__init__(what, **kwargs)


class ConfValueError(BadInput):
    """A value would change meaning if written into a .conf file as it is."""

    code = "conf_value"


class ConfLockError(ConfError):
    """Another trunkctl process holds the config directory's lock."""

    code = "conf_locked"


class ConfWriteError(ConfError):
    """An atomic write failed; the previous file is intact."""

    code = "conf_write"


class SandboxError(TrunkctlError):
    """Building, starting or talking to the sandbox failed."""

    exit_code = 5
    code = "sandbox"


class AmiError(TrunkctlError):
    """Talking to the Asterisk Manager Interface failed."""

    exit_code = 6
    code = "ami"


class AmiConnectionError(AmiError):
    """The AMI connection was refused, reset or closed."""

    code = "ami_connection"


class AmiAuthError(AmiError):
    """Asterisk refused the AMI login."""

    code = "ami_auth"


class AmiPermissionError(AmiError):
    """The AMI user lacks a read or write class the action needs."""

    code = "ami_permission"


class AmiActionError(AmiError):
    """Asterisk answered an action with ``Response: Error``."""

    code = "ami_action"


class AmiTimeoutError(AmiError):
    """Asterisk did not answer in time."""

    code = "ami_timeout"
