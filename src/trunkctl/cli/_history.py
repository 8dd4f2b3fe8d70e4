"""`trunkctl history`: the call log — every call trunkctl placed or heard of, newest first."""

from __future__ import annotations

from typing import Annotated

import typer

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out


def _when(epoch: float | None) -> str:
    import time

    return time.strftime("%m-%d %H:%M:%S", time.localtime(epoch)) if epoch else ""


def history(
    campaign: Annotated[
        str | None, typer.Option(help="Only the calls of this campaign (`call --numbers`).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many calls, newest first.")] = 50,
    source: Annotated[
        str | None, typer.Option(help="Only calls from asterisk, api or webhook.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """The call log: number, outcome, SIP code, Q.850 cause, talk time, campaign.

    The log is TRUNKCTL_CALL_LOG, else /var/lib/trunkctl/calls.db (root) or
    ~/.local/share/trunkctl/calls.db; it is 0600 and holds no secrets.
    """
    from trunkctl.calllog import CallLog

    o = out(json_)
    if not 1 <= limit <= 1_000_000:
        raise BadInput(
            Text("--limit must be 1–1000000", "--limit: от 1 до 1000000"),
            next_step=Text("E.g. --limit 50.", "Например: --limit 50."),
        )
    if source is not None and source not in ("asterisk", "api", "webhook"):
        raise BadInput(
            Text(f"unknown source {source!r}", f"неизвестный источник {source!r}"),
            next_step=Text("Use asterisk, api or webhook.", "Укажите asterisk, api или webhook."),
        )
    with CallLog() as log:
        rows = log.calls(limit=limit, campaign=campaign, source=source)
        path = str(log.path)
    if o.json:
        o.emit_json({"call_log": path, "campaign": campaign, "calls": rows})
        return
    if not rows:
        if campaign is not None or source is not None:
            en = ", ".join(
                x for x in (campaign and f"campaign {campaign}", source and f"source {source}") if x
            )
            ru = ", ".join(
                x
                for x in (campaign and f"кампания {campaign}", source and f"источник {source}")
                if x
            )
            o.say(Text(f"No calls match ({en}) in {path}.", f"В {path} нет звонков ({ru})."))
        else:
            o.say(Text(f"No calls in {path} yet.", f"В {path} звонков пока нет."))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for title in (
        Text("#", "#"),
        Text("started", "начало"),
        Text("number", "номер"),
        Text("outcome", "итог"),
        Text("SIP", "SIP"),
        Text("Q.850", "Q.850"),
        Text("talk", "разговор"),
        Text("campaign", "кампания"),
    ):
        table.add_column(o.t(title), no_wrap=True)
    for row in rows:
        talk = row.get("talk_duration")
        table.add_row(
            str(row["id"]),
            _when(row["started_at"]),
            row.get("number") or "",
            row["status"],
            str(row["sip_code"] or ""),
            "" if row.get("q850") is None else str(row["q850"]),
            f"{talk:.1f} s" if talk is not None else "",
            row.get("campaign") or "",
            style="dim" if row["status"] == "dialing" else None,
        )
    o.console.print(table, highlight=False, markup=False)
    if campaign is not None:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        summary = " · ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        o.say(Text(f"Campaign {campaign}: {summary}", f"Кампания {campaign}: {summary}"))
