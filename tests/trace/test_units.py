"""The pure parts of trunkctl.trace and trunkctl.codes' provider phrases, without a network.

Packets are built here by hand (struct), not by trunkctl's pcap writer, so decoding is
checked against an independent encoder.
"""

from __future__ import annotations

import ipaddress
import json
import struct

import pytest

from trunkctl.codes import PROVIDER_PHRASES, CallOutcome, ProviderAnswer, explain, provider_phrase
from trunkctl.errors import BadInput
from trunkctl.trace import (
    Endpoint,
    PacketDecoder,
    SipTrace,
    WireMessage,
    bpf_program,
    ladder_text,
    mask_credentials,
    parse_transports,
    provider_answer,
    traced,
)

PBX, PROV = ("127.0.0.2", 5060), ("127.0.0.1", 5070)


def ipv4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    a, b = ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, a, b)
    return head + payload


def udp(src: tuple[str, int], dst: tuple[str, int], data: bytes) -> bytes:
    return ipv4(src[0], dst[0], 17, struct.pack("!HHHH", src[1], dst[1], 8 + len(data), 0) + data)


def tcp(
    src: tuple[str, int], dst: tuple[str, int], seq: int, data: bytes, flags: int = 0x18
) -> bytes:
    seg = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, 0, 5 << 4, flags, 65535, 0, 0) + data
    return ipv4(src[0], dst[0], 6, seg)


INVITE = (
    b"INVITE sip:79990000200@127.0.0.1:5070 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-1\r\n"
    b"From: <sip:0144889@127.0.0.1>;tag=a\r\nTo: <sip:79990000200@127.0.0.1>\r\n"
    b"Call-ID: call-1\r\nCSeq: 2 INVITE\r\n"
    b'Authorization: Digest username="0144889", realm="novofon", nonce="n1", '
    b'uri="sip:79990000200@127.0.0.1:5070", response="0123456789abcdef", algorithm=MD5, '
    b'cnonce="c1", qop=auth, nc=00000001\r\n'
    b"Content-Type: application/sdp\r\nContent-Length: 12\r\n\r\nv=0\r\no=x y\r\n"
)
ANSWER = (
    b"SIP/2.0 403 Caller ID not allowed\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-1\r\n"
    b"From: <sip:0144889@127.0.0.1>;tag=a\r\nTo: <sip:79990000200@127.0.0.1>;tag=b\r\n"
    b'Call-ID: call-1\r\nCSeq: 2 INVITE\r\nWarning: 399 novofon "Caller ID not allowed"\r\n'
    b"Content-Length: 0\r\n\r\n"
)


def test_udp_messages_are_decoded_with_direction_and_retransmissions_marked() -> None:
    dec = PacketDecoder(frozenset({5060}))
    wire: list[WireMessage] = []
    for t, pkt in enumerate([udp(PBX, PROV, INVITE), udp(PBX, PROV, INVITE),
                             udp(PROV, PBX, b"\r\n\r\n"), udp(PROV, PBX, ANSWER),
                             udp(("127.0.0.9", 1), ("127.0.0.9", 2), INVITE)]):  # fmt: skip
        wire += dec.feed(pkt, float(t))
    msgs = traced(wire, [Endpoint("127.0.0.2", 5060)])
    assert [(m.direction, m.first_line.split(" ")[0], m.retransmission) for m in msgs] == [
        ("out", "INVITE", False),
        ("out", "INVITE", True),
        ("in", "SIP/2.0", False),
    ]
    assert msgs[2].status == 403 and msgs[2].reason == "Caller ID not allowed"
    assert msgs[0].call_id == "call-1" and msgs[0].cseq == "2 INVITE"


def test_tcp_split_reordered_and_retransmitted_segments_make_whole_messages() -> None:
    stream = INVITE + ANSWER.replace(b"SIP/2.0 403", b"SIP/2.0 404")
    cut = [0, 7, 40, 200, len(INVITE) - 3, len(INVITE) + 5, len(stream)]
    parts = [(cut[i], stream[cut[i] : cut[i + 1]]) for i in range(len(cut) - 1)]
    order = [parts[0], parts[2], parts[1], parts[1], parts[3], parts[5], parts[4]]
    dec = PacketDecoder(frozenset({5060}))
    got: list[WireMessage] = []
    got += dec.feed(tcp(PBX, PROV, 999, b"", flags=0x02), 0.0)  # SYN: data starts at 1000
    for i, (offset, data) in enumerate(order):
        got += dec.feed(tcp(PBX, PROV, 1000 + offset, data), float(i + 1))
    assert [w.raw for w in got] == [INVITE, stream[len(INVITE) :]]
    assert all(w.transport == "tcp" for w in got)
    # Completed by the last segment fed (it carries the INVITE's last 3 bytes).
    assert got[0].time == 7.0


def test_credentials_are_masked_but_realm_and_uri_stay() -> None:
    masked = mask_credentials(INVITE).decode()
    assert "0123456789abcdef" not in masked and '0144889"' not in masked
    assert 'realm="novofon"' in masked and 'uri="sip:79990000200@127.0.0.1:5070"' in masked
    assert 'response="***"' in masked and 'username="***"' in masked
    assert masked.endswith("Content-Length: 12\r\n\r\nv=0\r\no=x y\r\n")  # body untouched


def test_pjsip_show_transports_rows_become_endpoints() -> None:
    lines = [
        "Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress....>",
        "Transport:  transport-udp             udp      0      0  127.0.0.2:57843",
        "Transport:  transport-tcp             tcp      0      0  0.0.0.0:5060",
        "Transport:  transport-v6              udp      0      0  [::]:5062",
    ]
    assert parse_transports(lines) == [
        ("udp", Endpoint("127.0.0.2", 57843)),
        ("tcp", Endpoint(None, 5060)),
        ("udp", Endpoint(None, 5062)),
    ]


