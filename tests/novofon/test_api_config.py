"""API settings (file, environment, stdin), call verdicts, and the emulator's 503 when the
telephony behind it is down. The CLI on top: tests/cli/test_api_cli.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from trunkctl.novofon import (
    CallReportRow,
    NovofonConfigError,
    NovofonOutcomeUnknown,
    NovofonServerError,
    disposition_status,
    load_novofon_config,
    parse_credentials,
    report_status,
)
from trunkctl.novofon.emulator import (
    BackendUnavailable,
    Emulator,
    InMemoryBackend,
    SipLineInfo,
    VirtualNumberInfo,
)

from .conftest import make_world


def _settings(tmp_path: Path, table: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('config_dir = "/etc/asterisk"\n\n[novofon]\n' + table)
    return path


def test_file_paths_are_read_relative_to_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("KEY-from-file-000001\n")
    (tmp_path / "s").write_text("SECRET-from-file-0001\n")
    path = _settings(tmp_path, 'key_file = "k"\nsecret_file = "s"\nline = "0053248"\n')
    conf = load_novofon_config(path, environ={})
    assert conf.credential("key").reveal() == "KEY-from-file-000001"  # type: ignore[union-attr]
    assert conf.has_rest and not conf.has_jsonrpc
    assert conf.line == "0053248" and conf.trunk == "novofon"
    assert conf.rest_base() == "https://api.novofon.com"
    assert conf.data_api_base() == "https://dataapi-jsonrpc.novofon.ru/v2.0"


def test_stdin_beats_environment_beats_file(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("token-from-file\n")
    path = _settings(tmp_path, 'api_token_file = "t"\nlogin = "file-login"\n')
    env = {"TRUNKCTL_NOVOFON_API_TOKEN": "token-from-env", "TRUNKCTL_NOVOFON_LOGIN": "env-login"}
    conf = load_novofon_config(path, environ=env, stdin_values={"api_token": "token-from-stdin"})
    assert conf.credential("api_token").reveal() == "token-from-stdin"  # type: ignore[union-attr]
    assert conf.login == "env-login"
    assert load_novofon_config(path, environ=env).credential("api_token").reveal() == (  # type: ignore[union-attr]
        "token-from-env"
    )
    assert load_novofon_config(path, environ={}).credential("api_token").reveal() == (  # type: ignore[union-attr]
        "token-from-file"
    )


def test_one_api_url_serves_all_three_apis(tmp_path: Path) -> None:
    path = _settings(tmp_path, 'api_url = "http://127.0.0.1:9/"\n')
    conf = load_novofon_config(path, environ={})
    assert (conf.rest_base(), conf.data_api_base(), conf.call_api_base()) == (
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/v2.0",
        "http://127.0.0.1:9/v4.0",
    )
    override = load_novofon_config(path, environ={}, api_url="http://proxy.test")
    assert override.call_api_base() == "http://proxy.test/v4.0"
    env = load_novofon_config(path, environ={"TRUNKCTL_NOVOFON_API_URL": "http://env.test"})
    assert env.rest_base() == "http://env.test"


def test_missing_credentials_say_where_they_go(tmp_path: Path) -> None:
    conf = load_novofon_config(_settings(tmp_path, ""), environ={})
    with pytest.raises(NovofonConfigError) as rest:
        conf.rest_client()
    assert "key_file" in rest.value.next_step.en  # type: ignore[union-attr]
    assert "TRUNKCTL_NOVOFON_KEY" in rest.value.next_step.en  # type: ignore[union-attr]
    assert "командной строке" in rest.value.next_step.ru  # type: ignore[union-attr]
    with pytest.raises(NovofonConfigError) as rpc:
        conf.data_client()
    assert "api_token_file" in rpc.value.next_step.en  # type: ignore[union-attr]


def test_unreadable_credential_file_is_a_clear_error(tmp_path: Path) -> None:
    conf = load_novofon_config(_settings(tmp_path, 'secret_file = "nope"\n'), environ={})
    with pytest.raises(NovofonConfigError) as err:
        conf.credential("secret")
    assert "nope" in err.value.evidence.en  # type: ignore[union-attr]


def test_settings_view_names_credentials_never_values(tmp_path: Path) -> None:
    conf = load_novofon_config(
        _settings(tmp_path, ""), environ={"TRUNKCTL_NOVOFON_SECRET": "very-secret-value-01"}
    )
    view = conf.to_dict()
    assert view["credentials"] == ["secret"]
    assert "very-secret-value-01" not in repr(view) + repr(conf)


def test_parse_credentials_takes_short_and_env_names() -> None:
    text = "# sandbox\nkey=abc\nTRUNKCTL_NOVOFON_SECRET = def\n\napi_token=t=with=equals\n"
    assert parse_credentials(text) == {"key": "abc", "secret": "def", "api_token": "t=with=equals"}


@pytest.mark.parametrize("line", ["hunter2-no-name", "pasword=hunter2", "secret="])
def test_parse_credentials_never_echoes_a_bad_line(line: str) -> None:
    with pytest.raises(NovofonConfigError) as err:
        parse_credentials(line + "\n")
    shown = str(err.value.to_dict())
    assert "hunter2" not in shown and "line 1" in shown


@pytest.mark.parametrize(
    ("disposition", "status"),
    [
        ("answered", "answered"),
        ("busy", "busy"),
        ("no answer", "no_answer"),
        ("cancel", "no_answer"),
        ("unallocated number", "not_found"),
        ("no money", "rejected"),
        ("line limit", "rejected"),
        # zadarma/openapi spec/v1/openapi.json, statistics disposition enum: the spelling
        # with the comma; no money and no limit means the call was never placed.
        ("no money, no limit", "failed"),
        ("call failed", "failed"),
        ("something new", "failed"),
        (None, "failed"),
    ],
)
def test_dispositions_map_to_verdicts(disposition: str | None, status: str) -> None:
    assert disposition_status(disposition) == status


def _row(finish_reason: str, is_lost: bool) -> CallReportRow:
    return CallReportRow.from_wire({"id": 1, "finish_reason": finish_reason, "is_lost": is_lost})


def test_report_rows_map_to_verdicts() -> None:
    assert report_status(_row("subscriber_disconnects", False)) == "answered"
    assert report_status(_row("subscriber_busy", True)) == "busy"
    assert report_status(_row("sip_offline", True)) == "unavailable"
    assert report_status(_row("subscriber_not_responsible", True)) == "no_answer"
    assert report_status(_row("whatever", True)) == "failed"


class _DownBackend(InMemoryBackend):
    async def sip_lines(self) -> Sequence[SipLineInfo]:
        raise BackendUnavailable("the provider Asterisk is not reachable over AMI")

    async def originate(self, *args: object, **kwargs: object) -> str:
        raise BackendUnavailable("the provider Asterisk is not reachable over AMI")


async def test_emulator_answers_503_when_the_telephony_is_down() -> None:
    world = make_world()
    down = _DownBackend(numbers=[VirtualNumberInfo(21, "74951112233")])
    world.emulator = Emulator(down, world.emulator.account, clock=world.clock)
    async with world.rest() as rest:
        with pytest.raises(NovofonServerError) as read:
            await rest.sip_numbers()
    assert read.value.details["http_status"] == 503
    assert "not reachable over AMI" in read.value.evidence.en  # type: ignore[union-attr]
    async with world.calls(api_key="permanent-api-key-0123456789") as calls:
        # A call whose fate the platform could not report is never "refused": unknown.
        with pytest.raises(NovofonOutcomeUnknown):
            await calls.start_simple_call(
                virtual_phone_number="74951112233", contact="79990000200", operator="0053248"
            )


def test_a_missing_or_broken_settings_file_is_reported_as_everywhere_else(tmp_path: Path) -> None:
    from trunkctl.errors import BadInput

    with pytest.raises(BadInput) as missing:
        load_novofon_config(tmp_path / "none.toml", environ={})
    assert missing.value.what.en == "the trunkctl settings file does not exist"
    assert missing.value.next_step is not None and "init" in missing.value.next_step.en
    broken = tmp_path / "broken.toml"
    broken.write_text("[novofon\n")
    with pytest.raises(BadInput) as bad:
        load_novofon_config(broken, environ={})
    assert str(broken) in str(bad.value.to_dict("en"))
