"""trunkctl.settings: reading the settings file and variables, and updating the file in place.

init's use of the update is in tests/provision/test_init.py; the messages a user sees for a
bad file or variable, through the CLI, in tests/cli/test_settings_cli.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trunkctl.errors import BadInput
from trunkctl.settings import (
    AmiSettings,
    Settings,
    load_settings,
    settings_to_toml,
    update_settings_toml,
)

NOVOFON = (
    "[novofon]\n"
    "# The sandbox's emulated NovoFon HTTP APIs.\n"
    'api_url = "http://127.0.0.1:37019"\n'
    'key_file = "/srv/secrets/novofon-rest.key"\n'
    'trunk = "novofon"\n'
)

FILE = (
    "# mine, by hand\n"
    'config_dir = "/etc/asterisk"   # where Asterisk keeps its files\n'
    "\n"
    "[ami]\n"
    'host = "127.0.0.1"\n'
    "port = 5038 # the default\n"
    'username = "trunkctl"\n'
    'secret_file = "/etc/trunkctl/ami.secret"\n'
    "timeout = 7\n"
    "\n"
    "[asterisk]\n"
    'command = ["asterisk"]\n'
    "\n" + NOVOFON
)

BASE = Settings(
    config_dir=Path("/etc/asterisk"),
    ami=AmiSettings(secret_file=Path("/etc/trunkctl/ami.secret")),
)


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def bad(path: Path | None, environ: dict[str, str] | None = None) -> BadInput:
    with pytest.raises(BadInput) as exc:
        load_settings(path, environ={} if environ is None else environ)
    return exc.value


# --- reading -------------------------------------------------------------------------------


def test_reads_the_file_and_ignores_tables_it_does_not_own(tmp_path: Path) -> None:
    loaded = load_settings(write(tmp_path, FILE), environ={})
    assert loaded.config_dir == Path("/etc/asterisk")
    assert (loaded.ami.host, loaded.ami.port, loaded.ami.username) == (
        "127.0.0.1",
        5038,
        "trunkctl",
    )
    assert loaded.ami.secret_file == Path("/etc/trunkctl/ami.secret")
    assert loaded.asterisk_command == ("asterisk",)


def test_variables_override_the_file(tmp_path: Path) -> None:
    env = {"TRUNKCTL_AMI_PORT": "6038", "TRUNKCTL_CONFIG_DIR": "/srv/etc"}
    loaded = load_settings(write(tmp_path, FILE), environ=env)
    assert (loaded.ami.port, loaded.config_dir) == (6038, Path("/srv/etc"))


def test_a_bad_port_variable_names_the_variable_not_the_file(tmp_path: Path) -> None:
    error = bad(write(tmp_path, FILE), {"TRUNKCTL_AMI_PORT": "abc"})
    assert error.what.en == "the environment variable TRUNKCTL_AMI_PORT is invalid"
    assert error.what.ru == "переменная окружения TRUNKCTL_AMI_PORT некорректна"
    assert error.evidence is not None and error.next_step is not None
    assert error.evidence.en.startswith("TRUNKCTL_AMI_PORT=abc ")
    assert "config.toml" not in error.evidence.en + error.what.en
    assert "unset TRUNKCTL_AMI_PORT" in error.next_step.en
    assert "unset TRUNKCTL_AMI_PORT" in error.next_step.ru
    assert error.exit_code == 2


@pytest.mark.parametrize("port", ["0", "65536", "-1", "5038x", " "])
def test_port_variable_out_of_range_or_not_a_number(tmp_path: Path, port: str) -> None:
    error = bad(write(tmp_path, FILE), {"TRUNKCTL_AMI_PORT": port})
    assert error.what.en == "the environment variable TRUNKCTL_AMI_PORT is invalid"


def test_an_empty_variable_is_unset(tmp_path: Path) -> None:
    env = {"TRUNKCTL_AMI_PORT": "", "TRUNKCTL_AMI_HOST": ""}
    loaded = load_settings(write(tmp_path, FILE), environ=env)
    assert (loaded.ami.port, loaded.ami.host) == (5038, "127.0.0.1")


@pytest.mark.parametrize(
    ("body", "evidence"),
    [
        ('[ami]\nport = "abc"\n', '[ami] port = "abc" is not a port number (1-65535)'),
        ("[ami]\nport = 70000\n", "[ami] port = 70000 is not a port number (1-65535)"),
        ("[ami]\nport = true\n", "[ami] port = true is not a port number (1-65535)"),
        ("[ami]\nhost = 5\n", "[ami] host = 5 must be a string"),
        ("config_dir = [1]\n", "config_dir = [1] must be a path in quotes"),
        ('[asterisk]\ncommand = "asterisk"\n', '[asterisk] command = "asterisk" must be a list'),
        ("[asterisk]\ncommand = []\n", "[asterisk] command = [] must be a list of strings"),
        ('ami = "x"\n', "[ami] must be a table"),
        ("provider = 1\n", "[provider] must be a table"),
        ("[[ami]]\n", "[ami] must be a table"),
        ("[ami\n", "Expected ']'"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path, body: str, evidence: str) -> None:
    path = write(tmp_path, body)
    error = bad(path)
    assert error.what.en == "the trunkctl settings file is invalid"
    assert error.evidence is not None
    assert error.evidence.en.startswith(f"{path}: ") and evidence in error.evidence.en
    assert error.evidence.ru.startswith(f"{path}: ")
    assert error.next_step is not None and "TOML" in error.next_step.ru


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'config_dir = "/etc/\xff"\n')
    error = bad(path)
    assert error.evidence is not None and error.evidence.en == f"{path}: not UTF-8 text"


def test_a_directory_in_place_of_the_file(tmp_path: Path) -> None:
    error = bad(tmp_path)
    assert error.what.en == "cannot read the trunkctl settings file"
    assert error.evidence is not None and error.evidence.en == f"{tmp_path}: Is a directory"


def test_a_missing_file_says_it_is_missing_and_how_to_create_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    error = bad(path)
    assert error.what.en == "the trunkctl settings file does not exist"
    assert error.what.ru == "файла настроек trunkctl нет"
    assert error.evidence is not None and error.evidence.en == f"{path}: no such file"
    assert error.next_step is not None
    assert f"`trunkctl --settings {path} init`" in error.next_step.en
    assert f"`trunkctl --settings {path} init`" in error.next_step.ru
    assert "TOML" not in error.next_step.en


def test_a_missing_sandbox_file_says_to_start_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUNKCTL_SANDBOX_DIR", str(tmp_path))
    error = bad(tmp_path / "settings.toml")
    assert error.next_step is not None and "`trunkctl sandbox up`" in error.next_step.en


def test_missing_ok_gives_defaults_and_variables(tmp_path: Path) -> None:
    loaded = load_settings(
        tmp_path / "nope.toml", environ={"TRUNKCTL_AMI_HOST": "127.0.0.9"}, missing_ok=True
    )
    assert loaded == Settings(ami=AmiSettings(host="127.0.0.9"))


# --- updating in place ---------------------------------------------------------------------


def test_nothing_to_change_returns_the_text_itself(tmp_path: Path) -> None:
    source = tmp_path / "c.toml"
    assert update_settings_toml(FILE, BASE, source=source) is FILE
    # Other spellings of the same values are not "changes" either.
    spelled = FILE.replace('"/etc/asterisk"', '"/etc/asterisk/"').replace("5038", '"5038"')
    assert update_settings_toml(spelled, BASE, source=source) is spelled


def test_a_changed_value_rewrites_only_its_line_and_keeps_its_comment(tmp_path: Path) -> None:
    new = Settings(
        config_dir=Path("/srv/asterisk"),
        ami=AmiSettings(port=6038, secret_file=Path("/etc/trunkctl/ami.secret")),
    )
    expected = FILE.replace('"/etc/asterisk"   #', '"/srv/asterisk"   #')
    assert expected.replace("port = 5038 #", "port = 6038 #") == update_settings_toml(
        FILE, new, source=tmp_path / "c.toml"
    )


def test_missing_keys_and_tables_are_added_next_to_their_kin(tmp_path: Path) -> None:
    text = "# a comment about [ami]\n[ami]\nport = 5038\nextra = 1\n\n" + NOVOFON.rstrip("\n")
    new = Settings(
        ami=AmiSettings(secret_file=Path("/s")), log_file=Path("/l"), provider_server="p:5060"
    )
    assert update_settings_toml(text, new, source=tmp_path / "c.toml") == (
        'config_dir = "/etc/asterisk"\n'
        "\n"
        "# a comment about [ami]\n"
        "[ami]\n"
        "port = 5038\n"
        "extra = 1\n"
        'host = "127.0.0.1"\n'
        'username = "trunkctl"\n'
        'secret_file = "/s"\n'
        "\n" + NOVOFON + "\n"
        "[asterisk]\n"
        'command = ["asterisk"]\n'
        'log_file = "/l"\n'
        "\n"
        "[provider]\n"
        'server = "p:5060"\n'
    )


def test_a_header_set_off_by_a_blank_line_stays_on_top(tmp_path: Path) -> None:
    # Only comments right above the first [table] describe it (see the test above).
    text = "# my settings\n\n# the API\n[novofon]\nx = 1\n"
    assert update_settings_toml(text, Settings(), source=tmp_path / "c.toml") == (
        "# my settings\n"
        "\n"
        'config_dir = "/etc/asterisk"\n'
        "\n"
        "# the API\n"
        "[novofon]\n"
        "x = 1\n"
        "\n"
        "[ami]\n"
        'host = "127.0.0.1"\n'
        "port = 5038\n"
        'username = "trunkctl"\n'
        "\n"
        "[asterisk]\n"
        'command = ["asterisk"]\n'
    )


def test_an_empty_table_gets_its_keys_under_its_header(tmp_path: Path) -> None:
    text = 'config_dir = "/etc/asterisk"\n[asterisk] # how to run it\n[novofon]\ntrunk = "x"\n'
    new = Settings(asterisk_command=("sudo", "asterisk"))
    result = update_settings_toml(text, new, source=tmp_path / "c.toml")
    assert result.startswith(
        'config_dir = "/etc/asterisk"\n'
        "[asterisk] # how to run it\n"
        'command = ["sudo", "asterisk"]\n'
        '[novofon]\ntrunk = "x"\n'
    )


def test_a_multiline_value_is_replaced_whole(tmp_path: Path) -> None:
    text = (
        "[asterisk]\n"
        "command = [\n"
        '  "chroot", # the root\n'
        '  "/srv/root",\n'
        "] # end\n"
        'after = """a\n'
        "[not a table]\n"
        'command = "not a key"\n'
        '"""\n'
    )
    new = Settings(asterisk_command=("asterisk",))
    assert update_settings_toml(text, new, source=tmp_path / "c.toml") == (
        'config_dir = "/etc/asterisk"\n'
        "\n"
        "[asterisk]\n"
        'command = ["asterisk"] # end\n'
        'after = """a\n'
        "[not a table]\n"
        'command = "not a key"\n'
        '"""\n'
        "\n"
        "[ami]\n"
        'host = "127.0.0.1"\n'
        "port = 5038\n"
        'username = "trunkctl"\n'
    )


