"""Provisioning: write a trunk into the user's config, apply it, prove it, roll it back;
reset the NovoFon line's password straight into it."""

from typing import TYPE_CHECKING

from trunkctl._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from ._apply import ApplyError, ApplyResult, Proof, apply, managed_objects
    from ._at_rest import Tightened, tighten_secret_files
    from ._credentials import CredentialsChange, plan_credentials
    from ._existing import (
        ExistingTrunk,
        Leftover,
        Replaced,
        check_not_generated,
        find_leftovers,
        generated_header,
        read_trunk,
    )
    from ._init import InitResult, init
    from ._novofon_line import (
        PasswordReset,
        SipLineRow,
        account_balance,
        list_sip_lines,
        read_via,
        reset_sip_password,
        sip_line_rows,
    )
    from ._plan import MARKER, Conflict, SetupPlan, owner_of, plan_setup
    from ._reregister import PbxRestore, restore_registrations
    from ._status import TrunkStatus, trunk_status
    from ._transports import TransportChoice, pick_transport
    from ._update import SetupArgs, run_setup, setup_spec

__all__ = [
    "MARKER",
    "ApplyError",
    "ApplyResult",
    "Conflict",
    "CredentialsChange",
    "ExistingTrunk",
    "InitResult",
    "Leftover",
    "PasswordReset",
    "PbxRestore",
    "Proof",
    "Replaced",
    "SetupArgs",
    "SetupPlan",
    "SipLineRow",
    "Tightened",
    "TransportChoice",
    "TrunkStatus",
    "account_balance",
    "apply",
    "check_not_generated",
    "find_leftovers",
    "generated_header",
    "init",
    "list_sip_lines",
    "managed_objects",
    "owner_of",
    "pick_transport",
    "plan_credentials",
    "plan_setup",
    "read_trunk",
    "read_via",
    "reset_sip_password",
    "restore_registrations",
    "run_setup",
    "setup_spec",
    "sip_line_rows",
    "tighten_secret_files",
    "trunk_status",
]

# Imported on first use: see trunkctl._lazy.
__getattr__ = _lazy_exports(
    __name__,
    {
        "ApplyError": "_apply",
        "ApplyResult": "_apply",
        "Proof": "_apply",
        "apply": "_apply",
        "managed_objects": "_apply",
        "Tightened": "_at_rest",
        "tighten_secret_files": "_at_rest",
        "CredentialsChange": "_credentials",
        "plan_credentials": "_credentials",
        "ExistingTrunk": "_existing",
        "Leftover": "_existing",
        "Replaced": "_existing",
        "check_not_generated": "_existing",
        "find_leftovers": "_existing",
        "generated_header": "_existing",
        "read_trunk": "_existing",
        "TransportChoice": "_transports",
        "pick_transport": "_transports",
        "SetupArgs": "_update",
        "run_setup": "_update",
        "setup_spec": "_update",
        "InitResult": "_init",
        "init": "_init",
        "PasswordReset": "_novofon_line",
        "SipLineRow": "_novofon_line",
        "account_balance": "_novofon_line",
        "sip_line_rows": "_novofon_line",
        "list_sip_lines": "_novofon_line",
        "read_via": "_novofon_line",
        "reset_sip_password": "_novofon_line",
        "MARKER": "_plan",
        "Conflict": "_plan",
        "SetupPlan": "_plan",
        "owner_of": "_plan",
        "plan_setup": "_plan",
        "PbxRestore": "_reregister",
        "restore_registrations": "_reregister",
        "TrunkStatus": "_status",
        "trunk_status": "_status",
    },
)
