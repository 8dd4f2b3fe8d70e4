"""`init`: prepare a server for trunkctl — config dir, PJSIP check, an AMI user, settings.

The AMI user gets only what trunkctl uses: read call,user,system,reporting (call events,
its UserEvent, Registry/ContactStatus) and write originate,system,reporting,command
(Originate; Reload and PJSIP register/qualify; PJSIPShow*; Command), bound to 127.0.0.1.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trunkctl.conf import ConfigDir, atomic_write
from trunkctl.errors import BadInput, ConfWriteError, EnvironmentProblem, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.settings import AmiSettings, Settings, read_settings_text, update_settings_toml

from ._plan import MARKER

__all__ = ["AMI_READ", "AMI_WRITE", "InitResult", "init"]

AMI_READ = "call,user,system,reporting"
AMI_WRITE = "originate,system,reporting,command"
MANAGER = "manager.conf"
HEADER = "trunkctl settings, written by `trunkctl init`."


@dataclass(slots=True)
class InitResult:
    """What init found and did (no secret values)."""

    config_dir: str
    settings_file: str
    secret_file: str
    asterisk_version: str | None = None
    pjsip_loaded: bool | None = None
    chan_sip_loaded: bool | None = None
    ami_user: str = "trunkctl"
    ami_user_created: bool = False
    settings_written: bool = False
    notes: list[Text] = field(default_factory=list)

    def to_dict(self, lang: Any = None) -> dict[str, Any]:
        return {
            "config_dir": self.config_dir,
            "settings_file": self.settings_file,
            "secret_file": self.secret_file,
            "asterisk_version": self.asterisk_version,
            "pjsip_loaded": self.pjsip_loaded,
            "chan_sip_loaded": self.chan_sip_loaded,
            "ami_user": self.ami_user,
            "ami_user_created": self.ami_user_created,
            "settings_written": self.settings_written,
            "notes": [n.render(lang) for n in self.notes],
        }


def _write_0600(path: Path, data: bytes, *, force_mode: bool, what: Text, next_step: Text) -> None:
    """Write ``path`` at once (mode 0600 when new, or always with ``force_mode``); an OSError
    becomes a ConfWriteError saying ``what`` failed and ``next_step``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data, mode=0o600, force_mode=force_mode)
    except OSError as exc:
        raise ConfWriteError(
            what,
            evidence=Text(f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}: {exc}"),
            next_step=next_step,
        ) from exc


def _write_private(path: Path, text: str) -> None:
    """The AMI secret file (0600); written before manager.conf, which a failure here spares."""
    _write_0600(
        path,
        text.encode(),
        force_mode=True,
        what=Text(
            f"cannot write the AMI secret file {path}",
            f"не удаётся записать файл с паролем AMI {path}",
        ),
        next_step=Text(
            "manager.conf was not changed; fix the folder's permissions or free space (or "
            "choose another file with --secret-file), then run init again.",
            "manager.conf не изменён; исправьте права на каталог или освободите место (или "
            "укажите другой файл через --secret-file) и повторите init.",
        ),
    )


