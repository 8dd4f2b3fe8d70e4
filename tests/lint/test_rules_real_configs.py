"""Rules judged on configs other people wrote (issue: doctor on real configurations).

Each test is a regression for one false alarm or one missed mistake: phones taken for
trunks, NovoFon rules on other providers, dialplan rules on contexts nothing reaches,
and the mistakes the lint used to miss. What Asterisk itself does with each example is
checked on the sandbox in test_asterisk_judge.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from trunkctl.lint import lint

from .conftest import FACTS, HEALTHY, STRONG_PHONE, Lint, evidence, only, variant, write

# A FreePBX-style phone: per-phone auth/aor/endpoint and an [N-identify] without match.
FREEPBX_PHONE = f"""[transport-udp]
type = transport
protocol = udp
bind = 0.0.0.0:5060

[201]
type = endpoint
context = from-internal
allow = ulaw,alaw
auth = 201-auth
outbound_auth = 201-auth
aors = 201

[201-auth]
type = auth
auth_type = userpass
username = 201
password = {STRONG_PHONE}

[201]
type = aor
max_contacts = 1

[201-identify]
type = identify
endpoint = 201
"""
FREEPBX_EXT = """[from-internal]
exten => _X.,1,Dial(PJSIP/${EXTEN}@novofon)
"""


def test_freepbx_phone_is_a_phone_not_a_trunk(run: Lint) -> None:
    report = run({"pjsip.conf": FREEPBX_PHONE, "extensions.conf": FREEPBX_EXT})
    (role,) = report.roles
    assert (role.endpoint, role.role) == ("201", "phone")
    assert any("auth=" in e.en for e in role.evidence)
    ids = {f.rule_id for f in report.findings}
    # The old false alarms on ordinary phones.
    assert not ids & {"PJSIP001", "PJSIP007", "PJSIP013", "PJSIP018", "DIAL004"}, ids


def test_phone_with_auth_and_outbound_auth_dials_out_without_toll_fraud_error(
    run: Lint,
) -> None:
    files = dict(HEALTHY)
    files["pjsip.conf"] = HEALTHY["pjsip.conf"].replace(
        "[101](phone-tpl)\nauth = 101\n", "[101](phone-tpl)\nauth = 101\noutbound_auth = 101\n"
    )
    report = run(files)
    roles = {r.endpoint: r.role for r in report.roles}
    assert roles == {"novofon": "trunk", "101": "phone"}
    ids = {f.rule_id for f in report.findings}
    assert not ids & {"PJSIP001", "PJSIP007", "PJSIP013", "PJSIP018", "DIAL004"}, ids


def test_pjsip022_phone_password_is_checked_even_when_also_outbound_auth(run: Lint) -> None:
    # An 8-character phone password was flagged on one phone and not on its twin that
    # also named the auth as outbound_auth.
    files = dict(HEALTHY)
    files["pjsip.conf"] = (
        HEALTHY["pjsip.conf"]
        .replace("auth = 101\n", "auth = 101\noutbound_auth = 101\n", 1)
        .replace(f"password = {STRONG_PHONE}", "password = k3Lm9pQz")
    )
    (f,) = only(run(files), "PJSIP022")
    assert "only 8 characters" in f.message.en and "16+" in f.message.en
    assert f.subject == "phones"


def test_pjsip022_one_template_line_is_one_finding_with_a_count(run: Lint) -> None:
    tpl = "[auth-tpl](!)\ntype = auth\nauth_type = userpass\npassword = 1234\n"
    phones = "".join(
        f"[{n}]\ntype = endpoint\ncontext = office\nallow = ulaw\nauth = {n}\naors = {n}\n"
        f"[{n}](auth-tpl)\nusername = {n}\n[{n}]\ntype = aor\nmax_contacts = 1\n"
        for n in range(300, 400)
    )
    files = {"pjsip.conf": "[t]\ntype = transport\nbind = 0.0.0.0\n" + tpl + phones}
    (f,) = only(run(files), "PJSIP022")
    assert f.count == 100
    assert f.evidence == ("pjsip.conf:7: password = ******** (in template [auth-tpl])",)
    assert "99 more" in f.message.en


def test_pjsip013_novofon_login_format_only_on_novofon_trunks(run: Lint) -> None:
    tele2 = HEALTHY["pjsip.conf"].replace("sip.novofon.ru", "sip.tele2.ru")
    tele2 = tele2.replace("0053248", "79001234567").replace("[novofon]", "[tele2]")
    tele2 = tele2.replace("novofon", "tele2")
    files = {"pjsip.conf": tele2, "extensions.conf": "[from-tele2]\n[office]\n[outgoing]\n"}
    report = run(files)
    assert {r.endpoint: (r.role, r.provider) for r in report.roles}["tele2"] == ("trunk", None)
    assert only(report, "PJSIP013") == []  # 79001234567 is not 7 digits, and it is no NovoFon
    novofon = variant(HEALTHY, "pjsip.conf", "username = 0053248", "username = 79001234567")
    msgs = [f.message.en for f in only(run(novofon), "PJSIP013")]
    assert any("does not look like a NovoFon login" in m for m in msgs), msgs


def test_dial001_own_outbound_under_another_name_is_a_note(run: Lint) -> None:
    files = variant(HEALTHY, "extensions.conf", "[outgoing]", "[out-calls]")
    files = variant(files, "extensions.conf", "include => outgoing", "include => out-calls")
    (f,) = only(run(files), "DIAL001")
    assert f.severity == "info"
    assert "[out-calls]" in f.message.en


def test_dial001_is_an_error_beside_a_trunk_trunkctl_wrote(run: Lint) -> None:
    files = variant(HEALTHY, "extensions.conf", "[outgoing]", "[out-calls]")
    files = variant(files, "extensions.conf", "include => outgoing", "include => out-calls")
    files = variant(
        files,
        "pjsip.conf",
        "[novofon]\ntype = endpoint",
        "; trunkctl: novofon endpoint, managed by `trunkctl setup`\n[novofon]\ntype = endpoint",
    )
    (f,) = only(run(files), "DIAL001")
    assert f.severity == "error"


def test_pjsip023_no_trunk_is_a_note_with_the_next_step(run: Lint) -> None:
    files = {"pjsip.conf": FREEPBX_PHONE, "extensions.conf": "[from-internal]\n"}
    report = run(files)
    (f,) = only(report, "PJSIP023")
    assert f.severity == "info" and "trunkctl setup" in f.fix.en
    assert only(report, "DIAL001") == []  # no trunk: nothing to dial out through yet
    assert only(run(HEALTHY), "PJSIP023") == []


SAMPLE_IAX = """[general]
static = yes

