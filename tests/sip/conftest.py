"""SIPp (Debian's ``sip-tester``, SIPp 3.6) as the far end for the sip tests.

``sipp.serve("options_200.xml", transport="udp")`` starts SIPp as a UAS on 127.0.0.1 at a
free port, waits until its socket is bound, yields the run, then waits for SIPp to exit
and checks its exit code (0: the scenario's call succeeded). Missing ``sipp`` fails loudly.
``udp_peer`` starts in-process UDP peers for timer and fault tests that SIPp cannot time.
``line_contacts`` reads the sandbox provider's own registrar: who is bound to the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trunkctl.ami import AmiClient
from trunkctl.errors import AmiActionError

from ..conftest import SandboxInfo

SCENARIOS = Path(__file__).parent / "scenarios"
PROVIDER_IP = "127.0.0.1"
# 127.0.0.2 plays the user's server (the PBX side) in every test.
PBX_IP = "127.0.0.2"


@dataclass
class SippRun:
    """One SIPp process serving one scenario."""

    port: int
    transport: str
    process: subprocess.Popen[bytes]
    workdir: Path

    @property
    def log_lines(self) -> list[str]:
        """Lines written by the scenario's ``<log>`` actions."""
        path = self.workdir / "actions.log"
        return path.read_text().splitlines() if path.exists() else []

    @property
    def errors(self) -> str:
        """SIPp's error log (unexpected messages, failed checks)."""
        path = self.workdir / "errors.log"
        return path.read_text() if path.exists() else ""


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((PROVIDER_IP, 0))
        return int(s.getsockname()[1])


def _bound(port: int, transport: str) -> bool:
    """Whether something listens on 127.0.0.1:port, read from /proc/net (no probe packet)."""
    table = Path("/proc/net/udp" if transport == "udp" else "/proc/net/tcp")
    want = f"0100007F:{port:04X}"
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == want and (transport == "udp" or fields[3] == "0A"):
            return True
    return False


