"""Asterisk is the judge: every "Asterisk refuses / fails / ignores" the lint claims for
the rules of the real-configurations issue is loaded into the sandbox Asterisk 22, and
Asterisk must do exactly that (and keep what the lint says it keeps).

The pjsip and dialplan cases go into the running pbx and are undone by the ``pbx``
fixture's reset; modules.conf cases start a throwaway Asterisk from the sandbox root in a
directory of its own, so the shared pbx is never restarted.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkctl.lint import LintFacts, LintReport, lint

from ..conftest import SandboxInfo

pytestmark = pytest.mark.sandbox
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
FACTS = LintFacts(asterisk_version="22.10.1", modules=frozenset({"res_pjsip", "chan_pjsip"}))


def _rx(info: SandboxInfo, command: str) -> str:
    argv = [*info.status["pbx"]["asterisk_command"], "-rx", command]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30)
    return _ANSI.sub("", done.stdout)


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _append(info: SandboxInfo, name: str, extra: str, reload: str) -> str:
    """Append ``extra`` to a pbx config file, run ``reload``, return what Asterisk logged."""
    log = Path(info.status["pbx"]["log_file"])
    start = log.stat().st_size
    path = info.pbx_config_dir / name
    path.write_text(path.read_text() + extra)
    _rx(info, reload)
    with log.open("rb") as fh:
        fh.seek(start)
        return fh.read().decode("utf-8", "replace")


def _asterisk_ids(info: SandboxInfo) -> tuple[int, int]:
    """The uid and gid the pbx's Asterisk runs as: the owner of its pid file."""
    st = (info.pbx_config_dir.parent / "run" / "asterisk.pid").stat()
    return st.st_uid, st.st_gid


def _findings(report: LintReport, rule_id: str, name: str) -> list[str]:
    return [f.severity for f in report.by_rule(rule_id) if f"[{name}]" in f.message.en]


def test_pjsip_objects_asterisk_refuses_keeps_or_ignores(pbx: SandboxInfo, tmp_path: Path) -> None:
    port = _free_udp_port("127.0.0.2")
    port2 = _free_udp_port("127.0.0.2")
    extra = f"""
[judge-nouser]
type = auth
auth_type = userpass
password = Zq8-xV3pLm9Tr-41

[judge-phone]
type = endpoint
context = default
allow = ulaw
auth = judge-nouser
aors = judge-phone

[judge-phone]
type = aor
max_contacts = 1

[judge-slash]
type = aor
contact = sip:192.0.2.10:5080 // comment

[judge-bare]
type = aor
contact = sip.novofon.ru

[judge-reg]
type = registration
server_uri = sip://sip.novofon.ru
client_uri = sip:0053248@sip.novofon.ru
outbound_auth = judge-phone-auth

[judge-phone-auth]
type = auth
username = 0053248
password = Zq8-xV3pLm9Tr-41

[judge-tb]
type = transport
protocol = udp
bind = 127.0.0.2:{port2} // my port

[judge-tr]
type = transport
protocol = udp
bind = 127.0.0.2:{port}
external_media_address = 192.0.2.20 //comment
external_signaling_address = 192.0.2.20
local_net = 127.0.0.0/8
"""
    try:
        logged = _append(pbx, "pjsip.conf", extra, "module reload res_pjsip.so")
        etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
        auths = _rx(pbx, "pjsip show auths")
        endpoints = _rx(pbx, "pjsip show endpoints")
        contacts = _rx(pbx, "pjsip show contacts")
        transports = _rx(pbx, "pjsip show transports")
    finally:
        pbx.sandbox.reset_pbx()
    report = lint(etc, facts=FACTS)
    # PJSIP024: the auth is refused; the endpoint loads but has no credentials.
    assert "judge-nouser: No authentication username" in logged
    assert "Could not create an object of type 'auth' with id 'judge-nouser'" in logged
    assert "judge-nouser" not in auths and "judge-phone" in endpoints
    assert _findings(report, "PJSIP024", "judge-nouser") == ["error"]
    # PJSIP025: the transport loads, its external address is dropped.
    assert "Unable to lookup '192.0.2.20 //comment'" in logged
    assert "judge-tr" in transports
    assert _findings(report, "PJSIP025", "judge-tr") == ["error"]
    # ... and a bind with a comment makes Asterisk refuse the whole transport.
    assert f"Error parsing bind=127.0.0.2:{port2} // my port" in logged
    assert "Could not create an object of type 'transport' with id 'judge-tb'" in logged
    assert "judge-tb" not in transports
    assert _findings(report, "PJSIP025", "judge-tb") == ["error"]
    # PJSIP015: Asterisk 22 loads the contact, comment and all: a warning, not "refused".
    assert "judge-slash/sip:192.0.2.10:5080 // comment" in contacts
    assert _findings(report, "PJSIP015", "judge-slash") == ["warning"]
    # PJSIP015's errors: a bare host and sip:// make Asterisk refuse the object.
    assert "Could not create an object of type 'aor' with id 'judge-bare'" in logged
    assert "Invalid server URI 'sip://sip.novofon.ru'" in logged
    assert "Could not create an object of type 'registration' with id 'judge-reg'" in logged
    assert _findings(report, "PJSIP015", "judge-bare") == ["error"]
    assert _findings(report, "PJSIP015", "judge-reg") == ["error"]


