"""Where NovoFon API addresses and credentials come from: settings file, environment, stdin.

Keys, secrets, tokens and passwords never come from the command line: every local user
can read argv (ps, /proc). Precedence, highest first: ``NAME=value`` lines read from
stdin, ``TRUNKCTL_NOVOFON_*`` environment variables, the ``[novofon]`` table of trunkctl's
settings file — where secrets appear only as ``*_file`` paths, as the AMI secret does::

    [novofon]
    api_url = "http://127.0.0.1:8931"   # one base for all three APIs (emulator, proxy)
    key_file = "/etc/trunkctl/novofon.key"          # REST v1 key and secret (20 chars)
    secret_file = "/etc/trunkctl/novofon.secret"
    api_token_file = "/etc/trunkctl/novofon.token"  # JSON-RPC permanent API key, or
    login = "admin@example.com"                     # login + password (1-hour tokens)
    password_file = "/etc/trunkctl/novofon.password"
    virtual_number = "74951112233"                  # caller ID of Call API calls
    line = "0053248"                                # the SIP line calls start from
    trunk = "novofon"                               # the pjsip trunk that uses that line
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trunkctl.errors import BadInput
from trunkctl.i18n import Text
from trunkctl.secret import Secret
from trunkctl.settings import default_settings_paths, read_settings_table

from ._http import DEFAULT_MAX_ANSWER, DEFAULT_MAX_REPORT_ANSWER
from ._jsonrpc import CALL_API_URL, DATA_API_URL, CallApiClient, DataApiClient
from ._rest import DEFAULT_REST_URL, RestV1Client

__all__ = [
    "CREDENTIAL_ENV",
    "NovofonConfig",
    "NovofonConfigError",
    "load_novofon_config",
    "parse_credentials",
]

CREDENTIAL_ENV: Mapping[str, str] = {
    "key": "TRUNKCTL_NOVOFON_KEY",
    "secret": "TRUNKCTL_NOVOFON_SECRET",
    "api_token": "TRUNKCTL_NOVOFON_API_TOKEN",
    "login": "TRUNKCTL_NOVOFON_LOGIN",
    "password": "TRUNKCTL_NOVOFON_PASSWORD",
}
"""Credential name → environment variable holding its value."""

# Credential name → the [novofon] key naming the file that holds it.
_FILE_KEYS = {name: f"{name}_file" for name in ("key", "secret", "api_token", "password")}
_URL_KEYS = ("api_url", "rest_url", "data_api_url", "call_api_url")
_TEXT_KEYS = (*_URL_KEYS, "login", "virtual_number", "line", "trunk")


_NAMES = ", ".join(CREDENTIAL_ENV)


class NovofonConfigError(BadInput):
    """NovoFon API settings are missing or unreadable (nothing was sent)."""

    code = "novofon_config"


def _where(names: str, env: str) -> Text:
    return Text(
        f"Put them in the settings file's [novofon] table ({names}), in {env}, or pipe "
        "NAME=value lines to --credentials-stdin. Never on the command line.",
        f"Укажите их в таблице [novofon] файла настроек ({names}), в {env} или передайте "
        "строки ИМЯ=значение через --credentials-stdin. Никогда — в командной строке.",
    )


@dataclass(frozen=True)
class NovofonConfig:
    """Resolved API settings; credentials are read (from values or files) only when used."""

    api_url: str | None = None
    rest_url: str | None = None
    data_api_url: str | None = None
    call_api_url: str | None = None
    login: str | None = None
    virtual_number: str | None = None
    line: str | None = None
    trunk: str = "novofon"
    timeout: float = 10.0
    max_answer: int = DEFAULT_MAX_ANSWER
    max_report_answer: int = DEFAULT_MAX_REPORT_ANSWER
    values: Mapping[str, Secret] = field(default_factory=dict, repr=False)
    files: Mapping[str, Path] = field(default_factory=dict)
    source: Path | None = None

    # --- addresses ----------------------------------------------------------------------

    def rest_base(self) -> str:
        """REST v1 base URL: ``rest_url``, else ``api_url``, else api.novofon.com."""
        return (self.rest_url or self.api_url or DEFAULT_REST_URL).rstrip("/")

    def data_api_base(self) -> str:
        """Data API URL: ``data_api_url``, else ``api_url`` + /v2.0, else NovoFon's."""
        if self.data_api_url:
            return self.data_api_url
        return self.api_url.rstrip("/") + "/v2.0" if self.api_url else DATA_API_URL

    def call_api_base(self) -> str:
        """Call API URL: ``call_api_url``, else ``api_url`` + /v4.0, else NovoFon's."""
        if self.call_api_url:
            return self.call_api_url
        return self.api_url.rstrip("/") + "/v4.0" if self.api_url else CALL_API_URL

    # --- credentials --------------------------------------------------------------------

    def has(self, name: str) -> bool:
        """Whether credential ``name`` (key, secret, api_token, password) is configured."""
        return name in self.values or name in self.files

    def credential(self, name: str) -> Secret | None:
        """A credential's value (read from its file when configured as one), or None."""
        if name in self.values:
            return self.values[name]
        path = self.files.get(name)
        if path is None:
            return None
        try:
            text = path.read_text(encoding="utf-8").split("\n", 1)[0].strip()
        except OSError as exc:
            raise NovofonConfigError(
                Text(f"cannot read the NovoFon {name} file", f"не удаётся прочитать файл {name}"),
                evidence=f"{path}: {exc.strerror}",
                next_step=Text(
                    "Check the path in the [novofon] table and run trunkctl as a user who "
                    "may read it.",
                    "Проверьте путь в таблице [novofon] и запускайте trunkctl от "
                    "пользователя, которому файл доступен.",
                ),
            ) from exc
        return Secret(text) if text else None

    @property
    def has_rest(self) -> bool:
        """REST v1 key and secret are both configured."""
        return self.has("key") and self.has("secret")

    @property
    def has_jsonrpc(self) -> bool:
        """A JSON-RPC API token, or login and password, are configured."""
        return self.has("api_token") or (self.login is not None and self.has("password"))

    def rest_client(self, **options: Any) -> RestV1Client:
        """A REST v1 client (``options`` go to its constructor: transport, timeout...)."""
        key, secret = self.credential("key"), self.credential("secret")
        if key is None or secret is None:
            raise NovofonConfigError(
                Text(
                    "the NovoFon REST API key and secret are not configured",
                    "ключ и секрет REST API NovoFon не заданы",
                ),
                evidence=self._source_text(),
                next_step=_where(
                    "key_file, secret_file", "TRUNKCTL_NOVOFON_KEY / TRUNKCTL_NOVOFON_SECRET"
                ),
            )
        options.setdefault("timeout", self.timeout)
        options.setdefault("max_answer", self.max_answer)
        options.setdefault("max_report_answer", self.max_report_answer)
        return RestV1Client(key, secret, self.rest_base(), **options)

    def _source_text(self) -> Text:
        where = str(self.source) if self.source else "-"
        return Text(f"settings file: {where}", f"файл настроек: {where}")

    def _jsonrpc_auth(self) -> dict[str, Any]:
        token = self.credential("api_token")
        if token is not None:
            return {"api_key": token}
        password = self.credential("password")
        if self.login is not None and password is not None:
            return {"login": self.login, "password": password}
        raise NovofonConfigError(
            Text(
                "no NovoFon JSON-RPC API credentials are configured",
                "учётные данные JSON-RPC API NovoFon не заданы",
            ),
            evidence=self._source_text(),
            next_step=_where(
                "api_token_file, or login + password_file",
                "TRUNKCTL_NOVOFON_API_TOKEN, or TRUNKCTL_NOVOFON_LOGIN + TRUNKCTL_NOVOFON_PASSWORD",
            ),
        )

    def data_client(self, **options: Any) -> DataApiClient:
        """A Data API 2.0 client (permanent token first, else login and password)."""
        options.setdefault("timeout", self.timeout)
        options.setdefault("max_answer", self.max_answer)
        options.setdefault("max_report_answer", self.max_report_answer)
        return DataApiClient(base_url=self.data_api_base(), **self._jsonrpc_auth(), **options)

    def call_client(self, **options: Any) -> CallApiClient:
        """A Call API 4.0 client (permanent token first, else login and password)."""
        options.setdefault("timeout", self.timeout)
        options.setdefault("max_answer", self.max_answer)
        options.setdefault("max_report_answer", self.max_report_answer)
        return CallApiClient(base_url=self.call_api_base(), **self._jsonrpc_auth(), **options)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view: addresses and which credentials are set, never their values."""
        return {
            "rest_url": self.rest_base(),
            "data_api_url": self.data_api_base(),
            "call_api_url": self.call_api_base(),
            "login": self.login,
            "virtual_number": self.virtual_number,
            "line": self.line,
            "trunk": self.trunk,
            "credentials": sorted(name for name in _FILE_KEYS if self.has(name)),
            "source": str(self.source) if self.source else None,
        }


def parse_credentials(text: str) -> dict[str, str]:
    """``NAME=value`` lines (``key``, ``secret``, ``api_token``, ``login``, ``password``, or
    their ``TRUNKCTL_NOVOFON_*`` names); blank lines and ``#`` comments are skipped."""
    by_env = {env: name for name, env in CREDENTIAL_ENV.items()}
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        name = by_env.get(name, name.lower())
        if not sep or name not in CREDENTIAL_ENV or not value.strip():
            # The value is never echoed: it may be a secret on a malformed line.
            raise NovofonConfigError(
                Text(
                    f"line {number} of the credentials on stdin is not NAME=value",
                    f"строка {number} учётных данных из stdin — не ИМЯ=значение",
                ),
                evidence=f"name: {name[:40]!r}" if sep else None,
                next_step=Text(
                    f"Use one NAME=value per line; names: {_NAMES}.",
                    f"По одной паре ИМЯ=значение в строке; имена: {_NAMES}.",
                ),
            )
        values[name] = value.strip()
    return values


