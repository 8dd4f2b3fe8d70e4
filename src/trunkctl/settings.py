"""trunkctl's own settings: where the Asterisk config dir is and how to reach AMI.

Read from a TOML file (``--settings``/``TRUNKCTL_SETTINGS``, else ``/etc/trunkctl/config.toml``
or ``~/.config/trunkctl/config.toml``), then ``TRUNKCTL_*`` environment variables; the CLI's
flags override both. The sandbox writes one such file so that ``trunkctl --sandbox CMD`` talks
to the sandbox pbx exactly as plain ``trunkctl CMD`` talks to a real server.

The file may hold tables this module does not read (``[novofon]`` for trunkctl.novofon);
:func:`update_settings_toml` changes only the keys listed here and keeps the rest verbatim.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BadInput, EnvironmentProblem
from .i18n import Text

if TYPE_CHECKING:
    from tomlkit import TOMLDocument

__all__ = [
    "AmiSettings",
    "Settings",
    "default_settings_paths",
    "load_settings",
    "read_settings_table",
    "read_settings_text",
    "sandbox_dir",
    "sandbox_settings_path",
    "settings_to_toml",
    "update_settings_toml",
]

DEFAULT_SANDBOX_DIR = Path("/var/cache/trunkctl/sandbox")


def sandbox_dir() -> Path:
    """The sandbox cache dir: ``TRUNKCTL_SANDBOX_DIR`` or /var/cache/trunkctl/sandbox."""
    return Path(os.environ.get("TRUNKCTL_SANDBOX_DIR") or DEFAULT_SANDBOX_DIR)


def sandbox_settings_path() -> Path:
    """The settings file ``trunkctl sandbox up`` writes (what ``--sandbox`` means)."""
    return sandbox_dir() / "settings.toml"


def default_settings_paths() -> list[Path]:
    """System-wide first, then the user's own."""
    return [Path("/etc/trunkctl/config.toml"), Path.home() / ".config/trunkctl/config.toml"]


_READABLE = Text(
    "Check the path and run trunkctl as a user who may read it (usually root).",
    "Проверьте путь и запускайте trunkctl от пользователя, которому файл доступен (обычно root).",
)


