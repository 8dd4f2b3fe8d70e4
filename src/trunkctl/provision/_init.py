"""`init`: prepare a server for trunkctl — config dir, PJSIP check, an AMI user, settings.

The AMI user gets only what trunkctl's actions need (docs/ami.md lists each action and its
class): read call,user,system,reporting (call events, its UserEvent, Registry/ContactStatus)
and write originate,call,reporting (Originate; Hangup; Getvar, PJSIPShowRegistrationsOutbound,
PJSIPRegister/Unregister, ShowDialPlan). Never ``system`` next to ``originate`` (Asterisk then
lets Originate run System/Exec/AGI: a shell), never ``command`` (the whole CLI), never
``config`` (UpdateConfig could write a System() into the dialplan). Reloads go through the
control socket (``asterisk -rx``). When init turns AMI on it binds it to 127.0.0.1; when
manager.conf includes ``manager.d/``, the user goes into ``manager.d/trunkctl.conf``.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trunkctl.conf import ConfigDir, Document, Transaction, atomic_write
from trunkctl.errors import BadInput, ConfWriteError, EnvironmentProblem, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.settings import AmiSettings, Settings, read_settings_text, update_settings_toml

from ._at_rest import ASTERISK_USER, asterisk_locked_out, tighten_secret_files
from ._plan import MARKER

__all__ = ["AMI_READ", "AMI_WRITE", "InitResult", "init"]

AMI_READ = "call,user,system,reporting"
AMI_WRITE = "originate,call,reporting"
MANAGER = "manager.conf"
MANAGER_D_FILE = "manager.d/trunkctl.conf"
# Write classes that, next to trunkctl's, let an AMI client run shell commands or rewrite
# Asterisk's configuration (see the module docstring).
_DANGEROUS_WRITE = ("system", "command", "config", "all")
_INCLUDES_MANAGER_D = re.compile(r'^\s*#\s*(?:try)?include\s+"?\s*manager\.d/', re.IGNORECASE)
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
    ami_user_file: str = MANAGER
    """Where the AMI user is (manager.conf, or manager.d/trunkctl.conf)."""
    ami_enabled: bool = False
    """True when init turned AMI on (it was off): then bound to 127.0.0.1."""
    ami_bindaddr: str = ""
    """The address AMI listens on per manager.conf ("" = every interface, [::])."""
    ami_read: str = AMI_READ
    ami_write: str = AMI_WRITE
    """The user's classes after init (an existing user's own, unless narrowed)."""
    ami_privileges_before: dict[str, str] | None = None
    """An existing user's read/write classes before init (None: created now)."""
    ami_narrowed: bool = False
    tightened: list[dict[str, Any]] = field(default_factory=list)
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
            "ami_user_file": self.ami_user_file,
            "ami_enabled": self.ami_enabled,
            "ami_bindaddr": self.ami_bindaddr,
            "ami_read": self.ami_read,
            "ami_write": self.ami_write,
            "ami_privileges_before": self.ami_privileges_before,
            "ami_narrowed": self.ami_narrowed,
            "tightened": self.tightened,
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


def _on(value: str | None) -> bool:
    return (value or "no").strip().lower() in ("yes", "true", "1", "on", "y")


def _loopback(addr: str) -> bool:
    value = addr.strip().removeprefix("[").removesuffix("]")
    if value.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


