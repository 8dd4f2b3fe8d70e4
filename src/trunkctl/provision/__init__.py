"""Provisioning: write a trunk into the user's config, apply it, prove it, roll it back."""

from ._apply import ApplyError, ApplyResult, Proof, apply, managed_objects
from ._plan import MARKER, Conflict, SetupPlan, owner_of, plan_setup

__all__ = [
    "MARKER",
    "ApplyError",
    "ApplyResult",
    "Conflict",
    "Proof",
    "SetupPlan",
    "apply",
    "managed_objects",
    "owner_of",
    "plan_setup",
]
