"""apply records its last outcome in ``last-apply.json`` (for the exporter), success or not."""

from __future__ import annotations

import json
import stat
import time
from typing import Any

import pytest

from trunkctl.conf import ConfigDir
from trunkctl.provision import ApplyError, apply

from ..conftest import SandboxInfo
from .test_apply_truth import applied, edit
from .test_setup_apply import settings_of


def record(pbx: SandboxInfo) -> dict[str, Any]:
    path = ConfigDir(pbx.pbx_config_dir).backup_dir / "last-apply.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data: dict[str, Any] = json.loads(path.read_text())
    return data


async def test_a_successful_apply_is_recorded(pbx: SandboxInfo) -> None:
    before = time.time()
    await applied(pbx)
    data = record(pbx)
    assert data["ok"] is True and data["outcome"] == "applied" and data["rolled_back"] is False
    assert data["registrations"] == {"novofon": "Registered"}
    assert before - 1 <= data["at"] <= time.time() + 1


async def test_a_refused_apply_is_recorded_too(pbx: SandboxInfo) -> None:
    await applied(pbx)
    edit(pbx, "outbound_auth", "novofon", "novofon-gone", count=0)
    before = time.time()
    with pytest.raises(ApplyError):
        await apply(settings_of(pbx))
    data = record(pbx)
    assert data["ok"] is False and data["outcome"] == "refused" and data["rolled_back"] is True
    assert data["at"] >= before - 1
