"""`trunkctl call NUMBER`: the seed's test call, explained; `--numbers FILE`: many calls.

Both write every call into the call log (`trunkctl history`). The volume run is
:class:`trunkctl.calling.CampaignRunner`; this module only shows its progress and results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out
from ._common import run, settings
from ._output import Output

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

    from trunkctl.calling import CampaignProgress, CampaignReport, CampaignRunner, NumberResult
    from trunkctl.calllog import CallLog

T = TypeVar("T")

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
            times.append(f"{o.t(label)} {res[key]:.2f} {o.t(Text('s', 'с'))}")
    if times:
        o.say("  " + ", ".join(times))
    o.say(exp["meaning"])
    lines = report.get("asterisk_log") or []
    if lines:
        where = report.get("log_file") or "messages.log"
        o.say(Text(f"Asterisk logged ({where}):", f"Asterisk записал в журнал ({where}):"))
        for line in lines:
            o.say(f"  {line}", style="dim")
    for step in exp["next_steps"]:
        o.say(f"  → {step}", style="green")


def call(
    number: Annotated[
        str | None, typer.Argument(help="Number to call: 8…, 7…, +7… or +E.164.")
    ] = None,
    numbers: Annotated[
        str | None,
        typer.Option(
            "--numbers",
            help="Call every number in this file (one per line, '#' comments); '-' reads "
            "standard input. Resumable: run it again to continue.",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option(help="With --numbers: calls in progress at once.")
    ] = 5,
    cps: Annotated[
        float, typer.Option("--cps", help="With --numbers: new calls per second, at most.")
    ] = 1.0,
    campaign: Annotated[
        str | None,
        typer.Option(
            help="With --numbers: campaign name (default: made from the list's numbers). "
            "Numbers already called in it are not called again."
        ),
    ] = None,
    retry: Annotated[
        str | None,
        typer.Option(
            help="With --numbers: call again the numbers whose last outcome is one of these, "
            "e.g. interrupted,failed (or all)."
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            help="With --numbers: skip lines that are not numbers (they are listed) instead "
            "of refusing the whole run.",
        ),
    ] = False,
    play: Annotated[str, typer.Option(help="Sound to play when answered.")] = "hello-world",
    app_: Annotated[
        str | None, typer.Option("--app", help="Dialplan app instead of Playback.")
    ] = None,
    data: Annotated[str | None, typer.Option(help="Data for --app.")] = None,
    timeout: Annotated[
        float, typer.Option(help="Give up on a call after this many seconds.")
    ] = 30.0,
    ring_timeout: Annotated[
        float | None,
        typer.Option(
            help="With --numbers: how long Asterisk lets each call ring (default: 2/3 of "
            "--timeout, as for one call)."
        ),
    ] = None,
    trunk: Annotated[str, typer.Option(help="Trunk whose state explains the outcome.")] = "novofon",
    context: Annotated[
        str, typer.Option(help="Dialplan context the Local channel runs in.")
    ] = "outgoing",
    verification: Annotated[
        bool, typer.Option("--verification", help="This is NovoFon's IP verification call.")
    ] = False,
    trace: Annotated[
        bool,
        typer.Option(
            "--trace",
            help="Show the call's SIP messages as a ladder (--json: add sip_trace with the "
            "raw messages). Needs root; credentials are masked.",
        ),
    ] = False,
    pcap: Annotated[
        str | None,
        typer.Option(
            "--pcap",
            help="Write the call's SIP messages to this pcap file (Wireshark, tshark, "
            "sngrep). Needs root; credentials are masked.",
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Originate Local/NUMBER@outgoing with Playback, follow it, and explain how it ended.

    One NUMBER — exit codes: 0 answered, 10 busy, 11 no answer, 12 rejected, 13 not found,
    14 congestion, 15 unavailable, 16 failed, 17 timeout, 18 interrupted.

    --numbers FILE — exit codes: 0 every number has its outcome (whatever it is), 1 some
    outcome is unknown (interrupted) or a number was left uncalled, 2 bad input (nothing
    called), 6 AMI problem, 130 stopped by Ctrl-C (calls in progress were waited for).
    """
    o = out(json_)
    application, app_data = (app_, data) if app_ else ("Playback", play)
    if (number is None) == (numbers is None):
        raise BadInput(
            Text(
                "give either a NUMBER or --numbers FILE", "укажите либо НОМЕР, либо --numbers ФАЙЛ"
            ),
            next_step=Text(
                "e.g. `trunkctl call 79991234567` or `trunkctl call --numbers list.txt`.",
                "например, `trunkctl call 79991234567` или `trunkctl call --numbers list.txt`.",
            ),
        )
    if numbers is not None and (trace or pcap):
        raise BadInput(
            Text(
                "--trace and --pcap are for one call, not a list",
                "--trace и --pcap — для одного звонка, а не для списка",
            ),
            next_step=Text(
                "Call the number that fails on its own: `trunkctl call NUMBER --trace`.",
                "Позвоните на проблемный номер отдельно: `trunkctl call НОМЕР --trace`.",
            ),
        )
    if numbers is not None:
        if verification:
            raise BadInput(
                Text(
                    "--verification is for one call, not a list",
                    "--verification — для одного звонка, а не для списка",
                ),
                next_step=Text(
                    "Run `trunkctl call 79991234567 --verification`.",
                    "Выполните `trunkctl call 79991234567 --verification`.",
                ),
            )
        _campaign(
            o,
            numbers,
            concurrency=concurrency,
            cps=cps,
            campaign=campaign,
            retry=retry,
            skip_invalid=skip_invalid,
            app=application,
            data=app_data or "",
            timeout=timeout,
            ring_timeout=ring_timeout,
            trunk=trunk,
            context=context,
        )
        return
    assert number is not None
    _single(
        o,
        number,
        context=context,
        app=application,
        data=app_data,
        timeout=timeout,
        trunk=trunk,
        verification=verification,
        trace=trace,
        pcap=pcap,
    )


