"""The call log: every call trunkctl placed or heard of, in one SQLite file.

Rows come from three sources: ``asterisk`` (``trunkctl call``, one or at volume), ``api``
(calls started through NovoFon's HTTP APIs) and ``webhook`` (NOTIFY_* events). A volume run
is a *campaign*: each number gets its row before it is dialled, so an interrupted run
resumes without calling anyone twice. The file is 0600 and holds no secrets.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import EnvironmentProblem
from .i18n import Text

__all__ = ["CallLog", "default_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,            -- asterisk | api | webhook
    campaign TEXT,                   -- a volume run, for resuming
    number TEXT,                     -- E.164 digits
    channel_id TEXT,                 -- Originate ChannelId, or the provider's call id
    external_id TEXT,
    status TEXT NOT NULL,            -- dialing (not finished yet), answered, busy, ...
    sip_code INTEGER,
    q850 INTEGER,
    dial_status TEXT,
    started_at REAL NOT NULL,
    ended_at REAL,
    time_to_ring REAL,
    time_to_answer REAL,
    talk_duration REAL,
    detail TEXT                      -- JSON, never a secret
);
CREATE UNIQUE INDEX IF NOT EXISTS calls_campaign_number ON calls(campaign, number)
    WHERE campaign IS NOT NULL;
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,              -- NOTIFY_START, NOTIFY_END, ...
    call_id TEXT,
    payload TEXT NOT NULL            -- JSON
);
CREATE INDEX IF NOT EXISTS events_call ON events(call_id, kind);
CREATE TABLE IF NOT EXISTS campaigns (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    total INTEGER NOT NULL,
    detail TEXT
);
"""

_CALL_FIELDS = (
    "status",
    "sip_code",
    "q850",
    "dial_status",
    "ended_at",
    "time_to_ring",
    "time_to_answer",
    "talk_duration",
    "channel_id",
    "external_id",
)


