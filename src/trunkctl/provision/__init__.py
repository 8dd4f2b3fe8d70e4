"""Provisioning: write a trunk into the user's config, apply it, prove it, roll it back;
reset the NovoFon line's password straight into it."""

from ._apply import ApplyError, ApplyResult, Proof, apply, managed_objects
from ._credentials import CredentialsChange, plan_credentials
from ._init import InitResult, init
from ._novofon_line import PasswordReset, list_sip_lines, read_via, reset_sip_password
from ._plan import MARKER, Conflict, SetupPlan, owner_of, plan_setup
from ._status import TrunkStatus, trunk_status

__all__ = [
    "MARKER",
    "ApplyError",
    "ApplyResult",
    "Conflict",
    "CredentialsChange",
    "InitResult",
    "PasswordReset",
    "Proof",
    "SetupPlan",
    "TrunkStatus",
    "apply",
    "init",
    "list_sip_lines",
    "managed_objects",
    "owner_of",
    "plan_credentials",
    "plan_setup",
    "read_via",
    "reset_sip_password",
    "trunk_status",
]
