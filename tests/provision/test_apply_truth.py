"""apply tells the truth on the sandbox pbx: a transport bind only a restart applies, a
dangling outbound_auth, a transport that cannot bind, an unknown option on Debian's stock
logger format — and "last accepted" is saved only when every proof passed.

The refusal lines themselves are parsed in tests/test_asterisk_log.py from real lines this
sandbox wrote (tests/data/asterisk_log/).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkctl.conf import ConfigDir
from trunkctl.provision import ApplyError, apply

from ..conftest import SandboxInfo
from .test_setup_apply import settings_of, setup, spec_for

STOCK_LOGGER = "[general]\n\n[logfiles]\nconsole => notice,warning,error\n"
STOCK_LOGGER += "messages.log => notice,warning,error\n"


def last_accepted(pbx: SandboxInfo) -> bytes:
    return (ConfigDir(pbx.pbx_config_dir).backup_dir / "last-applied" / "pjsip.conf").read_bytes()


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def applied(pbx: SandboxInfo) -> bytes:
    """Set the registration trunk up and apply it; the accepted pjsip.conf."""
    setup(pbx, spec_for(pbx))
    result = await apply(settings_of(pbx))
    assert result.ok and result.snapshot_saved, result.to_dict()
    return (pbx.pbx_config_dir / "pjsip.conf").read_bytes()


def trunk_transport(pbx: SandboxInfo) -> str:
    """The transport the trunk's endpoint uses (setup reuses the pbx's own)."""
    endpoint = ConfigDir(pbx.pbx_config_dir).resolve("pjsip.conf").find("novofon", "endpoint")
    assert endpoint is not None and endpoint.get("transport")
    return endpoint.get("transport") or ""


def edit(pbx: SandboxInfo, key: str, old: str, new: str, *, count: int = 1) -> Path:
    """Set option lines ``key = old`` (any spacing, the first ``count``; 0: all) to ``new``.

    Whole option lines only: a stock pjsip.conf holds commented samples of the same
    options, and its style may be ``key=value``."""
    conf = pbx.pbx_config_dir / "pjsip.conf"
    lines = conf.read_text().splitlines(keepends=True)
    line_re = re.compile(rf"^\s*{re.escape(key)}\s*=>?\s*{re.escape(old)}\s*$")
    hits = [i for i, line in enumerate(lines) if line_re.match(line)]
    assert hits, (key, old)
    for i in hits[:count] if count else hits:
        lines[i] = f"{key} = {new}\n"
    conf.write_text("".join(lines))
    return conf


def add_to_endpoint(pbx: SandboxInfo, line: str) -> tuple[Path, int]:
    """Put ``line`` right under the trunk endpoint's header; (file, its line number)."""
    endpoint = ConfigDir(pbx.pbx_config_dir).resolve("pjsip.conf").find("novofon", "endpoint")
    assert endpoint is not None
    conf = Path(endpoint.file)
    if not conf.is_absolute():
        conf = pbx.pbx_config_dir / conf
    lines = conf.read_text().splitlines(keepends=True)
    lines.insert(endpoint.line, line + "\n")
    conf.write_text("".join(lines))
    return conf, endpoint.line + 1


@pytest.fixture
def stock_logger(pbx: SandboxInfo) -> Iterator[SandboxInfo]:
    """The pbx logging with Debian's stock logger.conf (default date format, no verbose)."""
    logger = pbx.pbx_config_dir / "logger.conf"
    before = logger.read_bytes()
    logger.write_text(STOCK_LOGGER)
    pbx.sandbox.pbx.rx("logger reload")
    try:
        yield pbx
    finally:
        logger.write_bytes(before)
        pbx.sandbox.pbx.rx("logger reload")


async def test_a_changed_transport_bind_needs_a_restart_and_is_not_called_applied(
    pbx: SandboxInfo,
) -> None:
    accepted = await applied(pbx)
    name = trunk_transport(pbx)
    transport = ConfigDir(pbx.pbx_config_dir).resolve("pjsip.conf").find(name, "transport")
    assert transport is not None
    old_bind = transport.get("bind") or ""
    host = old_bind.rsplit(":", 1)[0]
    new_bind = f"{host}:{free_udp_port(host)}"
    conf = edit(pbx, "bind", old_bind, new_bind)
    changed = conf.read_bytes()
    result = await apply(settings_of(pbx))
    assert not result.ok and result.outcome == "needs_restart", result.to_dict()
    proof = next(p for p in result.proofs if p.kind == "transport")
    assert proof.restart and old_bind in proof.detail and new_bind in proof.detail
    notes = " ".join(n.en for n in result.notes)
    assert "core restart gracefully" in notes and "systemctl restart asterisk" in notes
    # The files are right (kept), but they are not what runs: not "last accepted".
    assert conf.read_bytes() == changed and not result.rolled_back
    assert last_accepted(pbx) == accepted and not result.snapshot_saved
    # Asterisk really still listens on the old socket.
    assert old_bind in pbx.sandbox.pbx.rx(f"pjsip show transport {name}")


