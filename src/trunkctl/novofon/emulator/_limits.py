"""Sliding-window request counters for the emulator's rate limits."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SlidingWindow", "WindowState"]


@dataclass(frozen=True, slots=True)
class WindowState:
    """The outcome of one hit: allowed or not, the limit, what is left, seconds to relief."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: float


class SlidingWindow:
    """At most ``limit`` hits per key in any ``period`` seconds."""

    def __init__(self, limit: int, period: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def _window(self, key: str) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        cutoff = self._clock() - self.period
        while hits and hits[0] <= cutoff:
            hits.popleft()
        return hits

    def state(self, key: str) -> WindowState:
        """The window as it stands, without counting a hit."""
        hits = self._window(key)
        reset_in = hits[0] + self.period - self._clock() if hits else 0.0
        remaining = max(0, self.limit - len(hits))
        return WindowState(remaining > 0, self.limit, remaining, max(0.0, reset_in))

    def hit(self, key: str) -> WindowState:
        """Count one request if the window has room; the state after it."""
        before = self.state(key)
        if not before.allowed:
            return before
        self._hits[key].append(self._clock())
        after = self.state(key)
        return WindowState(True, after.limit, after.remaining, after.reset_in)