def test_crlf_line_endings_quoted_keys_and_hashes_in_strings(tmp_path: Path) -> None:
    text = '[ami]\r\n"a=b" = 1\r\n"host" = "1#2" # old\r\n[novofon]\r\nx = "#"\r\n'
    new = Settings(ami=AmiSettings(host="127.0.0.5"))
    assert update_settings_toml(text, new, source=tmp_path / "c.toml") == (
        'config_dir = "/etc/asterisk"\r\n'
        "\r\n"
        "[ami]\r\n"
        '"a=b" = 1\r\n'
        '"host" = "127.0.0.5" # old\r\n'
        "port = 5038\r\n"
        'username = "trunkctl"\r\n'
        "[novofon]\r\n"
        'x = "#"\r\n'
        "\r\n"
        "[asterisk]\r\n"
        'command = ["asterisk"]\r\n'
    )


def test_a_line_without_an_ending_or_a_mixed_file_gets_lf_lines(tmp_path: Path) -> None:
    new = Settings(ami=AmiSettings(port=6038))
    assert update_settings_toml('config_dir = "/srv"', new, source=tmp_path) == (
        'config_dir = "/etc/asterisk"\n'
        "\n"
        "[ami]\n"
        'host = "127.0.0.1"\n'
        "port = 6038\n"
        'username = "trunkctl"\n'
        "\n"
        "[asterisk]\n"
        'command = ["asterisk"]\n'
    )
    # A string's own "\n" in a CRLF file stays as it is (converting it would change the value).
    text = '[novofon]\r\nnote = """a\nb""" # two lines\r\n'
    result = update_settings_toml(text, new, source=tmp_path / "c.toml")
    assert text in result and tomllib.loads(result)["novofon"]["note"] == "a\nb"
    assert tomllib.loads(result)["ami"]["port"] == 6038


