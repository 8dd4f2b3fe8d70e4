"""`trunkctl call NUMBER`: the seed's test call, with live progress and an explained verdict."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from trunkctl.i18n import Text

from ._app_state import JsonOpt, out
from ._common import run, settings

_PROGRESS = {
    "dialing": Text("dialing…", "набор…"),
    "ringing": Text("ringing…", "идёт вызов…"),
    "answered": Text("answered", "ответили"),
    "hangup": Text("hung up", "трубку положили"),
}


def print_verdict(report: dict[str, Any]) -> None:
    """A call's verdict for humans: the headline, codes, timings, meaning and next steps."""
    o = out()
    res, exp = report["result"], report["explanation"]
    style = {"ok": "bold green", "warn": "bold yellow"}.get(exp["severity"], "bold red")
    o.console.print(f"[{style}]{exp['headline']}[/{style}]", highlight=False)
    codes = []
    if res["sip_code"]:
        codes.append(f"SIP {res['sip_code']} {res['sip_reason'] or ''}".rstrip())
    if res["q850"] is not None:
        codes.append(f"Q.850 {res['q850']} {res['q850_text'] or ''}".rstrip())
    if res["dial_status"]:
        codes.append(f"DIALSTATUS {res['dial_status']}")
    if codes:
        o.say("  " + " · ".join(codes))
    times = []
    for key, label in (
        ("time_to_ring", Text("to ring", "до звонка")),
        ("time_to_answer", Text("to answer", "до ответа")),
        ("talk_duration", Text("talk", "разговор")),
    ):
        if res.get(key) is not None:
            times.append(f"{o.t(label)} {res[key]:.2f} s")
    if times:
        o.say("  " + ", ".join(times))
    o.say(exp["meaning"])
    for step in exp["next_steps"]:
        o.say(f"  → {step}", style="green")


def call(
    number: Annotated[str, typer.Argument(help="Number to call: 8…, 7…, +7… or +E.164.")],
    play: Annotated[str, typer.Option(help="Sound to play when answered.")] = "hello-world",
    app_: Annotated[
        str | None, typer.Option("--app", help="Dialplan app instead of Playback.")
    ] = None,
    data: Annotated[str | None, typer.Option(help="Data for --app.")] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 30.0,
    trunk: Annotated[str, typer.Option(help="Trunk whose state explains the outcome.")] = "novofon",
    context: Annotated[
        str, typer.Option(help="Dialplan context the Local channel runs in.")
    ] = "outgoing",
    verification: Annotated[
        bool, typer.Option("--verification", help="This is NovoFon's IP verification call.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Originate Local/NUMBER@outgoing with Playback, follow it, and explain how it ended.

    Exit codes: 0 answered, 10 busy, 11 no answer, 12 rejected, 13 not found,
    14 congestion, 15 unavailable, 16 failed, 17 timeout, 18 interrupted.
    """
    from trunkctl.calling import place_test_call

    o = out(json_)
    application, app_data = (app_, data) if app_ else ("Playback", play)

    def progress(word: str) -> None:
        o.progress(_PROGRESS.get(word, Text(word, word)))

    report = run(
        place_test_call(
            settings(),
            number,
            context=context,
            app=application,
            data=app_data,
            timeout=timeout,
            trunk=trunk,
            verification=verification,
            on_event=None if o.json else progress,
        )
    )
    data_out = report.to_dict(o.language)
    if o.json:
        o.emit_json(data_out)
    else:
        o.say(Text(f"Call {report.channel}", f"Звонок {report.channel}"), style="bold")
        print_verdict(data_out)
    raise typer.Exit(report.exit_code)
