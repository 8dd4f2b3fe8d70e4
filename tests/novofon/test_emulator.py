"""The emulator at the protocol level, with raw httpx requests (no trunkctl client).

Requests here are built by hand, so these tests pin the emulator to NovoFon's documented
wire behaviour independently of the clients (client tests: test_rest_client.py,
test_jsonrpc_client.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import httpx
import pytest

from trunkctl.novofon.emulator import Backend, EmulatorLimits, InMemoryBackend

from .conftest import API_KEY, LINE_LOGIN, LOGIN, PASSWORD, REST_KEY, REST_SECRET, World, make_world


def _raw(world: World) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=world.transport(), base_url="http://novofon.test")


def _auth(path: str, query: str, secret: str = REST_SECRET) -> str:
    md5_hex = hashlib.md5(query.encode()).hexdigest()
    mac = hmac.new(secret.encode(), (path + query + md5_hex).encode(), hashlib.sha1).hexdigest()
    return f"{REST_KEY}:{base64.b64encode(mac.encode()).decode()}"


async def test_rest_accepts_an_unsorted_query_signed_over_the_sorted_one(world: World) -> None:
    # The server re-sorts what it receives, as NovoFon's PHP does: order on the wire is free.
    path, signed = "/v1/sip/", "format=json&z=1"
    async with _raw(world) as http:
        response = await http.get(
            f"{path}?z=1&format=json", headers={"Authorization": _auth(path, signed)}
        )
    assert response.status_code == 200
    assert response.json()["status"] == "success"


async def test_rest_signature_accepts_both_encodings_of_tilde(world: World) -> None:
    # novofon/user-api-v1 lib/Client.php signs ~ as %7E, zadarma/user-api-py-v1
    # zadarma/api.py as a literal ~; which one NovoFon's server takes is not published, so
    # the emulator takes both (issue 13). A wrong signature is still refused.
    path = "/v1/sip/"
    async with _raw(world) as http:
        php = await http.get(
            f"{path}?format=json&x=%7E", headers={"Authorization": _auth(path, "format=json&x=%7E")}
        )
        python = await http.get(
            f"{path}?format=json&x=~", headers={"Authorization": _auth(path, "format=json&x=~")}
        )
        wrong = await http.get(
            f"{path}?format=json&x=~", headers={"Authorization": _auth(path, "format=json&x=-")}
        )
    assert php.status_code == 200
    assert python.status_code == 200
    assert wrong.status_code == 401
    assert wrong.json() == {"status": "error", "message": "Auth error"}


async def test_rest_post_form_body_is_signed_too(world: World) -> None:
    path, body = "/v1/request/callback/", "format=json&from=100&to=79991234567"
    async with _raw(world) as http:
        response = await http.post(
            path,
            content=body,
            headers={
                "Authorization": _auth(path, body),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    assert response.status_code == 200
    assert response.json()["to"] == "79991234567"


async def test_rest_missing_authorization_and_unknown_paths(world: World) -> None:
    async with _raw(world) as http:
        unsigned = await http.get("/v1/info/balance/?format=json")
        elsewhere = await http.get("/v3.0")
    assert unsigned.status_code == 401
    assert elsewhere.status_code == 404


async def test_rest_limit_headers_count_down_and_429_says_when() -> None:
    world = make_world(limits=EmulatorLimits(rest_per_minute=2))
    path, query = "/v1/info/balance/", "format=json"
    headers = {"Authorization": _auth(path, query)}
    async with _raw(world) as http:
        first = await http.get(f"{path}?{query}", headers=headers)
        world.clock.advance(10)
        second = await http.get(f"{path}?{query}", headers=headers)
        third = await http.get(f"{path}?{query}", headers=headers)
        world.clock.advance(50)  # the first hit leaves the window
        fourth = await http.get(f"{path}?{query}", headers=headers)
    assert [r.headers["x-ratelimit-remaining"] for r in (first, second)] == ["1", "0"]
    assert third.status_code == 429
    assert third.json() == {"status": "error", "message": "You exceeded the rate limit"}
    assert third.headers["retry-after"] == "50"
    assert int(third.headers["x-ratelimit-reset"]) == int(world.clock.now)
    assert fourth.status_code == 200


async def test_rest_whitelist_is_optional() -> None:
    from .conftest import account

    world = make_world(account(rest_ip_whitelist=("10.0.0.0/8",)))
    path, query = "/v1/info/balance/", "format=json"
    async with _raw(world) as http:
        response = await http.get(f"{path}?{query}", headers={"Authorization": _auth(path, query)})
    assert response.status_code == 403


# --- JSON-RPC envelope -------------------------------------------------------------------


async def _rpc(world: World, body: Any, path: str = "/v2.0") -> dict[str, Any]:
    async with _raw(world) as http:
        if isinstance(body, bytes):
            response = await http.post(path, content=body)
        else:
            response = await http.post(path, json=body)
    assert response.status_code == 200
    result: dict[str, Any] = response.json()
    return result


def _error(answer: dict[str, Any]) -> tuple[int, str]:
    return answer["error"]["code"], answer["error"]["data"]["mnemonic"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", (-32700, "parse_error")),
        (
            [{"jsonrpc": "2.0", "id": 1, "method": "get.account"}],
            (-32099, "batch_opreations_not_supported"),
        ),
        ({"jsonrpc": "1.0", "id": 1, "method": "get.account"}, (-32600, "invalid_request")),
        (
            {"jsonrpc": "2.0", "method": "get.account", "params": {}},
            (-32099, "notifications_not_supported"),
        ),
        (
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "get.nothing",
                "params": {"access_token": API_KEY},
            },
            (-32601, "method_not_found"),
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "get.account", "params": {}},
            (-32602, "required_parameter_missed"),
        ),
        (
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "get.account",
                "params": {"access_token": API_KEY, "colour": "red"},
            },
            (-32602, "unexpected_parameters"),
        ),
        (
            {"jsonrpc": "2.0", "id": 1, "method": "login.user", "params": {"login": LOGIN}},
            (-32602, "required_parameter_missed"),
        ),
    ],
)
async def test_jsonrpc_envelope_errors(world: World, body: Any, expected: tuple[int, str]) -> None:
    answer = await _rpc(world, body)
    assert _error(answer) == expected
    assert answer["jsonrpc"] == "2.0"
    assert "limits" in answer["error"]["data"]["metadata"]


async def test_jsonrpc_error_keeps_the_request_id(world: World) -> None:
    answer = await _rpc(
        world,
        {
            "jsonrpc": "2.0",
            "id": "req-7",
            "method": "get.account",
            "params": {"access_token": "nope"},
        },
    )
    assert answer["id"] == "req-7"
    assert _error(answer) == (-32001, "access_token_invalid")


async def test_login_then_get_with_metadata(world: World) -> None:
    login = await _rpc(
        world,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "login.user",
            "params": {"login": LOGIN, "password": PASSWORD},
        },
    )
    data = login["result"]["data"]
    assert data["expire_at"] == int(world.clock.now) + 3600
    assert data["app_id"] == 100001  # Data API's login.user carries app_id
    lines = await _rpc(
        world,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "get.sip_lines",
            "params": {
                "access_token": data["access_token"],
                "filter": {"field": "phone_number", "operator": "=", "value": LINE_LOGIN},
                "fields": ["id", "physical_state"],
            },
        },
    )
    assert lines["result"]["data"] == [{"id": 11, "physical_state": "unregistered"}]
    assert lines["result"]["metadata"]["total_items"] == 1
    assert lines["result"]["metadata"]["limits"]["minute_remaining"] == 58


async def test_call_api_login_has_no_app_id_and_filters_are_checked(world: World) -> None:
    login = await _rpc(
        world,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "login.user",
            "params": {"login": LOGIN, "password": PASSWORD},
        },
        "/v4.0",
    )
    assert set(login["result"]["data"]) == {"access_token", "expire_at"}
    answer = await _rpc(
        world,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "get.sip_lines",
            "params": {
                "access_token": API_KEY,
                "filter": {"field": "secret", "operator": "=", "value": 1},
            },
        },
    )
    assert _error(answer) == (-32602, "filter_prohibited")


async def test_early_switching_needs_operator_first_and_switch_at_once(world: World) -> None:
    answer = await _rpc(
        world,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "start.simple_call",
            "params": {
                "access_token": API_KEY,
                "first_call": "contact",
                "early_switching": True,
                "virtual_phone_number": "74951112233",
                "contact": "79991234567",
                "operator": "79160000001",
            },
        },
        "/v4.0",
    )
    assert _error(answer) == (-32602, "invalid_parameters_combination")


async def test_day_limit() -> None:
    world = make_world(limits=EmulatorLimits(jsonrpc_per_day=1))
    body = {"jsonrpc": "2.0", "id": 1, "method": "get.account", "params": {"access_token": API_KEY}}
    assert "result" in await _rpc(world, body)
    refused = await _rpc(world, body)
    assert _error(refused) == (-32029, "limit_exceeded")
    assert refused["error"]["message"] == (
        "Limit per day has been exceeded. Value of current limit per day is 1"
    )
    assert refused["error"]["data"]["params"] == {"limit_type": "day", "limit_max_value": 1}


def test_in_memory_backend_satisfies_the_protocol() -> None:
    assert isinstance(InMemoryBackend(), Backend)