def test_dial_sip_fails_every_call_on_asterisk_22(pbx: SandboxInfo, tmp_path: Path) -> None:
    extra = (
        "\n[judge-sip]\nexten => 1,1,Dial(SIP/novofon/79991234567,5)\n"
        " same => n,Log(NOTICE,judge DIALSTATUS=${DIALSTATUS})\n"
    )
    log = Path(pbx.status["pbx"]["log_file"])
    try:
        _append(pbx, "extensions.conf", extra, "dialplan reload")
        etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
        start = log.stat().st_size
        _rx(pbx, "channel originate Local/1@judge-sip application Wait 1")
        deadline = time.monotonic() + 10
        logged = ""
        while "judge DIALSTATUS" not in logged and time.monotonic() < deadline:
            time.sleep(0.2)
            with log.open("rb") as fh:
                fh.seek(start)
                logged = fh.read().decode("utf-8", "replace")
    finally:
        pbx.sandbox.reset_pbx()
    assert "No channel type registered for 'SIP'" in logged
    assert "judge DIALSTATUS=CHANUNAVAIL" in logged
    modules = frozenset(
        m.removesuffix(".so") for m in re.findall(r"^(\S+\.so)", _rx(pbx, "module show"), re.M)
    )
    assert "chan_sip" not in modules
    found = lint(etc, facts=LintFacts(asterisk_version="22.10.1", modules=modules))
    severities = [f.severity for f in found.by_rule("DIAL003") if "[judge-sip]" in f.message.en]
    # [judge-sip] is reached by trunkctl's own originate only, like here: the lint cannot
    # know that, so it is a note; reached from an endpoint it is an error (offline tests).
    assert severities in (["info"], ["error"])


# --- modules.conf: a throwaway Asterisk from the sandbox root --------------------------------


@pytest.fixture
def judge(sandbox: SandboxInfo) -> Iterator[tuple[list[str], Path, str]]:
    """(chroot + asterisk argv, the instance dir on disk, its path inside the root).

    It runs as the pbx does (Debian's ``-U asterisk -G asterisk``), in folders and files
    that user owns, with the pbx's own (the package's) logger settings."""
    argv = sandbox.status["pbx"]["asterisk_command"]
    root = Path(argv[1])
    uid, gid = _asterisk_ids(sandbox)
    inside = f"/srv/lint-judge-{uuid.uuid4().hex[:8]}"
    base = root / inside.lstrip("/")
    base.mkdir(mode=0o755)
    os.chown(base, uid, gid)
    for sub in ("etc", "db", "keys", "spool", "run", "log", "cache"):
        (base / sub).mkdir(mode=0o750)
        os.chown(base / sub, uid, gid)
    pbx_etc = sandbox.pbx_config_dir
    conf = (pbx_etc / "asterisk.conf").read_text()
    pbx_inside = "/" + str(pbx_etc.relative_to(root)).rsplit("/etc", 1)[0]
    assert pbx_inside in conf, "the pbx's asterisk.conf names no folder of its own"
    _own_file(base / "etc" / "asterisk.conf", conf.replace(pbx_inside, inside), uid, gid)
    _own_file(base / "etc" / "logger.conf", (pbx_etc / "logger.conf").read_text(), uid, gid)
    yield [*argv[:3], "-C", f"{inside}/etc/asterisk.conf"], base, inside
    shutil.rmtree(base, ignore_errors=True)


