"""Secrets at rest: a config file holding a secret is not left readable by others."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from trunkctl.provision._at_rest import holds_secret, tighten_secret_files

AUTH = "[novofon]\ntype = auth\nusername = 0123456\npassword = s3cret-Zz\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("before", "after"), [(0o644, 0o640), (0o664, 0o640), (0o666, 0o640)])
def test_a_file_with_a_password_readable_by_others_is_tightened(
    tmp_path: Path, before: int, after: int
) -> None:
    conf = tmp_path / "pjsip.conf"
    conf.write_text(AUTH)
    conf.chmod(before)
    group = conf.stat().st_gid
    (done,) = tighten_secret_files(tmp_path, ["pjsip.conf"])
    assert mode(conf) == after and conf.stat().st_gid == group
    assert done.changed and done.to_dict()["mode_before"] == f"{before:04o}"
    assert f"now {after:04o}" in done.note.en and "s3cret" not in str(done.to_dict())
    assert conf.read_text() == AUTH  # only the mode changed


@pytest.mark.parametrize(
    ("text", "perm"),
    [
        ("[general]\nenabled = yes\n", 0o644),  # no secret
        ("[novofon]\ntype = auth\npassword = ********\n", 0o644),  # a masked copy
        ("[novofon]\ntype = auth\npassword =\n", 0o644),  # empty
        (AUTH, 0o640),  # already private enough
        (AUTH, 0o600),
    ],
)
def test_other_files_are_left_alone(tmp_path: Path, text: str, perm: int) -> None:
    conf = tmp_path / "pjsip.conf"
    conf.write_text(text)
    conf.chmod(perm)
    assert tighten_secret_files(tmp_path, ["pjsip.conf", "missing.conf"]) == []
    assert mode(conf) == perm


def test_manager_secret_counts() -> None:
    assert holds_secret(b"[trunkctl]\nsecret = abc\nread = call\n")
    assert not holds_secret(b"[trunkctl]\nread = call\n")
