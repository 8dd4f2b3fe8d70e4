"""Reading what Asterisk logged during a step (apply reads a reload's refusals this way),
and the sandbox's own log rotation."""

from __future__ import annotations

from pathlib import Path

import pytest

from trunkctl.asterisk import config_complaints, log_position, log_since, parse_log_line
from trunkctl.sandbox._instance import _rotate
from trunkctl.settings import Settings

BEFORE = "[Nov 26 09:00:00] WARNING[1] config.c: old warning\n"
AFTER = "[Nov 26 09:00:01] ERROR[2] res_pjsip.c: new error\n[Nov 26 09:00:01] NOTICE[2] x: y\n"


def test_only_lines_written_after_the_position_of_the_asked_levels(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text(BEFORE)
    settings = Settings(log_file=log)
    position = log_position(settings)
    with log.open("a") as fh:
        fh.write(AFTER)
    assert log_since(settings, position) == [AFTER.splitlines()[0]]
    assert log_since(settings, position, levels=("NOTICE",)) == [AFTER.splitlines()[1]]


def test_a_log_rotated_meanwhile_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text(BEFORE * 20)
    settings = Settings(log_file=log)
    position = log_position(settings)
    log.replace(tmp_path / "messages.log.1")  # logrotate, or the sandbox's start
    log.write_text(AFTER)
    assert log_since(settings, position) == [AFTER.splitlines()[0]]


def test_no_log_or_a_missing_file_reads_as_nothing(tmp_path: Path) -> None:
    assert log_position(Settings()) == 0 and log_since(Settings(), 0) == []
    missing = Settings(log_file=tmp_path / "none.log")
    assert log_position(missing) == 0 and log_since(missing, 0) == []


def test_sandbox_logs_are_set_aside_only_when_over_the_limit(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text("small\n")
    _rotate(log, limit=100)
    assert log.read_text() == "small\n" and not (tmp_path / "messages.log.1").exists()
    log.write_text("x" * 101)
    (tmp_path / "messages.log.1").write_text("older\n")
    _rotate(log, limit=100)
    assert not log.exists() and (tmp_path / "messages.log.1").read_text() == "x" * 101
    _rotate(tmp_path / "absent.log", limit=100)  # nothing to do, no error


# Real lines the sandbox Asterisk 22 wrote, one file per refusal class, in its custom format
# (dateformat %F %T.%3q, verbose(3)) and in Debian's stock logger.conf format.
DATA = Path(__file__).parent / "data" / "asterisk_log"
FORMATS = ("custom", "stock")


def complaints(name: str, fmt: str) -> list[tuple[str, str, str, str, int | None]]:
    lines = (DATA / f"{name}.{fmt}.log").read_text().splitlines()
    return [(c.kind, c.name, c.type, c.option, c.line) for c in config_complaints(lines)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_line_of_both_formats_parses(fmt: str) -> None:
    for path in sorted(DATA.glob(f"*.{fmt}.log")):
        for line in path.read_text().splitlines():
            parsed = parse_log_line(line)
            assert parsed is not None, (path.name, line)
            assert parsed.level in ("ERROR", "WARNING", "NOTICE", "VERBOSE"), line
            assert parsed.source.endswith(".c") and parsed.message, line


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_option_with_an_empty_file_name_is_recognised(fmt: str) -> None:
    assert complaints("unknown_option", fmt) == [
        ("unknown_option", "novofon", "", "bogus_option", 39),
        ("object_refused", "novofon", "endpoint", "", None),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_duplicate_object_is_recognised(fmt: str) -> None:
    assert complaints("duplicate_object", fmt) == [
        ("duplicate_object", "novofon", "endpoint", "", None)
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_dangling_outbound_auth_is_recognised(fmt: str) -> None:
    found = set(complaints("dangling_outbound_auth", fmt))
    assert found == {("missing_auth", "novofon-missing", "auth", "", None)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_changed_transport_is_a_notice_not_a_refusal(fmt: str) -> None:
    lines = (DATA / f"transport_bind_change.{fmt}.log").read_text().splitlines()
    (only,) = config_complaints(lines)
    assert only.kind == "transport_not_reloaded" and not only.refusal
    assert only.name == "transport-udp" and only.type == "transport"
    assert "bind" in only.option


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("name", "transport", "reason"),
    [
        ("transport_bind_unavailable", "transport-bad", "Cannot assign requested address"),
        ("transport_bind_in_use", "transport-busy", "Address already in use"),
    ],
)
def test_a_transport_that_cannot_bind_is_recognised(
    fmt: str, name: str, transport: str, reason: str
) -> None:
    assert complaints(name, fmt) == [
        ("transport_failed", transport, "transport", reason, None),
        ("object_refused", transport, "transport", "", None),
    ]


def test_noise_every_stock_install_prints_is_not_a_complaint() -> None:
    noise = [
        "[Dec  6 09:09:38] ERROR[22124] res_pjsip_config_wizard.c: Unable to load config "
        "file 'pjsip_wizard.conf'",
        "[Dec  6 09:09:38] NOTICE[22124] sorcery.c: Type 'system' is not reloadable, "
        "maintaining previous values",
    ]
    assert config_complaints(noise) == []


def test_older_and_call_id_forms_parse() -> None:
    old = "[Nov 26 09:00:00] WARNING[1234]: chan_sip.c:1234 in handle_request: text here"
    with_call = (
        "[Dec  6 09:09:38] ERROR[22124][C-00000001] res_pjsip.c: Auth object 'x' could not be found"
    )
    parsed = parse_log_line(old)
    assert parsed is not None and parsed.source == "chan_sip.c" and parsed.message == "text here"
    assert [c.kind for c in config_complaints([with_call])] == ["missing_auth"]
    assert parse_log_line("  continuation of a multi-line message") is None


def test_log_since_takes_notice_lines_in_the_stock_format(tmp_path: Path) -> None:
    log = tmp_path / "messages.log"
    log.write_text("")
    settings = Settings(log_file=log)
    lines = (DATA / "transport_bind_change.stock.log").read_text()
    log.write_text(lines)
    got = log_since(settings, 0, levels=("NOTICE",))
    assert any("not fully reloadable" in ln for ln in got)


def test_a_line_in_another_format_still_counts() -> None:
    """A prefix from a log shipper, or a formatter without the bracketed date."""
    shipped = (
        "2026-12-06T09:09:38+00:00 pbx asterisk: ERROR[22124] res_sorcery_config.c: Could not "
        "create an object of type 'endpoint' with id 'novofon' from configuration file "
        "'pjsip.conf'"
    )
    parsed = parse_log_line(shipped)
    assert parsed is not None and parsed.level == "ERROR"
    assert parsed.source == "res_sorcery_config.c"
    assert [c.kind for c in config_complaints([shipped])] == ["object_refused"]
