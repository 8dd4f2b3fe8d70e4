"""A token bucket: how a volume run keeps under a calls-per-second limit.

Pure arithmetic over an injected clock, so tests drive it without sleeping. Providers count
call attempts per second (NovoFon refuses the excess with 403/503), so the default burst is
one: calls go out evenly spaced, never several in the same instant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from trunkctl.errors import BadInput
from trunkctl.i18n import Text

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; each call takes one."""

    def __init__(
        self, rate: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0 or burst < 1:
            raise BadInput(
                Text(
                    f"calls per second must be above 0 (got {rate:g}) and the burst at "
                    f"least 1 (got {burst})",
                    f"число звонков в секунду должно быть больше 0 (указано {rate:g}), "
                    f"а пачка — не меньше 1 (указано {burst})",
                ),
                next_step=Text(
                    "Use e.g. --cps 1 or --cps 0.5.", "Например: --cps 1 или --cps 0.5."
                ),
            )
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def reserve(self) -> float:
        """Take a token now; return how many seconds the caller must wait before using it.

        Reservations queue: a second caller in the same instant waits one period more.
        """
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> None:
        """Wait for a token."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
