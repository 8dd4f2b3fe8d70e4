"""NovoFon call notifications (NOTIFY_* webhooks): a pure verifier and an ASGI receiver.

Facts (novofon/user-api-v1 lib/Webhook/*.php, the Zadarma webhook docs' PHP example):
notifications are form POSTs with ``event`` and per-event fields; the ``Signature`` header
is ``base64(hex(HMAC-SHA1(api_secret, <fields concatenated>)))`` where the fields are

    NOTIFY_START, NOTIFY_INTERNAL, NOTIFY_END, NOTIFY_IVR   caller_id + called_did + call_start
    NOTIFY_ANSWER                                           caller_id + destination + call_start
    NOTIFY_OUT_START, NOTIFY_OUT_END                        internal + destination + call_start
    NOTIFY_RECORD                                           pbx_call_id + call_id_with_rec

(NOTIFY_IVR is a NotifyStart subclass in the PHP client.) A missing optional field such
as ``internal`` concatenates as an empty string, as PHP's ``.`` does with null. Before a
URL is saved, NovoFon checks it with ``GET ?zd_echo=X`` and expects the body ``X``.

zadarma/user-api-typescript's webhook helper instead encodes the *raw* digest in base64;
both forms need the secret, so both are accepted and the event records which one matched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from trunkctl.i18n import Text

from ._asgi import ASGIApp, Receive, Scope, Send, header, lifespan, read_body, respond
from ._errors import NovofonWebhookError
from ._secret import Secret, as_secret, reveal
from ._sign import hmac_sha1_b64hex

__all__ = [
    "HEADER_TIMEOUT",
    "SIGNED_FIELDS",
    "EventHandler",
    "WebhookEvent",
    "header_timeout_protocol",
    "parse_form",
    "verify_webhook",
    "webhook_app",
    "webhook_signature",
    "zd_echo",
]

log = logging.getLogger("trunkctl.novofon.webhook")

_CALLER_CALLED = ("caller_id", "called_did", "call_start")
_OUTGOING = ("internal", "destination", "call_start")

SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "NOTIFY_START": _CALLER_CALLED,
    "NOTIFY_INTERNAL": _CALLER_CALLED,
    "NOTIFY_END": _CALLER_CALLED,
    "NOTIFY_IVR": _CALLER_CALLED,
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_OUT_START": _OUTGOING,
    "NOTIFY_OUT_END": _OUTGOING,
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
"""Which form fields each event's signature covers, in order."""

MAX_BODY = 64 * 1024
HEADER_TIMEOUT = 10.0
"""Seconds a client has, from connecting (or from the first byte of its next request on a
kept-alive connection), to deliver a whole request: NovoFon's posts are a few hundred
bytes, so only a stalled or hostile client (slowloris) needs longer."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified notification: its ``event`` name and every form field as sent."""

    event: str
    fields: Mapping[str, str]
    signature_form: Literal["hex", "raw"] = "hex"

    def get(self, name: str) -> str | None:
        """A form field, or None when NovoFon did not send it."""
        return self.fields.get(name)

    @property
    def pbx_call_id(self) -> str | None:
        """The call's id, stable across the PBX scenario (START ... END, RECORD)."""
        return self.fields.get("pbx_call_id")

    @property
    def disposition(self) -> str | None:
        """END/OUT_END: answered, busy, cancel, no answer, failed, no money, line limit..."""
        return self.fields.get("disposition")

    @property
    def duration(self) -> int | None:
        """END/OUT_END: call length in seconds."""
        value = self.fields.get("duration")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def status_code(self) -> int | None:
        """END/OUT_END: the Q.931 (Q.850) cause code."""
        value = self.fields.get("status_code")
        return int(value) if value is not None and value.isdigit() else None


def parse_form(body: bytes) -> dict[str, str]:
    """``application/x-www-form-urlencoded`` body → fields (the last of a repeated key wins)."""
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def _signed_text(form: Mapping[str, str]) -> tuple[str, str]:
    event = form.get("event", "")
    names = SIGNED_FIELDS.get(event)
    if names is None:
        raise NovofonWebhookError(
            Text(
                "The webhook post has an unknown event {event!r}",
                "Уведомление с неизвестным событием {event!r}",
            ).format(event=event),
            evidence=f"fields: {', '.join(sorted(form))}",
            next_step=Text(
                "Only NOTIFY_* call events are accepted; check what posts to this URL.",
                "Принимаются только события звонков NOTIFY_*; проверьте, кто шлёт запросы "
                "на этот адрес.",
            ),
            reason="unknown_event",
        )
    return event, "".join(form.get(name, "") for name in names)


def webhook_signature(secret: str | Secret, form: Mapping[str, str]) -> str:
    """The ``Signature`` header NovoFon sends for ``form`` (documented hex form)."""
    _event, text = _signed_text(form)
    return hmac_sha1_b64hex(secret, text)


