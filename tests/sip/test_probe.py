"""The friendly API (trunkctl.sip.probe): arguments, outcomes, NAT advice, sync facades.

Peers are in-process loopback sockets (tests/sip/conftest.py). SIPp scenarios for the
same probes are in test_sipp.py; the real Asterisk provider in test_live.py.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from trunkctl.errors import BadInput
from trunkctl.sip import (
    Address,
    Binding,
    SipAuthError,
    SipChallengeError,
    SipSocketError,
    diagnose_nat,
    options,
    options_sync,
    register_check,
    register_check_sync,
)

from .conftest import PBX_IP, PROVIDER_IP, Handler, UdpPeer, reply_to

StartPeer = Callable[[Handler], Awaitable[UdpPeer]]


def like_asterisk(data: bytes, status: str, *extra: str) -> bytes:
    """Answer as Asterisk does with force_rport: received= and rport= filled in (RFC 3581)."""
    via = data.split(b"\r\nVia: ", 1)[1].split(b"\r\n", 1)[0].decode()
    sent_by = via.split(" ", 1)[1].split(";", 1)[0]
    host, port = sent_by.rsplit(":", 1)
    patched = data.replace(b";rport;", f";rport={port};received={host};".encode(), 1)
    return reply_to(patched, status, *extra)


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "", "port": 5060},
        {"host": "sip.novofon.ru", "port": 0},
        {"host": "sip.novofon.ru", "port": 70000},
        {"host": "sip.novofon.ru", "port": 5060, "transport": "tls"},
        {"host": "sip.novofon.ru", "port": 5060, "timeout": 0},
        {"host": "a b", "port": 5060},
    ],
)
async def test_bad_arguments_raise_bad_input(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BadInput) as info:
        await options(**kwargs)
    assert info.value.what.ru and info.value.next_step is not None
    with pytest.raises(BadInput):
        await register_check(**kwargs, username="u", password="p")


async def test_register_needs_a_username() -> None:
    with pytest.raises(BadInput):
        await register_check(PROVIDER_IP, 5060, username="", password="p")
    with pytest.raises(BadInput):
        await register_check(PROVIDER_IP, 5060, username="u", password="p", expires=-1)


async def test_unowned_local_address_raises_rather_than_reports() -> None:
    with pytest.raises(SipSocketError):
        await options(PROVIDER_IP, 5060, local_address="192.0.2.1", timeout=1)


# --- outcomes against in-process peers --------------------------------------------------------


async def test_options_reports_the_real_seen_address(udp_peer: StartPeer) -> None:
    peer = await udp_peer(lambda data, n: [like_asterisk(data, "200 OK", "Server: fake")])
    result = await options(PROVIDER_IP, peer.port, local_address=PBX_IP, timeout=2)
    assert result.outcome == "answered"
    assert result.local_address is not None and result.local_address.host == PBX_IP
    assert result.seen_address == result.local_address  # no NAT on loopback
    nat = diagnose_nat(result.seen_address, local=result.local_address)
    assert nat.behind_nat is False and nat.ok
    assert [f.code for f in nat.findings] == ["no_nat"]


async def test_options_without_rport_in_answer_has_no_seen_address(udp_peer: StartPeer) -> None:
    peer = await udp_peer(lambda data, n: [reply_to(data, "200 OK")])
    result = await options(PROVIDER_IP, peer.port, timeout=2)
    assert result.outcome == "answered" and result.seen_address is None


async def test_options_refused_and_unresolvable() -> None:
    refused = await options(PROVIDER_IP, 9, local_address=PBX_IP, timeout=2)
    assert refused.outcome == "unreachable"
    assert refused.error is not None and refused.error.to_dict()["code"] == "sip_unreachable"
    unknown = await options("no-such-host.invalid", 5060, timeout=2)
    assert unknown.outcome == "dns_error"
    assert unknown.error is not None and "DNS" in str(unknown.error.next_step)


async def test_register_silence_times_out_and_keeps_no_steps(udp_peer: StartPeer) -> None:
    peer = await udp_peer(lambda data, n: [])
    started = time.monotonic()
    result = await register_check(
        PROVIDER_IP, peer.port, username="u", password="p", timeout=0.8, local_address=PBX_IP
    )
    assert result.outcome == "timeout" and result.steps == []
    assert 0.75 < time.monotonic() - started < 1.2
    assert len(peer.received) == 2  # 0 and T1


async def test_register_silence_after_challenge_keeps_the_first_step(
    udp_peer: StartPeer,
) -> None:
    challenge = 'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth"'

    def handler(data: bytes, n: int) -> list[bytes]:
        return [reply_to(data, "401 Unauthorized", challenge)] if b"CSeq: 1 " in data else []

    peer = await udp_peer(handler)
    result = await register_check(
        PROVIDER_IP, peer.port, username="u", password="p", timeout=0.6, t1=0.1
    )
    assert result.outcome == "timeout"
    assert [s.status_code for s in result.steps] == [401]
    assert (result.challenge_code, result.algorithm, result.realm) == (401, "MD5", "r")


async def test_register_repeated_401_is_auth_failed(udp_peer: StartPeer) -> None:
    def handler(data: bytes, n: int) -> list[bytes]:
        # Asterisk's way: a fresh challenge for a wrong password or an unknown user.
        challenge = f'WWW-Authenticate: Digest realm="asterisk", nonce="n{n}", algorithm=MD5'
        return [like_asterisk(data, "401 Unauthorized", challenge, "Server: Asterisk PBX 22")]

    peer = await udp_peer(handler)
    result = await register_check(
        PROVIDER_IP, peer.port, username="0053248", password="wrong", local_address=PBX_IP
    )
    assert result.outcome == "auth_failed"
    assert [s.status_code for s in result.steps] == [401, 401]
    assert result.steps[1].credentials is not None
    assert isinstance(result.error, SipAuthError)
    assert result.error.next_step is not None and "password" in result.error.next_step.en
    assert result.server == "Asterisk PBX 22"
    assert result.seen_address is not None and result.seen_address.host == PBX_IP


async def test_register_unsupported_challenge(udp_peer: StartPeer) -> None:
    challenge = 'WWW-Authenticate: Digest realm="ims", nonce="n", algorithm=AKAv1-MD5'
    peer = await udp_peer(lambda data, n: [reply_to(data, "401 Unauthorized", challenge)])
    result = await register_check(PROVIDER_IP, peer.port, username="u", password="p")
    assert result.outcome == "unsupported_challenge"
    assert isinstance(result.error, SipChallengeError)
    assert [s.status_code for s in result.steps] == [401]
    assert result.algorithm == "AKAV1-MD5"
    assert result.steps[0].challenges[0].supported is False


def header(request: bytes, name: str) -> str | None:
    """One header's value by plain text search (not trunkctl's parser)."""
    for line in request.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


async def test_register_query_sends_no_contact_and_reads_the_bindings(
    udp_peer: StartPeer,
) -> None:
    seen: list[bytes] = []
    listing = (
        'Contact: "PBX" <sip:100@203.0.113.9:5060;line=ab>;expires=120, '
        "<sip:100@198.51.100.2;transport=tcp>;q=0.5"
    )

    def handler(data: bytes, n: int) -> list[bytes]:
        seen.append(data)
        return [reply_to(data, "200 OK", listing)]

    peer = await udp_peer(handler)
    result = await register_check(
        PROVIDER_IP, peer.port, username="100", password="p", domain="pbx.example", expires=90
    )
    assert result.outcome == "registered" and result.challenge_code is None
    assert result.mode == "query" and result.unregistered and result.displaced == []
    (only,) = seen  # one REGISTER, nothing to undo
    first = only.decode()
    assert first.startswith("REGISTER sip:pbx.example SIP/2.0\r\n")
    assert "\r\nTo: <sip:100@pbx.example>\r\n" in first
    # RFC 3261 §10.2.3: no Contact (and so no Expires) fetches bindings and changes none.
    assert header(only, "Contact") is None and header(only, "m") is None
    assert header(only, "Expires") is None
    assert [(s.purpose, s.query, s.status_code) for s in result.steps] == [("register", True, 200)]
    assert [b.to_dict() for b in result.bindings] == [
        {"uri": "sip:100@203.0.113.9:5060;line=ab", "expires": 120},
        {"uri": "sip:100@198.51.100.2;transport=tcp", "expires": None},
    ]
    data = result.to_dict()
    assert (data["mode"], data["unregistered"], data["displaced"]) == ("query", True, [])
    assert data["steps"][0]["query"] is True


class OneContactRegistrar:
    """A registrar that keeps one contact per line (Asterisk's max_contacts=1 and
    remove_existing=yes) and lists the bindings in each 200, as RFC 3261 §10.3 asks."""

    def __init__(self, existing: str, *, lists: bool = True) -> None:
        self.contacts = [existing]
        self.lists = lists
        self.requests: list[bytes] = []

    def __call__(self, data: bytes, n: int) -> list[bytes]:
        self.requests.append(data)
        contact, expires = header(data, "Contact"), header(data, "Expires")
        if contact is not None:
            uri = contact.strip("<>")
            kept = [c for c in self.contacts if c != uri]
            self.contacts = kept if expires == "0" else [uri]
        extra = [f"Contact: {', '.join(f'<{c}>;expires=60' for c in self.contacts)}"]
        return [reply_to(data, "200 OK", *(extra if self.contacts and self.lists else []))]


PBX_CONTACT = "sip:100@203.0.113.9:5060;line=ab"


async def test_register_bind_reports_what_it_displaced(udp_peer: StartPeer) -> None:
    registrar = OneContactRegistrar(PBX_CONTACT)
    peer = await udp_peer(registrar)
    result = await register_check(
        PROVIDER_IP, peer.port, username="100", password="p", expires=90, bind=True,
        local_address=PBX_IP,
    )  # fmt: skip
    assert result.outcome == "registered" and result.mode == "bind"
    query, bind, unbind = registrar.requests
    assert header(query, "Contact") is None
    ours = f"<sip:100@{result.local_address}>"
    assert (header(bind, "Contact"), header(bind, "Expires")) == (ours, "90")
    assert (header(unbind, "Contact"), header(unbind, "Expires")) == (ours, "0")
    assert [(s.purpose, s.query, s.expires) for s in result.steps] == [
        ("register", True, 0),
        ("register", False, 90),
        ("unregister", False, 0),
    ]
    # The PBX's binding was pushed out and nothing is left: the line is unregistered.
    assert [b.uri for b in result.displaced or []] == [PBX_CONTACT]
    assert result.bindings == [] and registrar.contacts == []
    assert result.unregistered and result.unregister_code == 200


async def test_register_bind_displacement_is_unknown_when_bindings_are_not_listed(
    udp_peer: StartPeer,
) -> None:
    peer = await udp_peer(OneContactRegistrar(PBX_CONTACT, lists=False))
    result = await register_check(PROVIDER_IP, peer.port, username="100", password="p", bind=True)
    assert result.ok and result.displaced is None  # not [], which would mean "none"
    assert result.to_dict()["displaced"] is None


async def test_register_bind_that_displaces_nothing(udp_peer: StartPeer) -> None:
    def handler(data: bytes, n: int) -> list[bytes]:
        # Keeps every contact: lists ours next to the PBX's until we remove it.
        contact, expires = header(data, "Contact"), header(data, "Expires")
        listed = [f"<{PBX_CONTACT}>"] + ([contact] if contact and expires != "0" else [])
        return [reply_to(data, "200 OK", f"Contact: {', '.join(listed)}")]

    peer = await udp_peer(handler)
    result = await register_check(PROVIDER_IP, peer.port, username="100", password="p", bind=True)
    assert result.displaced == []
    assert [b.uri for b in result.bindings] == [PBX_CONTACT]


@pytest.mark.parametrize(
    ("value", "uri", "expires"),
    [
        ("<sip:a@b:5060;line=x>;expires=30", "sip:a@b:5060;line=x", 30),
        ('"Name, with comma" <sip:a@b>;q=1', "sip:a@b", None),
        ("sip:a@b;expires=7", "sip:a@b", 7),  # no brackets: the params are the header's
        ("<sip:a@b>;expires=soon", "sip:a@b", None),
    ],
)
def test_binding_parse(value: str, uri: str, expires: int | None) -> None:
    binding = Binding.parse(value)
    assert binding is not None and (binding.uri, binding.expires) == (uri, expires)


def test_binding_parse_wildcard_and_key() -> None:
    assert Binding.parse("*") is None and Binding.parse("") is None
    assert Binding("SIP:A@B:5060;line=x").key == "sip:a@b:5060"


# --- JSON and secrets -------------------------------------------------------------------------


async def test_results_are_json_and_never_hold_the_password(udp_peer: StartPeer) -> None:
    challenge = 'WWW-Authenticate: Digest realm="r", nonce="n", qop="auth"'

    def handler(data: bytes, n: int) -> list[bytes]:
        return [reply_to(data, "200 OK" if b"Authorization:" in data else "401 No", challenge)]

    peer = await udp_peer(handler)
    result = await register_check(
        PROVIDER_IP, peer.port, username="u", password="pa55-w0rd-XYZ", timeout=2
    )
    assert result.outcome == "registered"
    for lang in ("en", "ru"):
        text = json.dumps(result.to_dict(lang), ensure_ascii=False)
        assert "pa55-w0rd-XYZ" not in text
    assert "pa55-w0rd-XYZ" not in repr(result)


# --- sync facades -----------------------------------------------------------------------------


@pytest.fixture
def threaded_responder() -> Iterator[int]:
    """A blocking UDP responder thread (the sync facades run their own event loop)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((PROVIDER_IP, 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            sock.sendto(reply_to(data, "200 OK"), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join()
    sock.close()


def test_sync_facades(threaded_responder: int) -> None:
    assert options_sync(PROVIDER_IP, threaded_responder, timeout=2).status_code == 200
    result = register_check_sync(PROVIDER_IP, threaded_responder, username="u", password="p")
    assert result.outcome == "registered"
    assert options_sync.__doc__ is not None and "options" in options_sync.__doc__


# --- NAT diagnosis (pure) ---------------------------------------------------------------------

LOCAL = Address("192.168.1.10", 5060)
SEEN = Address("203.0.113.7", 40001)


def codes(**kwargs: Any) -> list[str]:
    return [f.code for f in diagnose_nat(**kwargs).findings]


def test_nat_unknown_when_peer_does_not_say() -> None:
    nat = diagnose_nat(None, local=LOCAL, termination_addresses=["203.0.113.7"])
    assert nat.behind_nat is None and nat.ok
    assert [f.code for f in nat.findings] == ["seen_unknown"]


def test_nat_without_external_address_is_a_problem() -> None:
    nat = diagnose_nat(SEEN, local=LOCAL)
    assert nat.behind_nat is True and not nat.ok
    assert [f.code for f in nat.findings] == ["nat_no_external", "port_translated"]
    text = nat.findings[0].text
    assert "external_media_address = 203.0.113.7" in text.en and "203.0.113.7" in text.ru


def test_nat_external_address_checks() -> None:
    assert codes(seen=SEEN, local=LOCAL, external_address="203.0.113.7")[0] == "external_matches"
    assert codes(seen=SEEN, local=LOCAL, external_address="198.51.100.1")[0] == (
        "external_mismatch"
    )
    assert codes(seen=SEEN, local=LOCAL, external_address="pbx.example")[0] == "external_is_name"
    same = Address("192.168.1.10", 5060)
    assert codes(seen=same, local=LOCAL, external_address="203.0.113.7") == [
        "no_nat",
        "external_without_nat",
    ]
    # IPv4-mapped IPv6 is the same address.
    assert codes(seen=Address("::ffff:192.168.1.10", 5060), local=LOCAL) == ["no_nat"]


def test_nat_termination_addresses() -> None:
    good = diagnose_nat(
        SEEN, local=LOCAL, external_address="203.0.113.7", termination_addresses=["203.0.113.7"]
    )
    assert good.ok and "termination_matches" in [f.code for f in good.findings]
    bad = diagnose_nat(SEEN, local=LOCAL, external_address="203.0.113.7",
                       termination_addresses=["198.51.100.5", "198.51.100.6"])  # fmt: skip
    assert not bad.ok
    finding = bad.findings[-1]
    assert finding.code == "not_termination_address" and finding.severity == "problem"
    assert "198.51.100.5, 198.51.100.6" in finding.text.en
    as_json = json.loads(json.dumps(bad.to_dict("ru"), ensure_ascii=False))
    assert as_json["ok"] is False and "Провайдер видит нас" in as_json["findings"][-1]["text"]
