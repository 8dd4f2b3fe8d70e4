"""The sandbox lab itself: status, files, idempotence, recovery, and its faults.

The calls that prove the emulated NovoFon behaves (registration, 486, 403 → verified) are
in test_smoke.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trunkctl.asterisk import ami_client
from trunkctl.conf import ConfigDir
from trunkctl.errors import SandboxError
from trunkctl.sandbox import PBX_ADDRESS, PROVIDER_ADDRESS, Sandbox
from trunkctl.settings import load_settings

from ..conftest import SandboxInfo

TRUNKCTL = Path(__file__).resolve().parents[2] / ".venv/bin/trunkctl"


def _alive(pid: int | None) -> bool:
    return pid is not None and Path(f"/proc/{pid}").exists()


def _listening_tcp(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def test_status_json_has_everything_a_user_needs(sandbox: SandboxInfo) -> None:
    out = subprocess.run(
        [str(TRUNKCTL), "sandbox", "status", "--json"], capture_output=True, text=True, check=True
    )
    st = json.loads(out.stdout)
    assert st["running"] is True
    assert st["asterisk_version"].startswith("Asterisk 22.")
    pbx, prov = st["pbx"], st["provider"]
    assert pbx["address"] == "127.0.0.2" and prov["sip_host"] == "127.0.0.1"
    assert _alive(pbx["pid"]) and _alive(prov["pid"])
    assert _listening_tcp(pbx["ami"]["host"], pbx["ami"]["port"])
    assert Path(pbx["config_dir"], "pjsip.conf").is_file()
    login = prov["line"]["login"]
    assert len(login) == 7 and login.isdigit()
    assert prov["realm"] == "novofon"
    assert prov["ip_trunk"]["termination_address"] == "127.0.0.2"
    assert prov["verification_number"] == "79991234567"
    behaviours = {t["behaviour"]: t["sip_code"] for t in prov["test_numbers"]}
    assert behaviours == {
        "answer": 200,
        "verification": 200,
        "busy": 486,
        "no_answer": 180,
        "not_found": 404,
        "forbidden": 403,
        "congestion": 503,
        "answer_hangup": 200,
        "caller_id_not_allowed": 403,
        "insufficient_funds": 480,
    }
    # No secret value anywhere in the status: only the files that hold them.
    for secret_file in (pbx["ami"]["secret_file"], prov["line"]["password_file"]):
        assert Path(secret_file).read_text().strip() not in out.stdout


def test_secret_files_are_private(pbx: SandboxInfo) -> None:
    sandbox = pbx
    st = sandbox.status
    for path in (
        st["pbx"]["ami"]["secret_file"],
        st["provider"]["line"]["password_file"],
        st["settings_file"],
    ):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
    # The pbx's AMI user lives where Debian puts users: readable by Asterisk's group only.
    user_file = Path(st["pbx"]["config_dir"], "manager.d/trunkctl.conf")
    assert sandbox.ami["secret"] in user_file.read_text()
    assert stat.S_IMODE(user_file.stat().st_mode) == 0o640
    assert sandbox.ami["secret"] not in Path(st["pbx"]["config_dir"], "manager.conf").read_text()


def test_settings_file_points_at_the_pbx(sandbox: SandboxInfo) -> None:
    settings = load_settings(Path(sandbox.status["settings_file"]))
    assert settings.config_dir == sandbox.pbx_config_dir
    assert (settings.ami.host, settings.ami.port) == (
        PBX_ADDRESS,
        sandbox.status["pbx"]["ami"]["port"],
    )
    assert settings.ami.read_secret() == sandbox.ami["secret"]
    out = subprocess.run(
        [*settings.asterisk_command, "-rx", "core show version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("Asterisk 22.")


def test_fresh_pbx_has_no_trunk_and_no_outgoing(pbx: SandboxInfo) -> None:
    rx = pbx.sandbox.pbx.rx
    assert "No objects found" in rx("pjsip show endpoints")
    assert "There is no existence of 'outgoing' context" in rx("dialplan show outgoing")
    assert "transport-udp" in rx("pjsip show transports")


def test_up_is_idempotent(sandbox: SandboxInfo) -> None:
    before = (sandbox.sandbox.pbx.pid(), sandbox.sandbox.provider.pid())
    started = time.monotonic()
    again = Sandbox().up()
    assert time.monotonic() - started < 2
    assert (again["pbx"]["pid"], again["provider"]["pid"]) == before


def _kill_pbx(sb: Sandbox) -> int:
    old = sb.pbx.pid()
    assert old is not None
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{old}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return old


def test_up_recovers_from_a_crash_and_a_stale_pid_file(sandbox: SandboxInfo) -> None:
    sb = sandbox.sandbox
    old = _kill_pbx(sb)
    # The pid file now names a dead process; point it at a live, unrelated one instead.
    sb.pbx.pid_file.write_text(f"{os.getpid()}\n")
    st = Sandbox().up()
    assert st["running"] and st["pbx"]["pid"] not in (old, os.getpid())
    assert "Asterisk 22" in sb.pbx.rx("core show version")


def test_a_lost_pid_file_does_not_start_a_second_pbx(sandbox: SandboxInfo) -> None:
    # The running pbx holds its ports; without its pid file `up` must find it, not start
    # another one on new ports.
    sb = sandbox.sandbox
    before = Sandbox().up()
    sb.pbx.pid_file.unlink()
    after = Sandbox().up()
    assert after["pbx"]["pid"] == before["pbx"]["pid"]
    assert after["pbx"]["sip_port"] == before["pbx"]["sip_port"]
    assert after["pbx"]["ami"]["port"] == before["pbx"]["ami"]["port"]
    assert sb.pbx.pid_file.read_text().strip() == str(before["pbx"]["pid"])


def test_an_asterisk_of_another_root_is_not_ours(sandbox: SandboxInfo) -> None:
    # A copied root carries the other sandbox's pid file; its Asterisk has the same argv.
    sb = sandbox.sandbox
    real = sb.pbx.pid()
    assert real is not None
    impostor = subprocess.Popen(
        ["asterisk", "-c", "import time; time.sleep(60)", "-C", sb.pbx.paths.conf],
        executable=sys.executable,
    )
    try:
        sb.pbx.pid_file.write_text(f"{impostor.pid}\n")
        assert sb.pbx.pid() == real
        assert sb.pbx.pid_file.read_text().strip() == str(real)
        sb.pbx.stop()  # stops ours, never the impostor
        assert impostor.poll() is None and sb.pbx.pid() is None
    finally:
        impostor.kill()
        impostor.wait()
    sandbox.status.update(Sandbox().up())


def test_up_after_a_crash_keeps_the_config_dir_and_the_ports(sandbox: SandboxInfo) -> None:
    sb = sandbox.sandbox
    before = Sandbox().up()
    etc = sb.pbx.etc_dir
    (etc / "marker.conf").write_text("; put here before the crash\n")
    backups = ConfigDir(etc).backup_dir
    backups.mkdir(exist_ok=True)
    (backups / "pjsip.conf.20260101T000000.000000000Z").write_text("; a backup\n")
    # A campaign's AMI connection leaves the port with connections in TIME_WAIT.
    with socket.create_connection((PBX_ADDRESS, before["pbx"]["ami"]["port"]), timeout=2) as c:
        c.recv(100)
    _kill_pbx(sb)
    after = Sandbox().up()
    assert after["running"]
    assert after["pbx"]["sip_port"] == before["pbx"]["sip_port"]
    assert after["pbx"]["ami"]["port"] == before["pbx"]["ami"]["port"]
    assert after["provider"]["sip_port"] == before["provider"]["sip_port"]
    assert (etc / "marker.conf").read_text() == "; put here before the crash\n"
    assert (backups / "pjsip.conf.20260101T000000.000000000Z").is_file()
    assert _listening_tcp(PBX_ADDRESS, after["pbx"]["ami"]["port"])

    # --reset: the stock config again, the backups kept.
    reset = Sandbox().up(reset=True)
    assert reset["running"] and not (etc / "marker.conf").exists()
    assert (backups / "pjsip.conf.20260101T000000.000000000Z").is_file()
    assert (etc / "extensions.conf").read_bytes() == (
        sb.root / "etc/asterisk/extensions.conf"
    ).read_bytes()
    sandbox.status.update(reset)


async def test_an_ami_client_reconnects_after_the_pbx_restarts(sandbox: SandboxInfo) -> None:
    # What a running campaign does: one reconnecting client across a pbx crash and `up`.
    sb = sandbox.sandbox
    async with ami_client(sb.settings(), reconnect=True) as ami:
        await ami.ping()
        _kill_pbx(sb)
        await asyncio.to_thread(Sandbox().up)
        deadline = time.monotonic() + 30
        while ami.connections < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert ami.connections == 2, ami.last_error
        await ami.ping()


def test_minimal_is_remembered_and_stock_comes_back(sandbox: SandboxInfo) -> None:
    sb, etc = sandbox.sandbox, sandbox.pbx_config_dir
    try:
        st = Sandbox().up(minimal=True)
        assert st["running"] and st["pbx"]["config"] == "minimal"
        assert sorted(p.name for p in etc.iterdir() if not p.name.startswith(".")) == [
            "asterisk.conf",
            "extensions.conf",
            "logger.conf",
            "manager.conf",
            "modules.conf",
            "pjsip.conf",
            "rtp.conf",
        ]
        sb.reset_pbx()  # the reset between tests keeps to the chosen config
        assert not (etc / "acl.conf").exists()
        assert Sandbox().up()["pbx"]["config"] == "minimal"
    finally:
        st = Sandbox().up(minimal=False)
    assert st["pbx"]["config"] == "stock" and (etc / "acl.conf").is_file()
    assert (etc / "extensions.conf").read_bytes() == (
        sb.root / "etc/asterisk/extensions.conf"
    ).read_bytes()
    sandbox.status.update(st)


def test_a_taken_port_stops_a_restart_and_reset_replaces_it(sandbox: SandboxInfo) -> None:
    sb = sandbox.sandbox
    sb.down()
    port = sandbox.status["pbx"]["sip_port"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind((PBX_ADDRESS, port))
        with pytest.raises(SandboxError) as refused:
            Sandbox().up()
        assert f"{PBX_ADDRESS}:{port}" in refused.value.what.en
        assert refused.value.next_step and "--reset" in refused.value.next_step.en
        st = Sandbox().up(reset=True)
    assert st["running"] and st["pbx"]["sip_port"] != port
    # Later tests read the session status: keep it true to what is running now.
    sandbox.status.update(st)


def test_down_stops_both_and_keeps_the_root(sandbox: SandboxInfo) -> None:
    sb = sandbox.sandbox
    pids = (sb.pbx.pid(), sb.provider.pid())
    assert sb.down() == {"emulator": True, "pbx": True, "provider": True}
    assert not any(_alive(p) for p in pids)
    assert (sb.root / "usr/sbin/asterisk").exists()
    st = Sandbox().up()
    assert st["running"]
    sandbox.status.update(st)


def test_logs_shows_the_tail(sandbox: SandboxInfo) -> None:
    out = subprocess.run(
        [str(TRUNKCTL), "sandbox", "logs", "provider", "-n", "5", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["instance"] == "provider" and 0 < len(data["lines"]) <= 5


def test_logs_of_unknown_instance_is_bad_input(sandbox: SandboxInfo) -> None:
    out = subprocess.run(
        [str(TRUNKCTL), "--json", "sandbox", "logs", "pbxx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    err = json.loads(out.stdout)["error"]
    assert "pbxx" in err["what"] and err["next"]


def test_not_root_says_how_to_run_it(tmp_path: Path) -> None:
    env = {**os.environ, "TRUNKCTL_SANDBOX_DIR": str(tmp_path / "sb"), "LANG": "C.UTF-8"}
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            str(TRUNKCTL),
            "sandbox",
            "up",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 3, out.stderr
    assert "root" in out.stderr and "sudo trunkctl sandbox up" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("lang,needle", [("ru", "Запустите от root"), ("en", "Run it as root")])
def test_not_root_message_in_both_languages(tmp_path: Path, lang: str, needle: str) -> None:
    env = {**os.environ, "TRUNKCTL_SANDBOX_DIR": str(tmp_path / "sb")}
    out = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            str(TRUNKCTL),
            "--lang",
            lang,
            "sandbox",
            "up",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert needle in out.stderr


def test_provider_listens_only_on_loopback(sandbox: SandboxInfo) -> None:
    out = subprocess.run(["ss", "-H", "-lntp"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        if "asterisk" in line:
            local = line.split()[3]
            assert local.startswith(("127.", "[::1]")), line
    assert PROVIDER_ADDRESS.startswith("127.")


def test_a_failing_debootstrap_shows_its_log_tail(tmp_path: Path) -> None:
    # A mirror nobody listens on (loopback, port 9): debootstrap fails at once.
    env = {
        **os.environ,
        "TRUNKCTL_SANDBOX_DIR": str(tmp_path / "sb"),
        "TRUNKCTL_DEBIAN_MIRROR": "http://127.0.0.1:9/debian",
        "LANG": "C.UTF-8",
    }
    out = subprocess.run(
        [str(TRUNKCTL), "sandbox", "up"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert out.returncode == 5, out.stderr
    assert "debootstrap failed" in out.stderr and "127.0.0.1:9" in out.stderr
    assert "Evidence" in out.stderr and "build.log" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "sb" / "root").exists()


def test_a_failed_rebuild_keeps_the_pbx_config(
    sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = sandbox.pbx_config_dir
    (etc / "marker.conf").write_text("; mine\n")
    before = {p.name: p.stat() for p in etc.iterdir()}
    # A mirror nobody listens on (loopback, port 9): debootstrap fails at once.
    monkeypatch.setenv("TRUNKCTL_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")
    try:
        with pytest.raises(SandboxError, match="debootstrap failed"):
            Sandbox().up(rebuild=True)
        after = {p.name: p.stat() for p in etc.iterdir()}
        assert set(after) == set(before)
        for name, st in before.items():
            assert (after[name].st_mode, after[name].st_uid) == (st.st_mode, st.st_uid), name
        assert (etc / "marker.conf").read_text() == "; mine\n"
    finally:
        monkeypatch.delenv("TRUNKCTL_DEBIAN_MIRROR")
        st = Sandbox().up()
        (etc / "marker.conf").unlink()
    assert st["running"]
    sandbox.status.update(st)


def test_the_root_names_this_host(tmp_path: Path, sandbox: SandboxInfo) -> None:
    # Without /etc/hosts in the root, Asterisk asks DNS for its own name on every call.
    from trunkctl.sandbox._build import ensure_hosts

    (tmp_path / "etc").mkdir()
    ensure_hosts(tmp_path)
    assert socket.gethostname() in (tmp_path / "etc/hosts").read_text().split()
    assert socket.gethostname() in (sandbox.sandbox.root / "etc/hosts").read_text().split()
