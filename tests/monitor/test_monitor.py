"""The background half: the one AMI session against the real sandbox pbx and a fake AMI for
drops, the call log's counters across restarts, the balance cache, doctor, apply times."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest

from trunkctl.calllog import CallLog
from trunkctl.monitor import Monitor, serve_metrics
from trunkctl.novofon import NovofonConfig
from trunkctl.provision import apply, trunk_status
from trunkctl.secret import Secret

from ..ami.fakeami import SECRET, FakeAmi
from ..conftest import SandboxInfo
from ..provision.test_setup_apply import settings_of, setup, spec_for
from .conftest import BalanceServer, ami_at, free_port

pytestmark = pytest.mark.sandbox


async def until(predicate, timeout: float = 15.0, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(step)


async def test_registered_trunk_is_reported_from_the_real_pbx(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    setup(pbx, spec_for(pbx))
    before = time.time()
    result = await apply(settings_of(pbx))
    assert result.ok, result.to_dict()
    assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    mon = Monitor(settings_of(pbx), call_log=tmp_path / "calls.db", doctor_interval=0)
    try:
        await mon.refresh_ami()
        await mon.refresh_apply()
        # Asterisk's own view through another path (status): the exporter says the same.
        status = await trunk_status(settings_of(pbx), probe=False)
    finally:
        await mon.aclose()
    snap = mon.snapshot
    assert snap.ami_up and snap.ami_connections == 1
    # apply's own record of its outcome (last-apply.json), not the backups' file times.
    assert snap.apply.last_outcome == "applied"
    assert snap.apply.last_at is not None and snap.apply.last_at >= before - 1
    trunk = {t.name: t for t in snap.trunks}["novofon"]
    assert trunk.loaded and trunk.registration == "Registered"
    assert trunk.device_state == status.device_state and trunk.channels == status.active_channels
    host, port = pbx.provider_sip
    assert [(c.uri, c.status) for c in trunk.contacts] == [
        (c["uri"], c["status"]) for c in status.contacts
    ]
    assert trunk.contacts and f"{host}:{port}" in trunk.contacts[0].uri
    for contact in trunk.contacts:
        if contact.status == "Reachable":
            assert contact.rtt_seconds is not None and 0 < contact.rtt_seconds < 1
    assert snap.apply.last_success_at is not None and snap.apply.last_success_at >= before - 1
    assert snap.sources["ami"].up and snap.sources["config"].up


async def test_trunkctls_narrow_ami_user_is_enough_for_the_exporter(
    pbx: SandboxInfo, tmp_path: Path
) -> None:
    """init's user has no `system` class (PJSIPShowEndpoint is refused): the exporter reads
    the endpoint with Getvar, as status does, and reports the same trunk."""
    from ..provision.test_ami_privilege import narrow_settings

    setup(pbx, spec_for(pbx))
    assert (await apply(settings_of(pbx))).ok
    assert await asyncio.to_thread(pbx.sandbox.wait_registered, 20)
    broad = Monitor(settings_of(pbx), call_log=tmp_path / "a.db", doctor_interval=0)
    narrow = Monitor(narrow_settings(pbx, tmp_path), call_log=tmp_path / "b.db", doctor_interval=0)
    try:
        await broad.refresh_ami()
        await narrow.refresh_ami()
    finally:
        await broad.aclose()
        await narrow.aclose()
    assert narrow.snapshot.ami_up and narrow.snapshot.sources["ami"].up
    want = {t.name: t for t in broad.snapshot.trunks}["novofon"]
    got = {t.name: t for t in narrow.snapshot.trunks}["novofon"]
    assert got.loaded and got.registration == "Registered"
    assert (got.device_state, got.channels) == (want.device_state, want.channels)
    assert [(c.uri, c.status) for c in got.contacts] == [(c.uri, c.status) for c in want.contacts]


async def test_a_fresh_pbx_has_no_trunk_loaded(pbx: SandboxInfo, tmp_path: Path) -> None:
    mon = Monitor(settings_of(pbx), call_log=tmp_path / "c.db", trunks=["novofon"])
    try:
        await mon.refresh_ami()
    finally:
        await mon.aclose()
    (trunk,) = mon.snapshot.trunks
    assert mon.snapshot.ami_up and not trunk.loaded and trunk.registration is None


async def test_ami_unreachable_means_ami_up_zero_and_the_exporter_still_serves(
    sandbox: SandboxInfo, tmp_path: Path
) -> None:
    settings = ami_at(settings_of(sandbox), "127.0.0.1", free_port())
    mon = Monitor(settings, call_log=tmp_path / "c.db", doctor_interval=0)
    server = serve_metrics(lambda: mon.snapshot, "127.0.0.1", 0)
    try:
        await mon.refresh_ami()
        text = (await asyncio.to_thread(httpx.get, server.url)).text
    finally:
        server.close()
        await mon.aclose()
    assert "trunkctl_ami_up 0.0" in text
    health = mon.snapshot.sources["ami"]
    assert not health.up and health.error and "refused" in health.error.lower()


async def test_one_session_survives_a_drop_and_scrapes_stay_fast(tmp_path: Path) -> None:
    secret_file = tmp_path / "ami.secret"
    secret_file.write_text(SECRET)
    from trunkctl.settings import Settings

    async with FakeAmi() as fake:
        settings = ami_at(Settings(config_dir=tmp_path), "127.0.0.1", fake.port, secret_file)
        mon = Monitor(settings, call_log=tmp_path / "c.db", interval=0.5, doctor_interval=0)
        server = serve_metrics(lambda: mon.snapshot, "127.0.0.1", 0)
        task = asyncio.create_task(mon.run())
        try:
            await until(lambda: mon.snapshot.ami_up)
            logins = len([a for a in fake.actions if a.get("Action") == "Login"])
            assert logins == 1
            fake.login_delay = 1.5  # the next login takes a while: a reconnect in progress
            fake.drop_all()
            await until(lambda: not mon.snapshot.ami_up, timeout=5)
            # Scrapes during the reconnect answer from the cache.
            times = []
            with httpx.Client() as http:
                for _ in range(30):
                    start = time.perf_counter()
                    text = (await asyncio.to_thread(http.get, server.url)).text
                    times.append(time.perf_counter() - start)
                    assert "trunkctl_ami_up 0.0" in text
            times.sort()
            # The median is the budget; the worst case is bounded far below the AMI timeout
            # (a shared 2-core machine adds some milliseconds now and then).
            assert times[len(times) // 2] < 0.05 and times[-1] < 1.0, times
            await until(lambda: mon.snapshot.ami_up, timeout=15)
            assert mon.snapshot.ami_connections == 2
            # Still one session: every Login came from the client's own reconnect.
            assert len([a for a in fake.actions if a.get("Action") == "Login"]) >= 2
            polls = [a for a in fake.actions if a.get("Action") == "PJSIPShowEndpoint"]
            assert len(polls) >= 2
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            server.close()
    assert mon._ami is None  # logged off on the way out


async def test_call_counters_come_from_the_log_and_survive_a_restart(tmp_path: Path) -> None:
    from trunkctl.settings import Settings

    path = tmp_path / "calls.db"
    with CallLog(path) as log:
        for _ in range(3):
            log.record_call(source="asterisk", number="79990000200", status="answered")
        log.record_call(source="asterisk", number="79990000486", status="busy", sip_code=486)
        log.start_call(source="asterisk", number="79990000480")  # still dialing

    async def counts() -> dict[tuple[str, str, str], int]:
        mon = Monitor(Settings(config_dir=tmp_path), call_log=path)
        await mon.refresh_calls()
        assert mon.snapshot.calls_in_progress == 1
        return {(c.source, c.outcome, c.sip_code): c.count for c in mon.snapshot.calls}

    first = await counts()
    assert first == {("asterisk", "answered", ""): 3, ("asterisk", "busy", "486"): 1}
    with CallLog(path) as log:
        log.record_call(source="webhook", number="79990000200", status="answered")
    second = await counts()  # a new exporter process: the same totals, plus the new call
    assert second == first | {("webhook", "answered", ""): 1}
    assert path.stat().st_mode & 0o777 == 0o600  # read-only: the exporter changed nothing


async def test_a_missing_call_log_is_no_calls_not_an_error(tmp_path: Path) -> None:
    from trunkctl.settings import Settings

    mon = Monitor(Settings(config_dir=tmp_path), call_log=tmp_path / "none.db")
    await mon.refresh_calls()
    assert mon.snapshot.calls == () and mon.snapshot.sources["calllog"].up
    assert not (tmp_path / "none.db").exists()


async def test_balance_is_fetched_once_per_interval_never_per_scrape(
    tmp_path: Path, balance_server: BalanceServer
) -> None:
    from trunkctl.settings import Settings

    conf = NovofonConfig(
        rest_url=balance_server.url,
        line="0053248",
        values={"key": Secret("k"), "secret": Secret("s")},
    )
    settings = ami_at(Settings(config_dir=tmp_path), "127.0.0.1", free_port())
    mon = Monitor(
        settings, call_log=tmp_path / "c.db", novofon=conf, balance_interval=60, doctor_interval=0
    )
    server = serve_metrics(lambda: mon.snapshot, "127.0.0.1", 0)
    task = asyncio.create_task(mon.run())
    try:
        await until(lambda: mon.snapshot.balance is not None)
        for _ in range(20):
            text = (await asyncio.to_thread(httpx.get, server.url)).text
        assert 'trunkctl_novofon_balance{currency="RUB"} 12.34' in text
        assert 'trunkctl_endpoint_channel_limit{trunk="novofon"} 2.0' in text
        await asyncio.sleep(1.0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        server.close()
    # One refresh in the interval: one balance and one SIP-lines request, whatever the scrapes.
    assert balance_server.hits == {"/v1/info/balance/": 1, "/v1/sip/": 1}, balance_server.hits
    assert mon.balance_requests == 1


async def test_no_rest_credentials_no_balance_request(tmp_path: Path) -> None:
    from trunkctl.settings import Settings

    mon = Monitor(Settings(config_dir=tmp_path), novofon=NovofonConfig())
    await mon.refresh_balance()
    assert mon.balance_requests == 0 and mon.snapshot.balance is None


async def test_doctor_problems_match_the_doctor_itself(pbx: SandboxInfo, tmp_path: Path) -> None:
    from ..cli._run import TRUNKCTL, js, run

    mon = Monitor(settings_of(pbx), call_log=tmp_path / "c.db")
    try:
        await mon.refresh_doctor()
    finally:
        await mon.aclose()
    doctor = mon.snapshot.doctor
    assert doctor is not None and doctor.duration > 0
    ours = sorted((p.rule, p.status) for p in doctor.problems)
    proc = await asyncio.to_thread(
        run, [TRUNKCTL, "--settings", pbx.status["settings_file"], "doctor", "--json"]
    )
    report = js(proc)
    theirs = sorted(
        (item["id"], status)
        for status in ("fail", "warn")
        for item in report["groups"][status]
        if item["id"] != "lint"
    )
    assert ours == theirs
    # A fresh pbx has no trunk yet: the next step (setup), a warning (docs/doctor.md).
    assert ("trunk_loaded", "warn") in ours


async def test_the_apply_record_is_read_and_is_not_counted_as_a_backup(tmp_path: Path) -> None:
    from trunkctl.settings import Settings

    backups = tmp_path / ".trunkctl-backups"
    backups.mkdir()
    old_backup = backups / "pjsip.conf.20260101T000000.000000000Z"
    old_backup.write_text("[x]\n")
    os.utime(old_backup, (1_700_000_000, 1_700_000_000))
    record = backups / "last-apply.json"
    record.write_text('{"ok": false, "outcome": "refused", "at": 1700000500.5}\n')
    mon = Monitor(Settings(config_dir=tmp_path), call_log=tmp_path / "c.db")
    try:
        await mon.refresh_apply()
        assert mon.snapshot.apply.last_outcome == "refused"
        assert mon.snapshot.apply.last_at == 1_700_000_500.5
        assert mon.snapshot.apply.last_backup_at == 1_700_000_000
        record.write_text("not json")  # a broken record: no outcome, still no error
        await mon.refresh_apply()
        assert mon.snapshot.apply.last_outcome is None
        assert mon.snapshot.sources["backups"].up
    finally:
        await mon.aclose()
