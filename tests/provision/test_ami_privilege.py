"""Least privilege, proven on the sandbox pbx: the AMI user `init` creates cannot run a shell
command (Originate with Application=System, Command `channel originate … System`), yet
everything trunkctl does with AMI works with it (apply, status, a call).

The control case shows the probe can fail: a user with ``system`` next to ``originate`` (what
init granted before, and what the sandbox's own user has) does run the command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient, originate_and_track
from trunkctl.asterisk import ami_client
from trunkctl.conf import resolve
from trunkctl.errors import AmiError
from trunkctl.provision import apply, init, trunk_status
from trunkctl.provision._init import AMI_READ, AMI_WRITE
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from .test_apply_truth import edit
from .test_setup_apply import settings_of, setup, spec_for


# One user per test: a reset of the pbx may not remove a file init added under manager.d/.
def narrow_name() -> str:
    return f"trunkctl-narrow-{secrets.token_hex(3)}"


def narrow_settings(pbx: SandboxInfo, tmp_path: Path) -> Settings:
    """Settings for a fresh AMI user created by `init` on the sandbox pbx."""
    base = settings_of(pbx)
    mine = dataclasses.replace(
        base, ami=dataclasses.replace(base.ami, username=narrow_name(), secret_file=None)
    )
    result = init(
        mine,
        settings_file=tmp_path / "settings.toml",
        secret_file=tmp_path / "ami.secret",
        check_asterisk=True,  # also runs `manager reload`
    )
    assert result.ami_user_created and (result.ami_read, result.ami_write) == (
        AMI_READ,
        AMI_WRITE,
    )
    return dataclasses.replace(
        mine, ami=dataclasses.replace(mine.ami, secret_file=tmp_path / "ami.secret")
    )


def marker(pbx: SandboxInfo) -> tuple[str, Path]:
    """A file name inside the pbx's chroot and where the host sees it."""
    name = f"/tmp/trunkctl-marker-{secrets.token_hex(4)}"
    return name, pbx.sandbox.root / name.lstrip("/")


async def shell_attempts(ami: AmiClient, inside: str) -> list[str]:
    """Every way trunkctl's classes could reach a shell; what Asterisk answered to each."""
    answers: list[str] = []
    for action, headers in (
        (
            "Originate",
            {
                "Channel": "Local/s@default",
                "Application": "System",
                "Data": f"touch {inside}",
                "Async": "true",
            },
        ),
        (
            "Originate",
            {
                "Channel": "Local/s@default",
                "Application": "Exec",
                "Data": f"System(touch {inside})",
                "Async": "true",
            },
        ),
        (
            "Command",
            {"Command": f"channel originate Local/s@default application System touch {inside}"},
        ),
    ):
        try:
            reply = await ami.action(action, headers, timeout=5)
            answers.append(f"{action}: {reply.get('Response')} {reply.get('Message')}")
        except AmiError as exc:
            answers.append(f"{action}: refused: {exc.what.en}")
    return answers


