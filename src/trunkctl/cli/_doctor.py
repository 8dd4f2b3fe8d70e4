"""`trunkctl doctor`: live checks and the config lint, grouped, with evidence and fixes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out
from ._common import run, settings

# Shared with `support-request`, which runs the same checks.
ConfigDirOpt = Annotated[
    Path | None,
    typer.Option("--config-dir", help="Examine this directory (e.g. a copy of /etc/asterisk)."),
]
TrunkOpt = Annotated[
    str | None, typer.Option(help="Trunk endpoint name (default: novofon or the only one).")
]
ProviderOpt = Annotated[str, typer.Option(help="novofon, novofon-legacy or generic.")]

_HEADS = {
    "fail": (Text("Failures", "Ошибки"), "✗", "bold red"),
    "warn": (Text("Warnings", "Предупреждения"), "!", "bold yellow"),
    "info": (Text("Notes", "Замечания"), "i", "bold cyan"),
    "ok": (Text("OK", "В порядке"), "✓", "bold green"),
    "skip": (Text("Skipped", "Пропущено"), "-", "dim"),
}


def _print_report(data: dict[str, Any]) -> None:
    o = out()
    trunk = Text(f", trunk {data['trunk']}", f", транк {data['trunk']}") if data["trunk"] else None
    where = data["config_dir"] + (o.t(trunk) if trunk else "")
    mode = Text("offline", "без подключения") if data["offline"] else Text("live", "вживую")
    secs = data["duration_ms"] / 1000
    o.say(
        Text(
            f"trunkctl doctor ({o.t(mode)}, {secs:.2f} s): {where}",
            f"trunkctl doctor ({o.t(mode)}, {secs:.2f} с): {where}",
        ),
        style="bold",
    )
    roles = (data.get("lint") or {}).get("roles") or []
    if roles:
        o.say(_roles_line(roles), style="dim")
    for group, items in data["groups"].items():
        if not items:
            continue
        head, mark, style = _HEADS[group]
        o.say("")
        o.say(f"{o.t(head)} ({len(items)})", style=style)
        for block, block_items in _blocks(items):
            if block is not None:
                o.say(f" {o.t(block)}", style="bold")
            for item in block_items:
                _print_item(item, group, mark, style)
    counts = data["counts"]
    o.say("")
    if data.get("lint") and data["lint"].get("summary"):
        o.say(data["lint"]["summary"], style="dim")
    o.say(
        Text(
            f"{counts['fail']} failed, {counts['warn']} warnings, {counts['info']} notes, "
            f"{counts['ok']} ok, {counts['skip']} skipped",
            f"ошибок {counts['fail']}, предупреждений {counts['warn']}, замечаний "
            f"{counts['info']}, в порядке {counts['ok']}, пропущено {counts['skip']}",
        ),
        style="bold red" if counts["fail"] else "bold yellow" if counts["warn"] else "bold green",
    )


_SUBJECTS = {
    "trunk": Text("Trunk", "Транк"),
    "phones": Text("Phones", "Телефоны"),
    "apps": Text("Applications and gateways", "Приложения и шлюзы"),
    "endpoints": Text("Other endpoints", "Прочие endpoint"),
    "pjsip": Text("pjsip.conf", "pjsip.conf"),
    "dialplan": Text("Dialplan", "Диалплан"),
    "files": Text("Files", "Файлы"),
    "access": Text("AMI, ARI, HTTP", "AMI, ARI, HTTP"),
}


_ROLE_WORDS = {
    "trunk": Text("trunk", "транк"),
    "phone": Text("phone", "телефон"),
    "app": Text("app/gateway", "приложение/шлюз"),
    "unknown": Text("unknown", "неясно"),
}


def _roles_line(roles: list[dict[str, Any]]) -> str:
    """``Endpoints: trunk novofon; phone ×20 (200, 201, …)`` — what the lint took each for."""
    o = out()
    parts = []
    for kind, word in _ROLE_WORDS.items():
        names = [r["endpoint"] for r in roles if r["role"] == kind]
        if not names:
            continue
        shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
        count = f" ×{len(names)}" if len(names) > 1 else ""
        parts.append(f"{o.t(word)}{count} ({shown})")
    return o.t(Text("Endpoints: ", "Endpoint: ")) + "; ".join(parts)


def _blocks(items: list[dict[str, Any]]) -> list[tuple[Text | None, list[dict[str, Any]]]]:
    """Live checks first (no header), then lint findings by subject (trunk, phones,
    dialplan…); in a block, findings of one rule merge into one line, so 20 phones with
    the same problem read as one line, not twenty."""
    checks = [i for i in items if i.get("subject") is None]
    out: list[tuple[Text | None, list[dict[str, Any]]]] = [(None, checks)] if checks else []
    for subject, title in _SUBJECTS.items():
        found = [i for i in items if i.get("subject") == subject]
        if not found:
            continue
        merged: dict[str, dict[str, Any]] = {}
        for item in found:
            first = merged.get(item["id"])
            if first is None:
                merged[item["id"]] = dict(item, others=[])
            else:
                first["others"].append(item)
        out.append((title, list(merged.values())))
    return out


def _print_item(item: dict[str, Any], group: str, mark: str, style: str) -> None:
    o = out()
    label = f"{item['id']} " if item["source"] == "lint" else ""
    others = item.get("others", [])
    count = item.get("count", 1) + sum(x.get("count", 1) for x in others)
    times = f" (×{count})" if count > 1 else ""
    line = f"  {mark} {label}{item['title']}{times}: {item['message']}"
    o.say(line, style=style.replace("bold ", "") if group != "ok" else None)
    if group in ("ok", "skip"):
        if group == "skip" and item["fix"]:
            o.say(f"      → {item['fix']}", style="dim")
        return
    evidence = [ev for x in (item, *others) for ev in x["evidence"][:1]] + item["evidence"][1:]
    # A live check's evidence is one story (e.g. a SIP ladder): shown whole. A lint rule's
    # repeats per object: cut short.
    whole = item["source"] != "lint" or len(evidence) <= 6
    shown = evidence if whole else [*evidence[:5], f"… +{len(evidence) - 5}"]
    for ev in shown:
        for ev_line in ev.splitlines():
            o.say(f"      {ev_line}")
    if item["fix"]:
        o.say(f"      → {item['fix']}", style="green")


def _print_rules() -> None:
    from trunkctl.lint import RULES

    o = out()
    rules = [r.to_dict(o.language) for r in RULES]
    if o.json:
        o.emit_json({"rules": rules})
        return
    for rule in rules:
        o.say(f"{rule['id']:<9} {rule['severity']:<8} {rule['title']}")


def doctor(
    offline: Annotated[
        bool, typer.Option("--offline", help="Lint the config files only; do not ask Asterisk.")
    ] = False,
    config_dir: ConfigDirOpt = None,
    trunk: TrunkOpt = None,
    provider: ProviderOpt = "novofon",
    public_ip: Annotated[
        str | None, typer.Option("--public-ip", help="This server's public IP, if behind NAT.")
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List the lint rules and exit.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Check the trunk: AMI, Asterisk, PJSIP, registration, qualify, DNS, SIP, NAT, and lint.

    Exit codes: 0 all ok, 1 warnings, 2 failures.
    """
    from trunkctl.doctor import run_doctor

    o = out(json_)
    if list_rules:
        _print_rules()
        return
    if config_dir is not None and not config_dir.is_dir():
        raise BadInput(
            Text(f"{config_dir} is not a directory", f"{config_dir} — не каталог"),
            next_step=Text(
                "Give --config-dir the directory that holds pjsip.conf.",
                "Укажите в --config-dir каталог, где лежит pjsip.conf.",
            ),
        )
    report = run(
        run_doctor(
            settings(),
            trunk=trunk,
            offline=offline,
            config_dir=config_dir,
            provider=provider,
            public_ip=public_ip,
        )
    )
    data = report.to_dict(o.language)
    if o.json:
        o.emit_json(data)
    else:
        _print_report(data)
    raise typer.Exit(report.exit_code)