@dataclass(frozen=True, slots=True)
class AmiSettings:
    """How to reach and log in to the Asterisk Manager Interface (secret kept in a file)."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "trunkctl"
    secret_file: Path | None = None

    def read_secret(self) -> str:
        """The AMI secret from its file (never from argv or the settings file itself)."""
        if self.secret_file is None:
            raise BadInput(
                Text("no AMI secret file is configured", "не задан файл с паролем AMI"),
                next_step=Text(
                    "Run `trunkctl init`, or set [ami] secret_file in the settings file.",
                    "Выполните `trunkctl init` или задайте [ami] secret_file в файле настроек.",
                ),
            )
        try:
            return self.secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadInput(
                Text("cannot read the AMI secret file", "не удаётся прочитать файл с паролем AMI"),
                evidence=f"{self.secret_file}: {exc.strerror}",
                next_step=_READABLE,
            ) from exc


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a command needs to find the user's Asterisk."""

    config_dir: Path = Path("/etc/asterisk")
    ami: AmiSettings = field(default_factory=AmiSettings)
    # The command that reaches Asterisk's control socket; "-rx CMD" is appended.
    asterisk_command: tuple[str, ...] = ("asterisk",)
    # Asterisk's messages log, read for the reasons a reload was refused (optional).
    log_file: Path | None = None
    # Default SIP server for `setup` (HOST:PORT), e.g. the sandbox's emulated NovoFon.
    provider_server: str | None = None
    source: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (the secret file's path, never the secret)."""
        return {
            "config_dir": str(self.config_dir),
            "ami": {
                "host": self.ami.host,
                "port": self.ami.port,
                "username": self.ami.username,
                "secret_file": str(self.ami.secret_file) if self.ami.secret_file else None,
            },
            "asterisk_command": list(self.asterisk_command),
            "log_file": str(self.log_file) if self.log_file else None,
            "provider_server": self.provider_server,
            "source": str(self.source) if self.source else None,
        }


# The keys trunkctl's own code reads and `init` owns: (table..., key), kind, environment variable.
# Every other table or key in the file (e.g. [novofon], read by trunkctl.novofon) belongs to
# someone else: init updates its keys in place and leaves the rest byte for byte.
_KEYS: tuple[tuple[tuple[str, ...], str, str | None], ...] = (
    (("config_dir",), "path", "TRUNKCTL_CONFIG_DIR"),
    (("ami", "host"), "str", "TRUNKCTL_AMI_HOST"),
    (("ami", "port"), "port", "TRUNKCTL_AMI_PORT"),
    (("ami", "username"), "str", "TRUNKCTL_AMI_USERNAME"),
    (("ami", "secret_file"), "path", "TRUNKCTL_AMI_SECRET_FILE"),
    (("asterisk", "command"), "command", None),
    (("asterisk", "log_file"), "path", "TRUNKCTL_ASTERISK_LOG"),
    (("provider", "server"), "str", "TRUNKCTL_PROVIDER_SERVER"),
)
_KIND_PROBLEM = {
    "str": Text("must be a string", "должно быть строкой"),
    "path": Text("must be a path in quotes", "должно быть путём в кавычках"),
    "port": Text("is not a port number (1-65535)", "не номер порта (1-65535)"),
    "command": Text(
        'must be a list of strings, e.g. ["asterisk"]',
        'должно быть списком строк, например ["asterisk"]',
    ),
}

_FIX_FILE = Text(
    "Fix the file (TOML) or point --settings at another one.",
    "Исправьте файл (формат TOML) или укажите другой через --settings.",
)


def _label(key: tuple[str, ...]) -> str:
    return key[0] if len(key) == 1 else f"[{'.'.join(key[:-1])}] {key[-1]}"


def _shown(raw: object) -> str:
    return json.dumps(raw, ensure_ascii=False, default=str)


def _bad_settings(path: Path, problem: Text | str) -> BadInput:
    problem = problem if isinstance(problem, Text) else Text(problem, problem)
    return BadInput(
        Text("the trunkctl settings file is invalid", "файл настроек trunkctl некорректен"),
        evidence=Text(f"{path}: ", f"{path}: ") + problem,
        next_step=_FIX_FILE,
    )


def _missing_settings(path: Path) -> BadInput:
    if path == sandbox_settings_path():
        hint = Text(
            "Start the sandbox: `trunkctl sandbox up` writes this file.",
            "Запустите песочницу: `trunkctl sandbox up` создаёт этот файл.",
        )
    else:
        hint = Text(
            f"Check the path given with --settings or TRUNKCTL_SETTINGS, or create the file: "
            f"`trunkctl --settings {path} init`.",
            f"Проверьте путь в --settings или TRUNKCTL_SETTINGS либо создайте файл: "
            f"`trunkctl --settings {path} init`.",
        )
    return BadInput(
        Text("the trunkctl settings file does not exist", "файла настроек trunkctl нет"),
        evidence=Text(f"{path}: no such file", f"{path}: нет такого файла"),
        next_step=hint,
    )


def _bad_env(name: str, raw: str, problem: Text) -> BadInput:
    return BadInput(
        Text(
            f"the environment variable {name} is invalid",
            f"переменная окружения {name} некорректна",
        ),
        evidence=Text(f"{name}={raw} ", f"{name}={raw} ") + problem,
        next_step=Text(
            f"Fix it or unset it (`unset {name}`): it overrides the settings file.",
            f"Исправьте или уберите её (`unset {name}`): она важнее файла настроек.",
        ),
    )


def read_settings_text(path: Path, *, missing_ok: bool = False) -> str | None:
    """The settings file's text (None if it is missing and ``missing_ok``); BadInput if it
    cannot be read, is not UTF-8 or is not TOML."""
    got = _read(path, missing_ok=missing_ok)
    return got[0] if got is not None else None


def read_settings_table(path: Path) -> dict[str, Any]:
    """The settings file as TOML data, with :func:`read_settings_text`'s errors (a missing
    file says so and how to create it)."""
    got = _read(path, missing_ok=False)
    return got[1] if got is not None else {}


def _read(path: Path, *, missing_ok: bool) -> tuple[str, dict[str, Any]] | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        if missing_ok:
            return None
        raise _missing_settings(path) from exc
    except PermissionError as exc:
        # The file is there but this user may not read it: the environment (exit 3).
        raise EnvironmentProblem(
            Text(
                "permission denied reading the trunkctl settings file",
                "нет прав на чтение файла настроек trunkctl",
            ),
            evidence=f"{path}: {exc.strerror or exc}",
            next_step=Text(
                "Run it as root: sudo trunkctl … (or as a user the file is readable by, e.g. "
                "one in its group).",
                "Запустите от root: sudo trunkctl … (или от пользователя, которому файл "
                "доступен, например из его группы).",
            ),
        ) from exc
    except OSError as exc:
        raise BadInput(
            Text("cannot read the trunkctl settings file", "не удаётся прочитать файл настроек"),
            evidence=f"{path}: {exc.strerror or exc}",
            next_step=_READABLE,
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_settings(path, Text("not UTF-8 text", "не текст в UTF-8")) from exc
    return text, _parse(text, path)


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad_settings(path, str(exc)) from exc


def _coerce(kind: str, raw: object) -> object:
    """``raw`` as the kind wants it; None for "unset" (an empty string); ValueError if bad."""
    if kind == "port":
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 65536:
            raise ValueError(kind)
        return raw
    if kind == "command":
        if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
            raise ValueError(kind)
        return tuple(raw)
    if not isinstance(raw, str):
        raise ValueError(kind)
    return raw or None


def _lookup(data: dict[str, Any], key: tuple[str, ...], source: Path) -> object:
    table: object = data
    for depth, name in enumerate(key[:-1]):
        table = table.get(name) if isinstance(table, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            where = ".".join(key[: depth + 1])
            raise _bad_settings(
                source, Text(f"[{where}] must be a table", f"[{where}] должен быть таблицей")
            )
    return table.get(key[-1]) if isinstance(table, dict) else None


def _values(data: dict[str, Any], source: Path | None, env: Mapping[str, str]) -> dict[str, Any]:
    """Each owned key's value: its environment variable, else the file, else None."""
    found: dict[str, Any] = {}
    for key, kind, var in _KEYS:
        raw_env = env.get(var) if var else None
        if raw_env:
            try:
                found[".".join(key)] = _coerce(kind, raw_env)
            except ValueError as exc:
                raise _bad_env(var or "", raw_env, _KIND_PROBLEM[kind]) from exc
            continue
        raw = _lookup(data, key, source or Path("?"))
        try:
            found[".".join(key)] = None if raw is None else _coerce(kind, raw)
        except ValueError as exc:
            problem = Text(f"{_label(key)} = {_shown(raw)} ", f"{_label(key)} = {_shown(raw)} ")
            raise _bad_settings(source or Path("?"), problem + _KIND_PROBLEM[kind]) from exc
    return found


def load_settings(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    missing_ok: bool = False,
) -> Settings:
    """Settings from ``path`` (or the default locations), then ``TRUNKCTL_*`` variables.

    A missing ``path`` is BadInput unless ``missing_ok`` (then: defaults and variables).
    Errors name the culprit: the file and key, or the environment variable.
    """
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source: Path | None = None
    if path is None:
        for candidate in reversed(default_settings_paths()):
            if candidate.is_file():
                path = candidate
                break
    if path is not None:
        got = _read(path, missing_ok=missing_ok)
        if got is not None:
            data, source = got[1], path
    v = _values(data, source, env)
    defaults = Settings()
    return Settings(
        config_dir=Path(v["config_dir"]) if v["config_dir"] else defaults.config_dir,
        ami=AmiSettings(
            host=v["ami.host"] or defaults.ami.host,
            port=v["ami.port"] or defaults.ami.port,
            username=v["ami.username"] or defaults.ami.username,
            secret_file=Path(v["ami.secret_file"]) if v["ami.secret_file"] else None,
        ),
        asterisk_command=v["asterisk.command"] or defaults.asterisk_command,
        log_file=Path(v["asterisk.log_file"]) if v["asterisk.log_file"] else None,
        provider_server=v["provider.server"],
        source=source,
    )


def _owned(settings: Settings) -> dict[tuple[str, ...], str | int | list[str]]:
    """The keys a settings file needs to say ``settings`` (optional ones only when set)."""
    values: dict[tuple[str, ...], str | int | list[str] | None] = {
        ("config_dir",): str(settings.config_dir),
        ("ami", "host"): settings.ami.host,
        ("ami", "port"): settings.ami.port,
        ("ami", "username"): settings.ami.username,
        ("ami", "secret_file"): str(settings.ami.secret_file) if settings.ami.secret_file else None,
        ("asterisk", "command"): list(settings.asterisk_command),
        ("asterisk", "log_file"): str(settings.log_file) if settings.log_file else None,
        ("provider", "server"): settings.provider_server,
    }
    return {key: value for key, value in values.items() if value is not None}


# --- Writing and updating a settings file -----------------------------------------------------
# tomlkit renders a document byte for byte as it was read, except what it is asked to change: a
# replaced value keeps its line's indent and comment, a new key goes after its table's last key,
# a new table at the end. It is imported where it is used: every command reads the settings,
# only init and `sandbox up` write them. tomllib stays the judge (see update_settings_toml).


def _set(table: MutableMapping[str, Any], key: tuple[str, ...], value: object) -> None:
    """Set ``key`` below ``table`` (a tomlkit container), adding missing tables."""
    import tomlkit

    for name in key[:-1]:
        if name not in table:
            table[name] = tomlkit.table()
        table = table[name]
    table[key[-1]] = value


def settings_to_toml(settings: Settings, header: str = "") -> str:
    """Render settings as a new TOML file (only strings, ints and lists of strings)."""
    import tomlkit

    doc = tomlkit.document()
    for line in header.splitlines():
        doc.add(tomlkit.comment(line))
    for key, value in _owned(settings).items():
        _set(doc, key, value)
    return doc.as_string()


def _add_top_level(doc: TOMLDocument, name: str, value: object) -> None:
    """Add a top-level key above the first [table] and above the comments written right over
    that header: they describe the table (tomlkit itself would put the key below them)."""
    import tomlkit
    from tomlkit.items import AoT, Comment, Table

    body = doc.body
    first = next(
        (
            i
            for i, (k, v) in enumerate(body)
            if isinstance(v, Table | AoT) and k and not k.is_dotted()
        ),
        None,
    )
    at = first
    while at and isinstance(body[at - 1][1], Comment):
        at -= 1
    if at is None or at == first:
        doc[name] = value
        return
    line = tomlkit.item(value)
    line.trivia.trail = "\n\n"  # a blank line between the key and the comments
    doc._insert_at(at, name, line)  # no public tomlkit call inserts at a position


def _dotted_or_inline(doc: TOMLDocument, name: str) -> bool:
    """True if table ``name`` is written ``name.key = …`` or ``name = {…}``. tomlkit can edit
    both, but moves a replaced dotted line below its siblings and packs new inline keys without
    spaces: asking for `key = value` under [name] serves the user better."""
    from tomlkit.items import InlineTable

    return any(
        k is not None and k.key == name and (k.is_dotted() or isinstance(v, InlineTable))
        for k, v in doc.body
    )


def _same(kind: str, old: object, new: str | int | list[str]) -> bool:
    try:
        value = _coerce(kind, old)
    except ValueError:
        return False
    if kind == "path":
        return isinstance(value, str) and isinstance(new, str) and Path(value) == Path(new)
    if kind == "command":
        return value == tuple(new) if isinstance(new, list) else False
    return value == new


def _cannot_update(source: Path, keys: list[tuple[str, ...]]) -> BadInput:
    names = ", ".join(_label(key) for key in keys)
    return BadInput(
        Text(
            f"cannot update {names} in the trunkctl settings file",
            f"не удаётся обновить {names} в файле настроек trunkctl",
        ),
        evidence=Text(
            f"{source}: written as a dotted key or an inline table",
            f"{source}: записано через точку в ключе или встроенной таблицей",
        ),
        next_step=Text(
            "Write each as `key = value` under its [table] header, then run init again.",
            "Запишите каждый как `ключ = значение` под заголовком [таблицы] и повторите init.",
        ),
    )


def update_settings_toml(
    text: str | None, settings: Settings, *, source: Path, header: str = ""
) -> str:
    """``text`` with the keys trunkctl reads set to ``settings`` and everything else (other
    tables such as [novofon], unknown keys, comments, line endings) kept byte for byte.

    A missing or blank file becomes :func:`settings_to_toml` with ``header``. Unchanged
    values keep their spelling; BadInput if ``text`` is not TOML or a key cannot be placed.
    """
    if text is None or not text.strip():
        return settings_to_toml(settings, header)
    data = _parse(text, source)
    kinds = {key: kind for key, kind, _ in _KEYS}
    changes = {
        key: value
        for key, value in _owned(settings).items()
        if not _same(kinds[key], _lookup(data, key, source), value)
    }
    if not changes:
        return text
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    newline = "\r\n" if "\r\n" in text else "\n"
    try:
        doc = tomlkit.parse(text if text.endswith("\n") else text + newline)
        blocked = [key for key in changes if _dotted_or_inline(doc, key[0])]
        if blocked:
            raise _cannot_update(source, blocked)
        for key, value in changes.items():
            if len(key) == 1 and key[0] not in doc:
                _add_top_level(doc, key[0], value)
            else:
                _set(doc, key, value)
        result = doc.as_string()
    except TOMLKitError as exc:
        raise _cannot_update(source, list(changes)) from exc
    if newline == "\r\n" and text.count("\r\n") == text.count("\n"):
        # tomlkit ends new lines with "\n"; a file whose every line ends in CRLF gets CRLF on
        # them too, as tomlkit/toml_file.py does. A mixed file keeps "\n" there: converting
        # could change a multi-line string.
        result = re.sub(r"(?<!\r)\n", "\r\n", result)
    # The judge: tomllib must read the old content plus exactly the intended changes, so
    # whatever tomlkit got wrong (a key under the wrong header, a badly escaped value) is
    # refused before anything is written.
    for key, value in changes.items():
        node = data
        for name in key[:-1]:
            node = node.setdefault(name, {})
        node[key[-1]] = value
    try:
        if tomllib.loads(result) == data:
            return result
    except tomllib.TOMLDecodeError:
        pass
    raise _cannot_update(source, list(changes))
