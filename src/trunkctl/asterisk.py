"""Reaching the user's running Asterisk: AMI built from settings, or the CLI control socket.

Commands above this (apply, status, call, doctor) never assemble connections themselves, so
the secret is read from its file in exactly one place.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable

from .ami import AmiClient
from .errors import AmiConnectionError, EnvironmentProblem
from .i18n import Text
from .settings import Settings

__all__ = ["ami_client", "asterisk_rx", "log_position", "log_since"]


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
    return AmiClient(
        ami.host,
        ami.port,
        ami.username,
        ami.read_secret(),
        events=events,
        timeout=timeout,
        reconnect=reconnect,
        keepalive=keepalive,
    )


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
