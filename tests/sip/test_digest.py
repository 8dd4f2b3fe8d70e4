"""Unit tests for sans-I/O digest auth (trunkctl.sip._digest), without a network.

Expected values are the RFCs' published ones or are computed here step by step with
hashlib, never through trunkctl's code. The same flows run against SIPp in test_sipp.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.secret import Secret
from trunkctl.sip import SipChallengeError
from trunkctl.sip._digest import (
    Challenge,
    DigestAuth,
    choose_challenge,
    digest_response,
    parse_auth_header,
    sha512_256,
    sha512_256_fallback,
)
from trunkctl.sip._message import SipRequest, SipResponse, parse_message


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- RFC test vectors -------------------------------------------------------------------------

# RFC 7616 §3.9.1 (GET /dir/index.html as Mufasa).
RFC7616: dict[str, Any] = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    "nc": "00000001",
    "qop": "auth",
}
RFC7616_MD5 = "8ca523f5e9506fed4657c9700eebdbec"
RFC7616_SHA256 = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

# RFC 2617 §3.5 (note "Circle Of Life" with a capital O there).
RFC2617: dict[str, Any] = dict(
    RFC7616,
    realm="testrealm@host.com",
    password="Circle Of Life",
    nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
    cnonce="0a4f113b",
)
RFC2617_MD5 = "6629fae49393a05397450978507c4ef1"


def test_rfc7616_vectors_by_hand_then_by_trunkctl() -> None:
    v = RFC7616
    # By hand, RFC 7616 §3.4.1: KD(H(A1), nonce:nc:cnonce:qop:H(A2)).
    for h, expected in ((md5, RFC7616_MD5), (sha256, RFC7616_SHA256)):
        ha1 = h(f"{v['username']}:{v['realm']}:{v['password']}")
        ha2 = h(f"{v['method']}:{v['uri']}")
        assert h(f"{ha1}:{v['nonce']}:{v['nc']}:{v['cnonce']}:auth:{ha2}") == expected
    assert digest_response("MD5", **v) == RFC7616_MD5
    assert digest_response("SHA-256", **v) == RFC7616_SHA256


def test_rfc2617_vector() -> None:
    v = RFC2617
    ha1 = md5(f"{v['username']}:{v['realm']}:{v['password']}")
    ha2 = md5(f"{v['method']}:{v['uri']}")
    assert md5(f"{ha1}:{v['nonce']}:{v['nc']}:{v['cnonce']}:auth:{ha2}") == RFC2617_MD5
    assert digest_response("MD5", **v) == RFC2617_MD5


def test_legacy_no_qop_md5_sess_and_auth_int_by_hand() -> None:
    v: dict[str, Any] = dict(RFC2617)
    del v["qop"]
    ha1 = md5("Mufasa:testrealm@host.com:Circle Of Life")
    ha2 = md5("GET:/dir/index.html")
    # RFC 2069 / RFC 2617 §3.2.2.1 without qop: H(HA1:nonce:HA2).
    assert digest_response("MD5", **v, qop=None) == md5(f"{ha1}:{v['nonce']}:{ha2}")
    sess_ha1 = md5(f"{ha1}:{v['nonce']}:{v['cnonce']}")
    assert digest_response("MD5-sess", **RFC2617) == md5(
        f"{sess_ha1}:{v['nonce']}:00000001:{v['cnonce']}:auth:{ha2}"
    )
    body = b"v=0\r\n"
    ha2_int = md5(f"GET:/dir/index.html:{hashlib.md5(body).hexdigest()}")
    assert digest_response("MD5", **dict(RFC2617, qop="auth-int"), body=body) == md5(
        f"{ha1}:{v['nonce']}:00000001:{v['cnonce']}:auth-int:{ha2_int}"
    )


def test_sha512_256_with_userhash_rfc7616_392() -> None:
    # RFC 7616 §3.9.2's printed userhash and response are inconsistent with its own inputs
    # (erratum 4897), so the expected values are computed here step by step.
    def h(text: str) -> str:
        return hashlib.new("sha512_256", text.encode()).hexdigest()

    user, realm, password = "Jäsøn Doe", "api@example.org", "Secret, or not?"
    nonce = "5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"
    cnonce = "NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"
    expected = h(
        f"{h(f'{user}:{realm}:{password}')}:{nonce}:00000001:{cnonce}:auth:{h('GET:/doe.json')}"
    )
    auth = DigestAuth(user, password, cnonce_factory=lambda: cnonce)
    challenge = Challenge(
        "WWW-Authenticate", realm, nonce, "SHA-512-256", ("auth",), "HRPC", userhash=True
    )
    header = auth.authorization(SipRequest("GET", "/doe.json"), challenge, 1)
    params = dict(parse_auth_header(header)[0][1])
    assert params["response"] == expected
    assert params["username"] == h(f"{user}:{realm}")
    assert params["userhash"] == "true"


# FIPS 180-4 examples (NIST CSRC "SHA512_256.pdf"): one-block and two-block messages.
ABC_512_256 = "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
TWO_BLOCK = (
    b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
    b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
)
TWO_BLOCK_512_256 = "3928e184fb8690f840da3988121d31be65cb9d3ef83ee6146feac861e19b563a"


def test_sha512_256_fallback_matches_fips_vectors() -> None:
    assert sha512_256_fallback(b"abc").hex() == ABC_512_256
    assert sha512_256_fallback(TWO_BLOCK).hex() == TWO_BLOCK_512_256
    assert sha512_256(b"abc").hex() == ABC_512_256


HAVE_OPENSSL_512_256 = "sha512_256" in hashlib.algorithms_available


@pytest.mark.skipif(not HAVE_OPENSSL_512_256, reason="this OpenSSL has no sha512_256 to compare")
@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_sha512_256_fallback_matches_openssl(data: bytes) -> None:
    assert sha512_256_fallback(data) == hashlib.new("sha512_256", data).digest()


# --- challenges -------------------------------------------------------------------------------


def challenge_response(code: int, *challenges: str) -> SipResponse:
    header = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    lines = "".join(f"{header}: {c}\r\n" for c in challenges)
    msg = parse_message(
        f"SIP/2.0 {code} Challenge\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
        f"CSeq: 1 REGISTER\r\n{lines}\r\n".encode()
    )
    assert isinstance(msg, SipResponse)
    return msg


def test_parse_auth_header_edge_cases() -> None:
    assert parse_auth_header('Digest realm="a,b", nonce="q\\"x", stale=TRUE') == [
        ("Digest", {"realm": "a,b", "nonce": 'q"x', "stale": "TRUE"})
    ]
    two = parse_auth_header('Digest realm="r1", nonce=n1, Digest realm="r2",nonce="n2"')
    assert [p["realm"] for _, p in two] == ["r1", "r2"]
    for junk in ("", "=", '"', "Digest", ',,, =,"x', "Digest realm"):
        parse_auth_header(junk)  # never raises


def test_strongest_algorithm_wins_topmost_among_equals() -> None:
    resp = challenge_response(
        401,
        'Digest realm="r", nonce="a", algorithm=MD5, qop="auth"',
        'Digest realm="r", nonce="b", algorithm=SHA-256, qop="auth"',
        'Digest realm="r", nonce="c", algorithm=SHA-256-sess, qop="auth"',
        'Digest realm="r", nonce="d", algorithm=AKAv1-MD5, qop="auth"',
    )
    chosen = choose_challenge(Challenge.from_response(resp))
    assert (chosen.nonce, chosen.algorithm) == ("b", "SHA-256")


def test_unanswerable_challenges_raise_typed_error() -> None:
    resp = challenge_response(
        401,
        'Digest realm="r", nonce="a", algorithm=AKAv1-MD5',
        'Digest realm="r", nonce="b", qop="auth-conf"',
        'Digest realm="r"',
        'Basic realm="r"',
    )
    challenges = Challenge.from_response(resp)
    assert len(challenges) == 3  # Basic is not a digest challenge
    with pytest.raises(SipChallengeError) as info:
        choose_challenge(challenges)
    assert info.value.evidence is not None and "AKAV1-MD5" in info.value.evidence.en
    with pytest.raises(SipChallengeError):
        choose_challenge([])


# --- the sans-I/O flow ------------------------------------------------------------------------


def register() -> SipRequest:
    return SipRequest(
        "REGISTER",
        "sip:sip.novofon.ru",
        [
            ("Via", "SIP/2.0/UDP 127.0.0.2:5062;rport;branch=z9hG4bK0"),
            ("From", "<sip:0053248@sip.novofon.ru>;tag=t"),
            ("To", "<sip:0053248@sip.novofon.ru>"),
            ("Call-ID", "cid"),
            ("CSeq", "1 REGISTER"),
        ],
    )


def ok() -> SipResponse:
    return SipResponse(200, "OK")


def counter() -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"z9hG4bK{n}"


def make_auth(password: str = "s3cret") -> DigestAuth:
    branches = counter()
    return DigestAuth(
        "0053248", password, cnonce_factory=lambda: "cn", branch_factory=lambda: next(branches)
    )


def drive(
    flow: Generator[SipRequest, SipResponse, None], responses: list[SipResponse]
) -> list[SipRequest]:
    """Feed canned responses; return every request the flow sent."""
    sent = [next(flow)]
    for response in responses:
        try:
            sent.append(flow.send(response))
        except StopIteration:
            break
    else:
        pytest.fail("the flow wanted more responses than the test gave")
    return sent


def params_of(request: SipRequest, header: str) -> dict[str, str]:
    value = request.get(header)
    assert value is not None, f"no {header} in request"
    assert value.startswith("Digest ")
    return parse_auth_header(value)[0][1]


def test_401_md5_is_answered_with_authorization() -> None:
    challenge = 'Digest realm="novofon", nonce="N1", algorithm=MD5, qop="auth", opaque="op"'
    sent = drive(make_auth().auth_flow(register()), [challenge_response(401, challenge), ok()])
    assert len(sent) == 2
    first, second = sent
    assert first.get("Authorization") is None
    assert second.cseq == (2, "REGISTER") and second.get("Call-ID") == "cid"
    assert second.top_via is not None and second.top_via.branch == "z9hG4bK1"
    p = params_of(second, "Authorization")
    ha1 = md5("0053248:novofon:s3cret")
    ha2 = md5("REGISTER:sip:sip.novofon.ru")
    assert p == {
        "username": "0053248",
        "realm": "novofon",
        "nonce": "N1",
        "uri": "sip:sip.novofon.ru",
        "response": md5(f"{ha1}:N1:00000001:cn:auth:{ha2}"),
        "algorithm": "MD5",
        "cnonce": "cn",
        "qop": "auth",
        "nc": "00000001",
        "opaque": "op",
    }


def test_407_is_answered_with_proxy_authorization_sha256() -> None:
    challenge = 'Digest realm="novofon", nonce="P", algorithm=SHA-256, qop="auth"'
    sent = drive(make_auth().auth_flow(register()), [challenge_response(407, challenge), ok()])
    assert sent[1].get("Authorization") is None
    p = params_of(sent[1], "Proxy-Authorization")
    ha1 = sha256("0053248:novofon:s3cret")
    ha2 = sha256("REGISTER:sip:sip.novofon.ru")
    assert p["response"] == sha256(f"{ha1}:P:00000001:cn:auth:{ha2}")
    assert p["algorithm"] == "SHA-256"


def test_legacy_challenge_without_qop() -> None:
    sent = drive(
        make_auth().auth_flow(register()),
        [challenge_response(401, 'Digest realm="asterisk", nonce="L"'), ok()],
    )
    p = params_of(sent[1], "Authorization")
    assert "qop" not in p and "nc" not in p and "cnonce" not in p
    ha1 = md5("0053248:asterisk:s3cret")
    assert p["response"] == md5(f"{ha1}:L:{md5('REGISTER:sip:sip.novofon.ru')}")


def test_second_401_for_fresh_credentials_ends_the_flow() -> None:
    c = challenge_response(401, 'Digest realm="r", nonce="A", qop="auth"')
    again = challenge_response(401, 'Digest realm="r", nonce="B", qop="auth"')
    flow = make_auth("wrong").auth_flow(register())
    sent = [next(flow), flow.send(c)]
    with pytest.raises(StopIteration):
        flow.send(again)  # refused: the caller sees the 401 as final
    assert len(sent) == 2


def test_stale_nonce_is_retried_with_the_new_nonce_at_most_twice() -> None:
    first = challenge_response(401, 'Digest realm="r", nonce="A", qop="auth"')

    def stale(nonce: str) -> SipResponse:
        return challenge_response(401, f'Digest realm="r", nonce="{nonce}", qop="auth", stale=true')

    flow = make_auth().auth_flow(register())
    sent = [next(flow), flow.send(first), flow.send(stale("B")), flow.send(stale("C"))]
    assert [params_of(r, "Authorization")["nonce"] for r in sent[1:]] == ["A", "B", "C"]
    # New nonces start their own count.
    assert [params_of(r, "Authorization")["nc"] for r in sent[1:]] == ["00000001"] * 3
    with pytest.raises(StopIteration):
        flow.send(stale("D"))


def test_cached_nonce_is_reused_preemptively_with_next_nc() -> None:
    auth = make_auth()
    c = challenge_response(401, 'Digest realm="r", nonce="A", qop="auth"')
    drive(auth.auth_flow(register()), [c, ok()])
    unregister = register().next_in_sequence("z9hG4bKu")
    unregister.set("Expires", "0")
    sent = drive(auth.auth_flow(unregister), [ok()])
    assert len(sent) == 1
    p = params_of(sent[0], "Authorization")
    assert (p["nonce"], p["nc"]) == ("A", "00000002")
    ha1 = md5("0053248:r:s3cret")
    assert p["response"] == md5(f"{ha1}:A:00000002:cn:auth:{md5('REGISTER:sip:sip.novofon.ru')}")


def test_cached_nonce_refused_gets_one_fresh_answer() -> None:
    auth = make_auth()
    drive(
        auth.auth_flow(register()), [challenge_response(401, 'Digest realm="r", nonce="A"'), ok()]
    )
    fresh = challenge_response(401, 'Digest realm="r", nonce="B"')
    sent = drive(auth.auth_flow(register()), [fresh, ok()])
    assert [params_of(r, "Authorization")["nonce"] for r in sent] == ["A", "B"]


def test_non_challenge_answers_end_the_flow() -> None:
    for code in (200, 403, 404, 500):
        flow = make_auth().auth_flow(register())
        next(flow)
        with pytest.raises(StopIteration):
            flow.send(SipResponse(code, "x"))


def test_flow_raises_on_unsupported_challenge() -> None:
    flow = make_auth().auth_flow(register())
    next(flow)
    with pytest.raises(SipChallengeError):
        flow.send(challenge_response(401, 'Digest realm="r", nonce="n", algorithm=AKAv1-MD5'))


def test_password_never_shows() -> None:
    for password in (Secret("hunter2"), "hunter2"):
        auth = DigestAuth("u", password)
        assert "hunter2" not in repr(auth)
        assert "hunter2" not in repr(vars(auth) if hasattr(auth, "__dict__") else auth)


# --- robustness on whatever a peer sends ------------------------------------------------------

header_junk = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            ["Digest", " ", ",", "=", '"', "\\", "realm", "nonce", "algorithm", "qop",
             "SHA-256", "MD5-sess", "auth", "auth-int", "stale=true", "x", "Basic"]
        ),
        max_size=40,
    ).map("".join),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(header_junk, min_size=1, max_size=3), st.sampled_from([401, 407]))
def test_any_challenge_header_yields_challenges_or_a_typed_error(
    values: list[str], code: int
) -> None:
    header = "WWW-Authenticate" if code == 401 else "Proxy-Authenticate"
    response = SipResponse(code, "x", [(header, v) for v in values])
    challenges = Challenge.from_response(response)
    try:
        chosen = choose_challenge(challenges)
    except SipChallengeError:
        return
    # Whatever was chosen can be answered.
    DigestAuth("u", "p").authorization(register(), chosen, 1)
