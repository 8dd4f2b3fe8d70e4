"""`credentials set` changes only a trunk trunkctl wrote, never the user's own sections.

Runs the provision layer on a temporary config dir (no Asterisk needed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import plan_credentials, plan_setup
from trunkctl.secret import Secret

PROFILE = PROFILES["novofon"].with_server("127.0.0.1", 5060, None)

USERS_OWN = """\
[transport-udp]
type = transport
protocol = udp
bind = 0.0.0.0

; my own trunk, written by hand
[novofon]
type = auth
auth_type = userpass
username = 0011111
password = users-own-secret

[novofon]
type = endpoint
transport = transport-udp
outbound_auth = novofon
from_user = 0011111
"""


def test_users_own_unmarked_auth_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text(USERS_OWN)
    cfg = ConfigDir(tmp_path)
    with cfg.transaction() as tx, pytest.raises(TrunkctlError) as err:
        plan_credentials(tx, trunk="novofon", login="0022222", password=Secret("New-pass-123"))
    assert not isinstance(err.value, BadInput) and err.value.exit_code == 1
    # The conflicts name the user's sections with their lines, as setup's do.
    assert err.value.details["conflicts"] == [
        "pjsip.conf:7: [novofon] (type=auth)",
        "pjsip.conf:13: [novofon] (type=endpoint)",
    ]
    assert (tmp_path / "pjsip.conf").read_text() == USERS_OWN
    assert not cfg.backups()


def test_trunkctls_own_trunk_is_still_changed(tmp_path: Path) -> None:
    cfg = ConfigDir(tmp_path)
    spec = TrunkSpec(
        profile=PROFILE, mode="registration", login="0011111", password=Secret("Old-pass-123")
    )
    with cfg.transaction() as tx:
        assert not plan_setup(tx, render_trunk(spec)).conflicts
        tx.commit()
    with cfg.transaction() as tx:
        change = plan_credentials(
            tx, trunk="novofon", login="0022222", password=Secret("New-pass-123")
        )
        tx.commit()
    assert "[novofon] type=auth password" in change.changed
    text = (tmp_path / "pjsip.conf").read_text()
    assert "username = 0022222" in text and "New-pass-123" in text