# -- one call -----------------------------------------------------------------------------
def _open_log(o: Output) -> CallLog | None:
    """The call log, or None with a warning: a single test call works without it."""
    from trunkctl.calllog import CallLog

    try:
        return CallLog()
    except TrunkctlError as exc:
        o.progress(
            Text(
                "call log unavailable (the call is not recorded): ",
                "журнал звонков недоступен (звонок не будет записан): ",
            )
            + exc.what
        )
        return None


def _single(
    o: Output,
    number: str,
    *,
    context: str,
    app: str,
    data: str | None,
    timeout: float,
    trunk: str,
    verification: bool,
    trace: bool = False,
    pcap: str | None = None,
) -> None:
    from trunkctl.calling import place_test_call, record_call_result
    from trunkctl.numbers import local_channel, parse_number

    def progress(word: str) -> None:
        o.progress(_PROGRESS.get(word, Text(word, word)))

    # Validated before anything is logged: a refused number leaves no row behind.
    parsed = parse_number(number, strict=False)
    digits = parsed.digits
    channel = local_channel(parsed, context)  # the parsed number: never re-read as Russian
    log = _open_log(o)
    row = None
    if log is not None:
        row = log.start_call(
            source="asterisk",
            number=digits,
            detail={"channel": channel, "kind": "test_call", "verification": verification},
        )
    try:
        report = run(
            _until_signalled(
                lambda stop: place_test_call(
                    settings(),
                    number,
                    context=context,
                    app=app,
                    data=data,
                    timeout=timeout,
                    trunk=trunk,
                    verification=verification,
                    on_event=None if o.json else progress,
                    stop=stop,
                    capture=True,
                ),
                on_stop=lambda: o.progress(
                    Text("Stopping: hanging the call up…", "Останавливаюсь: кладу трубку…")
                ),
            )
        )
    except BaseException as exc:
        if log is not None and row is not None:
            error = (
                exc.to_dict("en")
                if isinstance(exc, TrunkctlError)
                else {"what": type(exc).__name__}
            )
            # An AMI error here means the Originate never went out: nothing was dialled.
            status = "failed" if isinstance(exc, TrunkctlError) else "interrupted"
            log.finish_call(
                row,
                status=status,
                detail={"channel": channel, "kind": "test_call", "error": error},
            )
            log.close()
        raise
    if log is not None and row is not None:
        record_call_result(
            log,
            row,
            report.result,
            report.explanation,
            {
                "channel": channel,
                "kind": "test_call",
                "verification": verification,
                # The provider's own words outlive the run: `trunkctl history --json` keeps them.
                "provider_answer": (
                    report.provider_answer.to_dict() if report.provider_answer else None
                ),
            },
        )
        log.close()
    data_out = report.to_dict(o.language)
    if not trace:
        data_out.pop("sip_trace", None)
    if pcap is not None:
        data_out["pcap"] = _write_pcap(o, report, pcap)
    if o.json:
        o.emit_json(data_out)
    else:
        o.say(Text(f"Call {report.channel}", f"Звонок {report.channel}"), style="bold")
        print_verdict(data_out)
        if trace and report.sip_trace is not None:
            from trunkctl.trace import ladder_lines

            for line in ladder_lines(report.sip_trace, o.language):
                o.console.print(line, highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(report.exit_code)


def _write_pcap(o: Output, report: Any, path: str) -> dict[str, Any]:
    """Write the call's trace to ``path``; what was written, or why nothing was (said too)."""
    from pathlib import Path

    from trunkctl.trace import write_pcap

    st = report.sip_trace
    why: Text | None = None
    if st is None or st.unavailable is not None:
        reason = st.unavailable if st is not None else Text("no capture", "нет захвата")
        why = Text("no SIP trace: ", "нет SIP-трассировки: ") + reason
    elif not st.messages:
        why = Text(
            "Asterisk sent no SIP message for this call", "Asterisk не отправил SIP-сообщений"
        )
    if why is not None:
        o.progress(Text(f"pcap not written ({path}): ", f"pcap не записан ({path}): ") + why)
        return {"file": None, "messages": 0, "why_not": o.t(why)}
    try:
        write_pcap(Path(path), st.messages)
    except OSError as exc:
        why = Text(f"cannot write it: {exc.strerror}", f"не удалось записать: {exc.strerror}")
        o.progress(Text(f"pcap not written ({path}): ", f"pcap не записан ({path}): ") + why)
        return {"file": None, "messages": 0, "why_not": o.t(why)}
    o.progress(
        Text(
            f"pcap written: {path} ({len(st.messages)} SIP messages; open with Wireshark, "
            f"`tshark -r {path} -Y sip` or `sngrep -I {path}`)",
            f"pcap записан: {path} (SIP-сообщений: {len(st.messages)}; откройте в Wireshark, "
            f"`tshark -r {path} -Y sip` или `sngrep -I {path}`)",
        )
    )
    return {"file": path, "messages": len(st.messages)}


# -- many calls -----------------------------------------------------------------------------
_STATUS_STYLE = {
    "answered": "green",
    "busy": "yellow",
    "no_answer": "yellow",
    "interrupted": "magenta",
    "pending": "dim",
    "skipped": "dim",
}


def _line(r: NumberResult) -> str:
    codes = []
    if r.sip_code:
        codes.append(f"SIP {r.sip_code} {r.sip_reason or ''}".rstrip())
    if r.q850 is not None:
        codes.append(f"Q.850 {r.q850}")
    style = _STATUS_STYLE.get(r.status, "red")
    shown = f"[{style}]{r.status:<12}[/{style}]"
    return f"  {r.number:<16} {shown} {' · '.join(codes)}".rstrip()


class _Display:
    """Progress for humans: a bar on a terminal, one line per call otherwise, nothing in JSON."""

    def __init__(self, o: Output) -> None:
        self.o = o
        self.bar: Any = None
        self.task: Any = None
        self.tty = not o.json and o.err.is_terminal

    def __call__(self, p: CampaignProgress) -> None:
        if self.o.json:
            return
        if self.tty and self.bar is None and p.to_call:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[counts]}"),
                console=self.o.err,
            )
            self.task = self.bar.add_task(p.campaign, total=p.to_call, counts="")
            self.bar.start()
        if p.last is not None:
            if self.bar is not None:
                self.bar.console.print(_line(p.last), highlight=False)
            else:
                self.o.console.print(_line(p.last), highlight=False)
        if self.bar is not None:
            counts = " ".join(f"{k} {v}" for k, v in sorted(p.counts.items()))
            if p.stopping:
                counts = self.o.t(Text("stopping… ", "останавливаюсь… ")) + counts
            self.bar.update(self.task, completed=p.done, counts=counts)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _campaign(
    o: Output,
    source: str,
    *,
    concurrency: int,
    cps: float,
    campaign: str | None,
    retry: str | None,
    skip_invalid: bool,
    app: str,
    data: str,
    timeout: float,
    ring_timeout: float | None,
    trunk: str,
    context: str,
) -> None:
    from trunkctl.calling import CampaignRunner, load_numbers
    from trunkctl.calllog import CallLog

    numbers = load_numbers(source)
    display = _Display(o)
    with CallLog() as log:
        runner = CampaignRunner(
            numbers,
            log,
            campaign=campaign,
            concurrency=concurrency,
            cps=cps,
            timeout=timeout,
            ring_timeout=ring_timeout,
            context=context,
            app=app,
            data=data,
            retry=[s.strip() for s in (retry or "").split(",") if s.strip()],
            skip_invalid=skip_invalid,
            trunk=trunk,
            on_progress=display,
        )
        try:
            report = run(_run_with_signals(o, runner))
        finally:
            display.close()
    if o.json:
        o.emit_json(report.to_dict(o.language))
        raise typer.Exit(report.exit_code)
    _print_summary(o, report)
    if report.error is not None and not report.stopped:
        o.fail(report.error)
    raise typer.Exit(report.exit_code)


