"""Foreign numbers reach the provider exactly as typed (E.164 digits), never rewritten by
the Russian rules of trunkctl's `outgoing` context (8… → 7…, 9… → 79…), and those rules
still apply to what phones dial. Checked by the digits the provider's INVITEs carry."""

from __future__ import annotations

from pathlib import Path

from trunkctl.ami import AmiClient, originate_and_track
from trunkctl.calling import CampaignRunner, place_test_call, read_numbers
from trunkctl.calllog import CallLog
from trunkctl.settings import Settings

from ..conftest import SandboxInfo
from .conftest import ProviderView


async def test_a_foreign_test_call_reaches_the_provider_with_its_own_digits(
    trunk: Settings, provider_view: ProviderView
) -> None:
    # Japan: as bare digits 81312345678 looks like a Russian 8… number.
    report = await place_test_call(trunk, "+81 3 1234 5678", timeout=10)
    assert report.channel == "Local/+81312345678@outgoing"
    assert provider_view.invites["81312345678"] == 1
    assert provider_view.invites["71312345678"] == 0
    assert report.result.sip_code == 404  # the provider knows no such number


async def test_a_campaign_dials_foreign_numbers_unchanged(
    trunk: Settings, provider_view: ProviderView, tmp_path: Path
) -> None:
    numbers = ["+82 2 1234 5678", "+49 30 901820", "8 999 000 04 04"]
    runner = CampaignRunner(
        read_numbers("\n".join(numbers), source="test", strict=False),
        CallLog(tmp_path / "calls.db"),
        cps=20,
        ring_timeout=3,
    )
    report = await runner.run(trunk)
    assert {r.number for r in report.results} == {"82212345678", "4930901820", "79990000404"}
    assert all(r.status == "not_found" for r in report.results), report.results
    for digits in ("82212345678", "4930901820", "79990000404"):
        assert provider_view.invites[digits] == 1, provider_view.invites
    assert provider_view.invites["72212345678"] == 0
    assert provider_view.invites["74930901820"] == 0


async def test_phones_russian_habits_are_still_rewritten(
    trunk: Settings, pbx: SandboxInfo, provider_view: ProviderView
) -> None:
    a = pbx.ami
    async with AmiClient(
        a["host"], a["port"], a["username"], a["secret"], events=("call", "user")
    ) as ami:
        for dialled in ("89990000404", "9990000404", "81081312345678", "79990000404"):
            result = await originate_and_track(
                ami, f"Local/{dialled}@outgoing", app="Playback", data="hello-world", timeout=10
            )
            assert result.sip_code == 404, (dialled, result.status)
    assert provider_view.invites["79990000404"] == 3  # 8…, 10-digit 9… and 7… alike
    assert provider_view.invites["81312345678"] == 1  # 8-10 is the international prefix
