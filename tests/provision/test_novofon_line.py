"""The NovoFon line through the library: listing the account's SIP lines, and a password
reset written straight into a trunk's auth, against the emulator over HTTP (in-memory
backend, a config directory of its own — no Asterisk needed).

The same reset end to end on the sandbox (the new password registers):
tests/cli/test_api_cli.py; the Data API client itself: tests/novofon/test_jsonrpc_client.py.
"""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from trunkctl.conf import ConfigDir
from trunkctl.errors import BadInput, EnvironmentProblem, TrunkctlError
from trunkctl.novofon import NovofonConfig
from trunkctl.novofon.emulator import InMemoryBackend, SipLineInfo, VirtualNumberInfo
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.provision import (
    account_balance,
    list_sip_lines,
    plan_setup,
    read_via,
    reset_sip_password,
    sip_line_rows,
)
from trunkctl.secret import Secret
from trunkctl.settings import Settings

from ..novofon.conftest import account
from ..novofon.served import Served, serve

LINE, OTHER = "0053248", "123456-100"
OLD = "old-password-1"


def _backend(*lines: SipLineInfo) -> InMemoryBackend:
    return InMemoryBackend(
        lines=list(lines) or [SipLineInfo(11, LINE, virtual_phone_number="74951112233")],
        numbers=[VirtualNumberInfo(21, "74951112233")],
    )


@pytest.fixture
async def one_line() -> AsyncIterator[Served]:
    async with serve(_backend()) as served:
        yield served


@pytest.fixture
async def two_lines() -> AsyncIterator[Served]:
    async with serve(_backend(SipLineInfo(11, LINE), SipLineInfo(12, OTHER))) as served:
        yield served


def trunk_dir(folder: Path, name: str = "novofon") -> Settings:
    """A config directory holding a registration trunk for LINE with password OLD."""
    spec = TrunkSpec(
        profile=PROFILES["novofon"].with_server("127.0.0.1", 5060, None),
        mode="registration",
        name=name,
        login=LINE,
        password=Secret(OLD),
    )
    folder.mkdir(exist_ok=True)
    with ConfigDir(folder).transaction() as tx:
        plan_setup(tx, render_trunk(spec))
        tx.commit()
    return Settings(config_dir=folder)


def auth_password(settings: Settings, trunk: str = "novofon") -> str | None:
    doc = ConfigDir(settings.config_dir).read("pjsip.conf")
    auth = doc.find(trunk, "auth")
    assert auth is not None
    return auth.get("password")


async def test_list_sip_lines_gives_logins_ids_and_registration(two_lines: Served) -> None:
    two_lines.backend.register(OTHER, "127.0.0.2")
    lines = await list_sip_lines(two_lines.conf())
    assert [(ln.id, ln.phone_number, ln.registered) for ln in lines] == [
        (11, LINE, False),
        (12, OTHER, True),
    ]
    assert [a.ip for a in lines[1].ip_addresses] == ["127.0.0.2"]


async def test_sip_line_rows_read_the_same_lines_through_either_api() -> None:
    second = "0053249"  # REST v1 takes digit-only SIP ids
    async with serve(_backend(SipLineInfo(11, LINE), SipLineInfo(12, second))) as served:
        served.backend.register(second, "127.0.0.2")
        data = await sip_line_rows(served.conf(), "data")
        v1 = await sip_line_rows(served.conf(jsonrpc=False), "v1")
    assert [(r.login, r.registered) for r in data] == [(LINE, False), (second, True)]
    assert [(r.login, r.registered) for r in v1] == [(LINE, False), (second, True)]
    # Each API's JSON names what that API knows, and never a password.
    assert data[1].to_dict()["ip_addresses"][0]["ip"] == "127.0.0.2"
    assert set(data[0].to_dict()) == {
        "id",
        "login",
        "registered",
        "physical_state",
        "ip_addresses",
        "channels",
        "virtual_phone_number",
    }
    assert set(v1[0].to_dict()) == {"id", "login", "registered", "display_name", "channels"}


async def test_account_balance_reads_rest_v1() -> None:
    async with serve(_backend(), account(balance=12.5, currency="RUB")) as served:
        balance = await account_balance(served.conf(jsonrpc=False))
    assert (balance.balance, balance.currency) == (12.5, "RUB")


def test_read_via_prefers_the_data_api_unless_only_rest_credentials_exist() -> None:
    rest_only = NovofonConfig(values={"key": Secret("k" * 20), "secret": Secret("s" * 20)})
    both = NovofonConfig(values={**rest_only.values, "api_token": Secret("t" * 20)})
    assert read_via(rest_only, "auto") == "v1"
    assert read_via(both, "auto") == "data"
    assert read_via(NovofonConfig(), "auto") == "data"  # the error then names what is missing
    assert read_via(rest_only, "data") == "data"
    assert read_via(both, "v1") == "v1"


