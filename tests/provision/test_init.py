"""init on a config dir without a trunkctl AMI user (no running Asterisk needed).

init against the sandbox's running Asterisk is covered by tests/cli/test_trunk_cli.py; the
in-place update of the settings file by tests/test_settings.py.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from trunkctl.conf import resolve
from trunkctl.errors import BadInput
from trunkctl.novofon import load_novofon_config
from trunkctl.provision import init
from trunkctl.settings import Settings, load_settings

MANAGER = "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n[admin]\nsecret = x\n"


def _asterisk_etc(tmp_path: Path) -> Path:
    etc = tmp_path / "asterisk"
    etc.mkdir()
    (etc / "asterisk.conf").write_text("[directories]\n")
    (etc / "manager.conf").write_text(MANAGER)
    return etc


def test_creates_a_least_privilege_user_once(tmp_path: Path) -> None:
    etc = _asterisk_etc(tmp_path)
    settings_file = tmp_path / "trunkctl" / "config.toml"
    result = init(Settings(config_dir=etc), settings_file=settings_file, check_asterisk=False)
    assert result.ami_user_created and result.settings_written
    user = resolve("manager.conf", config_dir=etc).find("trunkctl")
    assert user is not None
    assert user.get("read") == "call,user,system,reporting"
    assert user.get("write") == "originate,call,reporting"
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


# What `trunkctl sandbox up` writes, plus a user's own comments, keys and tables.
SANDBOX_FILE = """\
# trunkctl settings for the sandbox pbx, written by `trunkctl sandbox up`.
config_dir = "{old_etc}"

[ami]
host = "127.0.0.2"
port = 46645 # chosen by the sandbox
username = "trunkctl"
secret_file = "{old_secret}"
connect_timeout = 3

[asterisk]
command = ["chroot", "/srv/root", "/usr/sbin/asterisk"]
log_file = "/srv/root/messages.log"

[provider]
server = "127.0.0.1:46961"

[novofon]
# The sandbox's emulated NovoFon HTTP APIs (REST v1, Data API, Call API).
api_url = "http://127.0.0.1:37019"
key_file = "/srv/secrets/novofon-rest.key"
login = "sandbox@trunkctl.test"
trunk = "novofon"

