"""What Asterisk says about a line it rejects or ignores, in English and Russian.

Each code names one branch of main/config.c that logs a warning or error; ``fatal`` ones
make Asterisk refuse the whole file (config_text_file_load() returns
CONFIG_STATUS_FILEINVALID and, e.g., AMI GetConfig answers "Config file has invalid format").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from trunkctl.errors import ConfError
from trunkctl.i18n import Text

__all__ = ["FATAL", "MESSAGES", "ConfMissingError", "Problem"]

Severity = Literal["fatal", "warning"]

MESSAGES: Final[dict[str, Text]] = {
    "no_bracket": Text(
        "section header has no closing ']'", "в заголовке секции нет закрывающей ']'"
    ),
    "no_paren": Text("section header has '(' but no closing ')'", "в заголовке секции '(' без ')'"),
    "no_category": Text("option before the first [section]", "параметр стоит до первой [секции]"),
    "invalid_escape": Text(
        "a '\\' at the start of a line must precede a printable character",
        "'\\' в начале строки должен стоять перед печатным символом",
    ),
    "no_equals": Text("line has no '=' and is ignored", "в строке нет '=', Asterisk её пропускает"),
    "no_name": Text("option has no name and is ignored", "у параметра нет имени, он пропущен"),
    "line_too_long": Text(
        "line is longer than 8190 bytes and is skipped",
        "строка длиннее 8190 байт, Asterisk её пропускает",
    ),
    "unterminated_comment": Text(
        "block comment ';--' is never closed with '--;'",
        "блочный комментарий ';--' не закрыт '--;'",
    ),
    "stray_comment_end": Text(
        "'--;' outside a block comment: Asterisk then ignores the lines that follow",
        "'--;' вне блочного комментария: Asterisk пропустит следующие строки",
    ),
    "nest_limit": Text(
        "block comments nested deeper than 128", "блочные комментарии вложены глубже 128"
    ),
    "unknown_directive": Text(
        "unknown directive (only #include, #tryinclude, #exec exist)",
        "неизвестная директива (есть только #include, #tryinclude, #exec)",
    ),
    "directive_no_arg": Text("directive needs an argument", "директиве нужен аргумент"),
    "exec_disabled": Text(
        "#exec runs only with execincludes=yes in asterisk.conf; trunkctl never runs it",
        "#exec работает только с execincludes=yes в asterisk.conf; trunkctl его не запускает",
    ),
    "missing_include": Text(
        "#include names a file that does not exist", "#include указывает на несуществующий файл"
    ),
    "max_include": Text(
        "more than 10 nested #include levels", "больше 10 вложенных уровней #include"
    ),
    "missing_base": Text(
        "inherits from a section that is not defined above it",
        "наследует от секции, которой нет выше по файлу",
    ),
    "missing_append": Text(
        "(+) appends to a section that is not defined above it (templates cannot be appended)",
        "(+) дополняет секцию, которой нет выше (шаблоны дополнять нельзя)",
    ),
}

FATAL: Final = frozenset(
    {
        "no_bracket",
        "no_paren",
        "no_category",
        "invalid_escape",
        "missing_include",
        "missing_base",
        "missing_append",
    }
)


@dataclass(frozen=True, slots=True)
class Problem:
    """A line Asterisk rejects (``fatal``: the whole file is refused) or ignores."""

    code: str
    line: int
    file: str | None = None
    detail: str = ""

    @property
    def severity(self) -> Severity:
        """``fatal`` if Asterisk refuses the whole file because of this line."""
        return "fatal" if self.code in FATAL else "warning"

    @property
    def message(self) -> Text:
        """What is wrong, in both languages."""
        return MESSAGES[self.code]

    def where(self) -> str:
        """``file:line`` (or ``line N``) for messages."""
        return f"{self.file}:{self.line}" if self.file else f"line {self.line}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "message": self.message.en,
            "detail": self.detail,
        }


class ConfMissingError(ConfError):
    """The configuration file (or a file it must #include) does not exist."""

    code = "conf_missing"