def _encoded(path: Path, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a path holding bytes that are not UTF-8
        raise BadInput(
            Text(
                "a path cannot be written to the settings file",
                "путь нельзя записать в файл настроек",
            ),
            evidence=Text(f"{path}: {exc.reason}", f"{path}: {exc.reason}"),
            next_step=Text(
                "Use paths whose names are UTF-8 text.", "Используйте пути с именами в UTF-8."
            ),
        ) from exc


def _write_settings(path: Path, data: bytes) -> None:
    """Replace the settings file at once, keeping its owner and mode (a new one: 0600)."""
    _write_0600(
        path,
        data,
        force_mode=False,
        what=Text(f"cannot write {path}", f"не удаётся записать {path}"),
        next_step=Text(
            "The old settings file stands; fix permissions or free space, then run init "
            "again (it is idempotent).",
            "Прежний файл настроек цел; исправьте права или освободите место и повторите "
            "init (повтор безопасен).",
        ),
    )


def _probe_asterisk(settings: Settings, result: InitResult) -> None:
    from trunkctl.asterisk import asterisk_rx

    try:
        result.asterisk_version = asterisk_rx(settings, "core show version").strip() or None
        modules = asterisk_rx(settings, "module show like chan_")
        modules += asterisk_rx(settings, "module show like res_pjsip.so")
    except TrunkctlError:
        result.notes.append(
            Text(
                "Asterisk is not running or not reachable: could not check its modules.",
                "Asterisk не запущен или недоступен: модули не проверены.",
            )
        )
        return
    result.pjsip_loaded = "res_pjsip.so" in modules and "chan_pjsip.so" in modules
    result.chan_sip_loaded = "chan_sip.so" in modules
    if not result.pjsip_loaded:
        raise EnvironmentProblem(
            Text(
                "this Asterisk has no PJSIP (res_pjsip/chan_pjsip not loaded)",
                "в этом Asterisk нет PJSIP (res_pjsip/chan_pjsip не загружены)",
            ),
            evidence=modules.strip()[-400:],
            next_step=Text(
                "Load them: `asterisk -rx 'module load res_pjsip.so'` and check "
                "modules.conf (noload lines).",
                "Загрузите их: `asterisk -rx 'module load res_pjsip.so'` и проверьте "
                "modules.conf (строки noload).",
            ),
        )


def _manager_port(raw: str | None) -> int:
    try:
        port = int(raw or 5038)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise BadInput(
            Text("manager.conf has an invalid AMI port", "в manager.conf неверный порт AMI"),
            evidence=f"{MANAGER} [general] port = {raw}",
            next_step=Text(
                "Set port to a number from 1 to 65535 (5038 is usual), then run init again.",
                "Задайте port числом от 1 до 65535 (обычно 5038) и повторите init.",
            ),
        )
    return port


def _settings_after(
    settings: Settings, settings_file: Path, host: str, port: int, secret_file: Path
) -> Settings:
    new = replace(
        settings,
        ami=AmiSettings(
            host=host, port=port, username=settings.ami.username, secret_file=secret_file
        ),
        source=settings_file,
    )
    if new.log_file is None:
        for candidate in ("/var/log/asterisk/messages", "/var/log/asterisk/messages.log"):
            if Path(candidate).is_file():
                return replace(new, log_file=Path(candidate))
    return new


def init(
    settings: Settings,
    *,
    settings_file: Path,
    secret_file: Path | None = None,
    ami_port: int | None = None,
    check_asterisk: bool = True,
) -> InitResult:
    """Make ``settings.config_dir`` usable by trunkctl; update ``settings_file``. Idempotent.

    Only the keys trunkctl's settings hold are set in ``settings_file``; its other tables
    (e.g. [novofon]), keys, comments, owner and mode stay as they were.
    """
    cfg = ConfigDir(settings.config_dir)
    if not (cfg.path / "asterisk.conf").is_file() and not (cfg.path / "pjsip.conf").is_file():
        raise BadInput(
            Text(
                f"{cfg.path} does not look like an Asterisk config dir",
                f"{cfg.path} не похож на каталог конфигурации Asterisk",
            ),
            evidence=Text(
                "no asterisk.conf or pjsip.conf there", "там нет asterisk.conf и pjsip.conf"
            ),
            next_step=Text(
                "Point --config-dir at it (usually /etc/asterisk).",
                "Укажите его через --config-dir (обычно /etc/asterisk).",
            ),
        )
    secret_path = secret_file or settings.ami.secret_file or settings_file.parent / "ami.secret"
    result = InitResult(
        str(cfg.path), str(settings_file), str(secret_path), ami_user=settings.ami.username
    )
    if check_asterisk:
        _probe_asterisk(settings, result)
    # Read (and so validate) the settings file before touching manager.conf.
    old_text = read_settings_text(settings_file, missing_ok=True)
    user = settings.ami.username
    with cfg.transaction() as tx:
        doc = tx.read(MANAGER)
        general = doc.find("general")
        if general is None:
            general = doc.add_section(
                "general",
                (("enabled", "yes"), ("port", str(ami_port or 5038)), ("bindaddr", "127.0.0.1")),
            )
        elif (general.get("enabled") or "no").lower() not in ("yes", "true", "1", "on"):
            general.set("enabled", "yes")
        port = _manager_port(general.get("port"))
        host = general.get("bindaddr") or "127.0.0.1"
        if host in ("0.0.0.0", "::"):  # noqa: S104 - read from the file, not bound here
            host = "127.0.0.1"
            result.notes.append(
                Text(
                    "AMI listens on every interface; trunkctl connects over 127.0.0.1. "
                    "Consider bindaddr = 127.0.0.1 (see `trunkctl doctor`).",
                    "AMI слушает на всех интерфейсах; trunkctl подключается через 127.0.0.1. "
                    "Лучше bindaddr = 127.0.0.1 (см. `trunkctl doctor`).",
                )
            )
        # Computed before any write, so a settings file init cannot update changes nothing.
        text = update_settings_toml(
            old_text,
            _settings_after(settings, settings_file, host, port, secret_path),
            source=settings_file,
            header=HEADER,
        )
        data = _encoded(settings_file, text)
        account = doc.find(user)
        if account is None:
            secret = secrets.token_urlsafe(24)
            doc.add_section(
                user,
                (
                    ("secret", secret),
                    ("deny", "0.0.0.0/0.0.0.0"),
                    ("permit", "127.0.0.1/255.255.255.255"),
                    ("read", AMI_READ),
                    ("write", AMI_WRITE),
                ),
                comment=f"{MARKER} AMI user for trunkctl (its secret is also in {secret_path})",
            )
            result.ami_user_created = True
            _write_private(secret_path, secret + "\n")
        else:
            known = account.get("secret") or ""
            if not secret_path.is_file() or secret_path.read_text().strip() != known:
                _write_private(secret_path, known + "\n")
        tx.stage(MANAGER, doc)
        tx.commit()
    if text != old_text:
        _write_settings(settings_file, data)
        result.settings_written = True
    if result.ami_user_created and check_asterisk:
        from trunkctl.asterisk import asterisk_rx

        try:
            asterisk_rx(settings, "manager reload")
        except TrunkctlError:
            result.notes.append(
                Text(
                    "Run `asterisk -rx 'manager reload'` to enable the AMI user.",
                    "Выполните `asterisk -rx 'manager reload'`, чтобы включить пользователя AMI.",
                )
            )
    return result