def _enable_ami(doc: Document, ami_port: int | None, result: InitResult) -> Any:
    """manager.conf's [general], with AMI turned on and bound to 127.0.0.1 when it was off.

    Asterisk listens on every interface ([::]) when ``bindaddr`` is absent (checked on the
    sandbox: `manager show settings` says ``TCP Bindaddress: [::]:PORT``), so turning AMI on
    never keeps a missing or wide ``bindaddr``.
    """
    general = doc.find("general")
    if general is None:
        general = doc.add_section(
            "general",
            (("enabled", "yes"), ("port", str(ami_port or 5038)), ("bindaddr", "127.0.0.1")),
        )
        before = None
    elif not _on(general.get("enabled")):
        before = general.get("bindaddr")
        general.set("enabled", "yes")
        if before is None or not _loopback(before):
            general.set("bindaddr", "127.0.0.1")
    else:
        return general
    result.ami_enabled = True
    was = "" if before is None else f" (it said bindaddr = {before})"
    was_ru = "" if before is None else f" (было bindaddr = {before})"
    result.notes.append(
        Text(
            "AMI was off: init turned it on listening on 127.0.0.1 only (manager.conf "
            f"[general] enabled = yes, bindaddr = 127.0.0.1){was}.",
            "AMI был выключен: init включил его только на 127.0.0.1 (manager.conf "
            f"[general] enabled = yes, bindaddr = 127.0.0.1){was_ru}.",
        )
    )
    return general


def _ami_host(bindaddr: str, result: InitResult) -> str:
    """The address trunkctl connects to; a warning (no change) when AMI listens wider."""
    result.ami_bindaddr = bindaddr
    if _loopback(bindaddr):
        return bindaddr.strip().removeprefix("[").removesuffix("]")
    wildcard = bindaddr.strip() in ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - compared
    shown = bindaddr or "(none: every interface, [::])"
    result.notes.append(
        Text(
            f"AMI is on and listens beyond this machine (manager.conf [general] bindaddr = "
            f"{shown}); init did not change it. Unless other programs reach AMI over the "
            "network, set bindaddr = 127.0.0.1 and run `asterisk -rx 'manager reload'`.",
            f"AMI включён и слушает не только эту машину (manager.conf [general] bindaddr = "
            f"{shown}); init его не менял. Если AMI не нужен другим программам по сети, "
            "задайте bindaddr = 127.0.0.1 и выполните `asterisk -rx 'manager reload'`.",
        )
    )
    return "127.0.0.1" if wildcard else bindaddr.strip()


def _includes_manager_d(doc: Document) -> bool:
    """True when manager.conf includes ``manager.d/`` (Debian's stock file does)."""
    return any(
        line.kind == "directive" and _INCLUDES_MANAGER_D.match(line.text) for line in doc.lines()
    )


def _relative(root: Path, file: str) -> str:
    path = Path(file)
    try:
        return str(path.relative_to(root)) if path.is_absolute() else file
    except ValueError:
        return file


def _classes(value: str | None) -> list[str]:
    return [c.strip().lower() for c in (value or "").split(",") if c.strip()]


def _least_privilege(
    tx: Transaction,
    doc: Document,
    read: str | None,
    write: str | None,
    narrow: bool,
    result: InitResult,
) -> None:
    """Report (or, with ``narrow``, apply) trunkctl's classes on an existing user."""
    user, where = result.ami_user, result.ami_user_file
    result.ami_privileges_before = {"read": read or "", "write": write or ""}
    result.ami_read, result.ami_write = read or "", write or ""
    extra = [c for c in _classes(write) if c not in _classes(AMI_WRITE)]
    if not extra:
        return
    risky = [c for c in extra if c in _DANGEROUS_WRITE]
    why_en = (
        f" ({', '.join(risky)}: with originate it runs shell commands or rewrites the config)"
        if risky
        else ""
    )
    why_ru = (
        f" ({', '.join(risky)}: вместе с originate это запуск команд оболочки или правка "
        "конфигурации)"
        if risky
        else ""
    )
    if not narrow:
        result.notes.append(
            Text(
                f"AMI user [{user}] in {where} may do more than trunkctl needs: write = "
                f"{write}{why_en}. Set `read = {AMI_READ}` and `write = {AMI_WRITE}` there "
                "(or run `trunkctl init --narrow-ami`), then `asterisk -rx 'manager reload'`.",
                f"Пользователь AMI [{user}] в {where} может больше, чем нужно trunkctl: "
                f"write = {write}{why_ru}. Задайте там `read = {AMI_READ}` и "
                f"`write = {AMI_WRITE}` (или выполните `trunkctl init --narrow-ami`), затем "
                "`asterisk -rx 'manager reload'`.",
            )
        )
        return
    home = doc if where == MANAGER else tx.read(where)
    section = home.find(user)
    if section is None:  # defined by a template or an #exec: not ours to rewrite
        return
    section.set("read", AMI_READ)
    section.set("write", AMI_WRITE)
    if where != MANAGER:
        tx.stage(where, home)
    result.ami_read, result.ami_write, result.ami_narrowed = AMI_READ, AMI_WRITE, True
    result.notes.append(
        Text(
            f"AMI user [{user}] in {where} narrowed: read {read} → {AMI_READ}, write {write} "
            f"→ {AMI_WRITE}.",
            f"Права пользователя AMI [{user}] в {where} сужены: read {read} → {AMI_READ}, "
            f"write {write} → {AMI_WRITE}.",
        )
    )


