"""The probe against hostile peers on loopback: floods, bad names and timeouts, silent TCP,
malformed challenges. Each test is a finding of issue 16 (item 5) kept as a regression test.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.cli._run import TRUNKCTL, run
from trunkctl.errors import BadInput
from trunkctl.sip import SipProbeError, options, register_check

from .conftest import PROVIDER_IP, UdpPeer, reply_to
from .test_probe import StartPeer

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _watch_peak_rss(proc: subprocess.Popen[bytes]) -> int:
    """The process's own peak RSS in KiB (VmHWM), read until it exits.

    Not ``wait4``'s ``ru_maxrss``: Linux carries the parent's high-water mark across fork
    and exec, so a child of a large pytest process would report pytest's size.
    """
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    return peak


def _probe_under_flood(*flood_args: str, text: bool = False) -> tuple[int, float, str]:
    """Run `trunkctl probe options` against tests/sip/flood.py; (exit, peak RSS MB, output)."""
    flooder = subprocess.Popen(
        [sys.executable, "-m", "tests.sip.flood", *flood_args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert flooder.stdout is not None
        port = flooder.stdout.readline().strip().split("=")[1]
        with tempfile.TemporaryFile() as out:
            argv = [TRUNKCTL, "probe", "options", f"127.0.0.5:{port}", "--timeout", "20"]
            probe = subprocess.Popen(
                [*argv, *([] if text else ["--json"])], stdout=out, stderr=subprocess.STDOUT
            )
            peak_kb = _watch_peak_rss(probe)
            out.seek(0)
            output = out.read().decode()
        assert flooder.wait(timeout=30) == 0
    finally:
        flooder.kill()
        flooder.wait()
    return probe.returncode, peak_kb / 1024, output


def test_a_flood_of_stray_messages_keeps_memory_flat_and_is_reported_as_noise() -> None:
    # 1,000,000 datagrams of ~700 bytes in at most 8 s (the old probe kept each: 261 MB).
    code, peak_mb, output = _probe_under_flood("--count", "1000000", "--seconds", "8", "--sip-only")
    assert code == 0, output
    data = json.loads(output)
    assert data["status"] == "OK" and data["probe"]["status_code"] == 200
    assert data["probe"]["noise"] > 1000
    assert peak_mb < 100, peak_mb  # measured: ~40 MB, the same as without a flood


def test_junk_after_the_peer_spoke_sip_is_noise_and_the_text_says_so() -> None:
    code, peak_mb, output = _probe_under_flood("--count", "100000", text=True)
    assert code == 0, output
    assert output.startswith("SIP OPTIONS OK") and "noise: " in output
    assert peak_mb < 100, peak_mb


async def test_an_answer_with_our_branch_but_another_call_id_is_not_ours(
    udp_peer: StartPeer,
) -> None:
    def handler(data: bytes, n: int) -> list[bytes]:
        forged = reply_to(data, "500 Forged").replace(b"Call-ID: ", b"Call-ID: other-", 1)
        wrong_cseq = reply_to(data, "486 Wrong CSeq").replace(b"CSeq: 1 ", b"CSeq: 2 ", 1)
        return [forged, wrong_cseq, reply_to(data, "200 OK")]

    peer = await udp_peer(handler)
    result = await options(PROVIDER_IP, peer.port, timeout=2)
    assert (result.outcome, result.status_code, result.noise) == ("answered", 200, 2)
    assert result.to_dict()["noise"] == 2


LONG = "a" * 300
BAD_HOSTS = [
    LONG,
    f"{'b' * 64}.example.com",
    ".".join(["abcdefghi"] * 30),
    "a..b",
    "exa\u06ddmple.ru",
    "a\x00b",
]


@pytest.mark.parametrize("host", BAD_HOSTS)
async def test_bad_host_names_are_bad_input(host: str) -> None:
    with pytest.raises(BadInput) as err:
        await options(host, 5060)
    assert "host" in err.value.what.en and err.value.next_step is not None


@pytest.mark.parametrize("timeout", [math.inf, -math.inf, math.nan, 300.5, 1e9])
async def test_timeouts_are_finite_and_capped(timeout: float) -> None:
    with pytest.raises(BadInput) as err:
        await options("127.0.0.1", 5060, timeout=timeout)
    assert "timeout" in err.value.what.en


@pytest.mark.parametrize(
    "argv",
    [
        ["options", f"{LONG}:5060"],
        ["options", "127.0.0.1", "--timeout", "inf"],
        ["options", "127.0.0.1", "--timeout", "nan"],
        ["register", LONG, "-u", "x", "--password-stdin"],
    ],
)
def test_cli_bad_names_and_timeouts_are_unknown_exit_3(argv: list[str]) -> None:
    proc = run([TRUNKCTL, "probe", *argv, "--json"], stdin="pw\n", timeout=60)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    data = json.loads(proc.stdout)
    assert data["status"] == "UNKNOWN" and "internal" not in proc.stdout.lower()
    assert "Traceback" not in proc.stderr


async def _tcp_peer(behaviour: str) -> asyncio.Server:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            while behaviour == "trying":  # provisional answers for ever
                writer.write(reply_to(head, "100 Trying"))
                await writer.drain()
                await asyncio.sleep(0.05)
            await asyncio.sleep(3600)  # silent for ever
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(serve, PROVIDER_IP, 0)


@pytest.mark.parametrize("behaviour", ["silent", "trying"])
async def test_a_tcp_peer_that_never_answers_cannot_hold_the_probe(behaviour: str) -> None:
    server = await _tcp_peer(behaviour)
    port = server.sockets[0].getsockname()[1]
    t0 = time.monotonic()
    try:
        result = await options(PROVIDER_IP, port, transport="tcp", timeout=1.0)
        reg = await register_check(
            PROVIDER_IP, port, username="u", password="p", transport="tcp", timeout=1.0
        )
    finally:
        server.close()
    assert result.outcome == "timeout" and reg.outcome == "timeout"
    assert time.monotonic() - t0 < 5


MALFORMED = [
    "WWW-Authenticate: Digest",
    'WWW-Authenticate: Digest realm="r',
    "WWW-Authenticate: Digest realm=r, nonce",
    'WWW-Authenticate: Digest realm="r", nonce="n", algorithm=SHA-999',
    'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth-int"',
    "WWW-Authenticate: Basic realm=x",
    "WWW-Authenticate: " + "x" * 5000,
    'WWW-Authenticate: Digest realm="\x00\xff", nonce="\\',
]


@pytest.mark.parametrize("challenge", MALFORMED)
async def test_malformed_challenges_get_a_clear_verdict(
    udp_peer: StartPeer, challenge: str
) -> None:
    peer: UdpPeer = await udp_peer(lambda data, n: [reply_to(data, "401 Unauthorized", challenge)])
    result = await register_check(PROVIDER_IP, peer.port, username="u", password="p", timeout=2)
    assert result.outcome in {"unsupported_challenge", "auth_failed", "rejected", "garbage"}
    assert isinstance(result.error, SipProbeError) and result.error.next_step is not None
    assert len(peer.received) <= 2  # bounded attempts
    json.dumps(result.to_dict())


async def test_endless_401_over_tcp_is_bounded(udp_peer: StartPeer) -> None:
    n = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal n
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n += 1
                challenge = f'WWW-Authenticate: Digest realm="r", nonce="n{n}"'
                writer.write(reply_to(head, "401 Unauthorized", challenge))
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, PROVIDER_IP, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await register_check(
            PROVIDER_IP, port, username="u", password="p", transport="tcp", bind=True
        )
    finally:
        server.close()
    assert result.outcome == "auth_failed" and n == 2
