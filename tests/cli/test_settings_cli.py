"""Settings through the CLI: errors that name the real culprit, and init that keeps the file.

No sandbox needed: a scratch settings file and config dir under tmp_path. The library side
is in tests/test_settings.py and tests/provision/test_init.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ._run import TRUNKCTL, run


def tk(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRUNKCTL_")}
    return run([TRUNKCTL, *args], timeout=60, env={**environ, "COLUMNS": "250", **env})


def error(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    found: dict[str, Any] = json.loads(proc.stdout)["error"]
    return found


def test_a_bad_variable_is_blamed_not_the_file(tmp_path: Path) -> None:
    # The reviewer's case: `TRUNKCTL_AMI_PORT=abc trunkctl --sandbox status`.
    (tmp_path / "settings.toml").write_text('config_dir = "/etc/asterisk"\n')
    env = {"TRUNKCTL_SANDBOX_DIR": str(tmp_path), "TRUNKCTL_AMI_PORT": "abc"}
    for lang, what in (
        ("en", "the environment variable TRUNKCTL_AMI_PORT is invalid"),
        ("ru", "переменная окружения TRUNKCTL_AMI_PORT некорректна"),
    ):
        err = error(tk("--sandbox", "--lang", lang, "status", "--json", **env))
        assert err["what"] == what
        assert err["evidence"].startswith("TRUNKCTL_AMI_PORT=abc ")
        assert "settings.toml" not in err["evidence"] and "unset TRUNKCTL_AMI_PORT" in err["next"]
    text = tk("--sandbox", "--lang", "ru", "status", **env)
    assert text.returncode == 2 and "Traceback" not in text.stderr
    assert "переменная окружения TRUNKCTL_AMI_PORT некорректна" in text.stderr


def test_a_missing_file_is_called_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nonexist.toml"
    err = error(tk("--settings", str(missing), "status", "--json"))
    assert err["what"] == "the trunkctl settings file does not exist"
    assert err["evidence"] == f"{missing}: no such file"
    assert f"`trunkctl --settings {missing} init`" in err["next"] and "TOML" not in err["next"]
    ru = error(tk("--lang", "ru", "--settings", str(missing), "status", "--json"))
    assert ru["what"] == "файла настроек trunkctl нет"
    # --sandbox before `sandbox up`: the way out is to start the sandbox.
    err = error(tk("--sandbox", "status", "--json", TRUNKCTL_SANDBOX_DIR=str(tmp_path)))
    assert "`trunkctl sandbox up`" in err["next"]


def test_init_creates_a_missing_file_and_keeps_an_existing_ones_other_tables(
    tmp_path: Path,
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "asterisk.conf").write_text("[directories]\n")
    (etc / "manager.conf").write_text("[general]\nenabled = yes\nport = 5038\n")
    settings_file = tmp_path / "new" / "config.toml"
    args = ["--settings", str(settings_file), "init", "--no-check", "--json"]
    made = tk(*args, "--config-dir", str(etc), "--secret-file", str(tmp_path / "ami.secret"))
    assert made.returncode == 0, made.stdout + made.stderr
    assert json.loads(made.stdout)["settings_written"] is True
    # The reviewer's case: `sandbox up` added a [novofon] table; init used to drop it.
    novofon = '\n[novofon]\n# emulator\napi_url = "http://127.0.0.1:9"\nlogin = "me@x.test"\n'
    with settings_file.open("a") as f:
        f.write(novofon)
    before = settings_file.read_text()
    again = tk(*args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["settings_written"] is False
    assert settings_file.read_text() == before
    api = tk("--settings", str(settings_file), "api", "settings", "--json")
    assert api.returncode == 0, api.stderr
    assert json.loads(api.stdout)["call_api_url"] == "http://127.0.0.1:9/v4.0"