def _settle_new_user_file(root: Path, result: InitResult) -> None:
    """The file that now holds the AMI secret: manager.d/trunkctl.conf gets manager.conf's
    group (Asterisk reads it as that group) at 0640; any file readable by others is
    tightened (see _at_rest)."""
    path = root / result.ami_user_file
    if result.ami_user_file != MANAGER:
        try:
            group = (root / MANAGER).stat().st_gid
            if path.stat().st_gid != group:
                os.chown(path, -1, group)
            path.chmod(0o640)
            if asterisk_locked_out(path.stat()):
                # manager.conf's group is not Asterisk's (a hand-made install): give the
                # new file Asterisk's own group, or it could not read its user.
                os.chown(path, -1, pwd.getpwnam(ASTERISK_USER).pw_gid)
        except (OSError, KeyError):
            pass  # the doctor's file-permission rule names it
    for done in tighten_secret_files(root, [result.ami_user_file]):
        result.tightened.append(done.to_dict())
        result.notes.append(done.note)


def init(
    settings: Settings,
    *,
    settings_file: Path,
    secret_file: Path | None = None,
    ami_port: int | None = None,
    check_asterisk: bool = True,
    narrow: bool = False,
) -> InitResult:
    """Make ``settings.config_dir`` usable by trunkctl; update ``settings_file``. Idempotent.

    Only the keys trunkctl's settings hold are set in ``settings_file``; its other tables
    (e.g. [novofon]), keys, comments, owner and mode stay as they were. An existing AMI user
    with broader classes than trunkctl needs is left alone (a note says exactly what to
    change) unless ``narrow`` is given.
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
        general = _enable_ami(doc, ami_port, result)
        port = _manager_port(general.get("port"))
        host = _ami_host(general.get("bindaddr") or "", result)
        # Computed before any write, so a settings file init cannot update changes nothing.
        text = update_settings_toml(
            old_text,
            _settings_after(settings, settings_file, host, port, secret_path),
            source=settings_file,
            header=HEADER,
        )
        data = _encoded(settings_file, text)
        found = tx.resolve(MANAGER).find(user)
        if found is None:
            target = MANAGER_D_FILE if _includes_manager_d(doc) else MANAGER
            home = doc if target == MANAGER else tx.read(target)
            secret = secrets.token_urlsafe(24)
            home.add_section(
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
            if target != MANAGER:
                (cfg.path / target).parent.mkdir(mode=0o750, exist_ok=True)
                tx.stage(target, home)
            result.ami_user_created, result.ami_user_file = True, target
            _write_private(secret_path, secret + "\n")
        else:
            result.ami_user_file = _relative(cfg.path, found.file)
            known = found.get("secret") or ""
            if not secret_path.is_file() or secret_path.read_text().strip() != known:
                _write_private(secret_path, known + "\n")
            _least_privilege(tx, doc, found.get("read"), found.get("write"), narrow, result)
        tx.stage(MANAGER, doc)
        tx.commit()
    if result.ami_user_created:
        _settle_new_user_file(cfg.path, result)
    if text != old_text:
        _write_settings(settings_file, data)
        result.settings_written = True
    if (result.ami_user_created or result.ami_narrowed) and check_asterisk:
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
