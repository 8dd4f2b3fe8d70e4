"""Unit tests for the pure SIP parser/builder (trunkctl.sip._message).

Network behaviour of the same code is in test_transport.py and test_sipp.py.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.sip import SipParseError
from trunkctl.sip._message import (
    SipRequest,
    SipResponse,
    StreamParser,
    Via,
    canonical_name,
    parse_message,
    split_list,
)

RESPONSE = (
    b"SIP/2.0 401 Unauthorized\r\n"
    b"v: SIP/2.0/UDP 10.0.0.5:5060;rport=40000;received=203.0.113.7;branch=z9hG4bK1\r\n"
    b"Via: SIP/2.0/UDP proxy.example:5070;branch=z9hG4bKp,"
    b" SIP/2.0/TCP [2001:db8::1];branch=z9hG4bKq\r\n"
    b"f: <sip:0053248@sip.novofon.ru>;tag=abc\r\n"
    b"t: <sip:0053248@sip.novofon.ru>;tag=xyz\r\n"
    b"i: call-1@host\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b'WWW-Authenticate: Digest realm="novofon", nonce="n1", algorithm=MD5, qop="auth"\r\n'
    b'WWW-Authenticate: Digest realm="novofon", nonce="n2", algorithm=SHA-256, qop="auth"\r\n'
    b'm: "Smith, J" <sip:a@b;x=1>;expires=60, <sip:c@d>\r\n'
    b"Server: Asterisk PBX 22.10.0\r\n"
    b"l: 5\r\n"
    b"\r\n"
    b"hello"
)


def test_parse_response_with_compact_and_repeated_headers() -> None:
    msg = parse_message(RESPONSE)
    assert isinstance(msg, SipResponse)
    assert (msg.status_code, msg.reason) == (401, "Unauthorized")
    assert msg.get("Call-ID") == msg.get("i") == "call-1@host"
    assert msg.get("from") == "<sip:0053248@sip.novofon.ru>;tag=abc"
    assert msg.cseq == (1, "REGISTER")
    assert msg.body == b"hello"
    assert msg.raw == RESPONSE
    assert len(msg.get_all("WWW-Authenticate")) == 2
    # Auth headers are not comma lists (RFC 3261 §7.3.1).
    assert msg.values("WWW-Authenticate") == msg.get_all("WWW-Authenticate")
    assert msg.values("Contact") == ['"Smith, J" <sip:a@b;x=1>;expires=60', "<sip:c@d>"]
    vias = msg.vias
    assert [(v.transport, v.host, v.port) for v in vias] == [
        ("UDP", "10.0.0.5", 5060),
        ("UDP", "proxy.example", 5070),
        ("TCP", "2001:db8::1", None),
    ]
    assert vias[0].param("received") == "203.0.113.7"
    assert vias[0].param("rport") == "40000"
    assert vias[0].branch == "z9hG4bK1"


def test_canonical_names() -> None:
    assert canonical_name("v") == "Via"
    assert canonical_name("CALL-ID") == "Call-ID"
    assert canonical_name("l") == "Content-Length"
    assert canonical_name("X-Custom") == "X-Custom"


def test_tolerant_parsing_bare_lf_folding_defects_no_blank_line() -> None:
    data = (
        b"\r\n\r\nSIP/2.0 200 OK\n"
        b"Via: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\n"
        b"Subject: first part\n"
        b"   second part\n"
        b"this line has no colon\n"
        b"CSeq: 7 OPTIONS"
    )
    msg = parse_message(data)
    assert isinstance(msg, SipResponse)
    assert msg.get("Subject") == "first part second part"
    assert msg.defects == ["this line has no colon"]
    assert msg.cseq == (7, "OPTIONS")
    assert msg.body == b""


def test_content_length_framing_on_datagrams() -> None:
    base = b"SIP/2.0 200 OK\r\nContent-Length: 3\r\n\r\n"
    assert parse_message(base + b"abcdef").body == b"abc"  # RFC 3261 §18.3: extra ignored
    with pytest.raises(SipParseError) as info:
        parse_message(base + b"a")
    assert "truncated" in info.value.what.en
    assert info.value.evidence is not None and "Content-Length 3" in info.value.evidence.en
    bad = parse_message(b"SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\nbody")
    assert bad.body == b"body" and bad.defects == ["Content-Length: x"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"SIP/2.0 700 Weird\r\n\r\n",
        b"SIP/2.0 2\xc2\xb200 OK\r\n\r\n",
        b"OPTIONS sip:x SIP/3.0\r\n\r\n",
        b"\x00\x01\x02\xff" * 10,
        b"OPTIONS\r\n\r\n",
    ],
)
def test_garbage_raises_typed_error_with_evidence(data: bytes) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert info.value.evidence is not None
    assert info.value.raw == data[:2048]
    assert info.value.what.ru  # both languages


def test_via_parse_and_render() -> None:
    via = Via.parse("SIP / 2.0 / udp 127.0.0.2:5062 ;rport; branch=z9hG4bKabc")
    assert (via.transport, via.host, via.port) == ("UDP", "127.0.0.2", 5062)
    assert via.has_param("rport") and via.param("rport") is None
    assert via.render() == "SIP/2.0/UDP 127.0.0.2:5062;rport;branch=z9hG4bKabc"
    v6 = Via.parse("SIP/2.0/TCP [::1]:5060;branch=z9hG4bK1").with_param("branch", "z9hG4bK2")
    assert v6.render() == "SIP/2.0/TCP [::1]:5060;branch=z9hG4bK2"
    for bad in ("SIP/2.0 host", "HTTP/1.1/TCP host", "SIP/2.0/UDP host:99999", "SIP/2.0/UDP"):
        with pytest.raises(SipParseError):
            Via.parse(bad)


def test_split_list_respects_quotes_and_brackets() -> None:
    assert split_list('a, "b,c" <sip:d,e>, f,,') == ["a", '"b,c" <sip:d,e>', "f"]
    assert split_list('"unterminated, quote') == ['"unterminated, quote']


def _request() -> SipRequest:
    return SipRequest(
        "register",
        "sip:example.org",
        [
            (
                "v",
                "SIP/2.0/UDP 127.0.0.2:5062;rport;branch=z9hG4bKold, SIP/2.0/UDP p;branch=z9hG4bKp",
            ),
            ("Max-Forwards", "70"),
            ("From", "<sip:u@example.org>;tag=t1"),
            ("To", "<sip:u@example.org>"),
            ("Call-ID", "c1"),
            ("CSeq", "41 REGISTER"),
            ("Content-Length", "999"),
        ],
    )


def test_render_is_wire_exact_and_fixes_content_length() -> None:
    req = _request()
    req.body = b"xyz"
    assert req.render() == (
        b"REGISTER sip:example.org SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 127.0.0.2:5062;rport;branch=z9hG4bKold,"
        b" SIP/2.0/UDP p;branch=z9hG4bKp\r\n"
        b"Max-Forwards: 70\r\n"
        b"From: <sip:u@example.org>;tag=t1\r\n"
        b"To: <sip:u@example.org>\r\n"
        b"Call-ID: c1\r\n"
        b"CSeq: 41 REGISTER\r\n"
        b"Content-Length: 3\r\n"
        b"\r\n"
        b"xyz"
    )
    again = parse_message(req.render())
    assert isinstance(again, SipRequest)
    assert (again.method, again.uri, again.body) == ("REGISTER", "sip:example.org", b"xyz")


def test_next_in_sequence_bumps_cseq_and_branch_only() -> None:
    req = _request()
    nxt = req.next_in_sequence("z9hG4bKnew")
    assert nxt.cseq == (42, "REGISTER")
    assert nxt.get("Via") == (
        "SIP/2.0/UDP 127.0.0.2:5062;rport;branch=z9hG4bKnew, SIP/2.0/UDP p;branch=z9hG4bKp"
    )
    assert [n for n, _ in nxt.headers] == [n for n, _ in req.headers]
    assert nxt.get("Call-ID") == "c1" and nxt.get("From") == req.get("From")
    assert req.cseq == (41, "REGISTER")  # the original is untouched
    fresh = req.next_in_sequence()
    assert fresh.top_via is not None and fresh.top_via.branch != "z9hG4bKold"
    assert fresh.top_via.branch is not None and fresh.top_via.branch.startswith("z9hG4bK")


def test_reply_copies_dialog_headers_and_adds_to_tag() -> None:
    reply = _request().reply(200, "OK")
    assert reply.render().startswith(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.2:5062;")
    to = reply.get("To")
    assert to is not None and to.startswith("<sip:u@example.org>;tag=")
    assert reply.get("CSeq") == "41 REGISTER"


def test_set_and_remove_headers() -> None:
    req = _request()
    req.add("Expires", "60")
    req.add("expires", "61")
    req.set("Expires", "0")
    assert req.get_all("Expires") == ["0"]
    req.remove("EXPIRES")
    assert req.get("Expires") is None


# --- TCP framing ------------------------------------------------------------------------------

TWO = (
    b"\r\n\r\n"  # keep-alive ping before the first message
    b"SIP/2.0 100 Trying\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
    b"\r\n"  # pong between messages
    b"SIP/2.0 200 OK\r\nCSeq: 1 REGISTER\r\nl: 4\r\n\r\nbody"
)


def test_stream_parser_frames_by_content_length() -> None:
    msgs = StreamParser().feed(TWO)
    assert [m.status_code for m in msgs if isinstance(m, SipResponse)] == [100, 200]
    assert msgs[1].body == b"body"
    assert msgs[1].raw.endswith(b"body") and msgs[1].raw.startswith(b"SIP/2.0 200")


def test_stream_parser_byte_by_byte() -> None:
    parser = StreamParser()
    got = []
    for i in range(len(TWO)):
        got += parser.feed(TWO[i : i + 1])
    assert [m.body for m in got] == [b"", b"body"]
    assert parser.buffered == 0


def test_stream_parser_waits_for_body_and_defaults_missing_length_to_zero() -> None:
    parser = StreamParser()
    assert parser.feed(b"SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nbo") == []
    assert parser.buffered > 0
    assert [m.body for m in parser.feed(b"dySIP/2.0 202 Accepted\r\n\r\n")] == [b"body", b""]


@pytest.mark.parametrize(
    "chunk",
    [
        b"HTTP/1.1 200 OK\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 2000,  # a TLS hello
        b"SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"A" * 70000,
    ],
)
def test_stream_parser_garbage_breaks_it_for_good(chunk: bytes) -> None:
    parser = StreamParser()
    with pytest.raises(SipParseError):
        parser.feed(chunk)
    with pytest.raises(SipParseError):
        parser.feed(b"SIP/2.0 200 OK\r\n\r\n")


# --- robustness (hypothesis) ------------------------------------------------------------------

sip_like = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda head, junk: head + junk,
        st.sampled_from([b"SIP/2.0 200 OK\r\n", b"OPTIONS sip:a SIP/2.0\r\n", b"SIP/2.0 "]),
        st.binary(max_size=400),
    ),
    st.lists(
        st.sampled_from(
            [
                b"SIP/2.0 ",
                b"200",
                b" OK",
                b"\r\n",
                b"\n",
                b":",
                b";",
                b",",
                b"Via",
                b"v",
                b"Content-Length",
                b"l",
                b"-1",
                b"99999999999",
                b"\xff",
                b"\xc2\xb2",
                b" ",
                b"\t",
                b"SIP/2.0/UDP",
                b"[",
                b"]",
                b"rport",
                b"=",
                b'"',
                b"CSeq",
                b"\x00",
            ]
        ),
        max_size=60,
    ).map(b"".join),
)


@settings(max_examples=400, deadline=None)
@given(sip_like)
def test_parse_message_never_raises_anything_else(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipParseError:
        return
    # Whatever parsed must also survive every accessor the probe uses.
    msg.cseq  # noqa: B018
    with contextlib.suppress(SipParseError):
        msg.vias  # noqa: B018
    msg.values("Contact")
    msg.render()


@settings(max_examples=300, deadline=None)
@given(st.lists(sip_like, max_size=6))
def test_stream_parser_never_raises_anything_else(chunks: list[bytes]) -> None:
    parser = StreamParser()
    try:
        for chunk in chunks:
            parser.feed(chunk)
    except SipParseError:
        pass


token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~", min_size=1, max_size=12)
value = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=40
).map(str.strip)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["OPTIONS", "REGISTER", "INVITE"]),
    st.lists(st.tuples(token.map(lambda t: "X-" + t), value), max_size=8),
    st.binary(max_size=50),
)
def test_render_parse_round_trip(method: str, headers: list[tuple[str, str]], body: bytes) -> None:
    req = SipRequest(method, "sip:host", headers, body)
    again = parse_message(req.render())
    assert isinstance(again, SipRequest)
    assert again.method == method and again.body == body
    assert [(n.lower(), v) for n, v in again.headers[:-1]] == [
        (n.lower(), v) for n, v in req.headers
    ]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=120), st.builds("SIP/2.0/UDP {}".format, st.text(max_size=60))))
def test_via_parse_raises_only_the_typed_error(text: str) -> None:
    try:
        via = Via.parse(text)
    except SipParseError:
        return
    via.render()
    via.branch  # noqa: B018


def test_stream_parser_mixed_line_ends_in_one_read() -> None:
    lf_only = b"SIP/2.0 100 Trying\nCSeq: 1 OPTIONS\nContent-Length: 2\n\nhi"
    crlf = b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    msgs = StreamParser().feed(crlf + lf_only + crlf + lf_only)
    assert [(m.status_code, m.body) for m in msgs if isinstance(m, SipResponse)] == [
        (200, b""), (100, b"hi"), (200, b""), (100, b"hi"),
    ]  # fmt: skip
