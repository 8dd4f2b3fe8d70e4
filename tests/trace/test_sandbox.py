"""SIP traces of real calls and registrations on the sandbox (pbx → emulated NovoFon).

The provider is the sandbox's Asterisk, except for the two numbers whose refusal NovoFon
words itself ("Caller ID not allowed", "Insufficient funds"): Asterisk cannot send a custom
reason phrase or a Warning header, so an in-process UDP peer plays the provider for those,
reading the words from the sandbox's own table (TEST_NUMBERS). What reached the wire is
checked independently: tshark decodes the pcap, the peer records what it received.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from trunkctl.calling import place_test_call
from trunkctl.sandbox import TEST_NUMBERS
from trunkctl.secret import Secret
from trunkctl.settings import Settings
from trunkctl.trace import capture_register_exchange, ladder_text, write_pcap

from ..calling.conftest import install_trunk
from ..cli.test_call_cli import argv, env_for
from ..conftest import SandboxInfo
from ..provision.test_setup_apply import setup, spec_for
from ..sip.conftest import UdpPeer

pytestmark = pytest.mark.sandbox

DEAD_END = """
[dead-end]
exten => _X.,1,Hangup(21)
"""


def flow(report_trace: object) -> list[str]:
    """``INVITE``, ``401``, … of a trace, retransmissions suffixed with ``*``."""
    out = []
    for m in report_trace.messages:  # type: ignore[attr-defined]
        word = m.method if m.is_request else str(m.status)
        out.append(word + ("*" if m.retransmission else ""))
    return out


async def test_answered_call_401_challenge_then_invite_with_masked_auth(pbx: SandboxInfo) -> None:
    settings = await install_trunk(pbx)
    report = await place_test_call(settings, "79990000200", capture=True, timeout=20)
    assert report.result.status == "answered"
    trace = report.sip_trace
    assert trace is not None and trace.unavailable is None and not trace.no_sip_leg
    assert flow(trace) == ["INVITE", "401", "ACK", "INVITE", "100", "200", "ACK", "BYE", "200"]
    assert len(trace.call_ids) == 1
    first, challenge, _, retry = trace.messages[:4]
    assert first.direction == "out" and challenge.direction == "in"
    assert first.header("Authorization") is None and 'realm="novofon"' in (
        challenge.header("WWW-Authenticate") or ""
    )
    auth = retry.header("Authorization") or ""
    assert 'response="***"' in auth and 'username="***"' in auth and 'realm="novofon"' in auth
    raw = b"".join(m.raw for m in trace.messages)
    assert pbx.line_password.encode() not in raw and pbx.line_login.encode() not in auth.encode()
    assert b"application/sdp" in trace.messages[3].raw and b"\r\nv=0\r\n" in trace.messages[3].raw
    assert report.provider_answer is None  # answered: nothing to quote
    as_json = json.loads(json.dumps(report.to_dict("en")))
    first_line = as_json["sip_trace"]["messages"][0]["first_line"]
    assert first_line.startswith("INVITE sip:79990000200@")


async def test_busy_call_quotes_the_provider_and_the_pcap_decodes_the_same(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    settings = await install_trunk(pbx)
    # The stock logger keeps no verbose lines, where the PJSIP logger writes: a channel of
    # our own that takes them shows whether the capture switched anything on in Asterisk.
    channel = "trace-check.log"
    pbx.sandbox.pbx.rx(f"logger add channel {channel} verbose,notice,warning,error")
    try:
        report = await place_test_call(settings, "79990000486", capture=True, timeout=20)
    finally:
        pbx.sandbox.pbx.rx(f"logger remove channel {channel}")
    assert report.result.status == "busy"
    check = pbx.sandbox.pbx.log_file.parent / channel
    logged = check.read_bytes() if check.exists() else b""
    assert b"INVITE sip:" not in logged and b"SIP/2.0" not in logged
    trace = report.sip_trace
    assert trace is not None
    assert flow(trace) == ["INVITE", "401", "ACK", "INVITE", "100", "180", "486", "ACK"]
    assert report.provider_answer is not None and report.provider_answer.said.startswith(
        "486 Busy Here"
    )
    assert report.explanation.meaning.en.startswith("NovoFon said: 486 Busy Here")
    ladder = ladder_text(trace, "en")
    assert "←  SIP/2.0 486 Busy Here" in ladder and "→  INVITE sip:79990000486@" in ladder
    pcap = tmp_path / "busy.pcap"
    write_pcap(pcap, trace.messages)
    tshark = shutil.which("tshark")
    assert tshark, "tshark is missing: scripts/test installs it (apt-get install tshark)"
    out = subprocess.run(
        [tshark, "-r", str(pcap), "-Y", "sip", "-T", "fields",
         "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    rows = [line.split("\t") for line in out.stdout.splitlines() if line.strip()]
    assert [r[0] or r[1] for r in rows] == [m.method if m.is_request else str(m.status)
                                            for m in trace.messages]  # fmt: skip
    assert {r[2] for r in rows} == set(trace.call_ids)
    data = pcap.read_bytes()
    assert b'response="***"' in data and pbx.line_password.encode() not in data
    # sngrep reads it as one dialog and writes back every SIP packet.
    sngrep = shutil.which("sngrep")
    assert sngrep, "sngrep is missing: scripts/test installs it (apt-get install sngrep)"
    again = tmp_path / "sngrep.pcap"
    seen = subprocess.run(
        [sngrep, "-I", str(pcap), "-N", "-O", str(again)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert seen.stdout.rstrip().endswith("Dialog count: 1"), seen.stdout
    resaved = subprocess.run(
        [tshark, "-r", str(again), "-Y", "sip", "-T", "fields", "-e", "frame.number"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert len(resaved.stdout.split()) == len(trace.messages)


def _words(number: str) -> tuple[int, str, str]:
    """(code, reason phrase, Warning value) of a worded number, from the sandbox's table."""
    tn = next(t for t in TEST_NUMBERS if t.number == number)
    phrase = re.search(r'words it "([^"]+)"', tn.description.en)
    warning = re.search(r"Warning: (399 novofon \"[^\"]+\")", tn.description.en)
    assert tn.sip_code and phrase and warning, tn
    return tn.sip_code, phrase[1], warning[1]


