"""Safe writes into an Asterisk config directory: lock, backup, atomic replace, roll back.

A write never leaves a partial file: the new text goes to a temp file in the same
directory, is fsync'd, takes the old file's owner, group and mode, and is renamed over it;
then the directory is fsync'd. A crash at any point leaves the old or the new file whole.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from trunkctl.errors import ConfError, ConfLockError, ConfWriteError
from trunkctl.i18n import Text

from ._document import Document, parse
from ._problems import ConfMissingError
from ._resolve import Resolution, resolve
from ._secrets import masked_diff

__all__ = ["Backup", "ConfigDir", "Transaction"]

LOCK_NAME: Final = ".trunkctl.lock"
BACKUP_DIR: Final = ".trunkctl-backups"
_TMP_MARK: Final = ".trunkctl-tmp-"
_NEW_FILE_MODE: Final = 0o640
_BACKUP_NAME: Final = re.compile(r"^(.+)\.(\d{8}T\d{6}\.\d{9}Z)(\.absent)?$")

Content = str | bytes | Document


def _as_bytes(content: Content) -> bytes:
    if isinstance(content, Document):
        return content.to_bytes()
    if isinstance(content, str):
        return content.encode("utf-8", "surrogateescape")
    return content


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
    target: Path, data: bytes, *, mode: int | None = None, force_mode: bool = False
) -> None:
    """Replace ``target`` by ``data`` all at once (symlinks: their target is replaced).

    Owner, group and mode come from the old file; a new file gets ``mode`` (or 0640) and
    the directory's owner and group. ``force_mode`` applies ``mode`` even over an old
    file's (for files that must stay private, whatever an older copy had).
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
        """Hold the directory's lock; wait up to ``timeout`` s, then raise ConfLockError."""
        if self._lock_fd is not None:  # re-entrant within one ConfigDir
            yield
            return
        wait = self.lock_timeout if timeout is None else timeout
        lock_path = self.path / LOCK_NAME
        with _os_errors(lock_path, Text("cannot open the lock {f}", "не открыть блокировку {f}")):
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                        raise ConfLockError(
                            Text(
                                "another trunkctl is changing {d}", "другой trunkctl меняет {d}"
                            ).format(d=str(self.path)),
                            evidence=Text(
                                f"{lock_path} held by pid {holder or '?'} for over {wait:g} s",
                                f"{lock_path} занят процессом {holder or '?'} дольше {wait:g} с",
                            ),
                            next_step=Text(
                                "Wait for it to finish, then retry.",
                                "Дождитесь его окончания и повторите.",
                            ),
                        ) from None
                    time.sleep(0.02)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            self._lock_fd = fd
            self._clean_stale_temps()
            try:
                yield
            finally:
                self._lock_fd = None
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing releases the flock

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

    def _put(self, rel: str, data: bytes | None) -> None:
        path = self.file(rel)
        with _os_errors(path, Text("cannot write {f}", "не удалось записать {f}")):
            if data is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                _fsync_dir(path.parent)
            else:
                atomic_write(path, data)


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
        self._done: list[tuple[Backup, bytes | None]] = []

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

        On failure the files already written are restored and ConfWriteError is raised.
        """
        self._require_lock()
        done: list[tuple[Backup, bytes | None]] = []
        try:
            for rel, data in self._staged.items():
                old = self.cfg.read_bytes(rel)
                if old == data:
                    continue
                backup = self.cfg._backup(rel, old)
                self.cfg._put(rel, data)
                done.append((backup, old))
        except BaseException:
            self._undo(done)
            raise
        self._done.extend(done)
        self._staged.clear()
        return [b for b, _ in done]

    def rollback(self) -> None:
        """Put back every file this transaction committed, byte for byte, newest first."""
        self._require_lock()
        done, self._done = self._done, []
        self._undo(done)

    def _undo(self, done: list[tuple[Backup, bytes | None]]) -> None:
        for backup, old in reversed(done):
            try:
                data = backup.read()
            except OSError:
                data = old  # the copy in memory is the same bytes
            self.cfg._put(backup.name, data)
