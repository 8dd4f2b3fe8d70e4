"""Helpers for the lint tests: write .conf texts into a temp config dir and lint it.

``HEALTHY`` is a correct NovoFon registration trunk, one phone, a locked-down AMI and a
local-only ARI: the negative baseline every rule must stay silent on. Tests derive broken
variants from it with :func:`variant` (exact text replacement, asserted to apply) or write
small configs of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from trunkctl.lint import Finding, LintFacts, LintReport, lint
from trunkctl.providers import get_profile

NOVOFON = get_profile("novofon")
FACTS = LintFacts(asterisk_version="Asterisk 22.10.1", provider=NOVOFON)
STRONG_AMI = "q7Vd-2mXr9LpT4wKz8sN"
STRONG_PHONE = "Hk3pW9vR-tQ2zX7mLs4e"
TRUNK_PASSWORD = "nF4k-Rz8QpL2"

HEALTHY: dict[str, str] = {
    "pjsip.conf": f"""; NovoFon over registration, written the way trunkctl writes it.
[transport-udp]
type = transport
protocol = udp
bind = 0.0.0.0:5060

[novofon]
type = auth
auth_type = userpass
username = 0053248
password = {TRUNK_PASSWORD}

[novofon]
type = aor
contact = sip:sip.novofon.ru:5060
qualify_frequency = 60

[novofon]
type = endpoint
transport = transport-udp
context = from-novofon
disallow = all
allow = alaw,ulaw
aors = novofon
outbound_auth = novofon
from_user = 0053248
from_domain = sip.novofon.ru
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
identify_by = ip

[novofon]
type = registration
transport = transport-udp
outbound_auth = novofon
server_uri = sip:sip.novofon.ru:5060
client_uri = sip:0053248@sip.novofon.ru:5060
contact_user = 0053248
retry_interval = 60
line = yes
endpoint = novofon

[novofon]
type = identify
endpoint = novofon
match = sip.novofon.ru

; a desk phone
[phone-tpl](!)
type = endpoint
context = office
disallow = all
allow = ulaw,alaw

[101](phone-tpl)
auth = 101
aors = 101

[101]
type = auth
auth_type = userpass
username = 101
password = {STRONG_PHONE}

[101]
type = aor
max_contacts = 1
""",
    "extensions.conf": """[general]
static = yes
writeprotect = no

[globals]

[outgoing]
exten => _8XXXXXXXXXX,1,Goto(${CONTEXT},7${EXTEN:1},1)
exten => _X.,1,NoOp(out via novofon)
 same => n,Dial(PJSIP/${EXTEN}@novofon,60)
 same => n,Hangup()

[from-novofon]
exten => _X.,1,Answer()
 same => n,Dial(PJSIP/101,30)
 same => n,Hangup()
exten => s,1,Goto(from-novofon,0053248,1)

[office]
exten => 101,1,Dial(PJSIP/101,20)
include => outgoing
""",
    "manager.conf": f"""[general]
enabled = yes
port = 5038
bindaddr = 127.0.0.1

[trunkctl]
secret = {STRONG_AMI}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = system,call
write = originate,config
""",
    "http.conf": """[general]
enabled = yes
bindaddr = 127.0.0.1
bindport = 8088
""",
    "ari.conf": f"""[general]
enabled = yes

[dashboard]
type = user
password = {STRONG_AMI}x
password_format = plain
""",
}


def variant(base: dict[str, str], file: str, old: str, new: str) -> dict[str, str]:
    """``base`` with one exact replacement in ``file`` (fails if ``old`` is not there)."""
    assert old in base[file], f"{old!r} not in {file}"
    out = dict(base)
    out[file] = base[file].replace(old, new, 1)
    return out


def write(directory: Path, files: dict[str, str]) -> Path:
    """Write ``files`` into ``directory`` (created) and return it, mode 0640 as Debian's
    package leaves /etc/asterisk (CONF005 tests make their own world-readable files)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        (directory / name).chmod(0o640)
    return directory


Lint = Callable[..., LintReport]


@pytest.fixture
def run(tmp_path: Path) -> Lint:
    """``run(files, facts=FACTS)``: lint ``files`` written into a fresh temp dir."""
    counter = iter(range(1_000_000))

    def _run(files: dict[str, str], facts: LintFacts | None = FACTS) -> LintReport:
        return lint(write(tmp_path / f"etc{next(counter)}", files), facts=facts)

    return _run


def only(report: LintReport, rule_id: str) -> list[Finding]:
    """The findings of one rule."""
    return report.by_rule(rule_id)


def evidence(findings: list[Finding]) -> str:
    """All evidence lines joined, for substring asserts."""
    return "\n".join(e for f in findings for e in f.evidence)
