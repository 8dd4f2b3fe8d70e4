"""`trunkctl config show | diff | backups | restore`: read as Asterisk does; undo writes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

from ._app_state import JsonOpt, out
from ._common import settings

if TYPE_CHECKING:
    from trunkctl.conf import Backup

app = typer.Typer(
    help="Read config files as Asterisk does; diff and roll back trunkctl's writes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ConfigDirOpt = Annotated[
    Path | None, typer.Option("--config-dir", help="Asterisk config dir (default: settings).")
]


def _dir(config_dir: Path | None) -> Path:
    return config_dir or settings().config_dir


@app.command()
def show(
    file: Annotated[str, typer.Argument(help="e.g. pjsip.conf (relative to the config dir).")],
    config_dir: ConfigDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Sections as Asterisk reads them: templates applied, includes followed, escapes undone.

    Secret values (password, secret, md5_cred…) are shown as ******** here and in --json.
    """
    from trunkctl.conf import MASK, is_secret_key, resolve

    o = out(json_)
    res = resolve(file, config_dir=_dir(config_dir))
    data = res.to_json()
    for sec in data:
        sec["options"] = [[k, MASK if is_secret_key(k) else v] for k, v in sec["options"]]
    if o.json:
        o.emit_json(data)
        return
    for sec in data:
        tpl = f"({','.join(sec['templates'])})" if sec["templates"] else ""
        o.console.print(f"[{sec['name']}]{tpl}", style="bold", highlight=False, markup=False)
        for key, value in sec["options"]:
            o.console.print(f"{key} = {value}", markup=False, highlight=False)
        o.console.print()
    for problem in res.problems:
        o.say(f"! {problem}", style="yellow")


@app.command()
def backups(
    file: Annotated[str | None, typer.Argument(help="Only this file's backups.")] = None,
    config_dir: ConfigDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """trunkctl's backups, oldest first."""
    from trunkctl.conf import ConfigDir

    o = out(json_)
    found = ConfigDir(_dir(config_dir)).backups(file)
    rows = [
        {"file": b.name, "stamp": b.stamp, "path": str(b.path), "absent": b.absent} for b in found
    ]
    if o.json:
        o.emit_json(rows)
        return
    if not rows:
        o.say(Text("No backups yet.", "Резервных копий пока нет."))
    for r in rows:
        o.say(f"{r['stamp']}  {r['file']}  {r['path']}")


def _pick(file: str, backup: str | None, config_dir: Path) -> Backup:
    """The named backup of ``file`` (stamp, path or file name), else its newest."""
    from trunkctl.conf import ConfigDir

    found = ConfigDir(config_dir).backups(file)
    if not found:
        raise BadInput(
            Text(f"no backup of {file}", f"нет резервных копий {file}"),
            next_step=Text(
                "trunkctl backs a file up when it first changes it.",
                "trunkctl сохраняет копию, когда впервые меняет файл.",
            ),
        )
    if backup is None:
        return found[-1]
    for b in found:
        if backup in (b.stamp, str(b.path), b.path.name):
            return b
    raise BadInput(
        Text(f"no backup {backup!r} of {file}", f"нет копии {backup!r} файла {file}"),
        next_step=Text("List them: trunkctl config backups", "Список: trunkctl config backups"),
    )


@app.command()
def diff(
    file: Annotated[str, typer.Argument(help="The file.")] = "pjsip.conf",
    backup: Annotated[str | None, typer.Option(help="Stamp or path (default: the newest).")] = None,
    config_dir: ConfigDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """What changed since a backup (secrets masked)."""
    from trunkctl.conf import ConfigDir, masked_diff

    o = out(json_)
    cdir = _dir(config_dir)
    chosen = _pick(file, backup, cdir)
    text = masked_diff(chosen.read(), ConfigDir(cdir).read_bytes(file), name=file)
    if o.json:
        o.emit_json({"file": file, "backup": chosen.stamp, "diff": text})
    else:
        o.console.print(
            text or o.t(Text("No difference.", "Различий нет.")), markup=False, highlight=False
        )


@app.command()
def restore(
    file: Annotated[str, typer.Argument(help="The file to roll back.")] = "pjsip.conf",
    backup: Annotated[str | None, typer.Option(help="Stamp or path (default: the newest).")] = None,
    config_dir: ConfigDirOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Put a file back as a backup holds it; the current text is backed up first."""
    from trunkctl.conf import ConfigDir

    from ._trunk import recoveries_surfaced

    o = out(json_)
    cdir = _dir(config_dir)
    chosen = _pick(file, backup, cdir)
    with recoveries_surfaced() as recovered:
        before = ConfigDir(cdir).restore(file, chosen)
    if o.json:
        o.emit_json(
            {
                "file": file,
                "restored": chosen.stamp,
                "previous_saved_as": str(before.path),
                "recovered": [r.to_dict() for r in recovered],
            }
        )
    else:
        o.say(
            Text(
                f"{file} restored from {chosen.stamp}; the previous text is in {before.path}. "
                "Next: trunkctl apply",
                f"{file} восстановлен из копии {chosen.stamp}; прежний текст сохранён в "
                f"{before.path}. Дальше: trunkctl apply",
            ),
            style="green",
        )
