"""The scrape side without Asterisk: names, labels and values from a hand-made snapshot, the
--listen syntax, and a taken port. Values are checked by parsing the exposition text with
prometheus_client's own parser (not by comparing with our formatter's output)."""

from __future__ import annotations

import socket
from types import MappingProxyType

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from trunkctl.errors import BadInput, EnvironmentProblem
from trunkctl.monitor import (
    APPLY_RESULT_FILE,
    APPLY_SNAPSHOT_DIR,
    DEFAULT_PORT,
    ApplySample,
    BalanceSample,
    CallCount,
    ContactSample,
    DoctorProblem,
    DoctorSample,
    Snapshot,
    SourceHealth,
    TrunkSample,
    parse_listen,
    serve_metrics,
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


FULL = Snapshot(
    ami_up=True,
    ami_connections=2,
    trunks=(
        TrunkSample(
            "novofon",
            True,
            "Registered",
            1_700_000_000.0,
            "Not in use",
            1,
            (ContactSample("sip:sip.novofon.ru:5060", "Reachable", 0.0123),),
        ),
        TrunkSample("office", True, None, None, "Unavailable", 0, ()),
        TrunkSample("gone", False),
    ),
    calls=(CallCount("asterisk", "answered", "", 5), CallCount("asterisk", "busy", "486", 2)),
    calls_in_progress=1,
    balance=BalanceSample(42.5, "RUB", 1_700_000_100.0),
    channel_limits=(("novofon", 2),),
    apply=ApplySample(1_700_000_200.0, 1_700_000_300.0, "needs_restart", 1_700_000_250.0),
    doctor=DoctorSample(
        1_700_000_400.0,
        1.5,
        (
            DoctorProblem("PJSIP001", "lint", "fail"),
            DoctorProblem("PJSIP001", "lint", "fail"),
            DoctorProblem("qualify", "check", "warn"),
        ),
    ),
    sources=MappingProxyType(
        {"ami": SourceHealth(True, 1_700_000_500.0), "doctor": SourceHealth(False, None, "x")}
    ),
)


@pytest.fixture
def server():
    current = {"snap": FULL}
    srv = serve_metrics(lambda: current["snap"], "127.0.0.1", 0)
    yield srv, current
    srv.close()


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=5.0)
    assert response.status_code == 200
    return response.text


def test_every_family_is_named_by_convention_and_carries_the_snapshot(server) -> None:
    srv, _ = server
    text = scrape(srv.url)
    got = samples(text)
    assert got[("trunkctl_ami_up", ())] == 1
    assert got[("trunkctl_ami_connections_total", ())] == 2
    assert got[("trunkctl_registration_up", (("trunk", "novofon"),))] == 1
    assert ("trunkctl_registration_up", (("trunk", "office"),)) not in got  # IP mode
    state = "trunkctl_registration_state"
    assert got[(state, (("state", "Registered"), ("trunk", "novofon")))] == 1
    assert got[(state, (("state", "Rejected"), ("trunk", "novofon")))] == 0
    key = ("trunkctl_registration_last_change_timestamp_seconds", (("trunk", "novofon"),))
    assert got[key] == 1_700_000_000.0
    uri = ("uri", "sip:sip.novofon.ru:5060")
    assert got[("trunkctl_contact_up", (("trunk", "novofon"), uri))] == 1
    assert got[("trunkctl_contact_rtt_seconds", (("trunk", "novofon"), uri))] == 0.0123
    assert got[("trunkctl_endpoint_channels", (("trunk", "novofon"),))] == 1
    dev = ("trunkctl_endpoint_device_state", (("state", "Unavailable"), ("trunk", "office")))
    assert got[dev] == 1
    assert got[("trunkctl_trunk_loaded", (("trunk", "gone"),))] == 0
    answered = (("outcome", "answered"), ("sip_code", ""), ("source", "asterisk"))
    assert got[("trunkctl_calls_total", answered)] == 5
    busy = (("outcome", "busy"), ("sip_code", "486"), ("source", "asterisk"))
    assert got[("trunkctl_calls_total", busy)] == 2
    assert got[("trunkctl_calls_dialing", ())] == 1
    assert got[("trunkctl_novofon_balance", (("currency", "RUB"),))] == 42.5
    assert got[("trunkctl_endpoint_channel_limit", (("trunk", "novofon"),))] == 2
    assert got[("trunkctl_apply_last_success_timestamp_seconds", ())] == 1_700_000_200.0
    assert got[("trunkctl_config_last_backup_timestamp_seconds", ())] == 1_700_000_300.0
    last = "trunkctl_apply_last_result"
    assert got[(last, (("outcome", "needs_restart"),))] == 1
    assert got[(last, (("outcome", "applied"),))] == 0
    assert got[(last, (("outcome", "refused"),))] == 0
    assert got[("trunkctl_apply_last_timestamp_seconds", ())] == 1_700_000_250.0
    lint = (("rule", "PJSIP001"), ("source", "lint"), ("status", "fail"))
    assert got[("trunkctl_doctor_problems", lint)] == 2
    assert got[("trunkctl_doctor_duration_seconds", ())] == 1.5
    assert got[("trunkctl_source_up", (("source", "doctor"),))] == 0
    assert got[("trunkctl_exporter_info", (("version", __import__("trunkctl").__version__),))] == 1
    # Conventions: one prefix, counters end in _total, times in _seconds.
    names = {name for name, _ in got if name.startswith("trunkctl_")}
    assert all(n.startswith("trunkctl_") for n in names)
    for family in text_string_to_metric_families(text):
        if family.type == "counter":
            assert family.name.startswith("trunkctl_") or family.name.startswith("process_")
    assert any(n.startswith("process_") for n, _ in got)  # the process collector rides along


