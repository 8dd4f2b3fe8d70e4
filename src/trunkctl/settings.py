"""trunkctl's own settings: where the Asterisk config dir is and how to reach AMI.

Read from a TOML file (``--settings``/``TRUNKCTL_SETTINGS``, else ``/etc/trunkctl/config.toml``
or ``~/.config/trunkctl/config.toml``), then ``TRUNKCTL_*`` environment variables; the CLI's
flags override both. The sandbox writes one such file so that ``trunkctl --sandbox CMD`` talks
to the sandbox pbx exactly as plain ``trunkctl CMD`` talks to a real server.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput
from .i18n import Text

__all__ = [
    "AmiSettings",
    "Settings",
    "default_settings_paths",
    "load_settings",
    "sandbox_dir",
    "sandbox_settings_path",
    "settings_to_toml",
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
                next_step=Text(
                    "Check the path and run trunkctl as a user who may read it (usually root).",
                    "Проверьте путь и запускайте trunkctl от пользователя, которому файл доступен "
                    "(обычно root).",
                ),
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


def _bad_settings(path: Path, problem: str) -> BadInput:
    return BadInput(
        Text("the trunkctl settings file is invalid", "файл настроек trunkctl некорректен"),
        evidence=f"{path}: {problem}",
        next_step=Text(
            "Fix the file (TOML) or point --settings at another one.",
            "Исправьте файл (формат TOML) или укажите другой через --settings.",
        ),
    )


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Settings from ``path`` (or the default locations), then ``TRUNKCTL_*`` variables."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source: Path | None = None
    if path is None:
        for candidate in reversed(default_settings_paths()):
            if candidate.is_file():
                path = candidate
                break
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise _bad_settings(path, "no such file") from exc
        except OSError as exc:
            raise _bad_settings(path, exc.strerror or str(exc)) from exc
        except tomllib.TOMLDecodeError as exc:
            raise _bad_settings(path, str(exc)) from exc
        source = path
    ami = data.get("ami", {})
    if not isinstance(ami, dict):
        raise _bad_settings(path or Path("?"), "[ami] must be a table")
    try:
        port = int(env.get("TRUNKCTL_AMI_PORT") or ami.get("port", 5038))
    except ValueError as exc:
        raise _bad_settings(path or Path("TRUNKCTL_AMI_PORT"), "AMI port is not a number") from exc
    secret_file = env.get("TRUNKCTL_AMI_SECRET_FILE") or ami.get("secret_file")
    asterisk = data.get("asterisk", {})
    command = asterisk.get("command", ["asterisk"])
    log_file = env.get("TRUNKCTL_ASTERISK_LOG") or asterisk.get("log_file")
    return Settings(
        config_dir=Path(env.get("TRUNKCTL_CONFIG_DIR") or data.get("config_dir", "/etc/asterisk")),
        ami=AmiSettings(
            host=env.get("TRUNKCTL_AMI_HOST") or ami.get("host", "127.0.0.1"),
            port=port,
            username=env.get("TRUNKCTL_AMI_USERNAME") or ami.get("username", "trunkctl"),
            secret_file=Path(secret_file) if secret_file else None,
        ),
        asterisk_command=tuple(str(part) for part in command),
        log_file=Path(log_file) if log_file else None,
        provider_server=env.get("TRUNKCTL_PROVIDER_SERVER")
        or data.get("provider", {}).get("server"),
        source=source,
    )


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def settings_to_toml(settings: Settings, header: str = "") -> str:
    """Render settings as TOML (only strings and ints: no writer library needed)."""
    lines = [f"# {line}" for line in header.splitlines()]
    lines.append(f"config_dir = {_toml_str(str(settings.config_dir))}")
    lines.append("")
    lines.append("[ami]")
    lines.append(f"host = {_toml_str(settings.ami.host)}")
    lines.append(f"port = {settings.ami.port}")
    lines.append(f"username = {_toml_str(settings.ami.username)}")
    if settings.ami.secret_file:
        lines.append(f"secret_file = {_toml_str(str(settings.ami.secret_file))}")
    lines.append("")
    lines.append("[asterisk]")
    lines.append("command = [" + ", ".join(_toml_str(p) for p in settings.asterisk_command) + "]")
    if settings.log_file:
        lines.append(f"log_file = {_toml_str(str(settings.log_file))}")
    if settings.provider_server:
        lines += ["", "[provider]", f"server = {_toml_str(settings.provider_server)}"]
    return "\n".join(lines) + "\n"
