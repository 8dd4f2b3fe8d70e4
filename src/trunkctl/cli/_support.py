"""`trunkctl support-request`: the message to NovoFon support, filled with facts."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from trunkctl.errors import BadInput
from trunkctl.i18n import Lang, Text

from ._app_state import JsonOpt, out
from ._common import run, settings
from ._doctor import ConfigDirOpt, ProviderOpt, TrunkOpt


def _read_call(path: Path) -> tuple[Any, datetime]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        mtime = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError as exc:
        raise BadInput(
            Text("cannot read the call JSON", "не удаётся прочитать JSON звонка"),
            evidence=f"{path}: {exc.strerror}",
        ) from exc
    except ValueError as exc:
        raise BadInput(
            Text("the call file is not JSON", "файл звонка — не JSON"),
            evidence=f"{path}: {exc}",
            next_step=Text(
                "Save a call like this: `trunkctl call 79991234567 --json > call.json`.",
                "Сохраните звонок так: `trunkctl call 79991234567 --json > call.json`.",
            ),
        ) from exc
    return data, mtime


def support_request(
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the message: ru (NovoFon's) or en.")
    ] = "ru",
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Also write the evidence as FILE.tar.gz (0600, masked)."),
    ] = None,
    call_json: Annotated[
        Path | None,
        typer.Option("--call-json", help="The last test call, saved by `trunkctl call --json`."),
    ] = None,
    number: Annotated[
        str | None, typer.Option("--number", help="Your NovoFon number (default: the caller ID).")
    ] = None,
    trunk: TrunkOpt = None,
    provider: ProviderOpt = "novofon",
    config_dir: ConfigDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Write the message to NovoFon support: termination IP, login, number, SIP exchange."""
    from trunkctl.doctor import call_facts
    from trunkctl.doctor import support_request as build
    from trunkctl.numbers import parse_caller_id

    o = out(json_)
    if lang not in ("ru", "en"):
        raise BadInput(
            Text(f"unknown language {lang!r}", f"неизвестный язык {lang!r}"),
            next_step=Text("Use --lang ru or --lang en.", "Укажите --lang ru или --lang en."),
        )
    message_lang: Lang = "ru" if lang == "ru" else "en"
    call = raw_call = None
    if call_json is not None:
        raw_call, mtime = _read_call(call_json)
        call = call_facts(raw_call, file_time=mtime)
    phone = parse_caller_id(number).digits if number else None
    request = run(
        build(
            settings(),
            lang=message_lang,
            trunk=trunk,
            call=call,
            call_json=raw_call,
            phone=phone,
            provider=provider,
            config_dir=config_dir,
            bundle=bundle,
        )
    )
    if o.json:
        o.emit_json(request.to_dict(o.language))
        return
    sys.stdout.write(request.message.text())
    sys.stdout.flush()
    if request.facts.own_problems:
        o.progress(
            Text(
                "Before sending it: the doctor found problems on this server that support "
                "would point at (see `trunkctl doctor`):",
                "Перед отправкой: doctor нашёл проблемы на этом сервере, на которые укажет "
                "поддержка (см. `trunkctl doctor`):",
            )
        )
        for problem in request.facts.own_problems:
            o.progress(f"  ✗ {o.t(problem)}")
    if request.bundle is not None:
        o.progress(
            Text(
                f"Bundle: {request.bundle.path} (0600, {len(request.bundle.members)} files, "
                "secrets masked). Attach it to the request.",
                f"Архив: {request.bundle.path} (0600, файлов: {len(request.bundle.members)}, "
                "секреты скрыты). Приложите его к обращению.",
            )
        )