async def _with_signals(on_signal: Callable[[], None], work: Awaitable[T]) -> T:
    """Await ``work`` with Ctrl-C and SIGTERM calling ``on_signal`` instead of killing it."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    try:
        return await work
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _until_signalled(
    start: Callable[[asyncio.Event], Awaitable[T]], on_stop: Callable[[], None]
) -> T:
    """Run ``start(stop)`` with Ctrl-C / SIGTERM setting ``stop`` instead of killing it, so
    the library can hang its call up and still report (exit 18, JSON included)."""
    import asyncio

    stop = asyncio.Event()

    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
            on_stop()

    return await _with_signals(on_signal, start(stop))


async def _run_with_signals(o: Output, runner: CampaignRunner) -> CampaignReport:
    """Ctrl-C (or SIGTERM) once: no new calls, wait for those in progress; twice: hang up."""

    def on_signal() -> None:
        again = runner.stopping
        runner.stop()
        if again:
            o.progress(Text("Hanging up the calls in progress…", "Кладу трубку в текущих звонках…"))
        else:
            o.progress(
                Text(
                    "Stopping: no new calls; waiting for the calls in progress "
                    "(Ctrl-C again hangs them up).",
                    "Останавливаюсь: новых звонков не будет, жду текущие "
                    "(ещё раз Ctrl-C — положить трубку).",
                )
            )

    return await _with_signals(on_signal, runner.run(settings()))


def _print_summary(o: Output, report: CampaignReport) -> None:
    total = len(report.results)
    earlier = total - report.called - report.counts().get("pending", 0)
    o.say(
        Text(
            f"Campaign {report.campaign} ({report.source}): {total} numbers, "
            f"{report.called} called now, {earlier} from before, {report.elapsed:.1f} s",
            f"Кампания {report.campaign} ({report.source}): номеров {total}, "
            f"набрано сейчас {report.called}, раньше {earlier}, {report.elapsed:.1f} с",
        ),
        style="bold",
    )
    counts = report.counts()
    o.say("  " + " · ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if report.recovered:
        o.say(
            Text(
                f"  {report.recovered} call(s) of an earlier run that stopped mid-call are "
                "marked interrupted (not called again).",
                f"  Звонков прерванного прошлого запуска, отмеченных interrupted (повторно не "
                f"набираются): {report.recovered}.",
            )
        )
    for bad in report.invalid:
        o.say(
            Text(
                f"  skipped {report.source}:{bad.line}: {bad.error.what.en}",
                f"  пропущено {report.source}:{bad.line}: {bad.error.what.ru}",
            ),
            style="yellow",
        )
    if report.duplicates:
        o.say(
            Text(
                f"  {len(report.duplicates)} repeated number(s) called once "
                f"(lines {', '.join(str(a) for a, _ in report.duplicates[:10])})",
                f"  повторы номеров ({len(report.duplicates)}) набраны один раз "
                f"(строки {', '.join(str(a) for a, _ in report.duplicates[:10])})",
            )
        )
    pending = counts.get("pending", 0)
    if report.stopped or pending:
        o.say(
            Text(
                f"Stopped: {pending} number(s) not called yet. Run the same command again "
                "to continue; nobody is called twice.",
                f"Остановлено: не набрано номеров: {pending}. Запустите ту же команду снова, "
                "чтобы продолжить; дважды никому не позвоним.",
            ),
            style="yellow",
        )
    if counts.get("interrupted"):
        o.say(
            Text(
                f"{counts['interrupted']} outcome(s) unknown (interrupted); add "
                "`--retry interrupted` to call those numbers again.",
                f"Итог неизвестен (interrupted): {counts['interrupted']}; добавьте "
                "`--retry interrupted`, чтобы набрать эти номера снова.",
            ),
            style="yellow",
        )
    o.say(
        Text(
            f"Call log: {report.log_path} — `trunkctl history --campaign {report.campaign}`",
            f"Журнал звонков: {report.log_path} — `trunkctl history --campaign {report.campaign}`",
        ),
        style="dim",
    )
