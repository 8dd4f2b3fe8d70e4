"""Webhook signature verification (pure) and the ASGI receiver, driven via httpx.

The expected signature below was made with OpenSSL, not with trunkctl:

    printf '%s' '79161234567749512345672024-05-01 10:00:00' \\
      | openssl dgst -sha1 -hmac Zx8f0P0q7hRk3N2aB9cD -r   # then base64 of the hex
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from trunkctl.novofon import (
    SIGNED_FIELDS,
    NovofonWebhookError,
    WebhookEvent,
    verify_webhook,
    webhook_app,
    webhook_signature,
    zd_echo,
)
from trunkctl.secret import Secret

SECRET = "Zx8f0P0q7hRk3N2aB9cD"
START = {
    "event": "NOTIFY_START",
    "call_start": "2024-05-01 10:00:00",
    "pbx_call_id": "in_0123456789abcdef",
    "caller_id": "79161234567",
    "called_did": "74951234567",
}
START_SIGNATURE = "NGNhOGZjMDg4Yzc5OGMwZjU5N2JhZTA5NWVmYjNiYzJlZDUxNjY5OA=="
START_SIGNATURE_RAW = "TKj8CIx5jA9Ze64JXvs7wu1RZpg="  # openssl dgst -binary | base64


def _by_hand(text: str, secret: str = SECRET) -> str:
    mac_hex = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(mac_hex.encode()).decode()


def test_openssl_vector() -> None:
    assert webhook_signature(SECRET, START) == START_SIGNATURE
    event = verify_webhook(SECRET, START, START_SIGNATURE)
    assert (event.event, event.pbx_call_id, event.signature_form) == (
        "NOTIFY_START",
        "in_0123456789abcdef",
        "hex",
    )


def test_raw_digest_form_is_accepted_and_recorded() -> None:
    assert verify_webhook(Secret(SECRET), START, START_SIGNATURE_RAW).signature_form == "raw"


@pytest.mark.parametrize(
    ("form", "signed_text"),
    [
        (
            {"event": "NOTIFY_ANSWER", "caller_id": "791", "destination": "100", "call_start": "t"},
            "791100t",
        ),
        (
            {
                "event": "NOTIFY_END",
                "caller_id": "791",
                "called_did": "749",
                "call_start": "t",
                "duration": "42",
                "disposition": "answered",
                "status_code": "16",
            },
            "791749t",
        ),
        (
            {
                "event": "NOTIFY_OUT_START",
                "internal": "100",
                "destination": "7999",
                "call_start": "t",
            },
            "1007999t",
        ),
        # ``internal`` is optional; PHP concatenates a missing field as "".
        ({"event": "NOTIFY_OUT_END", "destination": "7999", "call_start": "t"}, "7999t"),
        ({"event": "NOTIFY_RECORD", "pbx_call_id": "in_1", "call_id_with_rec": "1.2"}, "in_11.2"),
        (
            {"event": "NOTIFY_IVR", "caller_id": "791", "called_did": "749", "call_start": "t"},
            "791749t",
        ),
        (
            {
                "event": "NOTIFY_INTERNAL",
                "caller_id": "791",
                "called_did": "749",
                "call_start": "t",
            },
            "791749t",
        ),
    ],
)
def test_each_event_signs_its_documented_fields(form: dict[str, str], signed_text: str) -> None:
    event = verify_webhook(SECRET, form, _by_hand(signed_text))
    assert event.event == form["event"]


def test_end_event_fields() -> None:
    form = {
        "event": "NOTIFY_END",
        "caller_id": "791",
        "called_did": "749",
        "call_start": "t",
        "duration": "42",
        "disposition": "no answer",
        "status_code": "19",
    }
    event = verify_webhook(SECRET, form, _by_hand("791749t"))
    assert (event.duration, event.disposition, event.status_code) == (42, "no answer", 19)


@pytest.mark.parametrize("signature", [None, "", "bm9wZQ==", START_SIGNATURE + "x"])
def test_bad_or_missing_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(NovofonWebhookError) as caught:
        verify_webhook(SECRET, START, signature)
    text = str(caught.value.to_dict("en")) + str(caught.value.to_dict("ru"))
    assert START_SIGNATURE not in text and SECRET not in text  # never hand out the answer
    assert caught.value.what.ru


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(NovofonWebhookError):
        verify_webhook("another-secret-00000", START, START_SIGNATURE)


def test_unknown_event_is_refused() -> None:
    with pytest.raises(NovofonWebhookError) as caught:
        verify_webhook(SECRET, {"event": "NOTIFY_SMS"}, "x")
    assert caught.value.details["reason"] == "unknown_event"


@given(
    st.sampled_from(sorted(SIGNED_FIELDS)),
    st.dictionaries(
        st.sampled_from(
            [
                "caller_id",
                "called_did",
                "destination",
                "internal",
                "call_start",
                "pbx_call_id",
                "call_id_with_rec",
            ]
        ),
        st.text(alphabet="0123456789-: _abc", max_size=20),
    ),
    st.text(alphabet="abcdef0123456789", min_size=1, max_size=5),
)
def test_tampering_any_signed_field_breaks_the_signature(
    event: str, fields: dict[str, str], junk: str
) -> None:
    form = {**fields, "event": event}
    signature = webhook_signature(SECRET, form)
    assert verify_webhook(SECRET, form, signature).fields == form
    for name in SIGNED_FIELDS[event]:
        tampered = {**form, name: form.get(name, "") + junk}
        with pytest.raises(NovofonWebhookError):
            verify_webhook(SECRET, tampered, signature)


def test_zd_echo() -> None:
    assert zd_echo(b"zd_echo=abc123") == "abc123"
    assert zd_echo("a=1&zd_echo=x%20y") == "x y"
    assert zd_echo(b"a=1") is None


# --- the ASGI receiver -------------------------------------------------------------------


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hook.test")


async def test_receiver_answers_the_url_check() -> None:
    async with _client(webhook_app(SECRET, lambda e: None)) as client:
        response = await client.get("/novofon", params={"zd_echo": "d41d8cd98f"})
    assert (response.status_code, response.text) == (200, "d41d8cd98f")


async def test_receiver_passes_verified_events_and_returns_the_reply() -> None:
    seen: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> dict[str, Any]:
        seen.append(event)
        return {"redirect": "100"}

    async with _client(webhook_app(SECRET, on_event)) as client:
        response = await client.post(
            "/",
            content=urlencode(START),
            headers={
                "Signature": START_SIGNATURE,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
    assert response.status_code == 200
    assert response.json() == {"redirect": "100"}
    assert [e.fields for e in seen] == [START]


async def test_receiver_sync_handler_returning_none() -> None:
    seen: list[str] = []
    async with _client(webhook_app(SECRET, lambda e: seen.append(e.event))) as client:
        response = await client.post("/", data=START, headers={"Signature": START_SIGNATURE})
    assert (response.status_code, response.content, seen) == (200, b"", ["NOTIFY_START"])


async def test_receiver_refuses_forgeries_before_the_handler() -> None:
    called: list[WebhookEvent] = []
    async with _client(webhook_app(SECRET, called.append)) as client:
        forged = await client.post(
            "/", data={**START, "caller_id": "70000000000"}, headers={"Signature": START_SIGNATURE}
        )
        unsigned = await client.post("/", data=START)
        unknown = await client.post("/", data={"event": "HELLO"}, headers={"Signature": "x"})
        big = await client.post("/", content=b"a=" + b"x" * 70000)
        put = await client.put("/", data=START)
    assert [r.status_code for r in (forged, unsigned, unknown, big, put)] == [
        403,
        403,
        400,
        413,
        405,
    ]
    assert called == []


async def test_receiver_survives_a_failing_handler() -> None:
    def boom(event: WebhookEvent) -> None:
        raise RuntimeError("handler bug")

    async with _client(webhook_app(SECRET, boom)) as client:
        response = await client.post("/", data=START, headers={"Signature": START_SIGNATURE})
    assert response.status_code == 500


async def test_receiver_speaks_lifespan() -> None:
    app = webhook_app(SECRET, lambda e: None)
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
