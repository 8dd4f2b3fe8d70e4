"""Which transport setup uses: one from an #include is reused, --bind picks or creates the
transport bound to an address, and a second transport on a bound address:port is refused.

File-level behaviour on a plain config dir; the bind's effect (the REGISTER leaves from that
address) on the sandbox.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient
from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import SetupPlan, apply, plan_setup

from ..conftest import SandboxInfo
from .test_setup_apply import settings_of, spec_for

SPEC = TrunkSpec(profile=PROFILES["novofon"].with_server("127.0.0.1", 5070, None), mode="ip")


def _dir(tmp_path: Path, pjsip: str, **more: str) -> ConfigDir:
    (tmp_path / "pjsip.conf").write_text(pjsip)
    (tmp_path / "extensions.conf").write_text("[general]\n")
    for name, text in more.items():
        (tmp_path / name).write_text(text)
    return ConfigDir(tmp_path)


def _setup(cfg: ConfigDir, spec: TrunkSpec = SPEC) -> SetupPlan:
    with cfg.transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec))
        tx.commit()
    return plan


INCLUDED = "[transport-udp]\ntype = transport\nprotocol = udp\nbind = 0.0.0.0:5060\n"


def test_transport_in_an_include_is_reused(tmp_path: Path) -> None:
    cfg = _dir(tmp_path, "#include pjsip_transports.conf\n", **{"pjsip_transports.conf": INCLUDED})
    plan = _setup(cfg)
    assert plan.transport == "transport-udp" and not plan.created_transport
    text = (tmp_path / "pjsip.conf").read_text()
    assert "type = transport" not in text and "transport = transport-udp" in text
    assert any("pjsip_transports.conf:1" in n.en for n in plan.notes)
    assert (tmp_path / "pjsip_transports.conf").read_text() == INCLUDED


def test_transport_in_an_include_under_another_name_is_reused(tmp_path: Path) -> None:
    other = INCLUDED.replace("[transport-udp]", "[udp-main]")
    cfg = _dir(tmp_path, "#include pjsip_transports.conf\n", **{"pjsip_transports.conf": other})
    plan = _setup(cfg)
    assert plan.transport == "udp-main" and not plan.created_transport
    assert "transport = udp-main" in (tmp_path / "pjsip.conf").read_text()


def test_nat_options_go_into_the_included_file_that_defines_the_transport(
    tmp_path: Path,
) -> None:
    cfg = _dir(tmp_path, "#include pjsip_transports.conf\n", **{"pjsip_transports.conf": INCLUDED})
    spec = TrunkSpec(
        profile=SPEC.profile, mode="ip", public_ip="203.0.113.7", local_nets=("10.0.0.0/8",)
    )
    _setup(cfg, spec)
    inc = (tmp_path / "pjsip_transports.conf").read_text()
    assert inc.startswith(INCLUDED)
    assert "external_signaling_address = 203.0.113.7" in inc and "local_net = 10.0.0.0/8" in inc
    assert "external_" not in (tmp_path / "pjsip.conf").read_text()


def test_bind_reuses_the_transport_bound_there(tmp_path: Path) -> None:
    two = (
        "[t-a]\ntype = transport\nprotocol = udp\nbind = 192.0.2.10:5060\n\n"
        "[t-b]\ntype = transport\nprotocol = udp\nbind = 192.0.2.11:5060\n"
    )
    cfg = _dir(tmp_path, two)
    spec = TrunkSpec(profile=SPEC.profile, mode="ip", bind="192.0.2.11")
    plan = _setup(cfg, spec)
    assert plan.transport == "t-b" and not plan.created_transport


def test_bind_creates_a_transport_on_a_free_address(tmp_path: Path) -> None:
    one = "[t-a]\ntype = transport\nprotocol = udp\nbind = 192.0.2.10:5060\n"
    cfg = _dir(tmp_path, one)
    plan = _setup(cfg, TrunkSpec(profile=SPEC.profile, mode="ip", bind="192.0.2.11"))
    assert plan.created_transport and plan.transport == "transport-udp-192.0.2.11"
    text = (tmp_path / "pjsip.conf").read_text()
    assert text.startswith(one)
    assert "bind = 192.0.2.11:5060" in text
    assert "transport = transport-udp-192.0.2.11" in text


@pytest.mark.parametrize(
    "existing,bind",
    [
        ("0.0.0.0:5060", "192.0.2.11"),  # the wildcard already takes every address on 5060
        ("0.0.0.0", "192.0.2.11:5060"),  # no port in the file: Asterisk's 5060
        ("192.0.2.11:5062", "0.0.0.0:5062"),  # a new wildcard would overlap it
    ],
)
def test_a_second_transport_on_a_bound_address_is_refused(
    tmp_path: Path, existing: str, bind: str
) -> None:
    mine = f"[mine]\ntype = transport\nprotocol = udp\nbind = {existing}\n"
    cfg = _dir(tmp_path, mine)
    spec = TrunkSpec(profile=SPEC.profile, mode="ip", bind=bind)
    with pytest.raises(BadInput, match="already binds") as err, cfg.transaction() as tx:
        plan_setup(tx, render_trunk(spec))
    assert "pjsip.conf:1" in str(err.value.evidence)
    assert (tmp_path / "pjsip.conf").read_text() == mine
    # The advice never suggests the address:port that clashes again.
    advice = err.value.next_step.en if err.value.next_step else ""
    port = existing.partition(":")[2] or "5060"
    assert f"--bind {bind.partition(':')[0]}:{port})" not in advice, advice
    if bind.startswith("0.0.0.0"):
        assert "--bind ADDR:5062" in advice and "change [mine]" not in advice
    else:
        assert "change [mine]'s bind to one address" in advice


def test_other_protocol_does_not_clash(tmp_path: Path) -> None:
    tcp = "[t-tcp]\ntype = transport\nprotocol = tcp\nbind = 0.0.0.0:5060\n"
    cfg = _dir(tmp_path, tcp)
    plan = _setup(cfg, TrunkSpec(profile=SPEC.profile, mode="ip", bind="192.0.2.11"))
    assert plan.created_transport


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def test_bind_makes_the_registration_leave_from_that_address(pbx: SandboxInfo) -> None:
    addr = "127.0.0.9"
    port = _free_udp_port(addr)
    cfg = ConfigDir(pbx.pbx_config_dir)
    with cfg.transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec_for(pbx, bind=f"{addr}:{port}")))
        tx.commit()
    assert plan.created_transport
    result = await apply(settings_of(pbx))
    assert result.ok, result.to_dict()
    assert result.registrations == {"novofon": "Registered"}
    # The provider saw the REGISTER come from the bound address.
    prov = pbx.provider_ami
    uris: list[str] = []
    async with AmiClient(
        prov["host"], prov["port"], prov["username"], prov["secret"], events=False
    ) as ami:
        for _ in range(40):
            listed = await ami.list_action("PJSIPShowContacts", partial_ok=True)
            uris = [str(e.get("Uri", "")) for e in listed.events]
            if any(f"{addr}:{port}" in u for u in uris):
                break
            await asyncio.sleep(0.25)
        else:
            pytest.fail(f"no contact from {addr}:{port} at the provider: {uris}")
