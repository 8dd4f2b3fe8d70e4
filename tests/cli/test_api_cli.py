"""`trunkctl api …` and `trunkctl webhook …` as a user runs them: the real console script
against the sandbox's emulated NovoFon (real provider, real pbx), and against a local
server that misbehaves on purpose (429, 5xx, garbage, silence, a foreign IP).

Library level: tests/novofon/test_sandbox_emulator.py, tests/novofon/test_api_config.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from trunkctl.novofon import webhook_signature
from trunkctl.novofon._asgi import Receive, Scope, Send, lifespan, respond
from trunkctl.novofon.emulator import (
    Emulator,
    EmulatorAccount,
    InMemoryBackend,
    SipLineInfo,
    VirtualNumberInfo,
)
from trunkctl.sandbox._emulator import arm_fault

from ..conftest import SandboxInfo, cdr_position, has_option, inbound_cdrs
from ..novofon.sandbox_api import (
    EmulatorInfo,
    emulator_info,
    line_password_kept,
    settings_uses_sandbox_file,
)
from ._run import TRUNKCTL, js, run  # the real console script (api/webhook: cli._lazy)

pytestmark = pytest.mark.sandbox


# The caller's own NovoFon credentials, settings or call log never leak into these runs
# (TRUNKCTL_SANDBOX_DIR does: it says which sandbox `--sandbox` means).
_API = "TRUNKCTL_NOVOFON_"
_OURS = frozenset({"TRUNKCTL_SETTINGS", "TRUNKCTL_CALL_LOG"})


@pytest.fixture(scope="session")
def emulator(sandbox: SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> EmulatorInfo:
    return emulator_info(sandbox, tmp_path_factory.mktemp("api-cli"))


@pytest.fixture
def call_log(tmp_path: Path) -> Path:
    return tmp_path / "calls.db"


class Cli:
    """Runs the console script with the emulator's settings and a private call log."""

    def __init__(self, info: EmulatorInfo | None, call_log: Path, settings: Path | None = None):
        self.info = info
        self.call_log = call_log
        self.settings = settings

    def __call__(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        lang: str = "en",
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        where: list[str]
        if self.settings is not None:
            where = ["--settings", str(self.settings)]
        elif self.info is not None and settings_uses_sandbox_file(self.info):
            where = ["--sandbox"]
        else:
            assert self.info is not None
            where = ["--settings", str(self.info.settings_file)]
        environ = {k: v for k, v in os.environ.items() if k not in _OURS and not k.startswith(_API)}
        environ.update({"TRUNKCTL_CALL_LOG": str(self.call_log), **(env or {})})
        return run(
            [TRUNKCTL, *where, "--lang", lang, *args], stdin=stdin, timeout=timeout, env=environ
        )


@pytest.fixture
def tk(emulator: EmulatorInfo, call_log: Path) -> Cli:
    return Cli(emulator, call_log)


def trunk_up(tk: Cli, info: EmulatorInfo, password: str) -> None:
    """`setup` + `apply` the NovoFon trunk on the pbx, as the lead's CLI tests do."""
    setup = tk("setup", "--login", info.line, "--password-stdin", "--force", stdin=password + "\n")
    assert setup.returncode == 0, setup.stderr
    applied = tk("apply", "--json")
    assert js(applied)["registrations"] == {"novofon": "Registered"}, applied.stdout


# --- the sandbox acceptance --------------------------------------------------------------


def test_sip_lines_shows_the_sandbox_line(
    pbx: SandboxInfo, tk: Cli, emulator: EmulatorInfo
) -> None:
    out = tk("api", "sip-lines", "--json")
    assert out.returncode == 0, out.stderr
    (line,) = js(out)["lines"]
    assert (line["id"], line["login"]) == (1001, emulator.line)
    human = tk("api", "sip-lines")
    assert emulator.line in human.stdout and "reset-sip-password" in human.stdout
    legacy = tk("api", "sip-lines", "--via", "v1", "--json")
    assert js(legacy)["lines"][0]["login"] == emulator.line


def test_reset_password_into_pjsip_conf_then_apply_registers(
    pbx: SandboxInfo, tk: Cli, emulator: EmulatorInfo
) -> None:
    with line_password_kept(pbx.sandbox) as old:
        trunk_up(tk, emulator, old)
        reset = tk("api", "reset-sip-password", emulator.line, "--write-config", "--json")
        assert reset.returncode == 0, reset.stderr
        data = js(reset)
        assert data["written"] is True and "password" not in data
        assert "[novofon] type=auth password" in data["changed"]
        new = pbx.sandbox.line_password_file.read_text().strip()
        assert new != old and new not in reset.stdout + reset.stderr
        assert has_option((pbx.pbx_config_dir / "pjsip.conf").read_text(), "password", new)
        applied = tk("apply", "--json")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert js(applied)["registrations"] == {"novofon": "Registered"}
        lines = js(tk("api", "sip-lines", "--json"))["lines"]
        assert lines[0]["registered"] is True


def test_reset_password_needs_somewhere_to_put_it(pbx: SandboxInfo, tk: Cli) -> None:
    before = pbx.sandbox.line_password_file.read_text()
    out = tk("api", "reset-sip-password", "--json")
    assert out.returncode == 2
    assert "--write-config" in js(out)["error"]["next"]
    assert pbx.sandbox.line_password_file.read_text() == before


def test_reset_password_is_refused_before_the_change_when_the_trunk_is_missing(
    pbx: SandboxInfo, tk: Cli
) -> None:
    # A fresh pbx has no [novofon] auth: the rehearsal fails, NovoFon changes nothing.
    before = pbx.sandbox.line_password_file.read_text()
    out = tk("api", "reset-sip-password", "--write-config")
    assert out.returncode == 2, out.stderr
    assert "type=auth" in out.stderr and "trunkctl setup" in out.stderr
    assert pbx.sandbox.line_password_file.read_text() == before


def test_reset_password_show_prints_it_once(pbx: SandboxInfo, tk: Cli) -> None:
    with line_password_kept(pbx.sandbox):
        out = tk("api", "reset-sip-password", "--show")
        assert out.returncode == 0, out.stderr
        new = pbx.sandbox.line_password_file.read_text().strip()
        assert out.stdout.count(new) == 1


@pytest.mark.slow
def test_api_call_really_rings_and_the_report_shows_it(
    pbx: SandboxInfo, tk: Cli, emulator: EmulatorInfo, call_log: Path
) -> None:
    trunk_up(tk, emulator, pbx.line_password)
    cdr_start = cdr_position(pbx)
    out = tk("api", "call", "79990000200", "--wait", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    data = js(out)
    assert data["via"] == "callapi" and data["from"] == emulator.line
    assert data["outcome"]["status"] == "answered", data
    key = data["external_id"]
    assert key in out.stderr  # shown before sending, in case the process dies
    # The provider really rang the pbx over its registration.
    assert [r[3] for r in inbound_cdrs(pbx, cdr_start)] == ["from-novofon"]
    report = tk("api", "calls", "--external-id", key, "--json")
    (row,) = js(report)["calls"]
    assert (row["status"], row["contact"], row["external_id"]) == ("answered", "79990000200", key)
    with sqlite3.connect(call_log) as db:
        rows = db.execute("SELECT source, number, status, external_id FROM calls").fetchall()
    assert rows == [("api", "79990000200", "requested", key)]
    # The same external_id again: found in the report, not called twice.
    again = tk("api", "call", "79990000200", "--external-id", key, "--json")
    assert again.returncode == 2 and "already placed" in js(again)["error"]["what"]
    assert len(js(tk("api", "calls", "--external-id", key, "--json"))["calls"]) == 1


def test_api_call_busy_number_waits_for_busy(
    pbx: SandboxInfo, tk: Cli, emulator: EmulatorInfo
) -> None:
    trunk_up(tk, emulator, pbx.line_password)
    out = tk("api", "call", "79990000486", "--wait")
    assert out.returncode == 1
    assert "busy (subscriber_busy)" in out.stdout


def test_api_call_via_v1_callback(pbx: SandboxInfo, tk: Cli, emulator: EmulatorInfo) -> None:
    trunk_up(tk, emulator, pbx.line_password)
    sent = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    out = tk("api", "call", "79990000201", "--via", "callback", "--json")
    assert out.returncode == 0, out.stderr
    assert js(out)["via"] == "callback" and js(out)["external_id"] is None
    mine: list[dict[str, Any]] = []
    for _ in range(50):
        # Only finished calls are in the report; this one started at or after `sent`.
        mine = [
            c
            for c in js(tk("api", "calls", "--json"))["calls"]
            if c["source"] == "callback" and c["start_time"] >= sent
        ]
        if mine:
            break
        time.sleep(0.3)
    assert [(c["contact"], c["status"]) for c in mine] == [("79990000201", "answered")]
    # --limit keeps the newest; the total says how many there were.
    one = js(tk("api", "calls", "--json", "--limit", "1"))
    everything = js(tk("api", "calls", "--json", "--limit", "100000"))
    assert len(one["calls"]) == 1 and one["total"] == everything["total"] >= 1
    assert one["calls"][0]["start_time"] == max(c["start_time"] for c in everything["calls"])


def test_api_call_refuses_a_bad_number_as_trunkctl_call_does(tk: Cli, call_log: Path) -> None:
    # NovoFon would answer call_direction_prohibited (exit 7) after a round trip.
    out = tk("api", "call", "123", "--json")
    assert out.returncode == 2, out.stdout + out.stderr
    error = js(out)["error"]
    assert (error["code"], error["what"], error["evidence"]) == (
        "bad_input",
        "Wrong number of digits for a number in that country.",
        "input: '123'",
    )
    assert "external_id" not in out.stderr and not call_log.exists()
    # The same refusal, word for word, as the Asterisk test call's.
    assert js(tk("call", "123", "--json"))["error"] == error
    ru = tk("api", "call", "123", lang="ru")
    assert ru.returncode == 2
    assert "Количество цифр не подходит для номера этой страны." in ru.stderr
    assert "зарубежный номер начните с + и кода страны" in ru.stderr


def test_a_lost_answer_is_reported_and_never_retried(tk: Cli, emulator: EmulatorInfo) -> None:
    arm_fault(emulator.sandbox.sandbox, "start.simple_call", 502)
    key = f"cli-lost-{uuid.uuid4().hex[:10]}"
    out = tk("api", "call", "79990000201", "--from", "79990000200", "--external-id", key, "--json")
    assert out.returncode == 7
    error = js(out)["error"]
    assert error["code"] == "novofon_outcome_unknown"
    assert key in error["next"] and "Do not repeat" in error["next"]
    for _ in range(50):
        rows = js(tk("api", "calls", "--external-id", key, "--json"))["calls"]
        if rows:
            break
        time.sleep(0.3)
    assert len(rows) == 1 and rows[0]["status"] == "answered"


def test_balance_and_credentials_from_stdin_and_environment(
    tk: Cli, emulator: EmulatorInfo
) -> None:
    assert js(tk("api", "balance", "--json")) == {"balance": 100.0, "currency": "RUB"}
    key, secret = emulator.secret("key_file"), emulator.secret("secret_file")
    bare = Cli(None, tk.call_log, settings=_empty_settings(tk.call_log.parent))
    url = ["--api-url", emulator.url]
    piped = bare(
        "api", "balance", *url, "--credentials-stdin", stdin=f"key={key}\nsecret={secret}\n"
    )
    assert piped.returncode == 0 and "100.00 RUB" in piped.stdout, piped.stderr
    env = {"TRUNKCTL_NOVOFON_KEY": key, "TRUNKCTL_NOVOFON_SECRET": secret}
    assert bare("api", "balance", *url, env=env).returncode == 0
    missing = bare("api", "balance", *url)
    assert missing.returncode == 2 and "TRUNKCTL_NOVOFON_KEY" in missing.stderr


def test_secrets_on_argv_are_refused(tk: Cli) -> None:
    for flag in ("--secret", "--key", "--api-token", "--password"):
        out = tk("api", "balance", flag, "hunter2-secret")
        assert out.returncode == 2, flag
        assert "--credentials-stdin" in out.stderr and "hunter2" not in out.stdout + out.stderr


def test_wrong_secret_and_expired_token_say_what_to_do(tk: Cli, emulator: EmulatorInfo) -> None:
    wrong = tk("api", "balance", "--json", env={"TRUNKCTL_NOVOFON_SECRET": "y" * 20})
    assert wrong.returncode == 7
    assert js(wrong)["error"]["code"] == "novofon_auth" and "cabinet" in js(wrong)["error"]["next"]
    expired = emulator.secret("expired_api_token_file")
    out = tk("api", "sip-lines", "--json", env={"TRUNKCTL_NOVOFON_API_TOKEN": expired})
    assert out.returncode == 7
    assert js(out)["error"]["details"]["mnemonic"] == "access_token_expired"
    assert expired not in out.stdout
    ru = tk("api", "balance", env={"TRUNKCTL_NOVOFON_SECRET": "y" * 20}, lang="ru")
    assert "Что сделать" in ru.stderr and "кабинете" in ru.stderr


# --- faults from a server that misbehaves on purpose --------------------------------------

KEY, SECRET, TOKEN = "faultkey000000000001", "faultsecret000000001", "fault-token-0123456789"


class FaultServer:
    """``/<mode>/…``: ``ok`` is an emulator; ``foreign`` one whose whitelist excludes us;
    the rest answer 429, 502, HTML, or nothing in time. ``hits`` counts requests per mode."""

    def __init__(self) -> None:
        backend = InMemoryBackend(
            lines=[SipLineInfo(1, "0053248", virtual_phone_number="74951112233")],
            numbers=[VirtualNumberInfo(2, "74951112233")],
        )
        account = EmulatorAccount(rest_key=KEY, rest_secret=SECRET, api_keys=frozenset({TOKEN}))
        self.ok = Emulator(backend, account)
        self.foreign = Emulator(
            backend,
            EmulatorAccount(
                rest_key=KEY,
                rest_secret=SECRET,
                api_keys=frozenset({TOKEN}),
                ip_whitelist=("203.0.113.0/24",),
            ),
        )
        self.hits: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        _, mode, rest = str(scope["path"]).split("/", 2)
        self.hits[mode] += 1
        inner = dict(scope, path="/" + rest)
        if mode in ("ok", "foreign"):
            await (self.ok if mode == "ok" else self.foreign)(inner, receive, send)
        elif mode == "e429":
            body = {"status": "error", "message": "You exceeded the rate limit"}
            await respond(send, 429, body, headers=[("retry-after", "3600")])
        elif mode == "e502":
            await respond(send, 502, b"<html>502 Bad Gateway</html>", content_type="text/html")
        elif mode == "html":
            await respond(send, 200, b"<html>Wi-Fi login</html>", content_type="text/html")
        elif mode == "empty":  # a proxy's 200 {}: once read as "Balance: 0.00"
            await respond(send, 200, {})
        elif mode in ("drip", "flood"):
            await self._stream(send, mode)
        else:  # "slow": no answer within the client's timeout
            await asyncio.sleep(3)
            await respond(send, 200, b"{}")

    async def _stream(self, send: Send, mode: str) -> None:
        """``drip``: one byte every 2 s; ``flood``: 50 MB of blanks in 64 KB chunks."""
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if mode == "drip":
            for byte in b'{"status": "success", "balance": 1.5, "currency": "RUB"}':
                await send({"type": "http.response.body", "body": bytes([byte]), "more_body": True})
                await asyncio.sleep(2)
        else:
            chunk = b" " * (64 << 10)
            for _ in range(800):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def faults() -> Iterator[tuple[FaultServer, str]]:
    app = FaultServer()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def _empty_settings(folder: Path) -> Path:
    path = folder / "empty.toml"
    path.write_text("# no [novofon] table\n")
    return path


@pytest.fixture
def bare(call_log: Path) -> Cli:
    return Cli(None, call_log, settings=_empty_settings(call_log.parent))


CREDS = {"TRUNKCTL_NOVOFON_KEY": KEY, "TRUNKCTL_NOVOFON_SECRET": SECRET}
CREDS["TRUNKCTL_NOVOFON_API_TOKEN"] = TOKEN


@pytest.mark.parametrize(
    ("mode", "args", "code", "needle"),
    [
        ("e429", ("balance",), "novofon_rate_limited", "limit"),
        ("e502", ("balance",), "novofon_server", "Try again"),
        ("html", ("sip-lines",), "novofon_protocol", "proxy"),
        ("slow", ("balance", "--timeout", "0.5"), "novofon_timeout", "Try again"),
        ("foreign", ("sip-lines",), "novofon_ip_not_whitelisted", "API tab"),
        ("empty", ("balance",), "novofon_protocol", "proxy"),
        (
            "empty",
            ("call", "79991234567", "--via", "callback", "--from", "100"),
            "novofon_outcome_unknown",
            "statistics",
        ),
        ("drip", ("balance", "--timeout", "3"), "novofon_timeout", "Try again"),
        ("flood", ("balance",), "novofon_protocol", "proxy"),
    ],
)
def test_faults_become_typed_errors_with_a_next_step(
    faults: tuple[FaultServer, str],
    bare: Cli,
    mode: str,
    args: tuple[str, ...],
    code: str,
    needle: str,
) -> None:
    _, url = faults
    out = bare("api", *args, "--api-url", f"{url}/{mode}", "--json", env=CREDS)
    assert out.returncode == 7, out.stdout + out.stderr
    error = js(out)["error"]
    assert error["code"] == code, error
    assert needle in error["next"], error


@pytest.mark.parametrize("mode", ["e502", "html", "slow"])
def test_a_call_whose_answer_is_lost_is_sent_once(
    faults: tuple[FaultServer, str], bare: Cli, mode: str
) -> None:
    server, url = faults
    before = server.hits[mode]
    out = bare(
        "api",
        "call",
        "79990000200",
        "--from",
        "0053248",
        "--virtual-number",
        "74951112233",
        "--api-url",
        f"{url}/{mode}",
        "--timeout",
        "0.5",
        "--json",
        env=CREDS,
    )
    assert out.returncode == 7, out.stdout + out.stderr
    assert js(out)["error"]["code"] == "novofon_outcome_unknown"
    assert server.hits[mode] - before == 1  # exactly one request: never repeated


def test_a_rate_limited_call_is_refused_not_retried(
    faults: tuple[FaultServer, str], bare: Cli
) -> None:
    server, url = faults
    before = server.hits["e429"]
    out = bare(
        "api",
        "call",
        "79990000200",
        "--via",
        "callback",
        "--from",
        "0053248",
        "--api-url",
        f"{url}/e429",
        "--json",
        env=CREDS,
    )
    assert out.returncode == 7 and js(out)["error"]["code"] == "novofon_rate_limited"
    assert server.hits["e429"] - before == 1


def test_timeout_is_one_deadline_for_the_whole_answer(
    faults: tuple[FaultServer, str], bare: Cli
) -> None:
    # Before: a byte every 2 s kept `api balance` busy for 49 s, then it said "10 s".
    _, url = faults
    started = time.monotonic()
    out = bare("api", "balance", "--api-url", f"{url}/drip", "--timeout", "3", "--json", env=CREDS)
    elapsed = time.monotonic() - started
    assert js(out)["error"]["code"] == "novofon_timeout"
    assert elapsed < 8, elapsed  # 3 s plus the interpreter's start-up


def test_api_calls_v1_over_a_long_period_shows_what_was_covered(
    faults: tuple[FaultServer, str], bare: Cli
) -> None:
    _, url = faults
    args = ("api", "calls", "--via", "v1", "--hours", "1000", "--api-url", f"{url}/ok")
    out = bare(*args, "--json", env=CREDS)
    assert out.returncode == 0, out.stdout + out.stderr
    report = js(out)
    assert report["requests"] == 2 and report["complete"] is True
    assert report["covered"]["start"] <= report["requested"]["start"]
    # statistics allow 3 requests a minute: one more for the human-readable form.
    text = bare(*args[:5], "24", *args[6:], env=CREDS)
    assert "Period covered: " in text.stdout, text.stdout + text.stderr
    refused = bare(
        "api", "calls", "--via", "v1", "--hours", "5000", "--api-url", f"{url}/ok", env=CREDS
    )
    assert refused.returncode != 0 and "2146" in refused.stderr


def test_faultless_server_works_for_contrast(faults: tuple[FaultServer, str], bare: Cli) -> None:
    _, url = faults
    out = bare("api", "sip-lines", "--api-url", f"{url}/ok", "--json", env=CREDS)
    assert out.returncode == 0 and js(out)["lines"][0]["login"] == "0053248"


# --- webhooks -----------------------------------------------------------------------------


@pytest.fixture
def receiver(call_log: Path) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in _OURS and not k.startswith(_API)}
    env["TRUNKCTL_CALL_LOG"] = str(call_log)
    settings = _empty_settings(call_log.parent)
    proc = subprocess.Popen(
        [
            TRUNKCTL,
            "--settings",
            str(settings),
            "webhook",
            "serve",
            "--port",
            str(port),
            "--header-timeout",
            "2",
            "--credentials-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(f"secret={SECRET}\n")
    proc.stdin.close()
    url = f"http://127.0.0.1:{port}/novofon"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=0.5)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_webhook_receiver_refuses_a_bad_signature(receiver: str, bare: Cli, call_log: Path) -> None:
    form = {
        "event": "NOTIFY_END",
        "call_start": "2026-01-01 10:00:00",
        "pbx_call_id": "in_0123456789",
        "caller_id": "79991234567",
        "called_did": "74951112233",
        "disposition": "busy",
        "status_code": "17",
        "duration": "0",
    }
    forged = httpx.post(receiver, data=form, headers={"Signature": "bm90IHRoZSBzaWduYXR1cmU="})
    assert forged.status_code == 403
    unsigned = httpx.post(receiver, data=form)
    assert unsigned.status_code == 403
    assert js(bare("webhook", "events", "--json", "--call-log", str(call_log)))["events"] == []
    signed = httpx.post(receiver, data=form, headers={"Signature": webhook_signature(SECRET, form)})
    assert signed.status_code == 200
    assert httpx.get(receiver, params={"zd_echo": "abc123"}).text == "abc123"
    (event,) = js(bare("webhook", "events", "--json"))["events"]
    assert (event["kind"], event["call_id"]) == ("NOTIFY_END", "in_0123456789")
    with sqlite3.connect(call_log) as db:
        call = db.execute("SELECT source, number, status, q850 FROM calls").fetchall()
    assert call == [("webhook", "79991234567", "busy", 17)]


def test_webhook_check_proves_a_receiver(receiver: str, bare: Cli) -> None:
    good = bare("webhook", "check", receiver, "--json", env={"TRUNKCTL_NOVOFON_SECRET": SECRET})
    assert good.returncode == 0, good.stdout
    assert [c["check"] for c in js(good)["checks"]] == ["zd_echo", "signed", "forged"]
    other = bare("webhook", "check", receiver, "--json", env={"TRUNKCTL_NOVOFON_SECRET": "z" * 20})
    assert other.returncode == 1
    assert [c["ok"] for c in js(other)["checks"]] == [True, False, True]


def _end_form(pbx_call_id: str) -> dict[str, str]:
    return {
        "event": "NOTIFY_END",
        "call_start": "2026-01-01 10:00:00",
        "pbx_call_id": pbx_call_id,
        "caller_id": "79991234567",
        "called_did": "74951112233",
        "disposition": "answered",
        "status_code": "16",
        "duration": "42",
    }


def test_a_replayed_webhook_is_stored_once_and_starts_at_call_start(
    receiver: str, bare: Cli, call_log: Path
) -> None:
    # Before: three posts of the same signed NOTIFY_END made three calls, each starting
    # when the post arrived.
    form = _end_form("in_replayed_1")
    headers = {"Signature": webhook_signature(SECRET, form)}
    answers = [httpx.post(receiver, data=form, headers=headers).status_code for _ in range(3)]
    assert answers == [200, 200, 200]  # a replay is acknowledged, so NovoFon stops retrying
    events = js(bare("webhook", "events", "--json", "--call-log", str(call_log)))["events"]
    assert [(e["kind"], e["call_id"]) for e in events] == [("NOTIFY_END", "in_replayed_1")]
    with sqlite3.connect(call_log) as db:
        calls = db.execute("SELECT number, status, started_at, talk_duration FROM calls").fetchall()
    # 10:00:00 in Moscow (UTC+3, the default --zone) is 07:00:00 UTC.
    moscow_10am = datetime(2026, 1, 1, 7, 0, 0, tzinfo=UTC).timestamp()
    assert calls == [("79991234567", "answered", moscow_10am, 42.0)]


def test_webhook_check_leaves_a_check_not_a_call(receiver: str, bare: Cli, call_log: Path) -> None:
    # Before: the check's synthetic event sat in the call log as if NovoFon had sent it.
    good = bare("webhook", "check", receiver, "--json", env={"TRUNKCTL_NOVOFON_SECRET": SECRET})
    assert good.returncode == 0, good.stdout
    (event,) = js(bare("webhook", "events", "--json", "--call-log", str(call_log)))["events"]
    assert event["source"] == "webhook-check"
    assert event["call_id"].startswith("trunkctl-check-")
    shown = bare("webhook", "events", "--call-log", str(call_log))
    assert "(check)" in shown.stdout
    with sqlite3.connect(call_log) as db:
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (0,)


def test_webhook_check_never_prints_the_signature_a_receiver_echoes(bare: Cli) -> None:
    # A receiver that echoes the request's headers: its answer must not carry the
    # signature (valid for replaying that post) into the output.
    async def echo(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        await respond(send, 403, f"denied {headers.get('signature', '')}")

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(echo, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        out = bare(
            "webhook",
            "check",
            f"http://127.0.0.1:{port}/",
            "--json",
            env={"TRUNKCTL_NOVOFON_SECRET": SECRET},
        )
    finally:
        server.should_exit = True
        thread.join(5)
    assert out.returncode == 1
    signed = next(c for c in js(out)["checks"] if c["check"] == "signed")
    assert "denied ***" in signed["detail"], signed
    # A signature is base64 of 40 hex digits: 56 characters ending in "==".
    words = [w.strip("'\"") for c in js(out)["checks"] for w in c["detail"].split()]
    assert not [w for w in words if len(w) == 56 and w.endswith("==")], words


def _raw(url: str) -> socket.socket:
    host, port = httpx.URL(url).host, httpx.URL(url).port
    return socket.create_connection((host, port or 80), timeout=8)


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"POST /novofon HTTP/1.1\r\nHost: x\r\nContent-Ty",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nevent=NOTIFY",
    ],
    ids=["silent", "half-a-header", "half-a-body"],
)
def test_webhook_receiver_drops_a_connection_that_never_finishes_its_request(
    receiver: str, sent: bytes
) -> None:
    # Before (issue 16): half a header kept the connection open (90 s and counting); a few
    # hundred such connections starve the receiver. The fixture runs --header-timeout 2.
    with _raw(receiver) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        try:
            closed = sock.recv(1024) == b""
        except ConnectionResetError:
            closed = True
        elapsed = time.monotonic() - started
    assert closed
    assert elapsed < 4, elapsed
    # The receiver still serves everyone else.
    assert httpx.get(receiver, params={"zd_echo": "still-up"}).text == "still-up"


def test_webhook_receiver_keeps_a_slow_but_finished_request(receiver: str) -> None:
    form = _end_form("in_slow_ok")
    body = "&".join(f"{k}={v}" for k, v in form.items()).replace(" ", "+").encode()
    head = (
        "POST /novofon HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Signature: {webhook_signature(SECRET, form)}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with _raw(receiver) as sock:
        sock.sendall(head[:20])
        time.sleep(1)  # within the 2 s deadline
        sock.sendall(head[20:] + body)
        answer = sock.recv(1024)
    assert answer.startswith(b"HTTP/1.1 200"), answer


def test_repeatable_events_are_told_from_replays_by_their_content(
    receiver: str, bare: Cli, call_log: Path
) -> None:
    # NOTIFY_INTERNAL may come once per extension the call reaches: two different ones are
    # two events; the same one posted twice is one.
    def internal(extension: str) -> dict[str, str]:
        return {
            "event": "NOTIFY_INTERNAL",
            "call_start": "2026-01-01 10:00:00",
            "pbx_call_id": "in_internal_1",
            "caller_id": "79991234567",
            "called_did": "74951112233",
            "internal": extension,
        }

    for form in (internal("100"), internal("101"), internal("100")):
        answer = httpx.post(
            receiver, data=form, headers={"Signature": webhook_signature(SECRET, form)}
        )
        assert answer.status_code == 200
    events = js(bare("webhook", "events", "--json", "--call-log", str(call_log)))["events"]
    assert sorted(e["payload"]["internal"] for e in events) == ["100", "101"]


def test_reset_password_text_says_the_world_readable_pjsip_conf_was_tightened(
    pbx: SandboxInfo, tk: Cli, emulator: EmulatorInfo
) -> None:
    pjsip = pbx.pbx_config_dir / "pjsip.conf"
    with line_password_kept(pbx.sandbox) as old:
        trunk_up(tk, emulator, old)
        pjsip.chmod(0o644)
        reset = tk("api", "reset-sip-password", emulator.line, "--write-config")
        assert reset.returncode == 0, reset.stdout + reset.stderr
        text = " ".join(reset.stdout.split())
        assert f"{pjsip} holds a secret" in text and "(0644): now 0640" in text, text
        assert pjsip.stat().st_mode & 0o777 == 0o640
