"""`trunkctl config show | backups | diff | restore` on a temporary config dir."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from trunkctl.conf import ConfigDir

from ._run import TRUNKCTL, run

PJSIP = """; a user's pjsip.conf
[base](!)
type = endpoint
allow = alaw

[alice](base)
allow = ulaw ; trailing comment
context = from\\;internal

[alice]
type = auth
password = s3cret;comment
#include extra.conf
"""
EXTRA = "[bob]\ntype = aor\ncontact = sip:bob@example.com\n"


def tk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run([TRUNKCTL, *args, "--config-dir", str(cwd)], timeout=60)


def test_show_json_reads_as_asterisk_does(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    (tmp_path / "extra.conf").write_text(EXTRA)
    out = tk("config", "show", "pjsip.conf", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    # Written by hand from config.c's rules: the template is not listed, its options come
    # first; `\;` becomes ';'; a bare ';' starts a comment; the include is followed.
    assert json.loads(out.stdout) == [
        {
            "name": "alice",
            "templates": ["base"],
            "options": [
                ["type", "endpoint"],
                ["allow", "alaw"],
                ["allow", "ulaw"],
                ["context", "from;internal"],
            ],
        },
        {"name": "alice", "templates": [], "options": [["type", "auth"], ["password", "********"]]},
        {
            "name": "bob",
            "templates": [],
            "options": [["type", "aor"], ["contact", "sip:bob@example.com"]],
        },
    ]
    human = tk("config", "show", "pjsip.conf", cwd=tmp_path)
    assert "[alice](base)" in human.stdout and "s3cret" not in human.stdout


def test_diff_and_restore_roll_back_byte_for_byte(tmp_path: Path) -> None:
    original = PJSIP.encode()
    (tmp_path / "pjsip.conf").write_bytes(original)
    cfg = ConfigDir(tmp_path)
    doc = cfg.read("pjsip.conf")
    sec = doc.find("alice", "auth")
    assert sec is not None
    sec.set("password", "n3w-secret")
    cfg.write("pjsip.conf", doc)
    diff = tk("config", "diff", "pjsip.conf", "--json", cwd=tmp_path)
    assert diff.returncode == 0, diff.stderr
    text = json.loads(diff.stdout)["diff"]
    assert "password" in text and "n3w-secret" not in text and "s3cret" not in text
    restored = tk("config", "restore", "pjsip.conf", "--json", cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert (tmp_path / "pjsip.conf").read_bytes() == original
    saved = Path(json.loads(restored.stdout)["previous_saved_as"])
    assert b"n3w-secret" in saved.read_bytes() and oct(saved.stat().st_mode)[-3:] == "600"
    listed = json.loads(tk("config", "backups", "--json", cwd=tmp_path).stdout)
    assert len(listed) == 2 and all(b["file"] == "pjsip.conf" for b in listed)


def test_restore_without_backup_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    out = tk("config", "restore", "pjsip.conf", cwd=tmp_path)
    assert out.returncode == 2 and "no backup" in out.stderr


def test_show_of_missing_file_says_so(tmp_path: Path) -> None:
    out = tk("config", "show", "nope.conf", cwd=tmp_path)
    assert out.returncode == 4 and "nope.conf" in out.stderr and "Traceback" not in out.stderr
