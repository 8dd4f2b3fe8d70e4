"""REST v1 and webhook signatures against vectors computed outside trunkctl's code.

The literal vectors were made with coreutils and OpenSSL, not with Python:

    qs=...; md5=$(printf '%s' "$qs" | md5sum | cut -d' ' -f1)
    hex=$(printf '%s' "$path$qs$md5" | openssl dgst -sha1 -hmac "$SECRET" -r | cut -d' ' -f1)
    printf '%s' "$hex" | base64 -w0

No public NovoFon/Zadarma client README publishes a worked example (checked
novofon/user-api-v1, zadarma/user-api-py-v1, zadarma/user-api-typescript, zadarma/openapi),
so the property test re-derives the algorithm step by step with hashlib and a char-by-char
PHP ``urlencode``. Client use of these signatures: test_rest_client.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from trunkctl.novofon import php_urlencode, rest_v1_query, rest_v1_signature
from trunkctl.novofon._rest import build_rest_request
from trunkctl.secret import Secret

SECRET = "Zx8f0P0q7hRk3N2aB9cD"  # 20 characters, like NovoFon's keys and secrets

VECTORS = [
    # (method path, params without format, expected query string, expected signature)
    (
        "/v1/info/balance/",
        {},
        "format=json",
        "ZTc1MGI2MDk2MmIwOGRkOGYxMzBmN2U3OWEzNzRhOWUxZWMzYWMxNQ==",
    ),
    (
        "/v1/statistics/",
        {"start": "2024-01-01 00:00:00", "sip": "00001", "end": "2024-01-31 23:59:59"},
        "end=2024-01-31+23%3A59%3A59&format=json&sip=00001&start=2024-01-01+00%3A00%3A00",
        "YjQ2NTU4YzkxMTEwMmM3YzE0NTA3ZDhmZjg3MDRhZTgyZjU3MzgwNA==",
    ),
    (
        "/v1/sip/",
        {"display_name": "Офис ~1"},
        "display_name=%D0%9E%D1%84%D0%B8%D1%81+%7E1&format=json",
        "MTc2Yzk5ODkwZTYxOTNlMzllNTA5ZGY0OTExOGVhZmMxZjEyNWE5MA==",
    ),
]


def test_openssl_vectors() -> None:
    for path, params, query, signature in VECTORS:
        assert rest_v1_query({**params, "format": "json"}) == query
        assert rest_v1_signature(path, query, SECRET) == signature
        assert rest_v1_signature(path, query, Secret(SECRET)) == signature


def test_request_carries_the_vector_header_and_query() -> None:
    path, params, query, signature = VECTORS[1]
    request = build_rest_request(
        Secret("KEY0123456789abcdefg"),
        Secret(SECRET),
        "https://api.novofon.com",
        "statistics",
        {**params, "skip": None},  # None is dropped, as PHP's clients drop null
        "GET",
    )
    assert request.headers["Authorization"] == f"KEY0123456789abcdefg:{signature}"
    assert request.url.raw_path == f"{path}?{query}".encode()


def test_post_sends_the_signed_string_as_form_body() -> None:
    path, params, query, signature = VECTORS[2]
    request = build_rest_request(
        Secret("k" * 20), Secret(SECRET), "http://127.0.0.1:9/", "sip", params, "POST"
    )
    assert request.url.raw_path == path.encode()
    assert request.content == query.encode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"].endswith(":" + signature)


def test_php_urlencode_differs_from_python_where_php_does() -> None:
    assert php_urlencode("a b") == "a+b"
    assert php_urlencode("~") == "%7E"  # PHP escapes '~'; quote_plus would not
    assert php_urlencode("*") == "%2A"
    assert php_urlencode("+7") == "%2B7"
    assert php_urlencode("-_.") == "-_."
    assert php_urlencode("Ж") == "%D0%96"


def _php_urlencode_by_hand(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "-_."):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _signature_by_hand(path: str, params: dict[str, str], secret: str) -> str:
    query = "&".join(
        _php_urlencode_by_hand(k) + "=" + _php_urlencode_by_hand(params[k]) for k in sorted(params)
    )
    md5_hex = hashlib.md5(query.encode()).hexdigest()
    mac_hex = hmac.new(secret.encode(), (path + query + md5_hex).encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(mac_hex.encode()).decode()


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
values = st.text(max_size=30).filter(lambda s: "\x00" not in s)


@given(st.dictionaries(names, values, max_size=6), st.text(min_size=1, max_size=40))
def test_signature_matches_independent_derivation(params: dict[str, str], secret: str) -> None:
    params = {**params, "format": "json"}
    query = rest_v1_query(params)
    assert query == "&".join(
        _php_urlencode_by_hand(k) + "=" + _php_urlencode_by_hand(params[k]) for k in sorted(params)
    )
    assert rest_v1_signature("/v1/sip/", query, secret) == _signature_by_hand(
        "/v1/sip/", params, secret
    )
    # What the server parses back is exactly what was signed.
    assert dict(parse_qsl(query, keep_blank_values=True)) == params