def _provider_peer(code: int, phrase: str, warning: str, *, drop_first: bool) -> UdpPeer:
    """A UDP provider answering INVITE with ``code phrase`` and a Warning; optionally silent to
    the first INVITE, so Asterisk retransmits it."""
    seen: list[bytes] = []

    def answer(data: bytes, _count: int) -> list[bytes]:
        if not data.startswith(b"INVITE"):
            return []
        seen.append(data)
        if drop_first and len(seen) == 1:
            return []
        head = data.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
        keep = []
        for line in head:
            name = line.split(":", 1)[0].lower()
            if name == "to":
                line += ";tag=peer1"
            if name in ("via", "from", "to", "call-id", "cseq"):
                keep.append(line)

        def reply(status: str, *extra: str) -> bytes:
            lines = [f"SIP/2.0 {status}", *keep, *extra, "Content-Length: 0"]
            return ("\r\n".join(lines) + "\r\n\r\n").encode()

        return [reply("100 Trying"), reply(f"{code} {phrase}", f"Warning: {warning}")]

    return UdpPeer(answer)


async def _point_pbx_at(pbx: SandboxInfo, settings: Settings, port: int) -> None:
    """A second endpoint on the pbx whose INVITEs go to 127.0.0.1:port (context to-peer)."""
    with (pbx.pbx_config_dir / "pjsip.conf").open("a") as fh:
        fh.write(
            f"\n[phrase-peer]\ntype = aor\ncontact = sip:127.0.0.1:{port}\n"
            "\n[phrase-peer]\ntype = endpoint\naors = phrase-peer\ncontext = default\n"
            "disallow = all\nallow = alaw,ulaw\n"
        )
    with (pbx.pbx_config_dir / "extensions.conf").open("a") as fh:
        fh.write("\n[to-peer]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@phrase-peer,10)\n")
    # trunkctl's own AMI user has no `command` class: reload through the control socket.
    pbx.sandbox.pbx.rx("module reload res_pjsip.so")
    pbx.sandbox.pbx.rx("dialplan reload")
    await asyncio.sleep(0.5)


