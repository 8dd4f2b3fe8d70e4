"""`trunkctl exporter`: Prometheus metrics of the trunk, the call log, NovoFon and doctor.

The work is in :mod:`trunkctl.monitor`; this module parses options, loads the settings,
serves, and stops cleanly on SIGTERM (systemd) or Ctrl+C.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trunkctl.i18n import Text

from ._app_state import JsonOpt, out, settings_path
from ._common import run, settings

if TYPE_CHECKING:
    from trunkctl.monitor import Monitor
    from trunkctl.novofon import NovofonConfig

    from ._output import Output

log = logging.getLogger("trunkctl.exporter")


def _novofon() -> NovofonConfig | None:
    """The [novofon] API settings, or None when they cannot be read (the rest still runs)."""
    from trunkctl.errors import TrunkctlError
    from trunkctl.novofon import load_novofon_config

    try:
        return load_novofon_config(settings_path())
    except TrunkctlError as exc:
        log.warning("NovoFon balance off: %s", exc.what.render("en"))
        return None


async def _once(monitor: Monitor) -> None:
    await monitor.refresh_ami()
    await monitor.refresh_calls()
    await monitor.refresh_apply()
    await monitor.refresh_balance()
    await monitor.aclose()


async def _serve(monitor: Monitor, host: str, port: int, o: Output) -> None:
    import asyncio
    import signal

    from trunkctl.monitor import serve_metrics

    server = serve_metrics(lambda: monitor.snapshot, host, port)
    if o.json:
        o.emit_json({"ok": True, "listening": server.url})
    else:
        o.progress(
            Text(
                f"Serving metrics on {server.url} (Ctrl+C stops).",
                f"Метрики доступны на {server.url} (Ctrl+C — остановить).",
            )
        )
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await monitor.run()
    except asyncio.CancelledError:
        log.info("stopping")
    finally:
        server.close()


def exporter(
    listen: Annotated[
        str,
        typer.Option(
            "--listen",
            metavar="ADDR:PORT",
            help="Where to serve /metrics (default 127.0.0.1:10150; [::1]:PORT for IPv6).",
        ),
    ] = "127.0.0.1:10150",
    trunk: Annotated[
        list[str] | None,
        typer.Option(
            "--trunk", help="A trunk (endpoint) to report; repeat. Default: trunkctl's own."
        ),
    ] = None,
    interval: Annotated[
        float, typer.Option(help="Seconds between AMI polls (events also trigger one).", min=0.5)
    ] = 5.0,
    balance_interval: Annotated[
        float,
        typer.Option(help="Seconds between NovoFon balance requests (REST credentials).", min=60),
    ] = 600.0,
    doctor_interval: Annotated[
        float, typer.Option(help="Seconds between background doctor runs; 0: never.", min=0)
    ] = 600.0,
    call_log: Annotated[
        Path | None,
        typer.Option(
            "--call-log", help="The call log (default: TRUNKCTL_CALL_LOG or the system's)."
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Print the metrics once (no server, no doctor) and exit."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Serve Prometheus metrics: registration, contacts, channels, calls, balance, doctor."""
    from trunkctl.monitor import Monitor, parse_listen

    o = out(json_)
    host, port = parse_listen(listen)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per balance request
    monitor = Monitor(
        settings(),
        trunks=trunk or (),
        call_log=call_log,
        novofon=_novofon(),
        interval=interval,
        balance_interval=balance_interval,
        doctor_interval=doctor_interval,
    )
    if not once:
        run(_serve(monitor, host, port, o))
        return
    run(_once(monitor))
    if o.json:
        o.emit_json({"ok": True, **monitor.snapshot.to_dict()})
        return
    from prometheus_client import CollectorRegistry, generate_latest

    from trunkctl.monitor import SnapshotCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(lambda: monitor.snapshot))
    o.console.file.write(generate_latest(registry).decode())
