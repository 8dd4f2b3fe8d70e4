"""Safe writes into an Asterisk config directory: lock, backup, atomic replace, roll back.

A write never leaves a partial file: the new text goes to a temp file in the same
directory, is fsync'd, takes the old file's owner, group and mode, and is renamed over it;
then the directory is fsync'd. A crash at any point leaves the old or the new file whole.

A commit that changes several files first writes an intent journal
(``.trunkctl-backups/.trunkctl-journal.json``, 0600, fsync'd: each file's name, the sha256
of its old and new bytes, and the backup that holds the old ones) and removes it after the
last replace. The next lock of the directory finds a journal left by a killed writer and
makes the set consistent again (:class:`Recovery`): if every file already holds its new
bytes the commit is *completed* (only the journal goes); otherwise it is *rolled back* —
each file that holds its new bytes is put back from its backup. Rolling back is the
conservative choice: the new bytes of files not yet written exist nowhere on disk, the old
ones always do (in the backups), and the user ran a command that did not report success.

Test seam: ``TRUNKCTL_TEST_KILL_AT=<step>`` makes the committing process SIGKILL itself at
that step (``backup-1``, ``journal``, ``tmp-1`` (temp written, not renamed), ``write-1``,
``tmp-2``, ``write-2``…, ``journal-removed``; ``undo-1``… inside a rollback). Tests only.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import signal
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal

from trunkctl.errors import ConfError, ConfLockError, ConfWriteError
from trunkctl.i18n import Text

from ._document import Document, parse
from ._problems import ConfMissingError
from ._resolve import Resolution, resolve
from ._secrets import masked_diff

__all__ = ["Backup", "ConfRecoveryError", "ConfigDir", "Recovery", "Transaction"]

LOCK_NAME: Final = ".trunkctl.lock"
BACKUP_DIR: Final = ".trunkctl-backups"
JOURNAL_NAME: Final = ".trunkctl-journal.json"
KILL_ENV: Final = "TRUNKCTL_TEST_KILL_AT"
_TMP_MARK: Final = ".trunkctl-tmp-"
_NEW_FILE_MODE: Final = 0o640
_BACKUP_NAME: Final = re.compile(r"^(.+)\.(\d{8}T\d{6}\.\d{9}Z)(\.absent)?$")

Content = str | bytes | Document

log = logging.getLogger("trunkctl.conf")


def _as_bytes(content: Content) -> bytes:
    if isinstance(content, Document):
        return content.to_bytes()
    if isinstance(content, str):
        return content.encode("utf-8", "surrogateescape")
    return content


def _kill_point(step: str) -> None:
    """Test seam: SIGKILL this process at ``step`` if TRUNKCTL_TEST_KILL_AT names it."""
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Backup:
    """One saved copy of a file as it was before trunkctl changed it."""

    name: str  # the file, relative to the config dir
    path: Path  # the copy (for ``absent``, an empty marker)
    stamp: str  # UTC, sortable: 20260126T101502.123456789Z
    absent: bool = False  # the file did not exist then: restoring deletes it

    def read(self) -> bytes | None:
        """The saved bytes, or None if the file did not exist."""
        return None if self.absent else self.path.read_bytes()


_OS_TEXT: Final = {
    errno.ENOSPC: Text("the disk is full", "диск заполнен"),
    errno.EDQUOT: Text("the disk quota is exceeded", "превышена дисковая квота"),
    errno.EROFS: Text("the file system is read-only", "файловая система только для чтения"),
    errno.EACCES: Text("permission denied", "нет прав"),
    errno.EPERM: Text(
        "the operation is not permitted (immutable file?)", "операция запрещена (файл immutable?)"
    ),
}


@contextlib.contextmanager
def _os_errors(path: Path, doing: Text) -> Iterator[None]:
    """Translate OSError at this package's edge; the old file is known to be intact."""
    try:
        yield
    except OSError as exc:
        why = _OS_TEXT.get(exc.errno or 0, Text(exc.strerror or str(exc), exc.strerror or str(exc)))
        raise ConfWriteError(
            doing.format(f=str(path)) + Text(": ", ": ") + why,
            evidence=Text(f"{type(exc).__name__}: {exc}", f"{type(exc).__name__}: {exc}"),
            next_step=Text(
                "Nothing was changed; free space or fix permissions, then retry.",
                "Ничего не изменено; освободите место или исправьте права и повторите.",
            ),
        ) from exc


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    target: Path,
    data: bytes,
    *,
    mode: int | None = None,
    force_mode: bool = False,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """Replace ``target`` by ``data`` all at once (symlinks: their target is replaced).

    Owner, group and mode come from the old file; a new file gets ``mode`` (or 0640) and
    the directory's owner and group. ``force_mode`` applies ``mode`` even over an old
    file's (for files that must stay private, whatever an older copy had).
    ``before_replace`` runs when the temp file is whole, just before the rename.
    """
    real = Path(os.path.realpath(target))
    folder = real.parent
    try:
        like = real.stat()
    except FileNotFoundError:
        like = None
    tmp = folder / f".{real.name}{_TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            if like is not None:
                os.fchown(fd, like.st_uid, like.st_gid)
                keep = stat.S_IMODE(like.st_mode)
                os.fchmod(fd, mode if force_mode and mode is not None else keep)
            else:
                dst = folder.stat()
                os.fchown(fd, dst.st_uid, dst.st_gid)
                os.fchmod(fd, _NEW_FILE_MODE if mode is None else mode)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace()
        tmp.replace(real)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ConfRecoveryError(ConfError):
    """An interrupted multi-file commit cannot be made consistent (a backup is gone)."""

    code = "conf_recovery"