def _settings_file(path: Path | None) -> Path | None:
    if path is not None:
        return path
    for candidate in reversed(default_settings_paths()):
        if candidate.is_file():
            return candidate
    return None


def _table(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    # The settings layer's own reading: a missing file says so (and how to create it), a
    # broken one names the problem, exactly as every other command reports it.
    data = read_settings_table(path)
    table = data.get("novofon", {})
    if not isinstance(table, dict):
        raise NovofonConfigError(
            Text("[novofon] must be a table", "[novofon] должен быть таблицей"),
            evidence=str(path),
        )
    return table


def load_novofon_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin_values: Mapping[str, str] | None = None,
    api_url: str | None = None,
    timeout: float | None = None,
) -> NovofonConfig:
    """Settings file ``path`` (default: the first of trunkctl's default locations), then
    the environment, then ``stdin_values`` (:func:`parse_credentials`); ``api_url`` (the
    CLI's ``--api-url``) overrides every base URL; ``timeout`` (s) overrides [novofon]
    ``timeout`` (default 10, one deadline per request); ``max_answer_mb`` (4) and
    ``max_report_answer_mb`` (32, statistics and calls reports) cap an answer's size."""
    env = os.environ if environ is None else environ
    source = _settings_file(path)
    table = _table(source)
    base = source.parent if source is not None else Path.cwd()
    text: dict[str, str] = {
        key: str(table[key]) for key in _TEXT_KEYS if table.get(key) not in (None, "")
    }
    files = {name: base / str(table[key]) for name, key in _FILE_KEYS.items() if table.get(key)}
    values: dict[str, Secret] = {}
    for name, variable in CREDENTIAL_ENV.items():
        if env.get(variable):
            values[name] = Secret(env[variable])
    for name, value in (stdin_values or {}).items():
        values[name] = Secret(value)
    login = values.pop("login").reveal() if "login" in values else text.get("login")
    if env.get("TRUNKCTL_NOVOFON_API_URL"):
        text["api_url"] = env["TRUNKCTL_NOVOFON_API_URL"]
    urls = {key: text.get(key) for key in _URL_KEYS}
    if api_url:
        urls = {"api_url": api_url, "rest_url": None, "data_api_url": None, "call_api_url": None}
    try:
        seconds = float(timeout if timeout is not None else table.get("timeout", 10.0))
    except (TypeError, ValueError) as exc:
        raise NovofonConfigError(
            Text("[novofon] timeout is not a number", "[novofon] timeout — не число"),
            evidence=str(source),
        ) from exc
    return NovofonConfig(
        **urls,
        max_answer=_megabytes(table, "max_answer_mb", DEFAULT_MAX_ANSWER, source),
        max_report_answer=_megabytes(
            table, "max_report_answer_mb", DEFAULT_MAX_REPORT_ANSWER, source
        ),
        timeout=seconds,
        login=login,
        virtual_number=text.get("virtual_number"),
        line=text.get("line"),
        trunk=text.get("trunk", "novofon"),
        values=values,
        files=files,
        source=source,
    )


def _megabytes(table: Mapping[str, Any], key: str, default: int, source: Path | None) -> int:
    """A size cap in MB from the [novofon] table, as bytes (``default`` when unset)."""
    value = table.get(key)
    if value is None:
        return default
    try:
        size = float(value)
    except (TypeError, ValueError):
        size = -1.0
    if not 0 < size <= 4096:
        raise NovofonConfigError(
            Text(
                "[novofon] {key} must be a number of megabytes (0..4096)",
                "[novofon] {key} должен быть числом мегабайт (0..4096)",
            ).format(key=key),
            evidence=f"{source}: {key} = {value!r}",
        )
    return int(size * (1 << 20))
