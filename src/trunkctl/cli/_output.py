"""How every command speaks: rich text on a terminal, one JSON document with ``--json``.

Errors go through :func:`fail`, which prints what happened, the evidence and the next step
in the chosen language (or as JSON) and exits with the error class's code; no traceback
reaches a user.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from trunkctl.errors import TrunkctlError
from trunkctl.i18n import Lang, Text, get_lang

if TYPE_CHECKING:
    from rich.console import Console


def escape(text: str) -> str:
    """Rich markup escaping, imported only when something is printed."""
    from rich.markup import escape as _escape

    return _escape(text)


@dataclass
class Output:
    """Per-invocation output settings, fixed by the global options."""

    json: bool = False
    lang: Lang | None = None

    # rich costs ~15 ms to import: only paid when something is printed.
    @cached_property
    def console(self) -> Console:
        from rich.console import Console

        return Console(highlight=False)

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, highlight=False)

    @property
    def language(self) -> Lang:
        return self.lang or get_lang()

    def t(self, text: Text) -> str:
        return text.render(self.language)

    def emit_json(self, data: Any) -> None:
        import json

        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        sys.stdout.flush()

    def say(self, text: Text | str, style: str | None = None) -> None:
        """A line for humans (suppressed under ``--json``)."""
        if self.json:
            return
        msg = self.t(text) if isinstance(text, Text) else text
        self.console.print(escape(msg), style=style)

    def progress(self, text: Text | str) -> None:
        """A progress line on stderr, so stdout stays clean for pipes and JSON."""
        msg = self.t(text) if isinstance(text, Text) else text
        if not self.json:
            self.err.print(f"[dim]{escape(msg)}[/dim]")

    def fail(self, error: TrunkctlError) -> NoReturn:
        """Print an error the way DEVELOPERS.md asks, then exit with its code."""
        lang = self.language
        if self.json:
            self.emit_json({"ok": False, "error": error.to_dict(lang)})
        else:
            label = Text("Error", "Ошибка").render(lang)
            self.err.print(f"[bold red]{label}:[/bold red] {escape(error.what.render(lang))}")
            if error.evidence:
                head = Text("Evidence", "Что видно").render(lang)
                self.err.print(f"[yellow]{head}:[/yellow]")
                for line in error.evidence.render(lang).splitlines():
                    self.err.print(f"  {escape(line)}")
            if error.next_step:
                head = Text("Next step", "Что сделать").render(lang)
                self.err.print(f"[green]{head}:[/green] {escape(error.next_step.render(lang))}")
        raise SystemExit(error.exit_code)