def verify_webhook(
    secret: str | Secret, form: Mapping[str, str], signature: str | None
) -> WebhookEvent:
    """Check a notification's ``Signature``; the event, or :class:`NovofonWebhookError`."""
    event, text = _signed_text(form)
    key = reveal(secret).encode()
    digest = hmac.new(key, text.encode(), hashlib.sha1)
    candidates: tuple[tuple[Literal["hex", "raw"], str], ...] = (
        ("hex", base64.b64encode(digest.hexdigest().encode()).decode()),
        ("raw", base64.b64encode(digest.digest()).decode()),
    )
    given = (signature or "").strip()
    for form_name, expected in candidates:
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return WebhookEvent(event, dict(form), form_name)
    # The evidence names the signed fields, never the expected signature: echoing it would
    # hand a forger the valid signature for the body they sent.
    raise NovofonWebhookError(
        Text(
            "The webhook's signature does not match ({event})",
            "Подпись уведомления не совпадает ({event})",
        ).format(event=event)
        if given
        else Text(
            "The webhook post has no Signature header ({event})",
            "У уведомления нет заголовка Signature ({event})",
        ).format(event=event),
        evidence=f"signed fields: {' + '.join(SIGNED_FIELDS[event])}; "
        f"pbx_call_id: {form.get('pbx_call_id', '-')}",
        next_step=Text(
            "Make sure the receiver uses the same API secret as the NovoFon account "
            "(Settings → API); a post signed with another secret is not from NovoFon.",
            "Проверьте, что приёмник использует тот же секрет API, что и аккаунт NovoFon "
            "(Настройки → API); запрос с другой подписью прислал не NovoFon.",
        ),
        reason="bad_signature" if given else "no_signature",
    )


def zd_echo(query_string: bytes | str) -> str | None:
    """The ``zd_echo`` value of a URL check, or None when the query has none."""
    raw = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if name == "zd_echo":
            return value
    return None


EventHandler = Callable[
    [WebhookEvent], Awaitable[Mapping[str, Any] | None] | Mapping[str, Any] | None
]


def webhook_app(
    secret: str | Secret, on_event: EventHandler, *, max_body: int = MAX_BODY
) -> ASGIApp:
    """An ASGI app receiving NovoFon notifications at any path.

    ``GET ?zd_echo=X`` answers ``X``. A POST is verified, then ``on_event(event)`` runs
    (sync or async); a mapping it returns is sent back as JSON (NOTIFY_START/IVR may answer
    with a redirect this way). Unsigned or forged posts get 403 and never reach the handler.
    """
    key = as_secret(secret)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        client = (scope.get("client") or ("?", 0))[0]
        if scope["method"] in ("GET", "HEAD"):
            echo = zd_echo(scope.get("query_string", b""))
            await respond(send, 200, echo if echo is not None else "trunkctl webhook receiver")
            return
        if scope["method"] != "POST":
            await respond(send, 405, "method not allowed", headers=[("allow", "GET, POST")])
            return
        body = await read_body(receive, max_body)
        if body is None:
            await respond(send, 413, "body too large")
            return
        try:
            event = verify_webhook(key, parse_form(body), header(scope, "signature"))
        except NovofonWebhookError as exc:
            log.warning("webhook from %s refused: %s", client, exc.what.en)
            status = 400 if exc.details.get("reason") == "unknown_event" else 403
            await respond(send, status, exc.what.en)
            return
        try:
            reply = on_event(event)
            if inspect.isawaitable(reply):
                reply = await reply
        except Exception as exc:  # the handler's bug must not kill the server
            log.error(
                "webhook handler failed on %s %s: %s",
                event.event,
                event.pbx_call_id,
                type(exc).__name__,
            )
            await respond(send, 500, "handler failed")
            return
        if reply is None:
            await respond(send, 200, b"")
        else:
            await respond(send, 200, dict(reply))

    return app


def header_timeout_protocol(timeout: float = HEADER_TIMEOUT) -> type[Any]:
    """uvicorn's h11 protocol with a request deadline: a connection that has not delivered
    a whole request (headers and body) ``timeout`` seconds after it opened, or after its
    next request began, is closed.

    uvicorn itself only times out *idle* keep-alive connections; one that sends half a
    header stays open for ever, and a few hundred of them exhaust the receiver. Pass the
    result as ``uvicorn.Config(http=...)``.
    """
    import asyncio

    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        request_timeout = timeout

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._deadline: asyncio.TimerHandle | None = None
            self._arm()

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(self.request_timeout, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
                log.warning(
                    "closing %s: no complete request within %g s", client, self.request_timeout
                )
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
                self._disarm()  # the request is in; the handler's time is not the client's
            else:
                self._arm()  # a request has begun (again, on a kept-alive connection)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