class Sipp:
    """Starts SIPp UAS scenarios for one test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.binary = shutil.which("sipp")
        if self.binary is None:
            pytest.fail(
                "sipp is missing: install Debian's sip-tester package (scripts/test does it)",
                pytrace=False,
            )

    @contextlib.contextmanager
    def serve(
        self,
        scenario: str,
        *,
        transport: str = "udp",
        variables: dict[str, str] | None = None,
        expect_rc: int = 0,
        limit: float = 15.0,
    ) -> Iterator[SippRun]:
        """Run ``scenario`` for one call; on exit, assert SIPp's exit code."""
        assert self.binary is not None
        port = _free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
        run_dir = self.workdir / f"{Path(scenario).stem}-{transport}-{port}"
        run_dir.mkdir()
        cmd = [
            self.binary,
            "-sf", str(SCENARIOS / scenario),
            "-i", PROVIDER_IP,
            "-p", str(port),
            "-t", "u1" if transport == "udp" else "t1",
            "-m", "1",
            "-nostdin",
            "-timeout", f"{int(limit)}s",
            "-trace_err", "-error_file", str(run_dir / "errors.log"),
            "-trace_logs", "-log_file", str(run_dir / "actions.log"),
        ]  # fmt: skip
        for name, value in (variables or {}).items():
            cmd += ["-set", name, value]
        process = subprocess.Popen(
            cmd, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        run = SippRun(port, transport, process, run_dir)
        try:
            deadline = time.monotonic() + 5
            while not _bound(port, transport):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sipp did not start: {self._stderr(process)}{run.errors}")
                time.sleep(0.01)
            yield run
            try:
                rc = process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                pytest.fail(f"sipp {scenario} did not finish in {limit} s")
            assert rc == expect_rc, (
                f"sipp {scenario} exited {rc}: {self._stderr(process)}\n{run.errors}"
            )
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stderr is not None:
                process.stderr.close()

    @staticmethod
    def _stderr(process: subprocess.Popen[bytes]) -> str:
        if process.poll() is None or process.stderr is None:
            return ""
        return process.stderr.read().decode(errors="replace")[-2000:]


@pytest.fixture
def sipp(tmp_path: Path) -> Sipp:
    """A SIPp launcher writing its logs under the test's tmp_path."""
    return Sipp(tmp_path)


# --- in-process peers for timer and fault tests ----------------------------------------------

Handler = Callable[[bytes, int], list[bytes]]


def reply_to(request: bytes, status: str, *extra: str, via_params: str = "") -> bytes:
    """A response to ``request`` built by plain text copying (not trunkctl's builder)."""
    lines = request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    keep = [
        line + (via_params if line.lower().startswith("via:") else "")
        for line in lines
        if line.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")
    ]
    return (
        "\r\n".join([f"SIP/2.0 {status}", *keep, *extra, "Content-Length: 0"]) + "\r\n\r\n"
    ).encode()


class UdpPeer(asyncio.DatagramProtocol):
    """A UDP peer on 127.0.0.1 that records what arrives and answers via ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[tuple[float, bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((time.monotonic(), data, addr))
        assert self.transport is not None
        for reply in self.handler(data, len(self.received)):
            self.transport.sendto(reply, addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    @property
    def gaps(self) -> list[float]:
        """Seconds between consecutive arrivals."""
        times = [t for t, _, _ in self.received]
        return [b - a for a, b in itertools.pairwise(times)]


@pytest.fixture
async def udp_peer() -> AsyncIterator[Callable[[Handler], Awaitable[UdpPeer]]]:
    """Start UDP peers with a handler; all are closed after the test."""
    peers: list[UdpPeer] = []

    async def start(handler: Handler) -> UdpPeer:
        loop = asyncio.get_running_loop()
        _, peer = await loop.create_datagram_endpoint(
            lambda: UdpPeer(handler), local_addr=(PROVIDER_IP, 0)
        )
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        if peer.transport is not None:
            peer.transport.close()


# --- the sandbox provider's registrar ---------------------------------------------------------


async def line_contacts(sb: SandboxInfo) -> list[str]:
    """The contact URIs the provider holds for the sandbox line, from its own AMI."""
    a = sb.provider_ami
    async with AmiClient(a["host"], a["port"], a["username"], a["secret"], events=False) as ami:
        try:
            listing = await ami.list_action("PJSIPShowContacts")
        except AmiActionError:
            return []  # Asterisk answers an empty list with an error
    return sorted(
        e.get("Uri") or ""
        for e in listing.events
        if e.get("Event") == "ContactList" and e.get("Endpoint") == sb.line_login
    )


def where(contacts: list[str]) -> list[str]:
    """Contact URIs without parameters: Asterisk's ``line=`` token changes per REGISTER."""
    return [c.split(";", 1)[0] for c in contacts]


async def wait_line_contacts(sb: SandboxInfo, want: list[str], seconds: float) -> list[str]:
    """Poll :func:`line_contacts` until it is ``want`` (parameters aside); the last seen."""
    deadline = time.monotonic() + seconds
    while True:
        found = await line_contacts(sb)
        if where(found) == where(want) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def register_pbx(sb: SandboxInfo) -> list[str]:
    """Set up and apply trunkctl's trunk on the pbx; the provider's contacts for the line
    once registered (the pbx's one binding, with Asterisk's ``line=`` token)."""
    from ..calling.conftest import install_trunk

    await install_trunk(sb)
    bound = await line_contacts(sb)
    assert len(bound) == 1 and ";line=" in bound[0], bound
    return bound


async def assert_pbx_registered(sb: SandboxInfo, bound: list[str], seconds: float) -> None:
    """Fail unless the provider holds the pbx's binding again within ``seconds``."""
    left = await wait_line_contacts(sb, bound, seconds)
    assert where(left) == where(bound), f"the pbx's binding is not back: {left}"


async def leave_pbx_registered(sb: SandboxInfo, bound: list[str]) -> None:
    """A test's end: nudge the pbx if its binding is gone, then insist it is back."""
    if where(await line_contacts(sb)) != where(bound):
        sb.sandbox.pbx.rx("pjsip send register *all")
    await assert_pbx_registered(sb, bound, 10)
