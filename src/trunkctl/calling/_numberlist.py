"""A list of numbers to call: one per line, ``#`` comments, each line validated.

Every line goes through :func:`trunkctl.numbers.parse_number`, so the characters that would
change a channel string or the dialplan (``@ / & , ; |``, CR, LF…) are refused with the
line they are on. Lines are split on LF only: a CR inside a line is refused, not taken as
a line break. Two spellings of one number (``8999…`` and ``+7999…``) are one number.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from trunkctl.errors import BadInput
from trunkctl.i18n import Text
from trunkctl.numbers import parse_number

__all__ = ["BadLine", "NumberEntry", "NumberList", "load_numbers", "read_numbers"]

# Shown in full in an error; more bad lines are counted, not listed.
_SHOWN_BAD_LINES = 10


@dataclass(frozen=True, slots=True)
class NumberEntry:
    """A valid line: ``number`` is E.164 digits without '+' (``79991234567``)."""

    line: int
    raw: str
    number: str


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that is not a usable number, and why."""

    line: int
    raw: str
    error: BadInput

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view (the reason in the process-wide language)."""
        return {"line": self.line, "text": self.raw, "error": self.error.what.render()}


@dataclass(frozen=True, slots=True)
class NumberList:
    """The numbers of a list in file order, once each; bad and repeated lines kept aside."""

    source: str
    entries: tuple[NumberEntry, ...]
    bad: tuple[BadLine, ...] = ()
    duplicates: tuple[tuple[int, int], ...] = ()
    """``(line, first_line)`` for each line repeating an earlier number."""

    @property
    def numbers(self) -> list[str]:
        """The E.164 digits, in file order."""
        return [e.number for e in self.entries]

    def campaign_id(self) -> str:
        """``c-`` + 12 hex digits of SHA-256 over the sorted numbers: the same set of numbers
        is the same campaign, whatever the order, spelling, comments or file name."""
        digest = hashlib.sha256("\n".join(sorted(self.numbers)).encode("ascii")).hexdigest()
        return f"c-{digest[:12]}"

    def require_valid(self) -> None:
        """Raise BadInput naming every bad line (the first ten in full); nothing was called."""
        if not self.bad:
            return
        shown = [
            Text(
                f"{self.source}:{b.line}: {b.raw.strip()!r}: {b.error.what.en}",
                f"{self.source}:{b.line}: {b.raw.strip()!r}: {b.error.what.ru}",
            )
            for b in self.bad[:_SHOWN_BAD_LINES]
        ]
        more = len(self.bad) - len(shown)
        if more:
            shown.append(Text(f"… and {more} more", f"… и ещё {more}"))
        evidence = Text(
            "\n".join(t.en for t in shown),
            "\n".join(t.ru for t in shown),
        )
        raise BadInput(
            Text(
                f"{len(self.bad)} line(s) of {self.source} are not phone numbers; "
                "nothing was called",
                f"строк в {self.source}, где не номер телефона: {len(self.bad)}; никому не звонили",
            ),
            evidence=evidence,
            next_step=Text(
                "Fix or delete those lines (one number per line; '#' starts a comment), "
                "or pass --skip-invalid to call the valid ones and list the rest.",
                "Исправьте или удалите эти строки (один номер в строке; '#' начинает "
                "комментарий) или добавьте --skip-invalid, чтобы позвонить по верным, "
                "а остальные перечислить.",
            ),
            lines=[b.line for b in self.bad],
        )


def read_numbers(
    text: str, *, source: str = "-", region: str = "RU", strict: bool = True
) -> NumberList:
    """Parse a list: one number per line; ``#`` to the end of a line is a comment.

    ``strict`` (default) requires a number in an allocated range (phonenumbers'
    is_valid_number), which catches most typos in a long list before anyone is called.
    Never raises for a bad line: see :attr:`NumberList.bad` and :meth:`~NumberList.require_valid`.
    """
    entries: list[NumberEntry] = []
    bad: list[BadLine] = []
    duplicates: list[tuple[int, int]] = []
    first_line: dict[str, int] = {}
    text = text.removeprefix("\ufeff")
    for index, raw_line in enumerate(text.split("\n"), start=1):
        line = raw_line.removesuffix("\r")
        body = line.split("#", 1)[0]
        if not body.strip():
            continue
        try:
            number = parse_number(body.strip(), region=region, strict=strict).digits
        except BadInput as exc:
            bad.append(BadLine(index, line, exc))
            continue
        if number in first_line:
            duplicates.append((index, first_line[number]))
            continue
        first_line[number] = index
        entries.append(NumberEntry(index, line, number))
    return NumberList(source, tuple(entries), tuple(bad), tuple(duplicates))


def load_numbers(
    path: Path | str, *, region: str = "RU", strict: bool = True, stdin_name: str = "stdin"
) -> NumberList:
    """Read a list from a file, or from standard input when ``path`` is ``-``.

    UTF-8 (a BOM is dropped). Raises BadInput when the file cannot be read or decoded.
    """
    try:
        if str(path) == "-":
            source = stdin_name
            data = sys.stdin.buffer.read()
        else:
            source = str(path)
            data = Path(path).read_bytes()
        text = data.decode("utf-8")
    except OSError as exc:
        raise BadInput(
            Text("cannot read the list of numbers", "не удаётся прочитать список номеров"),
            evidence=f"{path}: {exc.strerror or exc}",
            next_step=Text(
                "Check the path, or pass the list on standard input with --numbers -.",
                "Проверьте путь или передайте список на стандартный вход: --numbers -.",
            ),
        ) from exc
    except UnicodeDecodeError as exc:
        raise BadInput(
            Text(
                "the list of numbers is not UTF-8 text",
                "список номеров — не текст в кодировке UTF-8",
            ),
            evidence=f"{path}: byte {exc.start}: {exc.reason}",
            next_step=Text(
                "Save it as plain UTF-8 text, one number per line.",
                "Сохраните его как обычный текст UTF-8, по номеру в строке.",
            ),
        ) from exc
    return read_numbers(text, source=source, region=region, strict=strict)
