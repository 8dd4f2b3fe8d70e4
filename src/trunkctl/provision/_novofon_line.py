"""The NovoFon SIP line behind the trunk: list the account's lines, and reset a line's
password straight into the trunk's auth in pjsip.conf (through ``credentials set``).

The NovoFon clients (``trunkctl.novofon``) are imported when first used: ``provision`` is
loaded by every config command, and httpx is not needed by them.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput, EnvironmentProblem, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.providers import get_profile
from trunkctl.secret import Secret

from ._credentials import plan_credentials

if TYPE_CHECKING:
    from trunkctl.novofon import Balance, NovofonConfig, SipLine
    from trunkctl.settings import Settings

    from ._at_rest import Tightened

__all__ = [
    "PasswordReset",
    "SipLineRow",
    "account_balance",
    "list_sip_lines",
    "read_via",
    "reset_sip_password",
    "sip_line_rows",
]


def read_via(conf: NovofonConfig, via: Literal["auto", "data", "v1"]) -> Literal["data", "v1"]:
    """Which API reads lines and calls: ``auto`` is the Data API unless only REST v1
    credentials are set."""
    if via == "auto":
        return "v1" if conf.has_rest and not conf.has_jsonrpc else "data"
    return via


async def list_sip_lines(conf: NovofonConfig) -> list[SipLine]:
    """``get.sip_lines``: the account's SIP lines, their logins and registration state."""
    async with conf.data_client() as data:
        return await data.sip_lines()


async def account_balance(conf: NovofonConfig) -> Balance:
    """REST v1 ``info/balance``: the only API of the three that tells the balance."""
    async with conf.rest_client() as rest:
        return await rest.balance()


@dataclass(frozen=True, slots=True)
class SipLineRow:
    """One SIP line as either API sees it (``via``): what ``api sip-lines`` lists.

    The Data API knows the addresses a line registered from and its virtual number; REST v1
    knows the display name and asks ``sip/<id>/status`` for each line's registration.
    """

    via: Literal["data", "v1"]
    id: int | str
    login: str
    registered: bool
    channels: int | None
    physical_state: str | None = None
    ip_addresses: tuple[tuple[str, str | None], ...] = ()
    virtual_phone_number: str | None = None
    display_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the fields the line's API gives (never a password)."""
        data: dict[str, Any] = {"id": self.id, "login": self.login, "registered": self.registered}
        if self.via == "data":
            data["physical_state"] = self.physical_state
            data["ip_addresses"] = [{"ip": ip, "date_time": at} for ip, at in self.ip_addresses]
            data["channels"] = self.channels
            data["virtual_phone_number"] = self.virtual_phone_number
        else:
            data["display_name"] = self.display_name
            data["channels"] = self.channels
        return data


async def sip_line_rows(conf: NovofonConfig, via: Literal["data", "v1"]) -> list[SipLineRow]:
    """The account's SIP lines through the Data API (``get.sip_lines``) or REST v1
    (``sip`` plus ``sip/<id>/status`` per line)."""
    if via == "data":
        return [
            SipLineRow(
                "data",
                line.id,
                line.phone_number,
                line.registered,
                line.channels_count,
                physical_state=line.physical_state,
                ip_addresses=tuple((a.ip, a.date_time) for a in line.ip_addresses),
                virtual_phone_number=line.virtual_phone_number,
            )
            for line in await list_sip_lines(conf)
        ]
    rows = []
    async with conf.rest_client() as rest:
        for sip in (await rest.sip_numbers()).sips:
            online = (await rest.sip_status(sip.id)).is_online
            rows.append(
                SipLineRow("v1", sip.id, sip.id, online, sip.lines, display_name=sip.display_name)
            )
    return rows


def _pick_line(lines: list[SipLine], wanted: str | None) -> SipLine:
    if wanted is None and len(lines) == 1:
        return lines[0]
    for line in lines:
        if wanted is not None and wanted.strip() in (str(line.id), line.phone_number):
            return line
    known = ", ".join(f"{line.phone_number} (id {line.id})" for line in lines) or "-"
    raise BadInput(
        Text(
            "no such SIP line in the account" if wanted else "the account has several SIP lines",
            "такой SIP-линии в аккаунте нет" if wanted else "в аккаунте несколько SIP-линий",
        ),
        evidence=Text(f"lines: {known}", f"линии: {known}"),
        next_step=Text(
            "Name the line by its login or id, as `trunkctl api sip-lines` shows them.",
            "Укажите линию по логину или id, как их показывает `trunkctl api sip-lines`.",
        ),
    )


@dataclass(frozen=True)
class PasswordReset:
    """A SIP line's new password and where it went (``changed``: pjsip.conf options)."""

    line_id: int
    login: str
    password: Secret = field(repr=False)
    trunk: str | None
    changed: list[str]
    backups: list[str]
    # Config files that held the password and were readable by others (see _at_rest).
    tightened: list[Tightened] = field(default_factory=list)

    def to_dict(self, *, show: bool = False) -> dict[str, Any]:
        """JSON-ready view; the password only with ``show``."""
        data: dict[str, Any] = {
            "line_id": self.line_id,
            "login": self.login,
            "written": self.trunk is not None,
            "trunk": self.trunk,
            "changed": self.changed,
            "backups": self.backups,
            "tightened": [t.to_dict() for t in self.tightened],
        }
        if show:
            data["password"] = self.password.reveal()
        return data