async def test_reset_without_settings_returns_the_password_and_writes_nothing(
    one_line: Served,
) -> None:
    result = await reset_sip_password(one_line.conf(), None)  # the only line
    new = one_line.backend.password(LINE)
    assert new is not None and result.password.reveal() == new
    assert (result.line_id, result.login, result.trunk) == (11, LINE, None)
    assert result.to_dict() == {
        "line_id": 11,
        "login": LINE,
        "written": False,
        "trunk": None,
        "changed": [],
        "backups": [],
        "tightened": [],
    }
    assert result.to_dict(show=True)["password"] == new
    assert new not in repr(result)


@pytest.mark.parametrize("wanted", [LINE, " 11 "])
async def test_a_line_is_named_by_login_or_id(two_lines: Served, wanted: str) -> None:
    result = await reset_sip_password(two_lines.conf(), wanted)
    assert result.login == LINE
    assert two_lines.backend.password(LINE) == result.password.reveal()
    assert two_lines.backend.password(OTHER) is None


@pytest.mark.parametrize(
    ("wanted", "what"),
    [
        (None, "the account has several SIP lines"),
        ("0099999", "no such SIP line in the account"),
    ],
)
async def test_an_unclear_line_is_refused_before_any_change(
    two_lines: Served, wanted: str | None, what: str
) -> None:
    with pytest.raises(BadInput) as info:
        await reset_sip_password(two_lines.conf(), wanted)
    assert info.value.what.en == what
    assert info.value.evidence is not None
    assert info.value.evidence.en == f"lines: {LINE} (id 11), {OTHER} (id 12)"
    assert "trunkctl api sip-lines" in info.value.next_step.render("en")  # type: ignore[union-attr]
    assert two_lines.backend.password(LINE) is None
    assert two_lines.backend.password(OTHER) is None


async def test_reset_writes_the_new_password_into_the_trunks_auth(
    one_line: Served, tmp_path: Path
) -> None:
    settings = trunk_dir(tmp_path)
    (tmp_path / "pjsip.conf").chmod(0o644)  # as a sandbox or a hand-made install has it
    before = (tmp_path / "pjsip.conf").read_text()
    result = await reset_sip_password(one_line.conf(), LINE, settings=settings)
    new = one_line.backend.password(LINE)
    assert new is not None and new != OLD
    assert auth_password(settings) == new
    # Only the password line differs: the login was already the line's.
    after = (tmp_path / "pjsip.conf").read_text()
    assert after == before.replace(f"password = {OLD}\n", f"password = {new}\n")
    # The file held the password readable by everyone (0644 here): now 0640.
    assert stat.S_IMODE((tmp_path / "pjsip.conf").stat().st_mode) == 0o640
    assert result.to_dict() == {
        "line_id": 11,
        "login": LINE,
        "written": True,
        "trunk": "novofon",
        "changed": ["[novofon] type=auth password"],
        "backups": result.backups,
        "tightened": [
            {
                "file": str((tmp_path / "pjsip.conf").resolve()),
                "mode_before": "0644",
                "mode_after": "0640",
                "changed": True,
            }
        ],
    }
    (backup,) = result.backups
    assert f"password = {OLD}\n" in Path(backup).read_text()


async def test_reset_goes_to_the_named_trunk_or_the_configured_one(
    one_line: Served, tmp_path: Path
) -> None:
    settings = trunk_dir(tmp_path, "nf2")
    named = await reset_sip_password(one_line.conf(), LINE, settings=settings, trunk="nf2")
    assert named.trunk == "nf2" and auth_password(settings, "nf2") == named.password.reveal()
    configured = await reset_sip_password(one_line.conf(trunk="nf2"), LINE, settings=settings)
    assert configured.trunk == "nf2"
    assert auth_password(settings, "nf2") == configured.password.reveal()