async def test_a_dangling_outbound_auth_is_refused_and_never_kept_as_accepted(
    pbx: SandboxInfo,
) -> None:
    accepted = await applied(pbx)
    conf = edit(pbx, "outbound_auth", "novofon", "novofon-gone", count=0)
    with pytest.raises(ApplyError) as info:
        await apply(settings_of(pbx))
    evidence = info.value.evidence.en if info.value.evidence else ""
    assert "outbound_auth novofon-gone: no such auth is loaded" in evidence
    assert conf.read_bytes() == accepted
    assert last_accepted(pbx) == accepted
    assert b"novofon-gone" not in last_accepted(pbx)
    # The rollback reloaded the accepted file: the trunk registers again.
    after = await apply(settings_of(pbx))
    assert after.ok and after.registered, after.to_dict()


async def test_a_transport_that_cannot_bind_is_refused(pbx: SandboxInfo) -> None:
    accepted = await applied(pbx)
    used = trunk_transport(pbx)
    conf = edit(pbx, "transport", used, "transport-nowhere")
    with conf.open("a") as fh:
        # 192.0.2.1 (TEST-NET-1) is on no interface of this host: bind() fails.
        fh.write("\n[transport-nowhere]\ntype = transport\nprotocol = udp\n")
        fh.write("bind = 192.0.2.1:5060\n")
    with pytest.raises(ApplyError) as info:
        await apply(settings_of(pbx))
    evidence = info.value.evidence.en if info.value.evidence else ""
    assert "transport transport-nowhere: not running" in evidence
    assert "Cannot assign requested address" in evidence
    assert conf.read_bytes() == accepted and last_accepted(pbx) == accepted


async def test_an_unknown_option_is_named_on_the_stock_logger_format(
    stock_logger: SandboxInfo,
) -> None:
    pbx = stock_logger
    accepted = await applied(pbx)
    conf, line = add_to_endpoint(pbx, "no_such_option = 1")
    with pytest.raises(ApplyError) as info:
        await apply(settings_of(pbx))
    evidence = info.value.evidence.en if info.value.evidence else ""
    assert f"pjsip.conf:{line}: [novofon] has an option Asterisk does not know" in evidence
    assert "'no_such_option'" in evidence
    # The log lines themselves, in the stock format ("[Mon dd hh:mm:ss] ERROR[…]").
    logged = [ln for ln in evidence.splitlines() if ln.startswith("log: [")]
    assert logged and all(time.strftime("%Y-") not in ln for ln in logged), logged
    next_step = info.value.next_step.en if info.value.next_step else ""
    assert "No log line names a problem" not in next_step
    assert conf.read_bytes() == accepted


async def test_the_password_is_proven_and_never_shown(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx))
    result = await apply(settings_of(pbx))
    auth = next(p for p in result.proofs if p.kind == "auth")
    assert auth.ok and "password as in the file (not shown)" in auth.detail
    assert pbx.line_password not in str(result.to_dict())


@pytest.mark.parametrize(
    ("bind", "protocol", "key"),
    [
        ("127.0.0.2:5070", "udp", ("127.0.0.2", 5070)),
        ("0.0.0.0", "udp", ("0.0.0.0", 5060)),
        ("0.0.0.0", "tls", ("0.0.0.0", 5061)),
        ("[::]:5062", "udp", ("::", 5062)),
        ("[::]", "tcp", ("::", 5060)),
        ("sip.example.com:5060", "udp", None),
    ],
)
def test_a_bind_is_compared_as_asterisk_reads_it(
    bind: str, protocol: str, key: tuple[str, int] | None
) -> None:
    """The file may leave the port out; Asterisk then shows 5060 (5061 for TLS)."""
    from trunkctl.provision._apply import _bind_key

    assert _bind_key(bind, protocol) == key
