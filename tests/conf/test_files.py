"""Safe writes: transactions, backups, restore, owner/mode, masked diffs, the lock.

Crash, full-disk, read-only and concurrency faults are in test_faults.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from trunkctl.conf import ConfigDir, mask_secrets, masked_diff, parse
from trunkctl.errors import ConfError, ConfLockError, ConfWriteError

PJSIP = "[novofon]\ntype=auth\nusername=0012345\npassword=Sup3rS3cret\n"


@pytest.fixture
def cfg(tmp_path: Path) -> ConfigDir:
    (tmp_path / "pjsip.conf").write_text(PJSIP)
    os.chown(tmp_path / "pjsip.conf", 1234, 5678)
    (tmp_path / "pjsip.conf").chmod(0o640)
    return ConfigDir(tmp_path, lock_timeout=0.3)


def test_write_keeps_owner_mode_and_backs_up(cfg: ConfigDir) -> None:
    doc = cfg.read("pjsip.conf")
    sec = doc.find("novofon", "auth")
    assert sec is not None
    sec.set("password", "n3w")
    backup = cfg.write("pjsip.conf", doc)
    path = cfg.path / "pjsip.conf"
    assert path.read_text() == PJSIP.replace("Sup3rS3cret", "n3w")
    st = path.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o640)
    assert backup is not None and backup.path.read_text() == PJSIP
    assert stat.S_IMODE(backup.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.backup_dir.stat().st_mode) == 0o700
    assert cfg.write("pjsip.conf", doc) is None  # unchanged: no write, no backup
    assert [b.name for b in cfg.backups()] == ["pjsip.conf"]
    leftovers = [p.name for p in cfg.path.iterdir() if "trunkctl-tmp" in p.name]
    assert leftovers == []


def test_restore_newest_and_undo_restore(cfg: ConfigDir) -> None:
    cfg.write("pjsip.conf", PJSIP + "v=1\n")
    cfg.write("pjsip.conf", PJSIP + "v=2\n")
    before = cfg.restore("pjsip.conf")
    assert (cfg.path / "pjsip.conf").read_text() == PJSIP + "v=1\n"
    assert before.read() == (PJSIP + "v=2\n").encode()
    cfg.restore("pjsip.conf", before)
    assert (cfg.path / "pjsip.conf").read_text() == PJSIP + "v=2\n"
    with pytest.raises(ConfError):
        cfg.restore("extensions.conf")


def test_transaction_commit_and_rollback_byte_for_byte(cfg: ConfigDir) -> None:
    (cfg.path / "manager.conf").write_bytes(b"[general]\r\nenabled = yes\r\n")
    with cfg.transaction() as tx:
        pj = tx.read("pjsip.conf")
        pj.add_section("novofon", [("type", "endpoint"), ("outbound_auth", "novofon")])
        tx.stage("pjsip.conf", pj)
        tx.stage("extensions.conf", "[from-novofon]\nexten => _X.,1,Answer()\n")
        tx.stage("manager.conf", b"[general]\r\nenabled = no\r\n")
        assert tx.changed() == ["pjsip.conf", "extensions.conf", "manager.conf"]
        diff = tx.diff()
        assert "+++ b/extensions.conf" in diff and "-enabled = yes" in diff
        assert "Sup3rS3cret" not in diff
        ep = tx.resolve("pjsip.conf").find("novofon", "endpoint")
        assert ep is not None and ep.get("outbound_auth") == "novofon"
        backups = tx.commit()
        assert [b.name for b in backups] == ["pjsip.conf", "extensions.conf", "manager.conf"]
        assert (cfg.path / "extensions.conf").exists()
        tx.rollback()  # e.g. the reload failed
    assert (cfg.path / "pjsip.conf").read_text() == PJSIP
    assert (cfg.path / "manager.conf").read_bytes() == b"[general]\r\nenabled = yes\r\n"
    assert not (cfg.path / "extensions.conf").exists()


def test_commit_failure_puts_back_what_was_written(cfg: ConfigDir) -> None:
    with cfg.transaction() as tx:
        tx.stage("pjsip.conf", PJSIP + "x=1\n")
        tx.stage("no-such-dir/x.conf", "its folder does not exist\n")
        with pytest.raises(ConfWriteError):
            tx.commit()
    assert (cfg.path / "pjsip.conf").read_text() == PJSIP


def test_names_outside_the_dir_are_refused(cfg: ConfigDir) -> None:
    with pytest.raises(ConfError):
        cfg.write("../escape.conf", "x")
    with pytest.raises(ConfError):
        cfg.file("/etc/passwd")


def test_symlinked_file_is_written_through(cfg: ConfigDir, tmp_path: Path) -> None:
    real = tmp_path / "real.conf"
    real.write_text("[a]\n")
    (cfg.path / "link.conf").symlink_to(real)
    cfg.write("link.conf", "[b]\n")
    assert (cfg.path / "link.conf").is_symlink() and real.read_text() == "[b]\n"


def test_lock_times_out_with_a_clear_error(cfg: ConfigDir) -> None:
    other = ConfigDir(cfg.path, lock_timeout=0.2)
    with cfg.lock():
        with pytest.raises(ConfLockError) as err:
            other.write("pjsip.conf", "x")
        assert str(os.getpid()) in err.value.evidence.en  # who holds it
        assert err.value.evidence.ru
    other.write("pjsip.conf", PJSIP + "ok=1\n")  # free again


def test_mask_and_diff_hide_every_secret() -> None:
    old = (
        "[a]\npassword = Sup3rS3cret ; x\nsecret=s3\nmd5_cred = abcd\n;password=Old0ne\nuser=bob\n"
    )
    new = old.replace("Sup3rS3cret", "N3wS3cret").replace("user=bob", "user=alice")
    masked = mask_secrets(old)
    assert masked == (
        "[a]\npassword = ******** ; x\nsecret=********\nmd5_cred = ********\n"
        ";password=********\nuser=bob\n"
    )
    diff = masked_diff(old, new, name="pjsip.conf")
    assert diff == (
        "--- a/pjsip.conf\n+++ b/pjsip.conf\n@@ -1,6 +1,6 @@\n [a]\n"
        "-password = ******** ; x\n+password = ******** ; x  ; (changed, not shown)\n"
        " secret=********\n"
        " md5_cred = ********\n ;password=********\n-user=bob\n+user=alice\n"
    )
    assert masked_diff(old, old) == ""
    assert "\\ No newline at end of file" in masked_diff("[a]\nx=1", "[a]\nx=2")
    assert "S3cret" not in repr(parse(old).find("a"))
