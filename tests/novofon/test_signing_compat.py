"""Issue 13 item 7: REST v1 signing of both official clients, re-implemented here from
their public code (not copied), against the emulator and against trunkctl's client.

- PHP, novofon/user-api-v1 lib/Client.php: ``$params['format'] = 'json'``; the signature
  is over ``ksort``-ed params through ``http_build_query(..., PHP_QUERY_RFC1738)`` (PHP
  ``urlencode``: only ``A-Za-z0-9-_.`` literal, space ``+``, so ``~`` → ``%7E``, ``*`` →
  ``%2A``; ``true`` → ``1``); ``base64(hash_hmac('sha1', method . qs . md5(qs), secret))``;
  GET sends the *unsorted* params in the URL, POST/PUT as the body.
- Python, zadarma/user-api-py-v1 zadarma/api.py: ``params['format'] = format``; the
  signature is over ``urlencode(sorted(params.items()))`` (``quote_plus``: ``~`` stays
  literal; ``True`` → ``True``); the same HMAC and base64; GET sends the sorted query,
  POST/PUT hand the dict to ``requests`` (insertion order).

The emulator must accept every one of them (which ``~`` NovoFon's server accepts is not
published, so it accepts both), and trunkctl's own client signs exactly as the PHP client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
import pytest

from trunkctl.novofon import RestV1Client
from trunkctl.novofon._rest import build_rest_request
from trunkctl.secret import Secret

from .conftest import LINE_LOGIN, REST_KEY, REST_SECRET, VIRTUAL, World

Value = str | int | float | bool
Params = dict[str, Value]


def _encode(text: str, literal: bytes) -> str:
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if byte < 128 and (char.isalnum() or byte in literal):
            out.append(char)
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def php_urlencode(text: str) -> str:
    """PHP ``urlencode`` (what ``http_build_query`` with RFC 1738 applies)."""
    return _encode(text, b"-_.")


def python_quote_plus(text: str) -> str:
    """Python 3.7+ ``quote_plus(text, safe='')`` (what ``urlencode`` applies)."""
    return _encode(text, b"-_.~")


def php_value(value: Value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def php_build_query(params: Mapping[str, Value]) -> str:
    return "&".join(f"{php_urlencode(k)}={php_urlencode(php_value(v))}" for k, v in params.items())


def python_urlencode(items: list[tuple[str, Value]]) -> str:
    return "&".join(f"{python_quote_plus(k)}={python_quote_plus(str(v))}" for k, v in items)


def _sign(secret: str, method: str, query: str) -> str:
    md5 = hashlib.md5(query.encode(), usedforsecurity=False).hexdigest()
    digest = hmac.new(secret.encode(), (method + query + md5).encode(), hashlib.sha1)
    return base64.b64encode(digest.hexdigest().encode()).decode()


@dataclass(frozen=True)
class Wire:
    """One request as a client puts it on the wire."""

    verb: str
    path: str
    query: str  # the URL's query (GET) or the form body (POST/PUT)
    authorization: str


def php_client(method: str, params: Params, verb: str) -> Wire:
    params = {**params, "format": "json"}
    signed = php_build_query(dict(sorted(params.items())))  # ksort
    auth = f"{REST_KEY}:{_sign(REST_SECRET, method, signed)}"
    return Wire(verb, method, php_build_query(params), auth)  # sent unsorted


def python_client(method: str, params: Params, verb: str) -> Wire:
    params = {**params, "format": "json"}
    signed = python_urlencode(sorted(params.items()))
    auth = f"{REST_KEY}:{_sign(REST_SECRET, method, signed)}"
    sent = signed if verb == "GET" else python_urlencode(list(params.items()))
    return Wire(verb, method, sent, auth)


def trunkctl_client(method: str, params: Params, verb: str) -> Wire:
    request = build_rest_request(
        Secret(REST_KEY),
        Secret(REST_SECRET),
        "http://novofon.test",
        method.removeprefix("/v1/"),
        params,
        verb,  # type: ignore[arg-type]
    )
    query = request.url.query.decode() if verb == "GET" else request.content.decode()
    return Wire(verb, request.url.path, query, request.headers["authorization"])


CLIENTS: dict[str, Callable[[str, Params, str], Wire]] = {
    "php": php_client,
    "python": python_client,
    "trunkctl": trunkctl_client,
}

CASES: dict[str, Params] = {
    "no params": {},
    "unicode": {"name": "Привет, мир"},
    "emoji (4-byte UTF-8)": {"name": "звонок 📞"},
    "spaces": {"name": "a b  c "},
    "+&=": {"name": "a+b&c=d"},
    "*": {"name": "a*b"},
    "~": {"name": "~user~"},
    "literal %7E": {"name": "100%7E"},
    "ints": {"limit": 1000, "skip": 0},
    "float": {"amount": 1.5},
    "bool": {"predicted": True},
    "empty value": {"name": ""},
    "key order (A < a < b)": {"b": "2", "a": "1", "A": "0"},
    "everything": {"name": "~ *+&=Ж📞", "limit": 7, "flag": True},
}

VERBS = {"GET": "/v1/info/balance/", "POST": "/v1/info/balance/", "PUT": "/v1/sip/callerid/"}


def _params(case: str, verb: str) -> Params:
    params = dict(CASES[case])
    if verb == "PUT":  # sip/callerid needs its two fields (zadarma/openapi)
        params |= {"id": LINE_LOGIN, "number": VIRTUAL}
    return params


async def _send(world: World, wire: Wire) -> httpx.Response:
    headers = {"Authorization": wire.authorization}
    async with httpx.AsyncClient(transport=world.transport()) as http:
        if wire.verb == "GET":
            return await http.get(f"http://novofon.test{wire.path}?{wire.query}", headers=headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return await http.request(
            wire.verb, f"http://novofon.test{wire.path}", content=wire.query, headers=headers
        )


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize("case", list(CASES))
async def test_the_emulator_accepts_each_official_clients_signature(
    world: World, case: str, verb: str, client: str
) -> None:
    wire = CLIENTS[client](VERBS[verb], _params(case, verb), verb)
    answer = await _send(world, wire)
    assert answer.status_code == 200, (case, verb, client, wire, answer.text)
    assert answer.json()["status"] == "success"


@pytest.mark.parametrize("verb", list(VERBS))
@pytest.mark.parametrize("case", list(CASES))
def test_trunkctl_signs_exactly_as_novofons_php_client(case: str, verb: str) -> None:
    params = _params(case, verb)
    ours = trunkctl_client(VERBS[verb], params, verb)
    php = php_client(VERBS[verb], params, verb)
    assert ours.authorization == php.authorization
    # What is sent is the same set of pairs (trunkctl sends them sorted, PHP unsorted).
    assert sorted(ours.query.split("&")) == sorted(php.query.split("&"))


def test_the_two_official_clients_differ_only_on_tilde_and_booleans() -> None:
    differ = {
        case
        for case in CASES
        if php_client("/v1/info/balance/", CASES[case], "GET").authorization
        != python_client("/v1/info/balance/", CASES[case], "GET").authorization
    }
    assert differ == {"~", "bool", "everything"}


async def test_trunkctls_client_end_to_end_with_every_case(world: World) -> None:
    async with world.rest() as client:
        assert isinstance(client, RestV1Client)
        for case in CASES:
            body = await client.call("info/balance", CASES[case], idempotent=True)
            assert body["status"] == "success", case