def test_ami_down_shows_ami_up_zero_and_no_stale_trunks(server) -> None:
    srv, current = server
    current["snap"] = Snapshot(ami_up=False)
    got = samples(scrape(srv.url))
    assert got[("trunkctl_ami_up", ())] == 0
    assert not [k for k in got if k[0] == "trunkctl_registration_up"]


def test_an_empty_snapshot_is_a_valid_scrape(server) -> None:
    srv, current = server
    current["snap"] = Snapshot()
    got = samples(scrape(srv.url))
    assert got[("trunkctl_ami_up", ())] == 0
    assert ("trunkctl_novofon_balance", (("currency", "RUB"),)) not in got


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9999", ("127.0.0.1", 9999)),
        ("[::1]:9999", ("::1", 9999)),
        ("[::1]", ("::1", DEFAULT_PORT)),
        (":9999", ("127.0.0.1", 9999)),
        ("0.0.0.0", ("0.0.0.0", DEFAULT_PORT)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_syntax(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1:70000", "::1:80", "host:port", "[::1", "a:1:2"])
def test_bad_listen_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="--listen"):
        parse_listen(text)


def test_a_taken_port_is_a_clear_environment_problem() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(EnvironmentProblem) as info:
            serve_metrics(Snapshot, "127.0.0.1", port)
    assert info.value.exit_code == 3
    assert f"127.0.0.1:{port} is already in use" in info.value.what.en
    assert info.value.next_step is not None and "ss -ltnp" in info.value.next_step.en


def test_apply_snapshot_dir_is_the_one_apply_writes() -> None:
    from trunkctl.provision._apply import LAST_RESULT, SNAPSHOT_DIR

    assert APPLY_SNAPSHOT_DIR == SNAPSHOT_DIR
    assert APPLY_RESULT_FILE == LAST_RESULT


def test_no_apply_recorded_no_apply_result_series(server) -> None:
    srv, current = server
    current["snap"] = Snapshot(apply=ApplySample(1_700_000_200.0, 1_700_000_300.0))
    names = {name for name, _ in samples(scrape(srv.url))}
    assert "trunkctl_apply_last_result" not in names
    assert "trunkctl_apply_last_timestamp_seconds" not in names


def test_serves_on_ipv6_loopback() -> None:
    server = serve_metrics(Snapshot, "::1", 0)
    try:
        assert server.url.startswith("http://[::1]:")
        assert "trunkctl_ami_up 0.0" in scrape(server.url)
    finally:
        server.close()


def test_status_and_the_exporter_share_one_device_state_vocabulary() -> None:
    """status reads DEVICE_STATE() tokens and maps them to the names PJSIPShowEndpoint uses;
    the exporter knows every one of them (each exported as 0/1 from the first scrape)."""
    from trunkctl.monitor._collector import DEVICE_STATES
    from trunkctl.provision._status import DEVICE_STATE_NAMES, device_state_name

    assert set(DEVICE_STATE_NAMES.values()) == set(DEVICE_STATES)
    assert device_state_name("NOT_INUSE") == "Not in use"
    assert device_state_name("RINGINUSE") == "Ring+Inuse"
    assert device_state_name("SOMETHING_NEW") == "SOMETHING_NEW"
