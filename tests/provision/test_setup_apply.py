"""setup + apply on the sandbox pbx: registration, IP mode, idempotence, conflicts, rollback.

The trunk model's pure rendering is tested in tests/pjsip/test_trunk_model.py.
"""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path

import pytest

from trunkctl.ami import originate_and_track
from trunkctl.asterisk import ami_client
from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import ApplyError, apply, plan_setup
from trunkctl.secret import Secret
from trunkctl.settings import Settings, load_settings

from ..conftest import SandboxInfo, count_option, has_option, squash


def spec_for(pbx: SandboxInfo, mode: str = "registration", **kw: object) -> TrunkSpec:
    host, port = pbx.provider_sip
    base: dict[str, object] = {
        "profile": PROFILES["novofon"].with_server(host, port, None),
        "mode": mode,
    }
    if mode == "registration":
        base |= {"login": pbx.line_login, "password": Secret(pbx.line_password)}
    base.update(kw)
    return TrunkSpec(**base)  # type: ignore[arg-type]


def settings_of(pbx: SandboxInfo) -> Settings:
    return load_settings(Path(pbx.status["settings_file"]))


def setup(pbx: SandboxInfo, spec: TrunkSpec, *, force: bool = False) -> tuple[list[str], str]:
    cfg = ConfigDir(pbx.pbx_config_dir)
    with cfg.transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec), force=force)
        assert not plan.conflicts or force, plan.conflicts
        diff = tx.diff()
        changed = tx.changed()
        tx.commit()
    return changed, diff


async def call(pbx: SandboxInfo, number: str) -> str:
    async with ami_client(settings_of(pbx), events=("call", "user")) as ami:
        result = await originate_and_track(
            ami, f"Local/{number}@outgoing", app="Playback", data="hello-world", timeout=20
        )
    return f"{result.status}/{result.sip_code}"


async def test_registration_setup_apply_registers_and_calls(pbx: SandboxInfo) -> None:
    changed, diff = setup(pbx, spec_for(pbx))
    assert changed == ["pjsip.conf", "extensions.conf"]
    assert pbx.line_password not in diff and has_option(diff, "+password", "********")
    result = await apply(settings_of(pbx))
    assert result.ok, result.to_dict()
    kinds = sorted(p.kind for p in result.proofs)
    assert kinds == [
        "aor",
        "auth",
        "context",
        "context",
        "endpoint",
        "identify",
        "registration",
        "transport",
    ]
    assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    assert await call(pbx, "79990000200") == "answered/None"
    assert (await call(pbx, "79990000486")).startswith("busy/486")
    # The seed's own test call, exactly: Local/79991234567@outgoing + Playback hello-world.
    assert (await call(pbx, "79991234567")).startswith("answered")


async def test_eight_prefixed_number_is_normalised(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx))
    await apply(settings_of(pbx))
    assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    # The provider knows only 7XXXXXXXXXX; the generated dialplan turns 8… into 7….
    assert (await call(pbx, "89990000486")).startswith("busy/486")


def test_second_identical_setup_changes_nothing(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx))
    before = {f: (pbx.pbx_config_dir / f).read_bytes() for f in ("pjsip.conf", "extensions.conf")}
    changed, diff = setup(pbx, spec_for(pbx))
    assert changed == [] and diff == ""
    after = {f: (pbx.pbx_config_dir / f).read_bytes() for f in before}
    assert after == before


def test_changing_one_option_changes_only_its_lines(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx, caller_id="79581114585"))
    old = (pbx.pbx_config_dir / "extensions.conf").read_text().splitlines()
    old_pjsip = (pbx.pbx_config_dir / "pjsip.conf").read_bytes()
    setup(pbx, spec_for(pbx, caller_id="79581114586"))
    new = (pbx.pbx_config_dir / "extensions.conf").read_text().splitlines()
    changes = [
        ln
        for ln in difflib.unified_diff(old, new, lineterm="", n=0)
        if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
    ]
    assert [squash(c) for c in changes] == [
        "- same=>n,Set(CALLERID(num)=79581114585)",
        "+ same=>n,Set(CALLERID(num)=79581114586)",
    ]
    assert (pbx.pbx_config_dir / "pjsip.conf").read_bytes() == old_pjsip
    assert "exten=>_8XXXXXXXXXX,1,Goto(${CONTEXT},+7${EXTEN:1},1)" in [squash(ln) for ln in new]


