"""A read-only table keyed by numeric code that never fails a lookup.

Modelled on asyncpg's error registry (a dict keyed by SQLSTATE with an "unknown" class as
the fallback): a code we have no row for still gets an entry, built by the table's
``unknown`` function and marked ``known=False``, so callers never branch on ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol, TypeVar


class _Row(Protocol):
    @property
    def code(self) -> int: ...


R = TypeVar("R", bound=_Row)


class CodeTable(Mapping[int, R]):
    """Rows keyed by their ``code``; ``lookup`` falls back to an "unknown" row, never raises.

    As a ``Mapping`` it holds only the known rows (``in``, ``len``, iteration, ``[]``).
    """

    __slots__ = ("_name", "_rows", "_unknown")

    def __init__(self, name: str, rows: Iterable[R], unknown: Callable[[int], R]) -> None:
        self._name = name
        self._rows: dict[int, R] = {}
        for row in rows:
            if row.code in self._rows:
                raise ValueError(f"{name}: duplicate row for code {row.code}")
            self._rows[row.code] = row
        self._unknown = unknown

    def lookup(self, code: int) -> R:
        """The row for ``code``, or the table's "unknown" row for it."""
        row = self._rows.get(code)
        return row if row is not None else self._unknown(code)

    def __getitem__(self, code: int) -> R:
        return self._rows[code]

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"<CodeTable {self._name}: {len(self._rows)} codes>"
