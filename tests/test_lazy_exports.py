"""Packages with lazy exports load only the submodule a caller asks for."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_an_api_call_helper_does_not_load_the_campaign_or_the_ami_client() -> None:
    loaded = _loaded_after("from trunkctl.calling import place_call")
    assert "trunkctl.calling._api_calls" in loaded
    assert "trunkctl.calling._campaign" not in loaded and "trunkctl.ami" not in loaded


def test_planning_credentials_does_not_load_apply() -> None:
    loaded = _loaded_after("from trunkctl.provision import plan_credentials")
    assert "trunkctl.provision._credentials" in loaded
    assert "trunkctl.provision._apply" not in loaded and "trunkctl.ami" not in loaded


def test_an_unknown_name_is_an_attribute_error() -> None:
    import trunkctl.calling

    with pytest.raises(AttributeError, match="has no attribute 'place_cal'"):
        trunkctl.calling.place_cal  # type: ignore[attr-defined]  # noqa: B018
    from trunkctl.calling import CampaignRunner, _campaign

    assert CampaignRunner is _campaign.CampaignRunner


def test_the_calls_report_type_is_exported_with_the_function_that_returns_it() -> None:
    loaded = _loaded_after(
        "import trunkctl.calling as c\nfrom trunkctl.calling import CallsReport, calls_report\n"
        "assert 'CallsReport' in c.__all__ and CallsReport.__module__.endswith('_api_calls')"
    )
    assert "trunkctl.calling._campaign" not in loaded
