"""Provisioning: write a trunk into the user's config, apply it, prove it, roll it back."""

from ._apply import ApplyError, ApplyResult, Proof, apply, managed_objects
from ._credentials import CredentialsChange, plan_credentials
from ._init import InitResult, init
from ._plan import MARKER, Conflict, SetupPlan, owner_of, plan_setup
from ._status import TrunkStatus, trunk_status

__all__ = [
    "MARKER",
    "ApplyError",
    "ApplyResult",
    "Conflict",
    "CredentialsChange",
    "InitResult",
    "Proof",
    "SetupPlan",
    "TrunkStatus",
    "apply",
    "init",
    "managed_objects",
    "owner_of",
    "plan_credentials",
    "plan_setup",
    "trunk_status",
]
