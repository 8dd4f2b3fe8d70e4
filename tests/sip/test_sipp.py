"""Integration tests: trunkctl.sip probes against SIPp playing the provider.

Scenarios live in tests/sip/scenarios/; the harness is tests/sip/conftest.py. The same
digest flows are unit-tested without a network in test_digest.py; the real Asterisk
provider is probed in test_live.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import time

import pytest

from trunkctl.sip import (
    Address,
    RegisterResult,
    SipAuthError,
    SipParseError,
    SipRejectedError,
    SipTimeoutError,
    TransportName,
    options,
    register_check,
)

from .conftest import PBX_IP, PROVIDER_IP, Sipp, SippRun

TRANSPORTS: list[TransportName] = ["udp", "tcp"]
USER, PASSWORD = "0053248", "s3cret-Pa55"


async def register(
    run: SippRun, *, password: str = PASSWORD, transport: TransportName = "udp", bind: bool = False
) -> RegisterResult:
    """register_check from the PBX's address to the SIPp run, as USER."""
    return await register_check(
        PROVIDER_IP, run.port, username=USER, password=password, transport=transport,
        timeout=3, local_address=PBX_IP, bind=bind,
    )  # fmt: skip


def digest_params(header: str) -> dict[str, str]:
    """Auth params by a plain regex, independent of trunkctl's parser."""
    return {m[0]: m[2] if m[1].startswith('"') else m[1]
            for m in re.findall(r'(\w+)=("([^"]*)"|[^,\s]+)', header)}  # fmt: skip


