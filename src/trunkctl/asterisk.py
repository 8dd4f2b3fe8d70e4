"""Reaching the user's running Asterisk: AMI built from settings, or the CLI control socket.

Commands above this (apply, status, call, doctor) never assemble connections themselves, so
the secret is read from its file in exactly one place.
"""

from __future__ import annotations

import hmac
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

from .ami import AmiClient
from .errors import AmiAuthError, AmiConnectionError, EnvironmentProblem, TrunkctlError
from .i18n import Text
from .settings import Settings

__all__ = [
    "ConfigComplaint",
    "LogLine",
    "ami_client",
    "asterisk_rx",
    "config_complaints",
    "log_position",
    "log_since",
    "parse_log_line",
]


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
    wanted = {lvl.upper() for lvl in levels}
    return [
        line
        for line in data.splitlines()
        if (parsed := parse_log_line(line)) is not None and parsed.level in wanted
    ]


# One logger line, in every format Asterisk 22 writes to a log file: Debian's stock
# logger.conf (``[Dec  6 09:09:38] ERROR[22124] config_options.c: …``), a custom
# ``dateformat`` (``[2026-12-06 09:09:08.686] ERROR[22124] …``), a call id after the thread
# (``ERROR[22124][C-00000001]``), and older releases' ``file.c:123 in func:`` form.
_LOG_LINE = re.compile(
    r"^\[(?P<date>[^\]]*)\]\s+(?P<level>[A-Z]+)\[(?P<thread>\d+)\](?:\[[^\]]*\])?:?\s+"
    r"(?P<source>[\w./-]+)(?::\d+)?(?: in \w+)?:\s?(?P<message>.*)$"
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One parsed Asterisk log line: level (ERROR, WARNING, NOTICE, …), the C source that
    logged it, and its message."""

    level: str
    source: str
    message: str
    raw: str


# Any other formatter (``[plain]``, a prefix added by a log shipper): the level and thread
# wherever they are, the message after the next ": ".
_LOOSE_LINE = re.compile(
    r"\b(?P<level>ERROR|WARNING|NOTICE|VERBOSE|DEBUG|SECURITY|DTMF)\[\d+\]"
    r"(?:\[[^\]]*\])?:?\s+(?:(?P<source>[\w./-]+)(?::\d+)?(?: in \w+)?:\s)?(?P<message>.*)$"
)


def parse_log_line(line: str) -> LogLine | None:
    """The line's parts, or None for what is not a logger line (a continuation, noise)."""
    text = line.rstrip("\r\n")
    m = _LOG_LINE.match(text) or _LOOSE_LINE.search(text)
    if m is None:
        return None
    return LogLine(m["level"], m["source"] or "", m["message"], text)


@dataclass(frozen=True, slots=True)
class ConfigComplaint:
    """A log line in which Asterisk says it did not take (part of) a configuration.

    ``kind`` is one of ``unknown_option`` (``name`` is the section, ``option`` the key,
    ``line`` its line number), ``object_refused`` (the object was not created; an old one
    may be kept), ``duplicate_object`` (the whole file's type was refused), ``missing_auth``
    (an ``outbound_auth`` names no auth), ``transport_failed`` (a transport did not start:
    ``option`` holds the OS reason) and ``transport_not_reloaded`` (logged on every change
    of a transport, even one Asterisk does apply: only its bind, protocol and TLS wait for a
    restart, so compare what runs with the file before calling it a restart).
    """

    kind: str
    name: str
    type: str = ""
    option: str = ""
    line: int | None = None
    file: str = ""
    log_line: str = ""

    @property
    def refusal(self) -> bool:
        """True when Asterisk did not take what the line names (not a mere notice)."""
        return self.kind != "transport_not_reloaded"


_COMPLAINTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "unknown_option",
        re.compile(
            r"Could not find option suitable for category '(?P<name>[^']*)' named "
            r"'(?P<option>[^']*)' at line (?P<line>\d+) of ?(?P<file>.*)$"
        ),
    ),
    (
        "object_refused",
        re.compile(
            r"Could not create an object of type '(?P<type>[^']*)' with id '(?P<name>[^']*)'"
            r"(?: from configuration file '(?P<file>[^']*)')?"
        ),
    ),
    (
        "duplicate_object",
        re.compile(
            r"Config file '(?P<file>[^']*)' could not be loaded; configuration contains a "
            r"duplicate object: '(?P<name>[^']*)' of type '(?P<type>[^']*)'"
        ),
    ),
    ("missing_auth", re.compile(r"Auth object '(?P<name>[^']*)' could not be found")),
    (
        "transport_failed",
        re.compile(r"Transport '(?P<name>[^']*)' could not be started: (?P<option>.*)$"),
    ),
    (
        "transport_not_reloaded",
        re.compile(
            r"Transport '(?P<name>[^']*)' is not fully reloadable, not reloading: (?P<option>.*)$"
        ),
    ),
)


_IMPLIED_TYPE = {
    "missing_auth": "auth",
    "transport_failed": "transport",
    "transport_not_reloaded": "transport",
}


def config_complaints(lines: Iterable[str]) -> list[ConfigComplaint]:
    """Every line of ``lines`` (raw log text) in which Asterisk refused configuration,
    classified; the rest (noise such as a missing optional pjsip_wizard.conf) is dropped."""
    found: list[ConfigComplaint] = []
    for raw in lines:
        parsed = parse_log_line(raw)
        if parsed is None:
            continue
        for kind, pattern in _COMPLAINTS:
            m = pattern.search(parsed.message)
            if m is None:
                continue
            groups = m.groupdict()
            found.append(
                ConfigComplaint(
                    kind,
                    groups.get("name") or "",
                    type=groups.get("type") or _IMPLIED_TYPE.get(kind, ""),
                    option=(groups.get("option") or "").strip(),
                    line=int(groups["line"]) if groups.get("line") else None,
                    file=(groups.get("file") or "").strip(),
                    log_line=parsed.raw,
                )
            )
            break
    return found
