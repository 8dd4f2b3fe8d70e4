"""Calls are the provider's only when they come from the provider's address (issue 16).

Asterisk's default ``identify_by = username,ip`` took an INVITE from anywhere whose From user
was the trunk's name as the trunk's, and the trunk has no inbound auth: 200 OK to a forgery.
trunkctl's endpoint says ``identify_by = ip``. On the sandbox pbx, after setup+apply, the same
INVITE is sent from 127.0.0.3 (refused) and from the provider's own address 127.0.0.1 (gets
through), in both modes.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import socket
import time

import pytest

from trunkctl.ami import AmiClient
from trunkctl.conf import ConfigDir
from trunkctl.pjsip import render_trunk
from trunkctl.provision import apply, plan_setup

from ..conftest import SandboxInfo
from .test_setup_apply import settings_of, spec_for

FORGER = "127.0.0.3"
SDP = (
    "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
    "m=audio {rtp} RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _pbx_address(pbx: SandboxInfo) -> tuple[str, int]:
    text = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    m = re.search(r"^bind\s*=\s*([\d.]+):(\d+)", text, re.MULTILINE)
    assert m, text
    return m[1], int(m[2])


def _request(method: str, src: tuple[str, int], dst: tuple[str, int], call: dict[str, str]) -> str:
    ip, port = src
    body = SDP.format(ip=ip, rtp=port + 2) if method == "INVITE" else ""
    cseq = {"INVITE": 1, "ACK": 1, "BYE": 2}[method]
    to = f"<sip:74950000100@{dst[0]}:{dst[1]}>" + call.get("to_tag", "")
    lines = [
        f"{method} sip:74950000100@{dst[0]}:{dst[1]} SIP/2.0",
        f"Via: SIP/2.0/UDP {ip}:{port};rport;branch=z9hG4bK{secrets.token_hex(8)}",
        "Max-Forwards: 70",
        f"From: <sip:novofon@{dst[0]}>;tag={call['tag']}",
        f"To: {to}",
        f"Call-ID: {call['id']}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:novofon@{ip}:{port}>",
        "User-Agent: forged-provider",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def _invite_from(src_ip: str, dst: tuple[str, int]) -> int:
    """Send an INVITE claiming to be the trunk (From user = its name); the final status.

    A call that is answered is ACKed and hung up, so nothing is left ringing.
    """
    call = {"id": f"{secrets.token_hex(8)}@{src_ip}", "tag": secrets.token_hex(4)}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src_ip, 0))
        src = (src_ip, int(s.getsockname()[1]))
        s.settimeout(0.5)
        s.sendto(_request("INVITE", src, dst, call).encode(), dst)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                data = s.recv(65535).decode("utf-8", "replace")
            except TimeoutError:
                continue
            status = int(data.split(" ", 2)[1])
            if status < 200:
                continue
            m = re.search(r"^To:.*?(;tag=[^;\r\n]+)", data, re.MULTILINE | re.IGNORECASE)
            call["to_tag"] = m[1] if m else ""
            if status < 300:
                s.sendto(_request("ACK", src, dst, call).encode(), dst)
                s.sendto(_request("BYE", src, dst, call).encode(), dst)
            elif status >= 300:
                s.sendto(_request("ACK", src, dst, call).encode(), dst)
            return status
    raise AssertionError(f"no final answer to the INVITE from {src_ip}")


@pytest.mark.parametrize("mode", ["registration", "ip"])
async def test_forged_invite_is_refused_and_the_provider_gets_through(
    pbx: SandboxInfo, mode: str
) -> None:
    cfg = ConfigDir(pbx.pbx_config_dir)
    with cfg.transaction() as tx:
        plan_setup(tx, render_trunk(spec_for(pbx, mode)))
        tx.commit()
    result = await apply(settings_of(pbx))
    assert result.ok, result.to_dict()
    a = pbx.ami  # PJSIPShowEndpoint needs `system`, which trunkctl's own user lacks
    async with AmiClient(a["host"], a["port"], a["username"], a["secret"]) as ami:
        shown = await ami.list_action("PJSIPShowEndpoint", Endpoint="novofon")
    endpoint = next(e for e in shown.events if e.get("Event") == "EndpointDetail")
    assert endpoint.get("IdentifyBy") == "ip"
    identify = next(e for e in shown.events if e.get("Event") == "IdentifyDetail")
    assert pbx.provider_sip[0] in str(identify.get("Match"))
    dst = _pbx_address(pbx)
    forged = await asyncio.to_thread(_invite_from, FORGER, dst)
    assert forged not in range(200, 300), f"a forged INVITE from {FORGER} got {forged}"
    real = await asyncio.to_thread(_invite_from, pbx.provider_sip[0], dst)
    assert real == 200
