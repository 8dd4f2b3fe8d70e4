"""`trunkctl webhook serve | events | check`: NovoFon's call notifications (NOTIFY_*).

``serve`` runs the ASGI receiver (:func:`trunkctl.novofon.webhook_app`) under uvicorn:
NovoFon's URL check (``GET ?zd_echo=X``) answers ``X``, a post is accepted only with a
valid ``Signature`` (HMAC-SHA1 with the API secret), and every accepted event goes into
the call log. ``check`` proves a receiver from outside — through nginx, say.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trunkctl.i18n import Text

from ._api import ApiUrlOpt, ArgvSecretOpt, CredentialsStdinOpt, api_config
from ._app_state import JsonOpt, out

if TYPE_CHECKING:
    from trunkctl.calllog import CallLog
    from trunkctl.novofon import NovofonConfig, WebhookEvent
    from trunkctl.secret import Secret

app = typer.Typer(
    help="NovoFon's call notifications (NOTIFY_*): receive them into the call log.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

log = logging.getLogger("trunkctl.webhook")

CallLogOpt = Annotated[
    Path | None,
    typer.Option("--call-log", help="The call log (default: TRUNKCTL_CALL_LOG or the system's)."),
]


CHECK_PREFIX = "trunkctl-check-"
"""``pbx_call_id`` prefix of the synthetic event `webhook check` posts: stored as a check."""
DEFAULT_ZONE = "Europe/Moscow"
"""The zone ``call_start`` is read in unless told: NovoFon stamps in the account's time
zone (``info/timezone``), Moscow unless the account changed it."""


_ONCE_PER_CALL = frozenset({"NOTIFY_START", "NOTIFY_END", "NOTIFY_OUT_START", "NOTIFY_OUT_END"})


def call_start_epoch(text: str | None, zone: str = DEFAULT_ZONE) -> float | None:
    """A webhook's ``call_start`` (``Y-m-d H:M:S`` in ``zone``) as epoch seconds, or None."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not text:
        return None
    try:
        stamp = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return stamp.replace(tzinfo=ZoneInfo(zone)).timestamp()


def record_webhook(call_log: CallLog, event: WebhookEvent, *, zone: str = DEFAULT_ZONE) -> bool:
    """Store a verified notification once; an END (in or out) also becomes a call row.

    Idempotent by (event, pbx_call_id): a replay (NovoFon retrying, or anyone re-posting a
    captured signed post) is not stored again and False is returned; the receiver still
    answers 200, so NovoFon stops retrying. A call row starts at the event's
    ``call_start`` (read in ``zone``), not at its arrival. The event `webhook check` posts
    is stored with source ``webhook-check`` and never becomes a call.
    """
    from trunkctl.novofon import disposition_status

    check = (event.pbx_call_id or "").startswith(CHECK_PREFIX)
    stored = call_log.record_event(
        source="webhook-check" if check else "webhook",
        kind=event.event,
        call_id=event.pbx_call_id,
        payload=dict(event.fields),
        once=True,
        # A call starts and ends once; INTERNAL/ANSWER/IVR/RECORD may come again for
        # another extension or recording, and only an identical post is a replay.
        same_payload=event.event not in _ONCE_PER_CALL,
    )
    if stored is None:
        log.info("%s pbx_call_id=%s again: a replay, not stored", event.event, event.pbx_call_id)
        return False
    if event.event in ("NOTIFY_END", "NOTIFY_OUT_END") and not check:
        outgoing = event.event == "NOTIFY_OUT_END"
        duration = event.duration
        started = call_start_epoch(event.get("call_start"), zone)
        call_log.record_call(
            source="webhook",
            number=event.get("destination") if outgoing else event.get("caller_id"),
            status=disposition_status(event.disposition),
            channel_id=event.pbx_call_id,
            q850=event.status_code,
            talk_duration=float(duration) if duration is not None else None,
            started_at=started,
            detail={
                "direction": "out" if outgoing else "in",
                "disposition": event.disposition,
                "call_start": event.get("call_start"),
                "call_start_zone": zone if started is not None else None,
                "caller_id": event.get("caller_id"),
                "called_did": event.get("called_did"),
                "internal": event.get("internal"),
            },
        )
    log.info(
        "%s pbx_call_id=%s %s",
        event.event,
        event.pbx_call_id or "-",
        event.disposition or "",
    )
    return True