@pytest.mark.parametrize("text", ['ami = { host = "127.0.0.1", port = 5038 }\n', "ami.port = 1\n"])
def test_keys_init_cannot_place_are_refused_not_mangled(tmp_path: Path, text: str) -> None:
    with pytest.raises(BadInput) as exc:
        update_settings_toml(text, Settings(ami=AmiSettings(port=6038)), source=tmp_path / "c")
    assert "[ami] port" in exc.value.what.en and "[ami] port" in exc.value.what.ru
    assert "config_dir" not in exc.value.what.en
    assert exc.value.next_step is not None and "[table]" in exc.value.next_step.en


def test_a_subtable_before_its_table_is_fine(tmp_path: Path) -> None:
    text = "[ami.extra]\nport = 1\n[ami]\n"
    result = update_settings_toml(text, Settings(ami=AmiSettings(port=6038)), source=tmp_path)
    assert tomllib.loads(result)["ami"] == {
        "extra": {"port": 1},
        "port": 6038,
        "host": "127.0.0.1",
        "username": "trunkctl",
    }


def test_a_missing_or_blank_file_becomes_a_new_one(tmp_path: Path) -> None:
    expected = settings_to_toml(BASE, "hello")
    assert update_settings_toml(None, BASE, source=tmp_path / "c", header="hello") == expected
    assert update_settings_toml("\n \n", BASE, source=tmp_path / "c", header="hello") == expected
    assert expected.startswith("# hello\nconfig_dir = ")


