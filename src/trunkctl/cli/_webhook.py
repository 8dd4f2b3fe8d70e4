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


def record_webhook(call_log: CallLog, event: WebhookEvent) -> None:
    """Store a verified notification; an END (in or out) also becomes a call row."""
    from trunkctl.novofon import disposition_status

    call_log.record_event(
        source="webhook", kind=event.event, call_id=event.pbx_call_id, payload=dict(event.fields)
    )
    if event.event in ("NOTIFY_END", "NOTIFY_OUT_END"):
        outgoing = event.event == "NOTIFY_OUT_END"
        duration = event.duration
        call_log.record_call(
            source="webhook",
            number=event.get("destination") if outgoing else event.get("caller_id"),
            status=disposition_status(event.disposition),
            channel_id=event.pbx_call_id,
            q850=event.status_code,
            talk_duration=float(duration) if duration is not None else None,
            detail={
                "direction": "out" if outgoing else "in",
                "disposition": event.disposition,
                "call_start": event.get("call_start"),
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
    credentials_stdin: CredentialsStdinOpt = False,
    argv_secret: ArgvSecretOpt = None,
) -> None:
    """Receive NOTIFY_* posts: zd_echo check, Signature verification, into the call log."""
    import uvicorn

    from trunkctl.calllog import CallLog
    from trunkctl.novofon import webhook_app

    o = out()
    secret = _secret(api_config(None, None, credentials_stdin, argv_secret))
    logs = CallLog(call_log)
    receiver = webhook_app(secret, lambda event: record_webhook(logs, event))
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
        o.say(
            f"{stamp} {item['kind']} {item['call_id'] or '-'} "
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
    token = f"trunkctl-check-{secrets.token_hex(4)}"
    form = _sample(token)
    results: list[dict[str, Any]] = []

    def step(name: str, ok: bool, detail: str) -> None:
        results.append({"check": name, "ok": ok, "detail": detail})

    try:
        with httpx.Client(timeout=10.0) as http:
            echo = http.get(url, params={"zd_echo": token})
            step("zd_echo", echo.status_code == 200 and echo.text == token, _said(echo))
            signed = http.post(
                url, data=form, headers={"Signature": webhook_signature(secret, form)}
            )
            step("signed", signed.status_code == 200, _said(signed))
            forged = http.post(url, data=form, headers={"Signature": "Zm9yZ2Vk"})
            step("forged", forged.status_code == 403, _said(forged))
    except httpx.HTTPError as exc:
        step("connect", False, f"{type(exc).__name__}: {exc}")
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


def _said(response: Any) -> str:
    return f"HTTP {response.status_code} {response.text[:60]!r}"