[iax2-trunk]
exten => _555XXXX,1,Dial(IAX2/username:secret@example.com/${EXTEN}@some-dialplan-context)

[local]
include => iax2-trunk
"""


def test_conf002_placeholder_in_a_context_nothing_reaches_is_a_note(run: Lint) -> None:
    files = dict(HEALTHY, **{"extensions.conf": HEALTHY["extensions.conf"] + SAMPLE_IAX})
    (f,) = only(run(files), "CONF002")
    assert f.severity == "info" and "nothing reaches [iax2-trunk]" in f.message.en
    assert f.subject == "dialplan"
    # Reached from a phone's context through include => local: an error again.
    reached = variant(files, "extensions.conf", "include => outgoing", "include => local")
    (g,) = only(run(reached), "CONF002")
    assert g.severity == "error"


def test_dial003_unreached_is_a_note_and_identical_lines_keep_their_numbers(run: Lint) -> None:
    ext = HEALTHY["extensions.conf"] + (
        "[old-sip]\n"
        "exten => 1,1,Dial(SIP/${EXTEN})\n"
        "exten => 2,1,NoOp()\n"
        " same => n,Dial(SIP/${EXTEN})\n"
        " same => n,Dial(SIP/${EXTEN})\n"
    )
    report = run(dict(HEALTHY, **{"extensions.conf": ext}))
    found = only(report, "DIAL003")
    assert [f.severity for f in found] == ["info"] * 3
    lines = [f.evidence[0].split(":")[1] for f in found]
    assert len(set(lines)) == 3, [f.evidence for f in found]
    # The same lines in a context a phone reaches: errors (Asterisk 22 has no chan_sip).
    reached = variant(
        dict(HEALTHY, **{"extensions.conf": ext}),
        "extensions.conf",
        "include => outgoing",
        "include => outgoing\ninclude => old-sip",
    )
    assert {f.severity for f in only(run(reached), "DIAL003")} == {"error"}


def test_dial004_follows_the_trunk_context_not_the_phones(run: Lint) -> None:
    # Phones' [office] includes [outgoing]: that is what phones are for, no finding.
    assert only(run(HEALTHY), "DIAL004") == []
    bad = variant(
        HEALTHY, "extensions.conf", "[from-novofon]\n", "[from-novofon]\ninclude => office\n"
    )
    (f,) = only(run(bad), "DIAL004")
    assert "from-novofon → office → outgoing" in f.message.en


def test_pjsip015_contact_with_a_slash_comment_loads_so_it_is_a_warning(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "contact = sip:sip.novofon.ru:5060",
        "contact = sip:1.1.1.1:5080 // comment",
    )
    (f,) = only(run(files), "PJSIP015")
    assert f.severity == "warning" and "it loads" in f.message.en
    assert "; comment" in f.fix.en


def test_pjsip024_auth_without_username(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "username = 101\n", "")
    (f,) = only(run(files), "PJSIP024")
    assert f.severity == "error"
    assert "auth [101] has no username" in f.message.en and "endpoint [101]" in f.message.en
    assert only(run(HEALTHY), "PJSIP024") == []


def test_pjsip025_transport_address_asterisk_cannot_look_up(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "bind = 0.0.0.0:5060\n",
        "bind = 0.0.0.0:5060\nexternal_media_address = 1.1.1.1 //comment\n"
        "external_signaling_address = 1.1.1.1\nlocal_net = 192.168.0.0/16\n",
    )
    (f,) = only(run(files), "PJSIP025")
    assert "external_media_address" in f.message.en and "Unable to lookup" in f.message.en
    good = variant(files, "pjsip.conf", "1.1.1.1 //comment", "pbx.example.ru")
    assert only(run(good), "PJSIP025") == []
    bind = variant(HEALTHY, "pjsip.conf", "bind = 0.0.0.0:5060\n", "bind = 0.0.0.0:5060 // sip\n")
    (g,) = only(run(bind), "PJSIP025")
    assert "Asterisk refuses the transport" in g.message.en


def test_pjsip026_a_user_registration_left_beside_trunkctls(run: Lint) -> None:
    old = (
        "\n[novofon-old]\ntype = registration\noutbound_auth = novofon\n"
        "server_uri = sip:sip.novofon.ru\nclient_uri = sip:0053248@sip.novofon.ru\n"
    )
    files = dict(HEALTHY, **{"pjsip.conf": HEALTHY["pjsip.conf"] + old})
    (f,) = only(run(files), "PJSIP026")
    assert "2 registrations to sip.novofon.ru" in f.message.en
    assert len(f.evidence) == 2
    assert only(run(HEALTHY), "PJSIP026") == []


def test_pjsip027_trunk_reachable_by_from_user(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "identify_by = ip\n", "")
    (f,) = only(run(files), "PJSIP027")
    assert "username,ip (the default)" in f.message.en and "identify_by = ip" in f.fix.en
    explicit = variant(HEALTHY, "pjsip.conf", "identify_by = ip", "identify_by = username,ip")
    assert only(run(explicit), "PJSIP027")
    assert only(run(HEALTHY), "PJSIP027") == []


def test_conf004_modules_conf_without_the_modules_section(run: Lint) -> None:
    bad = dict(HEALTHY, **{"modules.conf": "autoload = yes\nnoload => chan_iax2.so\n"})
    (f,) = only(run(bad), "CONF004")
    assert f.severity == "error" and "does not start" in f.message.en
    assert f.evidence[0].startswith("modules.conf:1:")
    wrong = dict(HEALTHY, **{"modules.conf": "[general]\nautoload = yes\n"})
    (g,) = only(run(wrong), "CONF004")
    assert "no [modules]" in g.message.en
    good = dict(HEALTHY, **{"modules.conf": "[modules]\nautoload = yes\n"})
    assert only(run(good), "CONF004") == []


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder other users can enter (pytest's own tmp dirs are 0700: nothing in them is
    readable by others, whatever its mode)."""
    base = Path(tempfile.mkdtemp(prefix="lint-conf005-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_conf005_world_readable_file_with_secrets(open_dir: Path) -> None:
    etc = write(open_dir / "etc", HEALTHY)
    etc.chmod(0o755)
    assert only(lint(etc, facts=FACTS), "CONF005") == []
    (etc / "pjsip.conf").chmod(0o644)
    (f,) = only(lint(etc, facts=FACTS), "CONF005")
    assert "pjsip.conf is readable by every user (mode 0644)" in f.message.en
    assert "********" in f.evidence[0]
    assert "nF4k" not in evidence([f])
    (etc / "http.conf").chmod(0o644)  # no secret in it: fine
    assert len(only(lint(etc, facts=FACTS), "CONF005")) == 1
    etc.chmod(0o750)  # others cannot enter the folder: the file is safe
    assert only(lint(etc, facts=FACTS), "CONF005") == []
    etc.chmod(0o755)


def test_ari002_allowed_origins_star(run: Lint) -> None:
    files = variant(HEALTHY, "ari.conf", "enabled = yes\n", "enabled = yes\nallowed_origins = *\n")
    (f,) = only(run(files), "ARI002")
    assert f.severity == "warning"
    assert only(run(HEALTHY), "ARI002") == []


def test_ami005_ami_user_with_more_power_than_needed(run: Lint) -> None:
    remote = variant(
        HEALTHY,
        "manager.conf",
        "permit = 127.0.0.1/255.255.255.255\nread = system,call\nwrite = originate,config\n",
        "permit = 192.168.1.0/255.255.255.0\nread = system,call\nwrite = system,originate\n",
    )
    (f,) = only(run(remote), "AMI005")
    assert f.severity == "warning" and "system+originate" in f.message.en
    local = variant(HEALTHY, "manager.conf", "write = originate,config", "write = command")
    (g,) = only(run(local), "AMI005")
    assert g.severity == "info"
    assert only(run(HEALTHY), "AMI005") == []