[[my.hooks]]
run = "logger 'trunkctl'"
"""


def test_keeps_every_table_key_and_comment_it_does_not_own(tmp_path: Path) -> None:
    etc = _asterisk_etc(tmp_path)
    settings_file = tmp_path / "settings.toml"
    original = SANDBOX_FILE.format(old_etc="/old/etc", old_secret="/old/ami.secret")
    settings_file.write_text(original)
    os.chmod(settings_file, 0o640)
    loaded = replace(load_settings(settings_file, environ={}), config_dir=etc)
    result = init(loaded, settings_file=settings_file, check_asterisk=False)
    assert result.settings_written and result.ami_user_created
    # Only the values init owns and found different changed: config dir, AMI address and
    # port (manager.conf says 127.0.0.1:5038); every other byte stands.
    assert settings_file.read_text() == (
        original.replace('"/old/etc"', f'"{etc}"')
        .replace('"127.0.0.2"', '"127.0.0.1"')
        .replace("46645 #", "5038 #")
    )
    assert stat.S_IMODE(settings_file.stat().st_mode) == 0o640
    # The API commands still find the sandbox's emulated NovoFon.
    novofon = load_novofon_config(settings_file, environ={})
    assert novofon.data_api_base() == "http://127.0.0.1:37019/v2.0"
    assert novofon.login == "sandbox@trunkctl.test"
    # Twice is the same as once.
    before = settings_file.read_bytes()
    again = init(
        load_settings(settings_file, environ={}), settings_file=settings_file, check_asterisk=False
    )
    assert not again.settings_written and not again.ami_user_created
    assert settings_file.read_bytes() == before


def test_a_file_that_already_agrees_is_not_rewritten(tmp_path: Path) -> None:
    etc = _asterisk_etc(tmp_path)
    secret = tmp_path / "ami.secret"
    settings_file = tmp_path / "settings.toml"
    agreeing = (
        SANDBOX_FILE.format(old_etc=etc, old_secret=secret)
        .replace('"127.0.0.2"', '"127.0.0.1"')
        .replace("46645 #", "5038 #")
    )
    settings_file.write_text(agreeing)
    inode = settings_file.stat().st_ino
    result = init(
        load_settings(settings_file, environ={}), settings_file=settings_file, check_asterisk=False
    )
    assert result.ami_user_created and not result.settings_written
    assert settings_file.read_text() == agreeing and settings_file.stat().st_ino == inode


def test_a_settings_file_init_cannot_update_changes_nothing(tmp_path: Path) -> None:
    etc = _asterisk_etc(tmp_path)
    settings_file = tmp_path / "settings.toml"
    inline = f'config_dir = "{etc}"\nami = {{ port = 46645, username = "trunkctl" }}\n'
    settings_file.write_text(inline)
    with pytest.raises(BadInput) as exc:
        init(
            load_settings(settings_file, environ={}),
            settings_file=settings_file,
            secret_file=tmp_path / "ami.secret",
            check_asterisk=False,
        )
    assert "[ami] port" in exc.value.what.en
    assert settings_file.read_text() == inline
    assert (etc / "manager.conf").read_text() == MANAGER
    assert not (tmp_path / "ami.secret").exists()


def test_an_invalid_settings_file_is_refused_before_anything_changes(tmp_path: Path) -> None:
    etc = _asterisk_etc(tmp_path)
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("[ami\n")
    with pytest.raises(BadInput) as exc:
        init(Settings(config_dir=etc), settings_file=settings_file, check_asterisk=False)
    assert exc.value.what.en == "the trunkctl settings file is invalid"
    assert (etc / "manager.conf").read_text() == MANAGER


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_ami_port_in_manager_conf_is_named(tmp_path: Path, port: str) -> None:
    etc = _asterisk_etc(tmp_path)
    (etc / "manager.conf").write_text(MANAGER.replace("port = 5038", f"port = {port}"))
    with pytest.raises(BadInput) as exc:
        init(Settings(config_dir=etc), settings_file=tmp_path / "c.toml", check_asterisk=False)
    assert exc.value.evidence is not None
    assert exc.value.evidence.en == f"manager.conf [general] port = {port}"
    assert not (tmp_path / "c.toml").exists()


def test_a_config_dir_whose_name_is_not_utf8_is_refused_cleanly(tmp_path: Path) -> None:
    etc = Path(os.fsdecode(os.fsencode(tmp_path) + b"/etc-\xff"))
    etc.mkdir()
    (etc / "asterisk.conf").write_text("[directories]\n")
    with pytest.raises(BadInput) as exc:
        init(Settings(config_dir=etc), settings_file=tmp_path / "c.toml", check_asterisk=False)
    assert exc.value.what.en == "a path cannot be written to the settings file"
    assert not (tmp_path / "c.toml").exists() and not (etc / "manager.conf").exists()


def test_an_unwritable_secret_file_is_a_clear_error_and_manager_conf_stays(
    tmp_path: Path,
) -> None:
    from trunkctl.errors import ConfWriteError

    etc = _asterisk_etc(tmp_path)
    (tmp_path / "a-file").write_text("not a folder\n")
    with pytest.raises(ConfWriteError) as info:
        init(
            Settings(config_dir=etc),
            settings_file=tmp_path / "config.toml",
            secret_file=tmp_path / "a-file" / "ami.secret",
            check_asterisk=False,
        )
    err = info.value
    assert err.exit_code == 4 and "AMI secret file" in err.what.en
    assert err.next_step is not None and "manager.conf was not changed" in err.next_step.en
    assert (etc / "manager.conf").read_text() == MANAGER
    assert not (tmp_path / "config.toml").exists()


# --- AMI exposure, manager.d, least privilege, secrets at rest (issue 11 items 6-7, 16.4) ---

STOCK_DEBIAN = (
    ";\n; AMI - Asterisk Manager interface\n;\n[general]\nenabled = yes\nport = 5038\n"
    "bindaddr = 127.0.0.1\n\n; No access is allowed by default.\n"
    "; To set a password, create a file in /etc/asterisk/manager.d\n"
    '#include "manager.d/*.conf" \n'
)


def _init_with(tmp_path: Path, manager: str, **kw: object) -> tuple[Path, object]:
    etc = tmp_path / "asterisk"
    if not etc.is_dir():
        etc = _asterisk_etc(tmp_path)
    (etc / "asterisk.conf").write_text("[directories]\n")
    (etc / "manager.conf").write_text(manager)
    (etc / "manager.conf").chmod(0o640)
    result = init(
        Settings(config_dir=etc),
        settings_file=tmp_path / "trunkctl" / "config.toml",
        check_asterisk=False,
        **kw,  # type: ignore[arg-type]
    )
    return etc, result


@pytest.mark.parametrize("bind_line", ["bindaddr = 0.0.0.0\n", ""])
def test_turning_ami_on_binds_it_to_loopback(tmp_path: Path, bind_line: str) -> None:
    """enabled = no with a wildcard or no bindaddr (Asterisk then listens on [::]): init
    must not open AMI on every interface."""
    etc, result = _init_with(tmp_path, f"[general]\nenabled = no\nport = 5038\n{bind_line}")
    general = resolve("manager.conf", config_dir=etc).find("general")
    assert general is not None
    assert (general.get("enabled"), general.get("bindaddr")) == ("yes", "127.0.0.1")
    data = result.to_dict("en")  # type: ignore[attr-defined]
    assert data["ami_enabled"] and data["ami_bindaddr"] == "127.0.0.1"
    assert any("listening on 127.0.0.1 only" in n for n in data["notes"])
    assert load_settings(tmp_path / "trunkctl" / "config.toml").ami.host == "127.0.0.1"


def test_an_ami_already_open_wider_is_kept_but_warned_about(tmp_path: Path) -> None:
    manager = "[general]\nenabled = yes\nport = 5038\nbindaddr = 0.0.0.0\n"
    etc, result = _init_with(tmp_path, manager)
    assert (etc / "manager.conf").read_text().startswith(manager)
    data = result.to_dict("en")  # type: ignore[attr-defined]
    assert not data["ami_enabled"]
    assert any("bindaddr = 0.0.0.0" in n and "init did not change it" in n for n in data["notes"])


def test_with_manager_d_included_the_user_goes_into_its_own_file(tmp_path: Path) -> None:
    stock_d = tmp_path / "asterisk" / "manager.d"
    stock_d.mkdir(parents=True)
    (stock_d / "README.conf").write_text("; Files with .conf suffix are included.\n")
    etc, result = _init_with(tmp_path, STOCK_DEBIAN)
    assert (etc / "manager.conf").read_text() == STOCK_DEBIAN  # not a byte changed
    own = etc / "manager.d" / "trunkctl.conf"
    assert stat.S_IMODE(own.stat().st_mode) == 0o640
    assert own.stat().st_gid == (etc / "manager.conf").stat().st_gid
    user = resolve("manager.conf", config_dir=etc).find("trunkctl")
    assert user is not None and user.get("write") == "originate,call,reporting"
    assert result.to_dict()["ami_user_file"] == "manager.d/trunkctl.conf"  # type: ignore[attr-defined]
    # A second run finds it there and changes nothing.
    before = own.read_bytes()
    again = init(
        Settings(config_dir=etc),
        settings_file=tmp_path / "trunkctl" / "config.toml",
        check_asterisk=False,
    )
    assert not again.ami_user_created and own.read_bytes() == before
    assert again.ami_user_file == "manager.d/trunkctl.conf"


BROAD = (
    "[general]\nenabled = yes\nbindaddr = 127.0.0.1\n\n[trunkctl]\nsecret = s3cret-value-1\n"
    "read = call,user,system,reporting\nwrite = originate,system,reporting,command\n"
)


def test_a_broader_existing_user_is_named_not_changed(tmp_path: Path) -> None:
    etc, result = _init_with(tmp_path, BROAD)
    assert (etc / "manager.conf").read_text() == BROAD
    data = result.to_dict("en")  # type: ignore[attr-defined]
    assert data["ami_privileges_before"]["write"] == "originate,system,reporting,command"
    note = next(n for n in data["notes"] if "may do more than trunkctl needs" in n)
    assert "write = originate,call,reporting" in note and "system, command" in note
    assert "--narrow-ami" in note


def test_a_broader_existing_user_is_narrowed_only_when_asked(tmp_path: Path) -> None:
    etc, result = _init_with(tmp_path, BROAD, narrow=True)
    user = resolve("manager.conf", config_dir=etc).find("trunkctl")
    assert user is not None
    assert user.get("write") == "originate,call,reporting"
    assert user.get("secret") == "s3cret-value-1"
    assert result.ami_narrowed  # type: ignore[attr-defined]


def test_a_secret_written_into_a_world_readable_file_tightens_it(tmp_path: Path) -> None:
    etc = _asterisk_etc(tmp_path)
    (etc / "manager.conf").chmod(0o644)
    result = init(
        Settings(config_dir=etc), settings_file=tmp_path / "t" / "c.toml", check_asterisk=False
    )
    assert stat.S_IMODE((etc / "manager.conf").stat().st_mode) == 0o640
    (done,) = result.tightened
    assert (done["mode_before"], done["mode_after"], done["changed"]) == ("0644", "0640", True)
    assert any("readable by every user (0644): now 0640" in n.en for n in result.notes)
