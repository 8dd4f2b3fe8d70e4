"""Hypothesis profiles for tests/conf: ``conf-fast`` by default keeps the package under a minute."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "conf-fast",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
