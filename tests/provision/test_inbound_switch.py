"""Switching setup to the user's own inbound context removes trunkctl's unused one.

Runs the provision layer on a temporary config dir (no Asterisk needed).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from trunkctl.conf import ConfigDir
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import plan_setup
from trunkctl.secret import Secret

PROFILE = PROFILES["novofon"].with_server("127.0.0.1", 5060, None)
SPEC = TrunkSpec(
    profile=PROFILE, mode="registration", login="0011111", password=Secret("Pw-1234567")
)

USERS = """\
[general]
static = yes

; my bot takes the calls
[bot-in]
exten => _X.,1,Stasis(bot)
 same => n,Hangup()
"""


def _setup(folder: Path, spec: TrunkSpec) -> list[str]:
    with ConfigDir(folder).transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec))
        assert not plan.conflicts
        tx.commit()
    return plan.removed


def test_the_old_generated_inbound_context_goes_and_every_user_line_stays(tmp_path: Path) -> None:
    (tmp_path / "extensions.conf").write_text(USERS)
    _setup(tmp_path, SPEC)
    text = (tmp_path / "extensions.conf").read_text()
    assert "[from-novofon]" in text and "[outgoing]" in text
    # The user's own comment written right under trunkctl's context, and one above it.
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("[from-novofon]"))
    lines.insert(at - 1, "; mine: above the inbound context\n")
    lines.append("; mine: at the very end\n")
    (tmp_path / "extensions.conf").write_text("".join(lines))

    removed = _setup(tmp_path, replace(SPEC, inbound_context="bot-in", user_inbound=True))
    assert removed == ["extensions.conf [from-novofon]"]
    after = (tmp_path / "extensions.conf").read_text()
    assert "[from-novofon]" not in after and "call from novofon" not in after
    assert "calls from novofon" not in after  # its marker went with it
    assert "[outgoing]" in after and "context = bot-in" in (tmp_path / "pjsip.conf").read_text()
    for line in USERS.splitlines(keepends=True):
        assert line in after
    assert "; mine: above the inbound context\n" in after
    assert after.endswith("; mine: at the very end\n")
    # Nothing more to do on a second run.
    assert _setup(tmp_path, replace(SPEC, inbound_context="bot-in", user_inbound=True)) == []


def test_a_context_the_endpoint_still_uses_is_kept(tmp_path: Path) -> None:
    (tmp_path / "extensions.conf").write_text(USERS)
    _setup(tmp_path, SPEC)
    # Pointing at trunkctl's own context by name keeps it (the endpoint uses it).
    removed = _setup(tmp_path, replace(SPEC, inbound_context="from-novofon", user_inbound=True))
    assert removed == []
    assert "[from-novofon]" in (tmp_path / "extensions.conf").read_text()


def test_another_trunks_context_is_not_touched(tmp_path: Path) -> None:
    (tmp_path / "extensions.conf").write_text(USERS)
    other = replace(SPEC, name="nf2", inbound_context="from-nf2", outgoing_context="out-nf2")
    _setup(tmp_path, other)
    _setup(tmp_path, replace(SPEC, inbound_context="bot-in", user_inbound=True))
    assert "[from-nf2]" in (tmp_path / "extensions.conf").read_text()