def default_path() -> Path:
    """``TRUNKCTL_CALL_LOG``, else /var/lib/trunkctl/calls.db (root) or ~/.local/share."""
    if env := os.environ.get("TRUNKCTL_CALL_LOG"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/trunkctl/calls.db")
    return Path.home() / ".local/share/trunkctl/calls.db"


class CallLog:
    """The log at ``path`` (created 0600 on first use). Cheap to open; use per command."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
                os.close(fd)
            self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EnvironmentProblem(
                Text("cannot open the call log", "не удаётся открыть журнал звонков"),
                evidence=f"{self.path}: {exc}",
                next_step=Text(
                    "Check the directory's permissions, or set TRUNKCTL_CALL_LOG.",
                    "Проверьте права на каталог или задайте TRUNKCTL_CALL_LOG.",
                ),
            ) from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CallLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- calls ---------------------------------------------------------------------------
    def start_call(
        self,
        *,
        source: str,
        number: str | None,
        campaign: str | None = None,
        channel_id: str | None = None,
        external_id: str | None = None,
        detail: dict[str, Any] | None = None,
        started_at: float | None = None,
    ) -> int:
        """Record a call about to be placed (status ``dialing``); returns its row id.

        Within a campaign a number can be started only once (raises sqlite3.IntegrityError).
        ``started_at`` (epoch seconds) is now unless given: a call heard of afterwards (a
        webhook's ``call_start``) carries the time it really started.
        """
        # One statement: SQLite commits it on its own (autocommit), durably before the
        # Originate goes out, at a third of the cost of BEGIN/INSERT/COMMIT from Python.
        cur = self._db.execute(
            "INSERT INTO calls (source, campaign, number, channel_id, external_id, status,"
            " started_at, detail) VALUES (?, ?, ?, ?, ?, 'dialing', ?, ?)",
            (
                source,
                campaign,
                number,
                channel_id,
                external_id,
                time.time() if started_at is None else started_at,
                json.dumps(detail or {}, ensure_ascii=False),
            ),
        )
        return int(cur.lastrowid or 0)

    def finish_call(self, row: int, *, detail: dict[str, Any] | None = None, **fields: Any) -> None:
        """Store a call's outcome (``status``, ``sip_code``, ``q850``, timings …)."""
        unknown = set(fields) - set(_CALL_FIELDS)
        if unknown:
            raise ValueError(f"unknown call fields: {sorted(unknown)}")
        fields.setdefault("ended_at", time.time())
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [*fields.values()]
        if detail is not None:
            sets += ", detail = ?"
            values.append(json.dumps(detail, ensure_ascii=False))
        self._db.execute(f"UPDATE calls SET {sets} WHERE id = ?", (*values, row))  # noqa: S608

    def record_call(
        self,
        *,
        source: str,
        number: str | None,
        status: str,
        detail: dict[str, Any] | None = None,
        **fields: Any,
    ) -> int:
        """A finished call in one step."""
        row = self.start_call(
            source=source,
            number=number,
            detail=detail,
            started_at=fields.pop("started_at", None),
            channel_id=fields.pop("channel_id", None),
            external_id=fields.pop("external_id", None),
        )
        self.finish_call(row, status=status, **fields)
        return row

    def calls(
        self, *, limit: int = 50, campaign: str | None = None, source: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest calls first."""
        where, args = [], []
        if campaign is not None:
            where.append("campaign = ?")
            args.append(campaign)
        if source is not None:
            where.append("source = ?")
            args.append(source)
        # Only fixed column names are joined in; every value is a bound parameter.
        sql = "SELECT * FROM calls" + (" WHERE " + " AND ".join(where) if where else "")  # noqa: S608
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row(r) for r in rows]

    # -- campaigns -----------------------------------------------------------------------
    def open_campaign(
        self, campaign: str, total: int, detail: dict[str, Any] | None = None
    ) -> dict[str, str]:
        """Create (or reopen) a campaign; returns number → status of calls already made."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO campaigns (id, created_at, total, detail)"
                " VALUES (?, ?, ?, ?)",
                (campaign, time.time(), total, json.dumps(detail or {})),
            )
        rows = self._db.execute(
            "SELECT number, status FROM calls WHERE campaign = ?", (campaign,)
        ).fetchall()
        return {r["number"]: r["status"] for r in rows}

    def forget(self, campaign: str, numbers: list[str]) -> None:
        """Drop these numbers' rows from a campaign, so they may be called again."""
        with self._tx() as db:
            db.executemany(
                "DELETE FROM calls WHERE campaign = ? AND number = ?",
                [(campaign, n) for n in numbers],
            )

    # -- events --------------------------------------------------------------------------
    def record_event(
        self,
        *,
        source: str,
        kind: str,
        call_id: str | None,
        payload: dict[str, Any],
        once: bool = False,
        same_payload: bool = False,
    ) -> int | None:
        """Store one event (a webhook's NOTIFY_*, say); its row id.

        ``once``: an event with the same (source, kind, call_id) already stored — and, with
        ``same_payload``, the same payload too — is not stored again and None is returned
        (a webhook NovoFon retried, or someone replayed).
        """
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        with self._tx() as db:
            if once and call_id is not None:
                seen = db.execute(
                    "SELECT payload FROM events WHERE source = ? AND kind = ? AND call_id = ?",
                    (source, kind, call_id),
                ).fetchall()
                if any(not same_payload or _same(row["payload"], payload) for row in seen):
                    return None
            cur = db.execute(
                "INSERT INTO events (received_at, source, kind, call_id, payload)"
                " VALUES (?, ?, ?, ?, ?)",
                (time.time(), source, kind, call_id, text),
            )
            return int(cur.lastrowid or 0)

    def events(self, *, limit: int = 50, call_id: str | None = None) -> list[dict[str, Any]]:
        """The newest events first."""
        sql, args = "SELECT * FROM events", []
        if call_id is not None:
            sql += " WHERE call_id = ?"
            args.append(call_id)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row(r, json_key="payload") for r in rows]


def _same(stored: str, payload: dict[str, Any]) -> bool:
    try:
        return bool(json.loads(stored) == payload)
    except ValueError:
        return False


def _row(row: sqlite3.Row, json_key: str = "detail") -> dict[str, Any]:
    data = dict(row)
    raw = data.get(json_key)
    data[json_key] = json.loads(raw) if raw else {}
    return data
