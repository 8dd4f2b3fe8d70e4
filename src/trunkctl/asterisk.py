"""Reaching the user's running Asterisk: AMI built from settings, or the CLI control socket.

Commands above this (apply, status, call, doctor) never assemble connections themselves, so
the secret is read from its file in exactly one place.
"""

from __future__ import annotations

import hmac
import os
import subprocess
from collections.abc import Iterable
from typing import Self

from .ami import AmiClient
from .errors import AmiAuthError, AmiConnectionError, EnvironmentProblem, TrunkctlError
from .i18n import Text
from .settings import Settings

__all__ = ["ami_client", "asterisk_rx", "log_position", "log_since"]


class _SettingsAmiClient(AmiClient):
    """An AmiClient that, when its login is refused, says which of our files to fix: it
    reads manager.conf in the settings' config dir and compares the user and the secret
    (in constant time, neither shown) with the settings' secret file."""

    settings: Settings

    async def connect(self) -> Self:
        try:
            return await super().connect()
        except AmiAuthError as exc:
            raise _explain_refused_login(exc, self.settings) from exc.__cause__


def _explain_refused_login(exc: AmiAuthError, settings: Settings) -> AmiAuthError:
    ami = settings.ami
    manager = settings.config_dir / "manager.conf"
    where = f"settings {settings.source}" if settings.source else "settings"
    evidence = [
        exc.evidence.render("en") if exc.evidence else "",
        f"secret file: {ami.secret_file} ({where})",
    ]
    from .conf import ConfigDir  # only here: most commands never need the conf layer

    try:
        section = ConfigDir(settings.config_dir).resolve("manager.conf").find(ami.username)
        ours = ami.read_secret()
    except (TrunkctlError, OSError):
        return exc  # nothing better to say than the generic advice
    if section is None:
        finding = Text(
            f"{manager} has no user [{ami.username}]: run `trunkctl init` (it creates the "
            "user and the secret file), or fix [ami] username in the settings.",
            f"в {manager} нет пользователя [{ami.username}]: выполните `trunkctl init` (он "
            "создаст пользователя и файл с паролем) или исправьте [ami] username в настройках.",
        )
    elif not hmac.compare_digest((section.get("secret") or "").encode(), ours.encode()):
        finding = Text(
            f"the secret of [{ami.username}] in {manager} differs from the one in "
            f"{ami.secret_file} (neither is shown): run `trunkctl init` to set both again, "
            "then `asterisk -rx 'manager reload'`.",
            f"пароль [{ami.username}] в {manager} не совпадает с паролем в {ami.secret_file} "
            "(ни один не показан): выполните `trunkctl init`, чтобы задать оба заново, затем "
            "`asterisk -rx 'manager reload'`.",
        )
    else:
        finding = Text(
            f"{manager} has the same secret as {ami.secret_file}: Asterisk has not reloaded "
            "manager.conf since (`asterisk -rx 'manager reload'`), or its deny/permit "
            f"lines refuse this machine's address, or it reads another directory than "
            f"{settings.config_dir}.",
            f"в {manager} тот же пароль, что в {ami.secret_file}: Asterisk ещё не перечитал "
            "manager.conf (`asterisk -rx 'manager reload'`), или его строки deny/permit не "
            f"пропускают адрес этой машины, или он читает не {settings.config_dir}.",
        )
    return AmiAuthError(
        exc.what,
        evidence="\n".join(e for e in evidence if e),
        next_step=finding,
        **exc.details,
    )


def ami_client(
    settings: Settings,
    *,
    events: bool | str | Iterable[str] = False,
    timeout: float = 10.0,
    reconnect: bool = False,
    keepalive: float | None = None,
) -> AmiClient:
    """An (unconnected) AMI client for the configured user; use ``async with``."""
    ami = settings.ami
    client = _SettingsAmiClient(
        ami.host,
        ami.port,
        ami.username,
        ami.read_secret(),
        events=events,
        timeout=timeout,
        reconnect=reconnect,
        keepalive=keepalive,
    )
    client.settings = settings
    return client


def asterisk_rx(settings: Settings, command: str, *, timeout: float = 15.0) -> str:
    """Run one CLI command through Asterisk's control socket (``asterisk -rx``)."""
    argv = [*settings.asterisk_command, "-rx", command]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise EnvironmentProblem(
            Text("the asterisk command is not installed here", "команды asterisk здесь нет"),
            evidence=" ".join(argv[:-2]),
            next_step=Text(
                "Install Asterisk, or set [asterisk] command in trunkctl settings.",
                "Установите Asterisk или задайте [asterisk] command в настройках.",
            ),
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise AmiConnectionError(
            Text(
                f"Asterisk did not answer `{command}` in {timeout:.0f} s",
                f"Asterisk не ответил на `{command}` за {timeout:.0f} с",
            ),
            next_step=Text(
                "Check that Asterisk runs: `systemctl status asterisk`.",
                "Проверьте, что Asterisk запущен: `systemctl status asterisk`.",
            ),
        ) from exc
    if done.returncode != 0:
        raise AmiConnectionError(
            Text(
                "cannot reach Asterisk's control socket", "нет связи с сокетом управления Asterisk"
            ),
            evidence=(done.stderr or done.stdout).strip()[-400:],
            next_step=Text(
                "Start Asterisk, and run trunkctl as root (or the asterisk user).",
                "Запустите Asterisk и запускайте trunkctl от root (или asterisk).",
            ),
        )
    return done.stdout


def log_position(settings: Settings) -> int:
    """Current size of Asterisk's log (0 when unknown), to read what a step adds to it."""
    try:
        return settings.log_file.stat().st_size if settings.log_file else 0
    except OSError:
        return 0


def log_since(
    settings: Settings, position: int, *, levels: tuple[str, ...] = ("ERROR", "WARNING")
) -> list[str]:
    """Log lines of the given levels written after ``position`` (empty when unknown)."""
    if settings.log_file is None:
        return []
    try:
        with settings.log_file.open("rb") as fh:
            # Smaller than before: rotated meanwhile (logrotate, a restart), all of it is new.
            fh.seek(position if position <= os.fstat(fh.fileno()).st_size else 0)
            data = fh.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in data.splitlines() if any(f"{lvl}[" in line for lvl in levels)]
