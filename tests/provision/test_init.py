"""init on a config dir without a trunkctl AMI user (no running Asterisk needed).

init against the sandbox's running Asterisk is covered by tests/cli/test_trunk_cli.py.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from trunkctl.conf import resolve
from trunkctl.errors import BadInput
from trunkctl.provision import init
from trunkctl.settings import Settings, load_settings

MANAGER = "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n[admin]\nsecret = x\n"


def test_creates_a_least_privilege_user_once(tmp_path: Path) -> None:
    etc = tmp_path / "asterisk"
    etc.mkdir()
    (etc / "asterisk.conf").write_text("[directories]\n")
    (etc / "manager.conf").write_text(MANAGER)
    settings_file = tmp_path / "trunkctl" / "config.toml"
    result = init(Settings(config_dir=etc), settings_file=settings_file, check_asterisk=False)
    assert result.ami_user_created and result.settings_written
    user = resolve("manager.conf", config_dir=etc).find("trunkctl")
    assert user is not None
    assert user.get("read") == "call,user,system,reporting"
    assert user.get("write") == "originate,system,reporting,command"
    assert user.get("permit") == "127.0.0.1/255.255.255.255"
    secret_file = Path(result.secret_file)
    assert secret_file.read_text().strip() == user.get("secret")
    assert len(user.get("secret") or "") >= 24
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o600
    loaded = load_settings(settings_file)
    assert (loaded.config_dir, loaded.ami.port, loaded.ami.username) == (etc, 5038, "trunkctl")
    assert "secret" not in tomllib.loads(settings_file.read_text())["ami"]
    # The admin's own user and the rest of the file are untouched; a second run changes nothing.
    assert (etc / "manager.conf").read_text().startswith(MANAGER)
    before = (etc / "manager.conf").read_bytes()
    again = init(Settings(config_dir=etc), settings_file=settings_file, check_asterisk=False)
    assert not again.ami_user_created and not again.settings_written
    assert (etc / "manager.conf").read_bytes() == before


def test_refuses_a_directory_that_is_not_asterisks(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as exc:
        init(Settings(config_dir=tmp_path), settings_file=tmp_path / "c.toml", check_asterisk=False)
    assert "config dir" in exc.value.what.en and not (tmp_path / "c.toml").exists()