@dataclass(frozen=True, slots=True)
class Recovery:
    """What the lock did about a multi-file commit that a killed trunkctl left unfinished.

    ``action`` is ``rolled_back`` (every file holds its old bytes again) or ``completed``
    (every file already held its new bytes; only the journal was left). ``restored`` are
    the files put back from their backups; ``left`` are files that hold neither version
    (edited since the crash) and were not touched.
    """

    action: Literal["rolled_back", "completed"]
    files: tuple[str, ...]
    started: str  # UTC ISO time the commit began
    pid: int  # the process that died mid-commit
    restored: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    journal: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def message(self) -> Text:
        """One line for the user: which commit, when, and what was done about it."""
        names = ", ".join(self.files)
        if self.action == "completed":
            text = Text(
                f"an interrupted commit of {names} (started {self.started}, pid {self.pid}) "
                "had written every file; it was completed",
                f"прерванная запись {names} (начата {self.started}, pid {self.pid}) "
                "успела записать все файлы; она завершена",
            )
        else:
            put = ", ".join(self.restored) or "none"
            text = Text(
                f"an interrupted commit of {names} (started {self.started}, pid {self.pid}) "
                f"was rolled back; restored from backups: {put}",
                f"прерванная запись {names} (начата {self.started}, pid {self.pid}) "
                f"откатена; восстановлены из копий: {put if self.restored else 'нет'}",
            )
        if self.left:
            lst = ", ".join(self.left)
            text = text + Text(
                f"; changed since and left as they are: {lst}",
                f"; изменены после сбоя и оставлены как есть: {lst}",
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (names and times only)."""
        return {
            "action": self.action,
            "files": list(self.files),
            "started": self.started,
            "pid": self.pid,
            "restored": list(self.restored),
            "left": list(self.left),
            "message": self.message().en,
        }


class ConfigDir:
    """An Asterisk config directory (default /etc/asterisk) that trunkctl may change.

    Every change runs under an flock'd ``.trunkctl.lock`` and leaves a backup in
    ``.trunkctl-backups/`` (0700; copies 0600).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = "/etc/asterisk",
        *,
        lock_timeout: float = 10.0,
        keep: int = 50,
    ) -> None:
        self.path = Path(path).absolute()
        self.lock_timeout = lock_timeout
        self.keep = keep
        self._lock_fd: int | None = None
        self.recoveries: list[Recovery] = []  # interrupted commits repaired by lock()

    def __repr__(self) -> str:
        return f"ConfigDir({str(self.path)!r})"

    # --- names ------------------------------------------------------------------------

    def file(self, name: str | os.PathLike[str]) -> Path:
        """The path of ``name`` (relative to the directory); refuses names outside it."""
        p = Path(name)
        full = p if p.is_absolute() else self.path / p
        norm = Path(os.path.normpath(full))
        if norm != self.path and self.path not in norm.parents:
            raise ConfError(
                Text("{n} is outside {d}", "{n} вне каталога {d}").format(
                    n=str(name), d=str(self.path)
                ),
                next_step=Text(
                    "Name a file inside the config directory.", "Укажите файл внутри каталога."
                ),
            )
        return norm

    def _rel(self, name: str | os.PathLike[str]) -> str:
        return str(self.file(name).relative_to(self.path))

    # --- reading ----------------------------------------------------------------------

    def read_bytes(self, name: str | os.PathLike[str]) -> bytes | None:
        """The file's bytes, or None if it does not exist."""
        path = self.file(name)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfError(
                Text("cannot read {f}", "не удалось прочитать {f}").format(f=str(path)),
                evidence=Text(str(exc), str(exc)),
            ) from exc

    def read(self, name: str | os.PathLike[str], *, missing_ok: bool = False) -> Document:
        """Parse a file losslessly; a missing one is an empty document if ``missing_ok``."""
        data = self.read_bytes(name)
        if data is None and not missing_ok:
            raise ConfMissingError(
                Text("{f} does not exist", "{f} не существует").format(f=str(self.file(name)))
            )
        return parse(data or b"", path=self._rel(name))

    def resolve(self, name: str, *, files: Mapping[str, bytes] | None = None) -> Resolution:
        """Asterisk's reading of ``name`` here (see :func:`trunkctl.conf.resolve`)."""
        return resolve(name, config_dir=self.path, files=files)

    def diff(self, name: str | os.PathLike[str], new: Content) -> str:
        """The masked unified diff that writing ``new`` would make."""
        old = self.read_bytes(name)
        return masked_diff(old, _as_bytes(new), name=self._rel(name))

    # --- the lock ---------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the directory's lock; wait up to ``timeout`` s, then raise ConfLockError.

        The lock file exists only while it is held, so a read-only run (``--dry-run``)
        leaves nothing behind. Taking the lock first repairs a multi-file commit that a
        killed trunkctl left unfinished; what was done is appended to ``recoveries``.
        """
        if self._lock_fd is not None:  # re-entrant within one ConfigDir
            yield
            return
        wait = self.lock_timeout if timeout is None else timeout
        lock_path = self.path / LOCK_NAME
        fd = self._acquire(lock_path, wait)
        try:
            with _os_errors(
                lock_path, Text("cannot write the lock {f}", "не записать блокировку {f}")
            ):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._lock_fd = fd
            try:
                self._clean_stale_temps()
                self._recover_locked()
                yield
            finally:
                self._lock_fd = None
        finally:
            # Removed while still flock'd: a waiter that opened this inode sees it is
            # unlinked (see _acquire) and opens the path again.
            with contextlib.suppress(OSError):
                lock_path.unlink()
            os.close(fd)  # closing releases the flock

    def _acquire(self, lock_path: Path, wait: float) -> int:
        deadline = time.monotonic() + wait
        while True:
            with _os_errors(
                lock_path, Text("cannot open the lock {f}", "не открыть блокировку {f}")
            ):
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            raise self._locked(lock_path, fd, wait) from None
                        time.sleep(0.02)
                mine = os.fstat(fd)
                try:
                    now = lock_path.stat()
                except FileNotFoundError:
                    now = None
            except BaseException:
                os.close(fd)
                raise
            if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
            os.close(fd)  # the holder removed it on release: lock the path's new file

    def _locked(self, lock_path: Path, fd: int, wait: float) -> ConfLockError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return ConfLockError(
            Text("another trunkctl is changing {d}", "другой trunkctl меняет {d}").format(
                d=str(self.path)
            ),
            evidence=Text(
                f"{lock_path} held by pid {holder or '?'} for over {wait:g} s",
                f"{lock_path} занят процессом {holder or '?'} дольше {wait:g} с",
            ),
            next_step=Text(
                "Wait for it to finish, then retry.", "Дождитесь его окончания и повторите."
            ),
        )

    # --- the intent journal -----------------------------------------------------------

    @property
    def journal_path(self) -> Path:
        """Where a multi-file commit records its intent while it runs."""
        return self.backup_dir / JOURNAL_NAME

    def recover(self) -> Recovery | None:
        """Repair an interrupted multi-file commit now (the lock does it anyway)."""
        before = len(self.recoveries)
        with self.lock():
            pass
        return self.recoveries[-1] if len(self.recoveries) > before else None

    def _write_journal(self, entries: list[dict[str, Any]]) -> None:
        body = {
            "version": 1,
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": entries,
        }
        data = json.dumps(body, indent=1, sort_keys=True).encode() + b"\n"
        path = self.journal_path
        with _os_errors(path, Text("cannot write the journal {f}", "не записать журнал {f}")):
            atomic_write(path, data, mode=0o600, force_mode=True)

    def _remove_journal(self) -> None:
        path = self.journal_path
        with _os_errors(path, Text("cannot remove the journal {f}", "не удалить журнал {f}")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            _fsync_dir(path.parent)

    def _journal_problem(self, what: Text, evidence: str) -> ConfRecoveryError:
        return ConfRecoveryError(
            what,
            evidence=Text(evidence, evidence),
            next_step=Text(
                f"Check the files named in {self.journal_path} against the copies in "
                f"{self.backup_dir} (trunkctl config backups), put right the ones that differ, "
                "then delete the journal.",
                f"Сверьте файлы из {self.journal_path} с копиями в {self.backup_dir} "
                "(trunkctl config backups), исправьте расходящиеся и удалите журнал.",
            ),
        )

    def _recover_locked(self) -> None:
        path = self.journal_path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._journal_problem(
                Text("cannot read the commit journal", "не прочитать журнал записи"), str(exc)
            ) from exc
        try:
            journal = json.loads(raw)
            entries = [
                (str(e["name"]), e["old"], str(e["new"]), str(e["backup"]))
                for e in journal["files"]
            ]
            pid, started = int(journal["pid"]), str(journal["started"])
        except (ValueError, KeyError, TypeError) as exc:
            raise self._journal_problem(
                Text("the commit journal is not trunkctl's", "журнал записи не от trunkctl"),
                f"{path}: {exc!r}",
            ) from exc
        names = tuple(e[0] for e in entries)
        current = {name: _digest(self.read_bytes(name)) for name in names}
        if all(current[name] == new for name, _, new, _ in entries):
            rec = Recovery("completed", names, started, pid, journal=journal)
        else:
            todo: list[tuple[str, bytes | None, bytes | None]] = []
            for name, old, new, backup in entries:
                if current[name] != new or new == old:
                    continue
                data: bytes | None = None
                if old is not None:
                    copy = self.backup_dir / Path(backup).name
                    try:
                        data = copy.read_bytes()
                    except OSError as exc:
                        raise self._journal_problem(
                            Text(
                                "an interrupted commit cannot be rolled back: a backup is gone",
                                "прерванную запись не откатить: нет резервной копии",
                            ),
                            f"{copy}: {exc}",
                        ) from exc
                    if _digest(data) != old:
                        raise self._journal_problem(
                            Text(
                                "an interrupted commit cannot be rolled back: a backup changed",
                                "прерванную запись не откатить: резервная копия изменена",
                            ),
                            f"{copy}: sha256 {_digest(data)} != {old}",
                        )
                todo.append((name, data, self.read_bytes(name)))
            for name, data, now in reversed(todo):
                self._backup(name, now)  # the unfinished new text stays recoverable too
                self._put(name, data)
            left = tuple(n for n, old, new, _ in entries if current[n] not in (old, new))
            rec = Recovery(
                "rolled_back",
                names,
                started,
                pid,
                restored=tuple(t[0] for t in todo),
                left=left,
                journal=journal,
            )
        self._remove_journal()
        self.recoveries.append(rec)
        # One path to the user: the CLI's commands catch this record (``extra``: the
        # Recovery) with their own handler and print it once, bilingual, on stderr and in
        # their JSON; a library caller with no logging set up still sees it through
        # Python's last-resort handler on stderr (stdout, and so JSON, stays clean).
        log.warning("trunkctl: %s (%s)", rec.message().render(), self.path, extra={"recovery": rec})

    def _clean_stale_temps(self) -> None:
        # Temp files of a writer that died (kill -9) are removed once nobody can own them.
        for folder in (self.path, self.path / BACKUP_DIR):
            with contextlib.suppress(OSError):
                for entry in os.scandir(folder):
                    _, mark, rest = entry.name.partition(_TMP_MARK)
                    if not mark:
                        continue
                    pid = rest.split("-", 1)[0]
                    if pid.isdigit() and not _pid_alive(int(pid)):
                        with contextlib.suppress(OSError):
                            Path(entry.path).unlink()

    # --- backups ----------------------------------------------------------------------

    @property
    def backup_dir(self) -> Path:
        """Where backups live: ``<config dir>/.trunkctl-backups``."""
        return self.path / BACKUP_DIR

    @staticmethod
    def _quote(rel: str) -> str:
        return rel.replace("%", "%25").replace("/", "%2F")

    def backups(self, name: str | os.PathLike[str] | None = None) -> list[Backup]:
        """Backups (of ``name``, or of every file), oldest first."""
        out: list[Backup] = []
        try:
            entries = list(os.scandir(self.backup_dir))
        except FileNotFoundError:
            return out
        want = None if name is None else self._quote(self._rel(name))
        for e in entries:
            if _TMP_MARK in e.name:
                continue
            m = _BACKUP_NAME.match(e.name)
            if m is None or (want is not None and m.group(1) != want):
                continue
            quoted, stamp, absent = m.group(1), m.group(2), bool(m.group(3))
            rel = quoted.replace("%2F", "/").replace("%25", "%")
            out.append(Backup(rel, Path(e.path), stamp, absent))
        out.sort(key=lambda b: (b.stamp, b.name))
        return out

    def _backup(self, rel: str, old: bytes | None) -> Backup:
        folder = self.backup_dir
        with _os_errors(
            folder, Text("cannot back up into {f}", "не удалось сохранить копию в {f}")
        ):
            folder.mkdir(mode=0o700, exist_ok=True)
            folder.chmod(0o700)
            ns = time.time_ns()
            while True:
                stamp = (
                    time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
                )
                path = folder / f"{self._quote(rel)}.{stamp}{'.absent' if old is None else ''}"
                if not path.exists():
                    break
                ns += 1
            atomic_write(path, old or b"", mode=0o600)
            path.chmod(0o600)
        self._prune(rel)
        return Backup(rel, path, stamp, old is None)

    def _prune(self, rel: str) -> None:
        old = self.backups(rel)
        for b in old[: max(0, len(old) - self.keep)]:
            with contextlib.suppress(OSError):
                b.path.unlink()

    # --- writing ----------------------------------------------------------------------

    def transaction(self, timeout: float | None = None) -> Transaction:
        """A multi-file change: stage, diff, commit (atomic per file), roll back."""
        return Transaction(self, timeout)

    def write(self, name: str | os.PathLike[str], content: Content) -> Backup | None:
        """Write one file safely; returns its backup, or None if nothing changed."""
        with self.transaction() as tx:
            tx.stage(name, content)
            done = tx.commit()
        return done[0] if done else None

    def restore(self, name: str | os.PathLike[str], backup: Backup | None = None) -> Backup:
        """Put a file back as a backup holds it (default: its newest); returns the backup
        of what was there just before, so a restore can itself be undone."""
        rel = self._rel(name)
        with self.lock():
            found = self.backups(rel)
            chosen = backup or (found[-1] if found else None)
            if chosen is None:
                raise ConfError(
                    Text("no backup of {f}", "нет резервной копии {f}").format(f=rel),
                    next_step=Text("Nothing to roll back.", "Откатывать нечего."),
                )
            current = self.read_bytes(rel)
            before = self._backup(rel, current)
            self._put(rel, chosen.read())
            return before

    def _put(
        self, rel: str, data: bytes | None, before_replace: Callable[[], None] | None = None
    ) -> None:
        path = self.file(rel)
        with _os_errors(path, Text("cannot write {f}", "не удалось записать {f}")):
            if data is None:
                if before_replace is not None:
                    before_replace()
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                _fsync_dir(path.parent)
            else:
                atomic_write(path, data, before_replace=before_replace)


class Transaction:
    """Several files changed together under one lock (``with cfg.transaction() as tx``).

    ``commit()`` writes each staged file atomically after backing it up; if one fails, the
    ones already written are put back. ``rollback()`` restores them all byte for byte from
    their backups (e.g. when the Asterisk reload that follows fails).
    """

    def __init__(self, cfg: ConfigDir, timeout: float | None) -> None:
        self.cfg = cfg
        self._timeout = timeout
        self._lock: contextlib.AbstractContextManager[None] | None = None
        self._staged: dict[str, bytes] = {}
        self._done: list[tuple[Backup, bytes | None, bytes]] = []

    def __enter__(self) -> Transaction:
        self._lock = self.cfg.lock(self._timeout)
        self._lock.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.__exit__(exc_type, exc, tb)

    def _require_lock(self) -> None:
        if self._lock is None:
            raise ConfError(
                Text("use the transaction in a with-block", "используйте транзакцию в with")
            )

    def read(self, name: str | os.PathLike[str], *, missing_ok: bool = True) -> Document:
        """The staged text of ``name`` if any, else the file (missing: empty document)."""
        rel = self.cfg._rel(name)
        if rel in self._staged:
            return parse(self._staged[rel], path=rel)
        return self.cfg.read(rel, missing_ok=missing_ok)

    def stage(self, name: str | os.PathLike[str], content: Content) -> None:
        """Queue the new full text of ``name`` (a Document, str or bytes)."""
        self._staged[self.cfg._rel(name)] = _as_bytes(content)

    @property
    def staged(self) -> dict[str, bytes]:
        """Staged texts by file name."""
        return dict(self._staged)

    def changed(self) -> list[str]:
        """Staged files whose text differs from the disk."""
        return [r for r, d in self._staged.items() if self.cfg.read_bytes(r) != d]

    def diff(self) -> str:
        """The combined masked diff of every staged file (``config diff`` / ``--dry-run``)."""
        return "".join(
            masked_diff(self.cfg.read_bytes(r), d, name=r) for r, d in self._staged.items()
        )

    def resolve(self, name: str) -> Resolution:
        """Asterisk's reading of ``name`` as it would be after commit."""
        files = {str(self.cfg.file(r)): d for r, d in self._staged.items()}
        return self.cfg.resolve(name, files=files)

    def commit(self) -> list[Backup]:
        """Back up and atomically write every changed staged file, in staging order.

        Every backup is taken first; with two or more files an fsync'd intent journal is
        written before the first replace and removed after the last, so a crash leaves a
        set the next lock can make consistent. On failure the files already written are
        restored and ConfWriteError is raised.
        """
        self._require_lock()
        plan: list[tuple[str, bytes, bytes | None]] = []
        for rel, data in self._staged.items():
            old = self.cfg.read_bytes(rel)
            if old != data:
                plan.append((rel, data, old))
        done: list[tuple[Backup, bytes | None, bytes]] = []
        journal = False
        try:
            backups: list[Backup] = []
            for i, (rel, _, old) in enumerate(plan, 1):
                backups.append(self.cfg._backup(rel, old))
                _kill_point(f"backup-{i}")
            if len(plan) > 1:
                self.cfg._write_journal(
                    [
                        {
                            "name": rel,
                            "old": _digest(old),
                            "new": _digest(data),
                            "backup": b.path.name,
                        }
                        for (rel, data, old), b in zip(plan, backups, strict=True)
                    ]
                )
                journal = True
                _kill_point("journal")
            for i, ((rel, data, old), backup) in enumerate(zip(plan, backups, strict=True), 1):
                self.cfg._put(rel, data, before_replace=functools.partial(_kill_point, f"tmp-{i}"))
                done.append((backup, old, data))
                _kill_point(f"write-{i}")
        except BaseException:
            self._undo(done)
            if journal:
                self.cfg._remove_journal()
            raise
        if journal:
            self.cfg._remove_journal()
            _kill_point("journal-removed")
        self._done.extend(done)
        self._staged.clear()
        return [b for b, _, _ in done]

    def rollback(self) -> None:
        """Put back every file this transaction committed, byte for byte, newest first.

        Several files are journalled like a commit, so a crash mid-way is rolled back by
        the next lock too.
        """
        self._require_lock()
        done, self._done = self._done, []
        journal = len(done) > 1
        if journal:
            self.cfg._write_journal(
                [
                    {
                        "name": b.name,
                        "old": _digest(old),
                        "new": _digest(new),
                        "backup": b.path.name,
                    }
                    for b, old, new in done
                ]
            )
        self._undo(done)
        if journal:
            self.cfg._remove_journal()

    def _undo(self, done: list[tuple[Backup, bytes | None, bytes]]) -> None:
        for i, (backup, old, _) in enumerate(reversed(done), 1):
            try:
                data = backup.read()
            except OSError:
                data = old  # the copy in memory is the same bytes
            self.cfg._put(backup.name, data)
            _kill_point(f"undo-{i}")