def _own_file(path: Path, text: str, uid: int, gid: int) -> None:
    """Write ``text`` as a config file the way the package has them: 0640, Asterisk's."""
    path.write_text(text)
    path.chmod(0o640)
    os.chown(path, uid, gid)


def _start(judge: tuple[list[str], Path, str], modules_conf: str) -> tuple[str, str | None]:
    """Start Asterisk with ``modules_conf``: (its log, `module show like pjsip` or None if
    it exited). It is stopped before returning."""
    argv, base, _inside = judge
    uid, gid = (base / "etc").stat().st_uid, (base / "etc").stat().st_gid
    _own_file(base / "etc" / "modules.conf", modules_conf, uid, gid)
    log = base / "log" / "messages.log"
    log.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [*argv, "-f", "-U", "asterisk", "-G", "asterisk"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shown: str | None = None
    try:
        # The package's logger keeps no verbose lines ("Asterisk Ready"): ask Asterisk
        # itself whether it finished booting, as long as it runs.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            booted = subprocess.run(
                [*argv, "-rx", "core waitfullybooted"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if proc.poll() is None and "fully booted" in booted.stdout:
                done = subprocess.run(
                    [*argv, "-rx", "module show like pjsip"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                shown = done.stdout
                break
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            subprocess.run([*argv, "-rx", "core stop now"], capture_output=True, timeout=30)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return (log.read_text("utf-8", "replace") if log.exists() else ""), shown


def _conf004(tmp_path: Path, modules_conf: str) -> list[str]:
    etc = tmp_path / f"etc-{uuid.uuid4().hex[:6]}"
    etc.mkdir()
    (etc / "modules.conf").write_text(modules_conf)
    return [f.severity for f in lint(etc).by_rule("CONF004")]


def test_modules_conf_line_before_any_section_stops_asterisk(
    judge: tuple[list[str], Path, str], tmp_path: Path
) -> None:
    text = "autoload = yes\n"
    logged, shown = _start(judge, text)
    assert shown is None
    assert "'modules.conf' invalid or missing" in logged
    assert "Module initialization failed.  ASTERISK EXITING!" in logged
    assert _conf004(tmp_path, text) == ["error"]


def test_modules_conf_without_modules_section_starts_without_pjsip(
    judge: tuple[list[str], Path, str], tmp_path: Path
) -> None:
    text = "[general]\nautoload = yes\n"
    logged, shown = _start(judge, text)
    assert shown is not None and "chan_pjsip" not in shown
    assert "16 modules will be loaded" in logged
    assert _conf004(tmp_path, text) == ["error"]
    good = "[modules]\nautoload = yes\n"
    _logged, shown_good = _start(judge, good)
    assert shown_good is not None and "chan_pjsip.so" in shown_good
    assert _conf004(tmp_path, good) == []


# --- PJSIP027: a stranger reaches the trunk by its name in From ------------------------------


_SDP = (
    "v=0\r\no=judge 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _invite(pbx: SandboxInfo, from_user: str, *, sdp: bool = False) -> tuple[int, str]:
    """Send an INVITE for extension 'abc' from 127.0.0.3 (an address no identify matches)
    with ``from_user`` in From; the final response's code and the pbx log meanwhile."""
    host = pbx.status["pbx"]["address"]
    port = int(pbx.status["pbx"]["sip_port"])
    log = Path(pbx.status["pbx"]["log_file"])
    start = log.stat().st_size
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.3", 0))
        s.settimeout(5)
        me = f"127.0.0.3:{s.getsockname()[1]}"
        call_id = f"judge-{uuid.uuid4().hex}"
        branch = f"z9hG4bK{uuid.uuid4().hex[:16]}"
        head = (
            f"Via: SIP/2.0/UDP {me};branch={branch};rport\r\n"
            f"From: <sip:{from_user}@203.0.113.9>;tag=judge1\r\n"
            f"To: <sip:abc@{host}:{port}>\r\n"
            f"Call-ID: {call_id}\r\n"
        )
        body = _SDP if sdp else ""
        kind = "Content-Type: application/sdp\r\n" if sdp else ""
        invite = (
            f"INVITE sip:abc@{host}:{port} SIP/2.0\r\n{head}CSeq: 1 INVITE\r\n"
            f"Contact: <sip:{from_user}@{me}>\r\nMax-Forwards: 70\r\n{kind}"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        s.sendto(invite.encode(), (host, port))
        code = 0
        to = f"To: <sip:abc@{host}:{port}>"
        while code < 200:
            data = s.recv(65535).decode("utf-8", "replace")
            code = int(data.split(" ", 2)[1])
            to = next((ln for ln in data.split("\r\n") if ln.lower().startswith("to:")), to)
        ack = (
            f"ACK sip:abc@{host}:{port} SIP/2.0\r\n"
            + head.replace(f"To: <sip:abc@{host}:{port}>\r\n", to + "\r\n")
            + "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        s.sendto(ack.encode(), (host, port))
    time.sleep(0.3)
    with log.open("rb") as fh:
        fh.seek(start)
        return code, fh.read().decode("utf-8", "replace")


async def test_trunk_endpoint_is_matched_by_from_user_unless_identify_by_ip(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    from ..doctor.conftest import set_up

    await set_up(pbx)
    conf = pbx.pbx_config_dir / "pjsip.conf"
    base = re.sub(r"^identify_by\s*=.*\n", "", conf.read_text(), flags=re.M)
    try:
        conf.write_text(base)
        _rx(pbx, "module reload res_pjsip.so")
        spoofed, logged = _invite(pbx, "novofon")
        default = lint(shutil.copytree(pbx.pbx_config_dir, tmp_path / "default"), facts=FACTS)
        endpoint = re.search(r"^type[ \t]*=[ \t]*endpoint[ \t]*$", base, re.M)
        assert endpoint is not None, "no endpoint in the pbx's pjsip.conf"
        conf.write_text(base[: endpoint.end()] + "\nidentify_by=ip" + base[endpoint.end() :])
        _rx(pbx, "module reload res_pjsip.so")
        refused, _ = _invite(pbx, "novofon")
        by_ip = lint(shutil.copytree(pbx.pbx_config_dir, tmp_path / "by-ip"), facts=FACTS)
    finally:
        pbx.sandbox.reset_pbx()
    # identify_by = username,ip (the default): the stranger is the trunk; its call reaches
    # the trunk's context (404 only because 'abc' is no extension there).
    assert spoofed == 404, logged
    assert "from-novofon" in logged
    assert [f.severity for f in default.by_rule("PJSIP027")] == ["warning"]
    # identify_by = ip: no endpoint matches a stranger's address.
    assert refused in (401, 403), refused
    assert by_ip.by_rule("PJSIP027") == []


# --- AMI005: write = system + originate is a shell ----------------------------------------


async def test_originate_runs_system_only_with_the_system_privilege(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    from trunkctl.ami import AmiClient
    from trunkctl.errors import AmiError

    secret = f"J{uuid.uuid4().hex}"
    user = (
        f"\n[judge-orig]\nsecret = {secret}\ndeny = 0.0.0.0/0.0.0.0\n"
        "permit = 127.0.0.0/255.0.0.0\nread = call\nwrite = originate\n"
    )
    answer = "\n[judge-answer]\nexten => 1,1,Answer()\n same => n,Wait(3)\n"
    root = Path(pbx.status["pbx"]["asterisk_command"][1])
    # System() runs as the user Asterisk runs as (Debian's: asterisk): the flag goes in a
    # folder that user owns, so only "the shell never ran" can keep it from appearing.
    spot = f"/srv/judge-{uuid.uuid4().hex[:8]}"
    flag = f"{spot}/ran"
    (root / spot.lstrip("/")).mkdir(mode=0o700)
    os.chown(root / spot.lstrip("/"), *_asterisk_ids(pbx))
    a = pbx.ami
    try:
        _append(pbx, "manager.conf", user, "manager reload")
        _append(pbx, "extensions.conf", answer, "dialplan reload")
        etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
        originate = {
            "Channel": "Local/1@judge-answer",
            "Application": "System",
            "Data": f"touch {flag}",
            "Async": "false",
            "Timeout": "5000",
        }
        async with AmiClient(a["host"], a["port"], "judge-orig", secret) as only_originate:
            with pytest.raises(AmiError) as refused:
                await only_originate.action("Originate", originate, timeout=10)
        assert not (root / flag.lstrip("/")).exists()
        async with AmiClient(a["host"], a["port"], a["username"], a["secret"]) as broad:
            await broad.action("Originate", originate, timeout=15)
        deadline = time.monotonic() + 10
        while not (root / flag.lstrip("/")).exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        ran = (root / flag.lstrip("/")).exists()
    finally:
        shutil.rmtree(root / spot.lstrip("/"), ignore_errors=True)
        pbx.sandbox.reset_pbx()
    # Without system: "Originate Access Forbidden: app or data blacklisted".
    assert "Originate Access Forbidden" in str(refused.value.evidence or refused.value.what.en)
    assert ran  # write = system,originate: Originate ran a shell command
    report = lint(etc)
    flagged = {
        f.message.en.split("[")[1].split("]")[0]: f.severity for f in report.by_rule("AMI005")
    }
    assert flagged.get(a["username"]) in ("info", "warning")
    assert "judge-orig" not in flagged


# --- ARI002: allowed_origins = * lets any web page use ARI with the browser's credentials ----


def _ari_ping(port: int, origin: str) -> dict[str, str]:
    import base64
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.2:{port}/ari/asterisk/ping")
    req.add_header("Origin", origin)
    token = base64.b64encode(b"judge:Zq8-xV3pLm9Tr-41zz").decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
        return {k.lower(): v for k, v in resp.headers.items()}


def test_ari_allowed_origins_star_answers_every_site(pbx: SandboxInfo, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        port = int(s.getsockname()[1])
    http = f"[general]\nenabled = yes\nbindaddr = 127.0.0.2\nbindport = {port}\n"
    ari = (
        "[general]\nenabled = yes\nallowed_origins = {origins}\n\n"
        "[judge]\ntype = user\npassword = Zq8-xV3pLm9Tr-41zz\npassword_format = plain\n"
    )
    etc = pbx.pbx_config_dir
    try:
        (etc / "http.conf").write_text(http)
        (etc / "ari.conf").write_text(ari.format(origins="*"))
        _rx(pbx, "module reload http")
        _rx(pbx, "module reload res_ari.so")
        star = _ari_ping(port, "http://evil.example")
        star_lint = lint(shutil.copytree(etc, tmp_path / "star"))
        (etc / "ari.conf").write_text(ari.format(origins="https://panel.example.ru"))
        _rx(pbx, "module reload res_ari.so")
        listed = _ari_ping(port, "http://evil.example")
        listed_lint = lint(shutil.copytree(etc, tmp_path / "listed"))
    finally:
        (etc / "http.conf").unlink(missing_ok=True)
        (etc / "ari.conf").unlink(missing_ok=True)
        _rx(pbx, "module reload http")
        _rx(pbx, "module reload res_ari.so")
    # Any site's page gets the answer, with the browser's credentials allowed.
    assert star.get("access-control-allow-origin") == "http://evil.example"
    assert star.get("access-control-allow-credentials") == "true"
    assert [f.severity for f in star_lint.by_rule("ARI002")] == ["warning"]
    assert "access-control-allow-origin" not in listed
    assert listed_lint.by_rule("ARI002") == []


# --- PJSIP026: an old registration beside trunkctl's keeps failing against the same host --


async def test_a_leftover_registration_keeps_retrying_beside_the_trunk(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    from ..doctor.conftest import set_up

    await set_up(pbx)
    conf = pbx.pbx_config_dir / "pjsip.conf"
    server = re.search(r"^server_uri[ \t]*=[ \t]*(\S+)[ \t]*$", conf.read_text(), re.M)
    assert server is not None
    old = (
        f"\n[judge-old]\ntype = registration\noutbound_auth = judge-old\n"
        f"server_uri = {server.group(1)}\nclient_uri = sip:{pbx.line_login}@judge.invalid\n"
        "retry_interval = 60\n\n[judge-old]\ntype = auth\nauth_type = userpass\n"
        f"username = {pbx.line_login}\npassword = an-old-password-1\n"
    )
    try:
        logged = _append(pbx, "pjsip.conf", old, "module reload res_pjsip.so")
        etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
        deadline = time.monotonic() + 15
        shown = ""
        while time.monotonic() < deadline:
            shown = _rx(pbx, "pjsip show registrations")
            line = next((ln for ln in shown.splitlines() if "judge-old/" in ln), "")
            if "Rejected" in line:
                break
            time.sleep(0.5)
        log = Path(pbx.status["pbx"]["log_file"]).read_text("utf-8", "replace")
    finally:
        pbx.sandbox.reset_pbx()
    both = [ln for ln in shown.splitlines() if "/" in ln and server.group(1).split(":")[1] in ln]
    assert any(ln.lstrip().startswith("novofon/") and "Registered" in ln for ln in both), shown
    old_line = next(ln for ln in both if "judge-old/" in ln)
    # The provider saw a failed REGISTER for the old line (each reload or restart repeats it).
    assert "Rejected" in old_line, shown
    assert any("Fatal response '401'" in ln and "judge.invalid" in ln for ln in log.splitlines()), (
        logged
    )
    (f,) = lint(etc).by_rule("PJSIP026")
    assert f.severity == "warning" and "[judge-old]" in f.message.en and "[novofon]" in f.message.en


# --- the older "refuses / fails" claims: PJSIP002, PJSIP007, PJSIP021, DIAL005, CONF001 ----


def _originate_and_wait(info: SandboxInfo, target: str, marker: str) -> str:
    log = Path(info.status["pbx"]["log_file"])
    start = log.stat().st_size
    _rx(info, f"channel originate {target} application Wait 1")
    deadline = time.monotonic() + 10
    logged = ""
    while marker not in logged and time.monotonic() < deadline:
        time.sleep(0.2)
        with log.open("rb") as fh:
            fh.seek(start)
            logged = fh.read().decode("utf-8", "replace")
    return logged


def test_older_refusals_and_failures_happen_as_the_lint_says(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    conf = (pbx.pbx_config_dir / "pjsip.conf").read_text()
    bound = re.search(r"^bind[ \t]*=[ \t]*(\S+)[ \t]*$", conf, re.M)
    assert bound is not None
    host, port = pbx.provider_sip
    extra = f"""
[judge-dup-t]
type = transport
protocol = udp
bind = {bound.group(1)}

[judge-nocontact]
type = endpoint
context = default
allow = ulaw
aors = judge-nocontact

[judge-nocontact]
type = aor

[judge-noauth]
type = registration
server_uri = sip:{host}:{port}
client_uri = sip:{pbx.line_login}@{host}
"""
    dial = (
        "\n[judge-dial]\nexten => 1,1,Dial(PJSIP/79991234567@judge-nosuch,5)\n"
        " same => n,Log(NOTICE,judge1 DIALSTATUS=${DIALSTATUS})\n"
        "exten => 2,1,Dial(PJSIP/79991234567@judge-nocontact,5)\n"
        " same => n,Log(NOTICE,judge2 DIALSTATUS=${DIALSTATUS})\n"
    )
    try:
        logged = _append(pbx, "pjsip.conf", extra, "module reload res_pjsip.so")
        _append(pbx, "extensions.conf", dial, "dialplan reload")
        etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
        missing = _originate_and_wait(pbx, "Local/1@judge-dial", "judge1 DIALSTATUS")
        nocontact = _originate_and_wait(pbx, "Local/2@judge-dial", "judge2 DIALSTATUS")
        deadline = time.monotonic() + 10
        regs = ""
        while "Rejected" not in regs and time.monotonic() < deadline:
            regs = _rx(pbx, "pjsip show registrations")
            time.sleep(0.3)
        # CONF001: an option before any section makes Asterisk refuse the whole file.
        refused = _append(pbx, "pjsip.conf", "", "module reload res_pjsip.so")
        text = (pbx.pbx_config_dir / "pjsip.conf").read_text()
        (pbx.pbx_config_dir / "pjsip.conf").write_text(
            "stray = 1\n" + text + "\n[judge-late]\ntype = aor\nmax_contacts = 1\n"
        )
        refused = _append(pbx, "pjsip.conf", "", "module reload res_pjsip.so")
        aors = _rx(pbx, "pjsip show aors")
        broken = shutil.copytree(pbx.pbx_config_dir, tmp_path / "broken")
    finally:
        pbx.sandbox.reset_pbx()
    report = lint(etc, facts=FACTS)
    # PJSIP021: the second socket on the same address:port is never opened.
    assert "Transport 'judge-dup-t' could not be started: Address already in use" in logged
    assert report.by_rule("PJSIP021")
    # DIAL005: Dial(PJSIP/…@missing) is CHANUNAVAIL at once.
    assert "endpoint 'judge-nosuch' was not found" in missing
    assert "judge1 DIALSTATUS=CHANUNAVAIL" in missing
    assert any("judge-nosuch" in f.message.en for f in report.by_rule("DIAL005"))
    # PJSIP007 (an endpoint dialled as a trunk, its aor without contact): CHANUNAVAIL.
    assert "judge2 DIALSTATUS=CHANUNAVAIL" in nocontact
    assert "Could not create dialog to invalid URI 'judge-nocontact'" in nocontact
    assert _findings(report, "PJSIP007", "judge-nocontact") == ["error"]
    # PJSIP002: a registration without outbound_auth cannot answer the challenge.
    assert re.search(r"judge-noauth/\S+\s+n/a\s+Rejected", regs), regs
    assert _findings(report, "PJSIP002", "judge-noauth") == ["error"]
    # CONF001: the whole file refused, the old objects kept (judge-late never appears).
    assert "No category context for line 1" in refused
    assert "judge-late" not in aors
    assert [f.severity for f in lint(broken, facts=FACTS).by_rule("CONF001")] == ["error"]


def test_missing_context_is_404_and_no_common_codec_is_488(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    """DIAL002 and PJSIP009, with endpoints a stranger reaches by From user (identify_by's
    default) so that a plain INVITE from the test gets to them."""
    extra = """
[judge-noctx]
type = endpoint
context = judge-nosuch-ctx
allow = ulaw

[judge-nocodec]
type = endpoint
context = judge-answer
disallow = all
"""
    answer = "\n[judge-answer]\nexten => abc,1,Answer()\n same => n,Hangup()\n"
    try:
        _append(pbx, "pjsip.conf", extra, "module reload res_pjsip.so")
        _append(pbx, "extensions.conf", answer, "dialplan reload")
        etc = shutil.copytree(pbx.pbx_config_dir, tmp_path / "etc")
        no_context, logged = _invite(pbx, "judge-noctx")
        no_codec, _ = _invite(pbx, "judge-nocodec", sdp=True)
    finally:
        pbx.sandbox.reset_pbx()
    # The pbx's real modules: pbx_ael and pbx_lua load Debian's extensions.ael/.lua too,
    # and the context is in none of the three files.
    modules = frozenset(
        m.removesuffix(".so") for m in re.findall(r"^(\S+\.so)", _rx(pbx, "module show"), re.M)
    )
    assert {"pbx_ael", "pbx_lua"} <= modules and (etc / "extensions.lua").exists()
    report = lint(etc, facts=LintFacts(asterisk_version="22.10.1", modules=modules))
    assert no_context == 404
    assert "not found in context 'judge-nosuch-ctx'" in logged
    assert _findings(report, "DIAL002", "judge-noctx") == ["error"]
    assert no_codec == 488
    assert _findings(report, "PJSIP009", "judge-nocodec") == ["error"]