def test_bpf_program_jumps_stay_in_the_program() -> None:
    prog = bpf_program([5060, 5061, 57843])
    for i, (code, jt, jf, _k) in enumerate(prog):
        if code & 0x07 == 0x05:  # a jump
            assert i + 1 + jt < len(prog) and i + 1 + jf < len(prog)
    assert prog[-1] == (0x06, 0, 0, 0) and prog[-2][0] == 0x06 and prog[-2][3] > 0


def test_provider_phrases_match_words_not_standard_phrases() -> None:
    assert provider_phrase(403, "Forbidden") is None
    caller = provider_phrase(403, "Caller ID not allowed")
    assert caller is not None and caller.id == "caller_id_not_allowed"
    funds = provider_phrase(480, "Temporarily Unavailable", '399 novofon "Insufficient funds"')
    assert funds is not None and funds.id == "insufficient_funds"
    assert PROVIDER_PHRASES[0].provider == "NovoFon"


def test_the_verdict_quotes_the_provider_verbatim_and_leads_with_its_advice() -> None:
    base = explain(CallOutcome(status="rejected", sip_code=403))
    answer = ProviderAnswer.of(
        403, "Caller ID not allowed", ('399 novofon "Caller ID not allowed"',)
    )
    exp = answer.explain(base)
    assert exp.id == base.id
    assert exp.meaning.en.startswith(
        'NovoFon said: 403 Caller ID not allowed; Warning: 399 novofon "Caller ID not allowed".'
    )
    assert answer.phrase is not None and exp.next_steps[0] == answer.phrase.next_step
    assert exp.next_steps[1:] == base.next_steps
    assert "provider_phrase:caller_id_not_allowed" in exp.notes


def test_a_trace_without_messages_says_why_instead_of_an_empty_ladder() -> None:
    assert "no SIP message for this call" in ladder_text(SipTrace(no_sip_leg=True), "en")


def _exchange(*packets: bytes) -> SipTrace:
    dec = PacketDecoder(frozenset({5060}))
    wire = [w for t, p in enumerate(packets) for w in dec.feed(p, 100.0 + t)]
    return SipTrace(tuple(traced(wire, [Endpoint("127.0.0.2", 5060)])))


REGISTER = (
    b"REGISTER sip:127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-r\r\n"
    b"From: <sip:0144889@127.0.0.1>;tag=r\r\nTo: <sip:0144889@127.0.0.1>\r\n"
    b"Call-ID: reg-1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
)


def _reply(request: bytes, status: bytes, cseq: bytes) -> bytes:
    return (b"SIP/2.0 " + status + b"\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-r\r\n"
            b"Call-ID: reg-1\r\nCSeq: " + cseq + b"\r\nContent-Length: 0\r\n\r\n")  # fmt: skip


def test_a_register_challenge_is_not_a_refusal_but_a_second_one_is() -> None:
    challenged = _exchange(
        udp(PBX, PROV, REGISTER),
        udp(PROV, PBX, _reply(REGISTER, b"401 Unauthorized", b"1 REGISTER")),
    )
    assert provider_answer(challenged, "REGISTER") is None
    authed = REGISTER.replace(b"CSeq: 1", b"CSeq: 2").replace(
        b"Content-Length",
        b'Authorization: Digest username="0144889", response="ab"\r\nContent-Length',
    )
    refused = _exchange(
        udp(PBX, PROV, REGISTER),
        udp(PROV, PBX, _reply(REGISTER, b"401 Unauthorized", b"1 REGISTER")),
        udp(PBX, PROV, authed),
        udp(PROV, PBX, _reply(authed, b"403 Wrong password", b"2 REGISTER")),
    )
    answer = provider_answer(refused, "REGISTER")
    assert answer is not None and answer.said == "403 Wrong password"
    assert answer.phrase is not None and answer.phrase.id == "bad_credentials"


def test_a_saved_trace_comes_back_masked_even_if_the_file_was_edited() -> None:
    trace = _exchange(udp(PBX, PROV, INVITE), udp(PBX, PROV, INVITE), udp(PROV, PBX, ANSWER))
    data = json.loads(json.dumps(trace.to_dict("en")))
    back = SipTrace.from_dict(data)
    assert [(m.first_line, m.retransmission, m.time, m.src, m.dst) for m in back.messages] == [
        (m.first_line, m.retransmission, m.time, m.src, m.dst) for m in trace.messages
    ]
    data["messages"][0]["raw"] = INVITE.decode()  # unmasked by hand
    again = SipTrace.from_dict(data)
    assert b"0123456789abcdef" not in again.messages[0].raw
    with pytest.raises(BadInput):
        SipTrace.from_dict({"messages": [{"direction": "sideways"}]})


def test_a_wildcard_bind_and_a_provider_on_the_same_port_keep_their_directions() -> None:
    here, provider = ("10.0.0.5", 5060), ("203.0.113.9", 5060)
    dec = PacketDecoder(frozenset({5060}))
    wire = dec.feed(udp(here, provider, INVITE), 1.0, outgoing=True)
    wire += dec.feed(udp(provider, here, ANSWER), 2.0, outgoing=False)
    wire += dec.feed(udp(("10.0.0.5", 40000), provider, INVITE), 3.0, outgoing=True)  # not Asterisk
    msgs = traced(wire, [Endpoint(None, 5060)])
    assert [(m.direction, m.status) for m in msgs] == [("out", None), ("in", 403)]


def test_an_empty_registration_trace_says_no_register_was_sent() -> None:
    text = ladder_text(SipTrace(no_sip_leg=True, subject="registration"), "en")
    assert "no REGISTER crossed the wire" in text and "this call" not in text