async def test_trunkctls_ami_user_cannot_run_a_shell_command(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    mine = narrow_settings(pbx, tmp_path)
    inside, seen = marker(pbx)
    async with ami_client(mine) as ami:
        answers = await shell_attempts(ami, inside)
    await asyncio.sleep(1.5)  # what was queued would have run by now
    assert all("refused" in a for a in answers), answers
    assert not seen.exists(), answers
    user = resolve("manager.conf", config_dir=pbx.pbx_config_dir).find(mine.ami.username)
    assert user is not None and user.get("write") == "originate,call,reporting"


async def test_the_probe_can_fail_a_user_with_system_and_originate_runs_it(
    pbx: SandboxInfo,
) -> None:
    """What init granted before (write originate,system,reporting,command) runs the shell."""
    name, secret = f"trunkctl-broad-{secrets.token_hex(3)}", secrets.token_urlsafe(16)
    manager = pbx.pbx_config_dir / "manager.conf"
    with manager.open("a") as fh:  # the pbx fixture restores manager.conf for the next test
        fh.write(
            f"\n[{name}]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
            "permit = 127.0.0.1/255.255.255.255\nread = call,user,system,reporting\n"
            "write = originate,system,reporting,command\n"
        )
    pbx.sandbox.pbx.rx("manager reload")
    inside, seen = marker(pbx)
    ami = settings_of(pbx).ami
    try:
        async with AmiClient(ami.host, ami.port, name, secret) as client:
            answers = await shell_attempts(client, inside)
        for _ in range(30):
            if seen.exists():
                break
            await asyncio.sleep(0.1)
        assert seen.exists(), answers
    finally:
        seen.unlink(missing_ok=True)


async def test_everything_trunkctl_does_works_with_the_narrow_user(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    mine = narrow_settings(pbx, tmp_path)
    setup(pbx, spec_for(pbx))
    result = await apply(mine)
    assert result.ok and result.registered, result.to_dict()
    assert {p.kind for p in result.proofs} >= {"auth", "aor", "endpoint", "transport"}
    st = await trunk_status(mine, probe=False)
    assert st.healthy and st.state == "up", st.to_dict("en")
    async with ami_client(mine, events=("call", "user")) as ami:
        call = await originate_and_track(
            ami, "Local/79990000200@outgoing", app="Playback", data="hello-world", timeout=20
        )
    assert call.status == "answered", call


@pytest.mark.parametrize("write", ["originate,system,reporting,command", "all"])
def test_init_names_the_narrow_set_for_a_broader_user(tmp_path: Path, write: str) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "asterisk.conf").write_text("[directories]\n")
    manager = (
        "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n[trunkctl]\nsecret = x-1\n"
        f"read = call,user,system,reporting\nwrite = {write}\n"
    )
    (etc / "manager.conf").write_text(manager)
    result = init(Settings(config_dir=etc), settings_file=tmp_path / "s.toml", check_asterisk=False)
    assert (etc / "manager.conf").read_text() == manager
    assert result.ami_privileges_before == {"read": "call,user,system,reporting", "write": write}
    assert any(f"write = {AMI_WRITE}" in n.en for n in result.notes)


async def test_a_dangling_outbound_auth_is_caught_without_the_system_class(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    """The narrow user cannot list auths (PJSIPShowAuths needs ``system``): the proof reads
    them from the registration's AuthDetail instead, and a missing one still refuses."""
    from trunkctl.provision import ApplyError

    mine = narrow_settings(pbx, tmp_path)
    setup(pbx, spec_for(pbx))
    assert (await apply(mine)).ok
    conf = pbx.pbx_config_dir / "pjsip.conf"
    accepted = conf.read_bytes()
    edit(pbx, "outbound_auth", "novofon", "gone", count=0)
    with pytest.raises(ApplyError) as info:
        await apply(mine)
    evidence = info.value.evidence.en if info.value.evidence else ""
    assert "registration novofon: outbound_auth gone: no such auth is loaded" in evidence
    assert conf.read_bytes() == accepted


def test_init_on_debians_stock_manager_conf(sandbox: SandboxInfo, tmp_path: Path) -> None:
    """The asterisk package's own manager.conf (AMI on 127.0.0.1, users in manager.d/):
    init leaves it byte for byte and puts its user into manager.d/trunkctl.conf."""
    import shutil

    stock = sandbox.sandbox.root / "etc" / "asterisk"
    etc = tmp_path / "asterisk"
    etc.mkdir()
    (etc / "asterisk.conf").write_bytes((stock / "asterisk.conf").read_bytes())
    shutil.copy2(stock / "manager.conf", etc / "manager.conf")
    shutil.copytree(stock / "manager.d", etc / "manager.d")
    before = (etc / "manager.conf").read_bytes()
    result = init(Settings(config_dir=etc), settings_file=tmp_path / "s.toml", check_asterisk=False)
    assert (etc / "manager.conf").read_bytes() == before
    assert result.ami_user_file == "manager.d/trunkctl.conf" and not result.ami_enabled
    user = resolve("manager.conf", config_dir=etc).find("trunkctl")
    assert user is not None and user.get("write") == AMI_WRITE
    assert not any("listens beyond this machine" in n.en for n in result.notes)
