"""Fuzzing the SIP parser with random chunking, and the probe against random hostile peers.

Part of the fault suite of issue 16 (item 6), marked slow, bounded in time (~15 s): the
same byte stream cut at random points frames into the same messages; a stream that turns
to garbage fails with the typed error after a prefix of the good messages; a peer that
answers the probe with any mix of stray answers, garbage and floods yields a result,
never an exception, within the timeout.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trunkctl.sip import SipParseError, options
from trunkctl.sip._message import StreamParser

from .conftest import PROVIDER_IP, UdpPeer, reply_to

pytestmark = pytest.mark.slow

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+~", min_size=1, max_size=10)
hvalue = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\0", exclude_categories=["Cc"]),
    max_size=30,
).map(str.strip)
body = st.binary(max_size=200)


@st.composite
def sip_message(draw: st.DrawFn) -> bytes:
    """One well-formed SIP message on the wire (request or response), body framed."""
    if draw(st.booleans()):
        method = draw(st.sampled_from(["OPTIONS", "REGISTER", "INVITE", "BYE", "NOTIFY"]))
        start = f"{method} sip:{draw(token)}@example.com SIP/2.0"
    else:
        code = draw(st.integers(min_value=100, max_value=699))
        start = f"SIP/2.0 {code} {draw(token)}"
    headers = [
        f"Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK{draw(token)}",
        f"Call-ID: {draw(token)}",
        f"CSeq: {draw(st.integers(min_value=1, max_value=2**31))} OPTIONS",
        *(f"X-{k}: {v}" for k, v in draw(st.lists(st.tuples(token, hvalue), max_size=6))),
    ]
    data = draw(body)
    head = "\r\n".join([start, *headers, f"Content-Length: {len(data)}"]) + "\r\n\r\n"
    return head.encode() + data


keepalive = st.sampled_from([b"\r\n\r\n", b"\r\n"])
stream = st.lists(st.one_of(sip_message(), keepalive), min_size=1, max_size=8)
cuts = st.lists(st.integers(min_value=0, max_value=100_000), max_size=16)


def _chunks(data: bytes, points: list[int]) -> list[bytes]:
    at = sorted({p % (len(data) + 1) for p in points})
    return [data[a:b] for a, b in zip([0, *at], [*at, len(data)], strict=True)]


def _frame(chunks: list[bytes]) -> list[bytes]:
    parser = StreamParser()
    out: list[bytes] = []
    for chunk in chunks:
        out += [m.raw for m in parser.feed(chunk)]
    assert parser.buffered == 0
    return out


@settings(max_examples=300, deadline=None)
@given(stream, cuts)
def test_any_chunking_of_a_stream_frames_the_same_messages(
    parts: list[bytes], points: list[int]
) -> None:
    data = b"".join(parts)
    whole = _frame([data])
    assert whole == [p for p in parts if p.strip(b"\r\n")]  # each message, byte for byte
    assert _frame(_chunks(data, points)) == whole
    assert _frame([bytes([b]) for b in data]) == whole if len(data) < 600 else True


garbage = st.sampled_from(
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"SIP/2.0 200 OK\r\nContent-Length: -5\r\n\r\n",
        b"NOT SIP AT ALL\r\n\r\n",
        b"x" * 2000,
    ]
)


@settings(max_examples=200, deadline=None)
@given(stream, garbage, cuts)
def test_a_stream_that_turns_to_garbage_fails_typed_after_a_prefix(
    parts: list[bytes], junk: bytes, points: list[int]
) -> None:
    good = [p for p in parts if p.strip(b"\r\n")]
    data = b"".join(parts) + junk
    parser = StreamParser()
    out: list[bytes] = []
    with pytest.raises(SipParseError):
        for chunk in _chunks(data, points):
            out += [m.raw for m in parser.feed(chunk)]
        parser.feed(b"\r\n" * 1100)  # junk without a line end fails once it cannot be SIP
    assert out == good[: len(out)]
    with pytest.raises(SipParseError):  # and stays broken: a byte stream cannot resync
        parser.feed(b"SIP/2.0 200 OK\r\n\r\n")


# --- the probe against random hostile peers ---------------------------------------------

reply_kind = st.sampled_from(
    ["stray", "wrong-call-id", "wrong-cseq", "garbage", "provisional", "final", "request"]
)


def _reply(kind: str, request: bytes, n: int) -> bytes:
    if kind == "final":
        return reply_to(request, "200 OK")
    if kind == "provisional":
        return reply_to(request, "100 Trying")
    if kind == "wrong-call-id":
        return reply_to(request, "500 X").replace(b"Call-ID: ", b"Call-ID: x", 1)
    if kind == "wrong-cseq":
        return reply_to(request, "500 X").replace(b"CSeq: 1 ", b"CSeq: 7 ", 1)
    if kind == "stray":
        return reply_to(request, "200 OK").replace(b"branch=", b"branch=other", 1)
    if kind == "request":
        return b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKq\r\n" + (
            f"Call-ID: q{n}\r\nCSeq: {n} OPTIONS\r\nContent-Length: 0\r\n\r\n".encode()
        )
    return b"\x00garbage\xff" * 3


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(reply_kind, st.integers(min_value=1, max_value=50)), max_size=6))
def test_the_probe_gives_a_verdict_whatever_the_peer_sends(
    script: list[tuple[str, int]],
) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        def handler(data: bytes, n: int) -> list[bytes]:
            if n > 1:
                return []  # answers only the first transmission
            return [_reply(kind, data, i) for kind, count in script for i in range(count)]

        transport, peer = await loop.create_datagram_endpoint(
            lambda: UdpPeer(handler), local_addr=(PROVIDER_IP, 0)
        )
        try:
            t0 = time.monotonic()
            result = await options(PROVIDER_IP, peer.port, timeout=0.4, t1=0.1)
            assert time.monotonic() - t0 < 2
        finally:
            transport.close()
        kinds = [k for k, _ in script]
        assert result.outcome in {"answered", "timeout", "garbage"}
        first_useful = next(
            (k for k in kinds if k in ("final", "garbage")), None
        )  # a final answer or, before any SIP, junk decides
        if result.outcome == "answered":
            assert result.status_code == 200 and "final" in kinds
        if "final" in kinds and first_useful == "final":
            assert result.outcome == "answered"
        sent = sum(c for _, c in script)
        assert 0 <= result.noise <= sent
        result.to_dict()

    asyncio.run(main())
