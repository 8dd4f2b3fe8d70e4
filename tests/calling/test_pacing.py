"""The token bucket that keeps a campaign under its calls-per-second limit (fake clock).

Real pacing through Asterisk is checked in test_campaign.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trunkctl.calling import TokenBucket
from trunkctl.errors import BadInput


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_calls_in_the_same_instant_are_spaced_one_period_apart() -> None:
    clock = Clock()
    bucket = TokenBucket(4.0, clock=clock)
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]


def test_an_idle_bucket_saves_up_at_most_burst_tokens() -> None:
    clock = Clock()
    bucket = TokenBucket(2.0, burst=3, clock=clock)
    clock.now += 60
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]


def test_slow_callers_are_never_delayed() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, clock=clock)
    for _ in range(5):
        assert bucket.reserve() == 0.0
        clock.now += 0.2


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("nan"), 1), (1, 0)])
def test_nonsense_limits_are_bad_input(rate: float, burst: int) -> None:
    with pytest.raises(BadInput):
        TokenBucket(rate, burst)


@given(
    rate=st.floats(0.1, 100),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=60),
)
def test_no_window_ever_holds_more_than_rate_times_length_plus_burst(
    rate: float, gaps: list[float]
) -> None:
    """Wherever the calls really start (arrival + delay), any window of T seconds holds at
    most rate*T + 1 of them: the limit a provider enforces."""
    clock = Clock()
    bucket = TokenBucket(rate, clock=clock)
    starts = []
    for gap in gaps:
        clock.now += gap
        starts.append(clock.now + bucket.reserve())
    starts.sort()
    for i, first in enumerate(starts):
        for j in range(i, len(starts)):
            window = starts[j] - first
            assert j - i + 1 <= rate * window + 1 + 1e-6