def _rescue_folders(config_dir: Path | None) -> list[Path]:
    """Where a password that missed pjsip.conf may be kept, best first (all root-only or
    private): beside the call log, in the config's own backups, in the temp dir."""
    from trunkctl.calllog import default_path

    folders = [default_path().parent]
    if config_dir is not None:
        folders.append(config_dir / ".trunkctl-backups")
    return [*folders, Path(tempfile.gettempdir())]


def _rescue(login: str, password: Secret, folders: list[Path]) -> tuple[Path | None, list[str]]:
    """Keep a password that could not be written into pjsip.conf in a 0600 file: the first
    folder that takes it wins. Returns the file (None if none did) and why the others failed.

    NovoFon has already changed the password: losing it here would lock the line out, so
    every folder is tried before giving up.
    """
    failures: list[str] = []
    for folder in folders:
        path = folder / f"sip-password-{login}-{int(time.time())}-{os.getpid()}.txt"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password.reveal() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            failures.append(f"{folder}: {exc.strerror or exc}")
            continue
        return path, failures
    return None, failures


async def reset_sip_password(
    conf: NovofonConfig,
    line: str | None,
    *,
    settings: Settings | None = None,
    trunk: str | None = None,
    profile: str = "novofon",
) -> PasswordReset:
    """``update.sip_line_password`` for ``line`` (login or id; None: the only line).

    With ``settings`` the new password goes straight into ``trunk``'s auth in pjsip.conf
    through ``credentials set``'s :func:`~trunkctl.provision.plan_credentials`; that
    write is rehearsed first, so a config that cannot take it fails before NovoFon
    changes anything. Never retried (each call makes a new password).
    """
    profile_obj = None if profile == "generic" else get_profile(profile)
    trunk_name = (trunk or conf.trunk) if settings is not None else None
    cfg = ConfigDir(settings.config_dir) if settings is not None else None
    async with conf.data_client() as data:
        chosen = _pick_line(await data.sip_lines(), line)
        if cfg is not None and trunk_name is not None:
            with cfg.transaction() as rehearsal:  # never committed
                plan_credentials(
                    rehearsal,
                    trunk=trunk_name,
                    login=chosen.phone_number,
                    password=Secret("rehearsal-only-0"),
                    profile=profile_obj,
                )
        password = await data.update_sip_line_password(chosen.id)
    if cfg is None or trunk_name is None:
        return PasswordReset(chosen.id, chosen.phone_number, password, None, [], [])
    try:
        with cfg.transaction() as tx:
            change = plan_credentials(
                tx,
                trunk=trunk_name,
                login=chosen.phone_number,
                password=password,
                profile=profile_obj,
            )
            backups = tx.commit()
    except (TrunkctlError, OSError) as exc:
        kept, failures = _rescue(
            chosen.phone_number,
            password,
            _rescue_folders(settings.config_dir if settings else None),
        )
        evidence = f"{type(exc).__name__}: {exc}"
        if kept is None:
            raise EnvironmentProblem(
                Text(
                    "NovoFon changed the line's password, but it could be written neither "
                    "into pjsip.conf nor into a private file",
                    "NovoFon сменил пароль линии, но его не удалось записать ни в "
                    "pjsip.conf, ни в отдельный закрытый файл",
                ),
                evidence="; ".join([evidence, *failures]),
                next_step=Text(
                    "Free disk space or fix the folders named above, then reset the "
                    f"password again: `trunkctl api reset-sip-password {chosen.phone_number} "
                    "--write-config` "
                    "(or in NovoFon's web panel and `trunkctl credentials set`).",
                    "Освободите место на диске или исправьте перечисленные каталоги и "
                    "сбросьте пароль ещё раз: `trunkctl api reset-sip-password "
                    f"{chosen.phone_number} --write-config` (или в личном кабинете NovoFon и "
                    "`trunkctl credentials set`).",
                ),
                rescue_failures=failures,
            ) from exc
        raise TrunkctlError(
            Text(
                "NovoFon changed the line's password, but writing it into pjsip.conf failed",
                "NovoFon сменил пароль линии, но записать его в pjsip.conf не удалось",
            ),
            evidence=evidence,
            next_step=Text(
                f"The new password is kept in {kept} (0600). Put it in with `trunkctl "
                f"credentials set --login {chosen.phone_number} --password-file {kept}`, "
                "then `trunkctl apply`, and delete the file.",
                f"Новый пароль сохранён в {kept} (0600). Впишите его командой `trunkctl "
                f"credentials set --login {chosen.phone_number} --password-file {kept}`, "
                "затем `trunkctl apply`, и удалите файл.",
            ),
            rescue_file=str(kept),
        ) from exc
    from ._at_rest import tighten_secret_files

    tightened = tighten_secret_files(cfg.path, ["pjsip.conf"])
    return PasswordReset(
        chosen.id,
        chosen.phone_number,
        password,
        trunk_name,
        change.changed,
        [str(b.path) for b in backups],
        tightened,
    )