def _secret(conf: NovofonConfig) -> Secret:
    from trunkctl.novofon import NovofonConfigError

    secret = conf.credential("secret")
    if secret is None:
        raise NovofonConfigError(
            Text(
                "the NovoFon API secret is not configured: it is what signs the webhooks",
                "секрет API NovoFon не задан, а именно им подписаны уведомления",
            ),
            next_step=Text(
                "Set secret_file in the settings file's [novofon] table, or "
                "TRUNKCTL_NOVOFON_SECRET, or pipe `secret=...` to --credentials-stdin.",
                "Задайте secret_file в таблице [novofon] файла настроек, или "
                "TRUNKCTL_NOVOFON_SECRET, или передайте `secret=...` через --credentials-stdin.",
            ),
        )
    return secret


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (behind nginx: loopback).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8089,
    trusted_proxy: Annotated[
        str,
        typer.Option("--trusted-proxy", help="Whose X-Forwarded-For to believe (comma-separated)."),
    ] = "127.0.0.1",
    call_log: CallLogOpt = None,
    zone: Annotated[
        str,
        typer.Option(
            "--zone", help="The account's time zone, which call_start is stamped in (IANA)."
        ),
    ] = DEFAULT_ZONE,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            help="Seconds a client has to deliver a whole request before it is dropped.",
            min=0.1,
        ),
    ] = 10.0,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
) -> None:
    """Receive NOTIFY_* posts: zd_echo check, Signature verification, into the call log."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import uvicorn

    from trunkctl.calllog import CallLog
    from trunkctl.errors import BadInput
    from trunkctl.novofon import header_timeout_protocol, webhook_app

    o = out()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadInput(
            Text("unknown time zone {zone!r}", "неизвестный часовой пояс {zone!r}").format(
                zone=zone
            ),
            next_step=Text(
                "Give an IANA zone such as Europe/Moscow (the account's zone: "
                "NovoFon cabinet, or REST v1 info/timezone).",
                "Укажите зону IANA, например Europe/Moscow (зона аккаунта: кабинет "
                "NovoFon или REST v1 info/timezone).",
            ),
        ) from exc
    secret = _secret(api_config(None, None, credentials_stdin, argv_secret))
    logs = CallLog(call_log)

    def on_event(event: WebhookEvent) -> None:
        # Stored or a replay alike, the answer is 200 with an empty body.
        record_webhook(logs, event, zone=zone)

    receiver = webhook_app(secret, on_event)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    o.progress(
        Text(
            f"Receiving NovoFon webhooks on http://{host}:{port}/ into {logs.path} (Ctrl+C stops).",
            f"Принимаю уведомления NovoFon на http://{host}:{port}/ в {logs.path} "
            "(Ctrl+C — остановить).",
        )
    )
    try:
        uvicorn.run(
            receiver,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=True,
            forwarded_allow_ips=trusted_proxy,
            server_header=False,
            http=header_timeout_protocol(header_timeout),
        )
    finally:
        logs.close()


@app.command()
def events(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 20,
    call_id: Annotated[str | None, typer.Option("--call-id", help="Only this pbx_call_id.")] = None,
    call_log: CallLogOpt = None,
    json_: JsonOpt = False,
) -> None:
    """The notifications the receiver stored (newest first)."""
    from trunkctl.calllog import CallLog

    o = out(json_)
    with CallLog(call_log) as logs:
        found = logs.events(limit=limit, call_id=call_id)
    if o.json:
        o.emit_json({"events": found})
        return
    if not found:
        o.say(Text("No notifications yet.", "Уведомлений пока нет."))
    for item in found:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item["received_at"]))
        payload = item["payload"]
        mark = " (check)" if item["source"] == "webhook-check" else ""
        o.say(
            f"{stamp} {item['kind']}{mark} {item['call_id'] or '-'} "
            f"{payload.get('caller_id') or payload.get('internal') or ''} → "
            f"{payload.get('called_did') or payload.get('destination') or ''} "
            f"{payload.get('disposition') or ''}".rstrip()
        )


def _sample(pbx_call_id: str) -> dict[str, str]:
    return {
        "event": "NOTIFY_START",
        "call_start": time.strftime("%Y-%m-%d %H:%M:%S"),
        "pbx_call_id": pbx_call_id,
        "caller_id": "79990000000",
        "called_did": "74950000000",
    }


@app.command()
def check(
    url: Annotated[str, typer.Argument(help="The receiver's public URL, as NovoFon posts to.")],
    api_url: ApiUrlOpt = None,
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Prove a receiver: it echoes zd_echo, takes a signed post and refuses a forged one."""
    import httpx

    from trunkctl.novofon import webhook_signature

    o = out(json_)
    conf = api_config(api_url, None, credentials_stdin, argv_secret)
    secret = _secret(conf)
    token = f"{CHECK_PREFIX}{secrets.token_hex(4)}"
    form = _sample(token)
    results: list[dict[str, Any]] = []

    def step(name: str, ok: bool, detail: str) -> None:
        results.append({"check": name, "ok": ok, "detail": detail})

    try:
        signature = webhook_signature(secret, form)
        with httpx.Client(timeout=10.0) as http:
            echo = http.get(url, params={"zd_echo": token})
            step("zd_echo", echo.status_code == 200 and echo.text == token, _said(echo, signature))
            signed = http.post(url, data=form, headers={"Signature": signature})
            step("signed", signed.status_code == 200, _said(signed, signature))
            forged = http.post(url, data=form, headers={"Signature": "Zm9yZ2Vk"})
            step("forged", forged.status_code == 403, _said(forged, signature))
    except httpx.HTTPError as exc:
        step("connect", False, _masked(f"{type(exc).__name__}: {exc}", form, secret))
    ok = all(r["ok"] for r in results)
    if o.json:
        o.emit_json({"ok": ok, "url": url, "checks": results})
    else:
        labels = {
            "zd_echo": Text("URL check (zd_echo) echoed", "проверка адреса (zd_echo) отвечена"),
            "signed": Text("signed post accepted", "подписанный запрос принят"),
            "forged": Text("forged post refused", "поддельный запрос отклонён"),
            "connect": Text("connection", "соединение"),
        }
        for r in results:
            mark = "[green]✓[/green]" if r["ok"] else "[red]✗[/red]"
            o.console.print(f"{mark} {o.t(labels[r['check']])}: {r['detail']}", highlight=False)
    if not ok:
        raise typer.Exit(1)


def _said(response: Any, signature: str) -> str:
    # A receiver that echoes the request's headers must not get the signature (valid for
    # replaying this very post) into the output.
    text = str(response.text).replace(signature, "***")
    return f"HTTP {response.status_code} {text[:60]!r}"


def _masked(text: str, form: dict[str, str], secret: Secret) -> str:
    from trunkctl.novofon import webhook_signature

    return text.replace(webhook_signature(secret, form), "***").replace(secret.reveal(), "***")