@pytest.mark.parametrize(
    ("number", "phrase_id", "drop_first"),
    [("79990000431", "caller_id_not_allowed", False), ("79990000482", "insufficient_funds", True)],
)
async def test_the_providers_own_words_reach_the_verdict(
    pbx: SandboxInfo, number: str, phrase_id: str, drop_first: bool
) -> None:
    settings = await install_trunk(pbx)
    code, phrase, warning = _words(number)
    loop = asyncio.get_running_loop()
    transport, peer = await loop.create_datagram_endpoint(
        lambda: _provider_peer(code, phrase, warning, drop_first=drop_first),
        local_addr=("127.0.0.1", 0),
    )
    try:
        await _point_pbx_at(pbx, settings, peer.port)
        report = await place_test_call(
            settings, number, context="to-peer", capture=True, timeout=20
        )
    finally:
        transport.close()
    trace = report.sip_trace
    assert trace is not None
    expected = ["INVITE", "INVITE*", "100", str(code), "ACK"] if drop_first else [
        "INVITE", "100", str(code), "ACK"]  # fmt: skip
    assert flow(trace) == expected
    answer = report.provider_answer
    assert answer is not None
    assert answer.said == f"{code} {phrase}; Warning: {warning}"
    assert answer.phrase is not None and answer.phrase.id == phrase_id
    assert report.explanation.meaning.en.startswith(f"NovoFon said: {code} {phrase}")
    assert report.explanation.next_steps[0] == answer.phrase.next_step
    assert f"provider_phrase:{phrase_id}" in report.to_dict("en")["explanation"]["notes"]
    # What the peer received is what the trace shows Asterisk sent.
    sent = [m.raw for m in trace.messages if m.direction == "out" and m.method == "INVITE"]
    assert sent == [data for _, data, _ in peer.received if data.startswith(b"INVITE")]
    if drop_first:
        assert "[retransmission]" in ladder_text(trace, "en")


async def test_a_call_the_dialplan_ends_has_no_sip_leg_and_says_so(pbx: SandboxInfo) -> None:
    settings = await install_trunk(pbx, extra_dialplan=DEAD_END)
    report = await place_test_call(
        settings, "79990000200", context="dead-end", capture=True, timeout=10
    )
    assert report.result.status != "answered"
    assert report.sip_trace is not None and report.sip_trace.no_sip_leg
    assert report.sip_trace.messages == ()
    assert "Asterisk sent no SIP message for this call" in ladder_text(report.sip_trace, "en")


async def test_a_refused_registration_is_captured_with_its_challenge(pbx: SandboxInfo) -> None:
    settings = await install_trunk(pbx)
    wrong = "not-the-password-42"
    setup(pbx, spec_for(pbx, password=Secret(wrong)), force=True)
    pbx.sandbox.pbx.rx("module reload res_pjsip.so")
    await asyncio.sleep(1.5)  # let the reload's own attempt finish first
    trace = await capture_register_exchange(settings, "novofon", timeout=8)
    assert trace.unavailable is None and trace.subject == "registration"
    words = flow(trace)
    assert words[:3] == ["REGISTER", "401", "REGISTER"], words
    assert words[-1] in ("401", "403"), words
    assert trace.messages[2].header("Authorization") is not None
    assert 'response="***"' in (trace.messages[2].header("Authorization") or "")
    assert all(wrong.encode() not in m.raw for m in trace.messages)
    final = trace.final_response("REGISTER")
    assert final is not None and final.status in (401, 403)
    assert "REGISTER sip:" in ladder_text(trace, "en")


def test_call_without_capture_rights_still_runs_and_says_why(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    asyncio.run(install_trunk(pbx))
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is missing"
    cmd = [setpriv, "--inh-caps=-net_raw", "--bounding-set=-net_raw", "--",
           *argv("call", "79990000486", "--trace", "--json")]  # fmt: skip
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env=env_for(tmp_path / "c.db")
    )
    assert out.returncode == 10, out.stderr
    data = json.loads(out.stdout)
    assert data["result"]["sip_code"] == 486
    assert data["sip_trace"]["available"] is False
    assert "root" in data["sip_trace"]["unavailable"]
    assert data["sip_trace"]["messages"] == []


def test_cli_trace_prints_a_ladder_and_writes_a_pcap(pbx: SandboxInfo, tmp_path: Path) -> None:
    asyncio.run(install_trunk(pbx))
    pcap = tmp_path / "call.pcap"
    out = subprocess.run(
        [*argv("call", "79990000486", "--trace", "--pcap", str(pcap))],
        capture_output=True, text=True, timeout=120, env=env_for(tmp_path / "c.db"),
    )  # fmt: skip
    assert out.returncode == 10, out.stderr
    assert "NovoFon said: 486 Busy Here" in out.stdout
    assert "SIP trace (→ sent by Asterisk" in out.stdout
    assert "←  SIP/2.0 486 Busy Here" in out.stdout
    assert pcap.exists() and pcap.stat().st_mode & 0o777 == 0o600
    assert "pcap written" in out.stderr
    hist = subprocess.run(
        [*argv("history", "--json")],
        capture_output=True, text=True, timeout=60, env=env_for(tmp_path / "c.db"),
    )  # fmt: skip
    assert hist.returncode == 0, hist.stderr
    (row,) = json.loads(hist.stdout)["calls"]
    assert row["detail"]["provider_answer"]["said"].startswith("486 Busy Here")