def expected_response(hexdigest: str, p: dict[str, str], password: str) -> str:
    """RFC 7616 §3.4.1 by hand: KD(H(user:realm:pw), nonce:nc:cnonce:qop:H(REGISTER:uri))."""

    def h(text: str) -> str:
        return hashlib.new(hexdigest, text.encode()).hexdigest()

    ha1 = h(f"{p['username']}:{p['realm']}:{password}")
    ha2 = h(f"REGISTER:{p['uri']}")
    return h(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_options_answered(sipp: Sipp, transport: TransportName) -> None:
    with sipp.serve("options_200.xml", transport=transport) as run:
        result = await options(
            PROVIDER_IP, run.port, transport=transport, timeout=3, local_address=PBX_IP
        )
    assert result.outcome == "answered" and result.ok and result.error is None
    assert (result.status_code, result.reason) == (200, "OK")
    assert result.server == "SIPp-provider/3.6"
    assert "REGISTER" in result.allow
    assert result.seen_address == Address("203.0.113.7", 40000)
    assert result.local_address is not None and result.local_address.host == PBX_IP
    assert result.remote_address == Address(PROVIDER_IP, run.port)
    assert result.latency_ms is not None and 0 < result.latency_ms < 1000
    assert result.transmissions == 1
    assert result.raw_response is not None and result.raw_response.startswith("SIP/2.0 200 OK\r\n")
    as_json = json.loads(json.dumps(result.to_dict()))
    assert as_json["seen_address"] == "203.0.113.7:40000"
    assert "succeeded" in as_json["meaning"]  # explained by trunkctl.codes


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_options_silence_times_out_within_the_timeout(
    sipp: Sipp, transport: TransportName
) -> None:
    with sipp.serve("options_silence.xml", transport=transport) as run:
        started = time.monotonic()
        result = await options(
            PROVIDER_IP, run.port, transport=transport, timeout=1.0, local_address=PBX_IP
        )
        elapsed = time.monotonic() - started
    assert result.outcome == "timeout" and not result.ok
    assert 0.95 <= elapsed < 1.5
    assert isinstance(result.error, SipTimeoutError)
    # UDP: sent at 0 and T1 = 0.5 s (Timer E); TCP never retransmits.
    assert result.transmissions == (2 if transport == "udp" else 1)
    assert result.error.next_step is not None and "firewall" in result.error.next_step.en
    with pytest.raises(SipTimeoutError):
        result.raise_for_outcome()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_options_garbage_is_reported_at_once(sipp: Sipp, transport: TransportName) -> None:
    with sipp.serve("options_garbage.xml", transport=transport) as run:
        started = time.monotonic()
        result = await options(
            PROVIDER_IP, run.port, transport=transport, timeout=3, local_address=PBX_IP
        )
        elapsed = time.monotonic() - started
    assert result.outcome == "garbage"
    assert elapsed < 1.0  # not at the timeout
    assert isinstance(result.error, SipParseError)
    assert result.raw_response is not None and "HTTP/1.1 400 Bad Request" in result.raw_response
    assert result.error.evidence is not None and "HTTP/1.1" in result.error.evidence.en


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_register_md5_verified_by_sipp(sipp: Sipp, transport: TransportName) -> None:
    with sipp.serve(
        "register_md5.xml", transport=transport, variables={"user": USER, "password": PASSWORD}
    ) as run:
        result = await register(run, transport=transport)
    assert result.outcome == "registered" and result.ok, result.to_dict()
    # The default query: one authenticated REGISTER without Contact, nothing to undo.
    assert [s.status_code for s in result.steps] == [401, 200]
    assert [(s.purpose, s.query) for s in result.steps] == [("register", True)] * 2
    assert run.log_lines == ["query Contact: "]  # SIPp saw no Contact header
    assert (result.challenge_code, result.algorithm, result.realm) == (401, "MD5", "novofon")
    assert result.steps[0].credentials is None
    creds = result.steps[1].credentials
    assert creds is not None and (creds["header"], creds["algorithm"], creds["nc"]) == (
        "Authorization", "MD5", "00000001",
    )  # fmt: skip
    assert result.mode == "query" and result.unregistered and result.unregister_code is None
    assert [b.to_dict() for b in result.bindings] == [
        {"uri": f"sip:{USER}@203.0.113.9:5060;line=pbx", "expires": 240}
    ]
    assert result.displaced == []
    dumped = json.dumps(result.to_dict()) + repr(result)
    assert PASSWORD not in dumped
    assert "response" not in json.dumps([s.credentials for s in result.steps])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_register_bind_verified_by_sipp_reports_the_displaced_binding(
    sipp: Sipp, transport: TransportName
) -> None:
    with sipp.serve(
        "register_md5_bind.xml",
        transport=transport,
        variables={"user": USER, "password": PASSWORD},
    ) as run:
        result = await register(run, transport=transport, bind=True)
    assert result.outcome == "registered" and result.mode == "bind", result.to_dict()
    assert [s.status_code for s in result.steps] == [401, 200, 200, 200]
    assert [(s.purpose, s.query, s.expires) for s in result.steps] == [
        ("register", True, 0), ("register", True, 0),
        ("register", False, 60), ("unregister", False, 0),
    ]  # fmt: skip
    logged = [" ".join(line.split()) for line in run.log_lines]  # SIPp keeps the header's space
    assert logged == ["query Contact:", "bind Expires: 60", "unregister Expires: 0"]
    # One nonce, counted on (SIPp verified each digest itself).
    assert [s.credentials and s.credentials["nc"] for s in result.steps] == [
        None, "00000001", "00000002", "00000003",
    ]  # fmt: skip
    assert result.unregistered and result.unregister_code == 200
    pbx = f"sip:{USER}@203.0.113.9:5060;line=pbx"
    assert [b.uri for b in result.displaced or []] == [pbx]
    assert result.bindings == []  # the line is left with no registration at all


async def test_register_wrong_password_gets_403_after_auth(sipp: Sipp) -> None:
    with sipp.serve("register_md5.xml", variables={"user": USER, "password": PASSWORD}) as run:
        result = await register(run, password="not-" + PASSWORD)
    assert result.outcome == "forbidden"
    assert [s.status_code for s in result.steps] == [401, 403]
    assert result.steps[1].credentials is not None
    assert (result.final_code, result.unregister_code) == (403, None)
    assert isinstance(result.error, SipAuthError) and result.error.status_code == 403
    assert "after our credentials" in result.error.what.en
    assert result.error.next_step is not None and "password" in result.error.next_step.en
    assert "пароль" in result.error.to_dict("ru")["next"]


@pytest.mark.parametrize(
    ("scenario", "code", "header", "hexdigest", "nonce"),
    [
        ("register_407.xml", 407, "Proxy-Authorization", "md5", "proxynonce407"),
        ("register_sha256.xml", 401, "Authorization", "sha256", "sha256nonce"),
    ],
)
async def test_register_answers_checked_by_recomputing(
    sipp: Sipp, scenario: str, code: int, header: str, hexdigest: str, nonce: str
) -> None:
    with sipp.serve(scenario) as run:
        result = await register(run)
    assert result.outcome == "registered", result.to_dict()
    assert result.challenge_code == code
    assert [s.credentials and s.credentials["header"] for s in result.steps] == [None, header]
    logged = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in run.log_lines}
    assert set(logged) == {"register"}
    for purpose, nc in (("register", "00000001"),):
        p = digest_params(logged[purpose])
        assert (p["username"], p["realm"], p["nonce"], p["nc"], p["qop"]) == (
            USER, "novofon", nonce, nc, "auth",
        )  # fmt: skip
        assert p["uri"] == f"sip:{PROVIDER_IP}:{run.port}"
        assert p["response"] == expected_response(hexdigest, p, PASSWORD)


@pytest.mark.parametrize(
    ("scenario", "codes", "outcome", "next_words"),
    [
        ("register_403.xml", [403], "forbidden", "verify your IP"),
        ("register_404.xml", [401, 404], "unknown_user", "SIP login"),
        ("register_503.xml", [503], "rejected", "Retry later"),
    ],
)
async def test_register_rejections(
    sipp: Sipp, scenario: str, codes: list[int], outcome: str, next_words: str
) -> None:
    with sipp.serve(scenario) as run:
        result = await register(run)
    assert result.outcome == outcome
    assert [s.status_code for s in result.steps] == codes
    assert result.final_code == codes[-1] and result.unregister_code is None
    assert isinstance(result.error, SipRejectedError) and result.error.status_code == codes[-1]
    assert result.error.next_step is not None and next_words in result.error.next_step.en


async def test_register_423_retries_with_min_expires(sipp: Sipp) -> None:
    with sipp.serve("register_423.xml") as run:
        result = await register(run, bind=True)
    assert result.outcome == "registered"
    assert [(s.status_code, s.expires, s.query) for s in result.steps] == [
        (200, 0, True), (423, 60, False), (200, 120, False), (200, 0, False),
    ]  # fmt: skip
    assert run.log_lines[0] == "query Expires: "  # a query asks for no expiry
    assert result.unregistered
    # This registrar lists no bindings: whether anything was displaced is unknown.
    assert result.displaced is None
