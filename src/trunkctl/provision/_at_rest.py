"""Secrets at rest: a config file trunkctl wrote a secret into is not left readable by others.

Called after a commit that wrote a line password (pjsip.conf) or an AMI secret (manager.conf,
manager.d/…): a file holding a secret with any "other" permission bit is tightened to 0640 at
most (owner and group kept, so Asterisk, which reads it as its owner or group, still can).
When tightening could lock Asterisk out (its user is neither the owner nor in the group), the
file is left as it is and the exact commands are named instead.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trunkctl.conf import MASK, is_secret_key, parse
from trunkctl.i18n import Text

__all__ = [
    "ASTERISK_USER",
    "Tightened",
    "asterisk_locked_out",
    "holds_secret",
    "tighten_secret_files",
]

ASTERISK_USER = "asterisk"


@dataclass(frozen=True, slots=True)
class Tightened:
    """One file holding a secret that was readable by others: what was (or must be) done."""

    file: str
    mode_before: int
    mode_after: int
    changed: bool

    @property
    def note(self) -> Text:
        """What happened, for the command's output (no secret in it)."""
        before, after = f"{self.mode_before:04o}", f"{self.mode_after:04o}"
        if self.changed:
            return Text(
                f"{self.file} holds a secret and was readable by every user ({before}): "
                f"now {after} (owner and group kept, Asterisk still reads it).",
                f"{self.file} содержит пароль и был доступен всем пользователям ({before}): "
                f"теперь {after} (владелец и группа прежние, Asterisk его читает).",
            )
        return Text(
            f"{self.file} holds a secret and is readable by every user ({before}); it was "
            f"not changed because Asterisk's user '{ASTERISK_USER}' reads it only through "
            f"that bit. Run `chgrp {ASTERISK_USER} {self.file} && chmod 0640 {self.file}`.",
            f"{self.file} содержит пароль и доступен всем пользователям ({before}); он не "
            f"изменён: пользователь Asterisk '{ASTERISK_USER}' читает его только через это "
            f"право. Выполните `chgrp {ASTERISK_USER} {self.file} && chmod 0640 {self.file}`.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "mode_before": f"{self.mode_before:04o}",
            "mode_after": f"{self.mode_after:04o}",
            "changed": self.changed,
        }


def holds_secret(data: bytes) -> bool:
    """True when the .conf text sets a credential option (password, secret, …) to a value."""
    doc = parse(data)
    return any(
        is_secret_key(key) and value.strip() and value.strip() != MASK
        for section in doc.sections()
        for key, value in section.items()
    )


def asterisk_locked_out(st: os.stat_result) -> bool:
    """True when an ``asterisk`` user exists here and reads the file only as "other"."""
    try:
        user = pwd.getpwnam(ASTERISK_USER)
    except KeyError:
        return False  # no such user: Asterisk runs as root or as the file's owner
    if user.pw_uid in (st.st_uid, 0) or user.pw_gid == st.st_gid:
        return False
    try:
        members = grp.getgrgid(st.st_gid).gr_mem
    except KeyError:
        return True
    return ASTERISK_USER not in members


def tighten_secret_files(config_dir: Path, names: Iterable[str]) -> list[Tightened]:
    """Tighten each named file (relative to ``config_dir``) that holds a secret and has any
    permission bit for others; return what was done (nothing to do: not listed)."""
    done: list[Tightened] = []
    for name in dict.fromkeys(names):
        path = Path(os.path.realpath(config_dir / name))
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode) or not st.st_mode & 0o007:
                continue
            if not holds_secret(path.read_bytes()):
                continue
            before = stat.S_IMODE(st.st_mode)
            after = before & 0o770 & ~0o020  # no bit for others, no group write: ≤ 0640
            if asterisk_locked_out(st):
                done.append(Tightened(str(path), before, after, changed=False))
                continue
            path.chmod(after)
        except OSError:
            continue  # unreadable or not ours to change: the doctor rule reports it
        done.append(Tightened(str(path), before, after, changed=True))
    return done