def test_foreign_sections_are_left_alone_unless_forced(pbx: SandboxInfo) -> None:
    conf = pbx.pbx_config_dir / "pjsip.conf"
    mine = "\n; my own trunk, written by hand\n[novofon]\ntype = endpoint\ncontext = mine\n"
    conf.write_text(conf.read_text() + mine)
    before = conf.read_bytes()
    cfg = ConfigDir(pbx.pbx_config_dir)
    with cfg.transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec_for(pbx)))
        assert [(c.name, c.type) for c in plan.conflicts] == [("novofon", "endpoint")]
        assert tx.changed() == []
    assert conf.read_bytes() == before
    setup(pbx, spec_for(pbx), force=True)
    text = conf.read_text()
    assert not has_option(text, "context", "mine") and count_option(text, "type", "endpoint") == 1


async def test_ip_mode_needs_no_credentials(pbx: SandboxInfo) -> None:
    _changed, diff = setup(pbx, spec_for(pbx, mode="ip"))
    assert not has_option(diff, "+type", "auth") and not has_option(diff, "+type", "registration")
    result = await apply(settings_of(pbx))
    assert result.ok, result.to_dict()
    assert await call(pbx, "79990000200") == "answered/None"


async def test_ip_mode_verification_flow(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx, mode="ip"))
    await apply(settings_of(pbx))
    pbx.sandbox.set_ip_verified(False)
    try:
        assert await call(pbx, "79990000200") == "rejected/403"
        assert (await call(pbx, "79991234567")).startswith("answered")
        assert await call(pbx, "79990000200") == "answered/None"
    finally:
        pbx.sandbox.set_ip_verified(True)


async def test_switching_to_registration_after_ip_mode(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx, mode="ip"))
    setup(pbx, spec_for(pbx))
    assert (await apply(settings_of(pbx))).ok
    assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    setup(pbx, spec_for(pbx, mode="ip"))
    text = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    assert "type = auth" not in text and "type = registration" not in text


async def test_duplicate_object_rolls_back_byte_for_byte(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx))
    assert (await apply(settings_of(pbx))).ok
    conf = pbx.pbx_config_dir / "pjsip.conf"
    accepted = conf.read_bytes()
    conf.write_bytes(accepted + b"\n[novofon]\ntype = endpoint\ncontext = default\n")
    with pytest.raises(ApplyError) as exc:
        await apply(settings_of(pbx))
    assert conf.read_bytes() == accepted
    evidence = exc.value.evidence.en if exc.value.evidence else ""
    assert "duplicate object: 'novofon' of type 'endpoint'" in evidence
    # The refused text itself is not lost: it is the newest backup.
    newest = ConfigDir(pbx.pbx_config_dir).backups("pjsip.conf")[-1]
    assert b"context = default" in (newest.read() or b"")


def test_bad_login_changes_nothing(pbx: SandboxInfo) -> None:
    before = (pbx.pbx_config_dir / "pjsip.conf").read_bytes()
    with pytest.raises(BadInput):
        setup(pbx, spec_for(pbx, login="12345"))
    assert (pbx.pbx_config_dir / "pjsip.conf").read_bytes() == before


async def test_nat_options_are_applied_by_the_reload(pbx: SandboxInfo) -> None:
    spec = spec_for(pbx, public_ip="109.73.192.126", local_nets=("10.0.0.0/8",))
    _changed, diff = setup(pbx, spec)
    assert has_option(diff, "+external_media_address", "109.73.192.126")
    assert has_option(diff, "+local_net", "10.0.0.0/8")
    result = await apply(settings_of(pbx))
    assert result.ok and not result.notes, result.to_dict()
    # Asterisk 22 reloads a transport's external addresses (not its bind or protocol).
    out = pbx.sandbox.pbx.rx("pjsip show transport transport-udp")
    assert "109.73.192.126" in out


async def test_apply_against_a_directory_asterisk_does_not_read_is_not_a_success(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    """Settings pointing at a copy of the config (not what Asterisk reads): a password
    changed only in the copy must not be reported as loaded."""
    import dataclasses
    import shutil

    setup(pbx, spec_for(pbx))
    assert (await apply(settings_of(pbx))).ok
    copy = tmp_path / "etc"
    shutil.copytree(pbx.pbx_config_dir, copy)
    with ConfigDir(copy).transaction() as tx:
        plan_setup(tx, render_trunk(spec_for(pbx, password=Secret("not-the-loaded-1"))))
        tx.commit()
    elsewhere = dataclasses.replace(settings_of(pbx), config_dir=copy)
    with pytest.raises(ApplyError) as info:
        await apply(elsewhere)
    err = info.value
    auth = next(p for p in err.details["result"]["proofs"] if p["kind"] == "auth")
    assert not auth["ok"] and "password loaded differs" in auth["detail"]
    assert err.next_step is not None and str(copy) in err.next_step.en
    assert "core show settings" in err.next_step.en
    shown = str(err.to_dict("en")) + str(err.to_dict("ru"))
    assert "not-the-loaded-1" not in shown and pbx.line_password not in shown