async def test_a_config_that_cannot_take_it_fails_before_novofon_changes_anything(
    two_lines: Served, tmp_path: Path
) -> None:
    settings = trunk_dir(tmp_path)
    before = (tmp_path / "pjsip.conf").read_text()
    with pytest.raises(BadInput) as missing:
        await reset_sip_password(two_lines.conf(), LINE, settings=settings, trunk="absent")
    assert missing.value.what.en == "pjsip.conf has no [absent] type=auth"
    # 123456-100 is not a NovoFon login, so the novofon profile refuses to write it.
    with pytest.raises(BadInput):
        await reset_sip_password(two_lines.conf(), OTHER, settings=settings)
    assert two_lines.backend.password(LINE) is None
    assert two_lines.backend.password(OTHER) is None
    assert (tmp_path / "pjsip.conf").read_text() == before
    # Without the profile's check the same line is accepted.
    generic = await reset_sip_password(
        two_lines.conf(), OTHER, settings=settings, profile="generic"
    )
    assert generic.changed == [
        "[novofon] type=auth username",
        "[novofon] type=auth password",
        "[novofon] type=endpoint from_user",
        "[novofon] type=registration client_uri",
        "[novofon] type=registration contact_user",
    ]


class TrunkVanishes(InMemoryBackend):
    """A backend whose password change coincides with someone deleting the trunk's auth
    from pjsip.conf: the rehearsal passed, the real write then fails."""

    config: Path = Path()

    async def set_sip_password(self, login: str) -> str:
        pjsip = self.config / "pjsip.conf"
        pjsip.write_text(pjsip.read_text().replace("type = auth", "type = aor", 1))
        return await super().set_sip_password(login)


async def test_a_password_that_cannot_be_written_is_kept_in_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUNKCTL_CALL_LOG", str(tmp_path / "log" / "calls.db"))
    settings = trunk_dir(tmp_path / "etc")
    backend = TrunkVanishes(lines=[SipLineInfo(11, LINE)])
    backend.config = tmp_path / "etc"
    async with serve(backend) as served:
        with pytest.raises(TrunkctlError) as info:
            await reset_sip_password(served.conf(), LINE, settings=settings)
    new = backend.password(LINE)
    assert new is not None
    err = info.value
    assert type(err) is TrunkctlError and isinstance(err.__cause__, BadInput)
    assert err.what.en == (
        "NovoFon changed the line's password, but writing it into pjsip.conf failed"
    )
    kept = Path(err.details["rescue_file"])
    assert kept.parent == tmp_path / "log" and kept.name.startswith(f"sip-password-{LINE}-")
    assert kept.read_text() == new + "\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert f"--password-file {kept}" in err.next_step.render("en")  # type: ignore[union-attr]
    assert new not in str(err.to_dict("en"))


class TrunkAndBackupsVanish(TrunkVanishes):
    """As TrunkVanishes, and the config's backups folder turns into a file meanwhile."""

    async def set_sip_password(self, login: str) -> str:
        backups = self.config / ".trunkctl-backups"
        if backups.is_dir():
            import shutil

            shutil.rmtree(backups)
        backups.write_text("a file, not the backups folder\n")
        return await super().set_sip_password(login)


async def _reset_with_vanishing_trunk(
    tmp_path: Path, kind: type[TrunkVanishes] = TrunkVanishes
) -> tuple[TrunkctlError, TrunkVanishes]:
    settings = trunk_dir(tmp_path / "etc")
    backend = kind(lines=[SipLineInfo(11, LINE)])
    backend.config = tmp_path / "etc"
    async with serve(backend) as served:
        with pytest.raises(TrunkctlError) as info:
            await reset_sip_password(served.conf(), LINE, settings=settings)
    return info.value, backend


async def test_when_the_call_log_folder_fails_the_password_goes_into_the_config_backups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the call log's folder should be\n")
    monkeypatch.setenv("TRUNKCTL_CALL_LOG", str(tmp_path / "not-a-dir" / "calls.db"))
    err, backend = await _reset_with_vanishing_trunk(tmp_path)
    kept = Path(err.details["rescue_file"])
    assert kept.parent == tmp_path / "etc" / ".trunkctl-backups"
    assert kept.read_text() == f"{backend.password(LINE)}\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


async def test_when_no_folder_takes_the_password_the_error_says_reset_again_and_leaks_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x\n")
    monkeypatch.setenv("TRUNKCTL_CALL_LOG", str(blocker / "calls.db"))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    err, backend = await _reset_with_vanishing_trunk(tmp_path, TrunkAndBackupsVanish)
    new = backend.password(LINE)
    assert new is not None
    assert isinstance(err, EnvironmentProblem) and err.exit_code == 3
    assert "neither into pjsip.conf nor into a private file" in err.what.en
    assert len(err.details["rescue_failures"]) == 3
    assert f"reset-sip-password {LINE} --write-config" in err.next_step.render("en")  # type: ignore[union-attr]
    assert new not in str(err.to_dict("en")) and new not in str(err.to_dict("ru"))
    assert not list(tmp_path.rglob("sip-password-*"))