def test_an_invalid_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as exc:
        update_settings_toml("[ami\n", BASE, source=tmp_path / "c.toml")
    assert exc.value.what.en == "the trunkctl settings file is invalid"


# Any text a value may hold: quotes, backslashes, control characters, '#', non-ASCII, U+2028.
values = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda s: "\x00" not in s
)


@settings(max_examples=150, deadline=None)
@given(
    config_dir=values,
    host=values,
    port=st.integers(1, 65535),
    command=st.lists(values, min_size=1, max_size=3),
    log_file=st.none() | values,
    server=st.none() | values,
    crlf=st.booleans(),
)
def test_any_values_round_trip_and_the_rest_stays_verbatim(
    config_dir: str,
    host: str,
    port: int,
    command: list[str],
    log_file: str | None,
    server: str | None,
    crlf: bool,
) -> None:
    new = Settings(
        config_dir=Path(config_dir),
        ami=AmiSettings(host=host, port=port, secret_file=Path("/s")),
        asterisk_command=tuple(command),
        log_file=Path(log_file) if log_file else None,
        provider_server=server,
    )
    text = FILE.replace("\n", "\r\n") if crlf else FILE
    source = Path("/nonexistent/c.toml")
    result = update_settings_toml(text, new, source=source)
    data = tomllib.loads(result)
    assert data["ami"]["timeout"] == 7
    assert data["novofon"] == tomllib.loads(NOVOFON)["novofon"]
    assert (NOVOFON.replace("\n", "\r\n") if crlf else NOVOFON) in result
    assert result.startswith("# mine, by hand\r\n" if crlf else "# mine, by hand\n")
    assert data["ami"]["host"] == host and data["asterisk"]["command"] == command
    assert data["ami"]["port"] == port and data.get("provider", {}).get("server") == server
    # Idempotent: the second update finds nothing to change.
    assert update_settings_toml(result, new, source=source) is result


@pytest.fixture
def unreadable_settings() -> Iterator[Path]:
    """A settings file only root may read, under a directory everyone may enter."""
    top = Path(tempfile.mkdtemp(prefix="trunkctl-settings-"))
    top.chmod(0o755)
    path = top / "config.toml"
    path.write_text('config_dir = "/etc/asterisk"\n')
    path.chmod(0o600)
    try:
        yield path
    finally:
        shutil.rmtree(top)


AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def test_an_unreadable_file_is_the_environment_naming_sudo(unreadable_settings: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from trunkctl.settings import load_settings\n"
        "try:\n    load_settings(Path(sys.argv[1]))\n"
        "except Exception as e:\n    print(type(e).__name__, e.exit_code, e.next_step.en)\n"
    )
    proc = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", code, str(unreadable_settings)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.startswith("EnvironmentProblem 3 "), proc.stdout + proc.stderr
    assert "sudo" in proc.stdout


@pytest.mark.parametrize("command", [("status",), ("config", "backups"), ("apply",)])
def test_the_cli_says_environment_not_usage_for_an_unreadable_file(
    unreadable_settings: Path, command: tuple[str, ...]
) -> None:
    """--settings used to be click's readable Path: a usage error (2) before trunkctl ran."""
    trunkctl = str(Path(sys.executable).with_name("trunkctl"))
    argv = [*AS_NOBODY, trunkctl, "--lang", "en", "--settings", str(unreadable_settings)]
    proc = subprocess.run([*argv, *command, "--json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert error["code"] == "environment" and "sudo" in error["next"]
    assert str(unreadable_settings) in error["evidence"]
