"""The two sandbox instances' Asterisk configuration, rendered from data.

``pbx`` is the user's server as a fresh install leaves it; ``provider`` plays NovoFon's SIP
side. Test numbers are a table (:data:`TEST_NUMBERS`) from which both the provider's dialplan
and ``sandbox status`` are made, so the two cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from trunkctl.i18n import Text

__all__ = [
    "IP_TRUNK_ENDPOINT",
    "LINE_REALM",
    "TEST_NUMBERS",
    "VERIFICATION_NUMBER",
    "InstancePaths",
    "TestNumber",
    "pbx_files",
    "provider_files",
]

LINE_REALM = "novofon"
IP_TRUNK_ENDPOINT = "ip-trunk"
# The seed's own test call (Local/79991234567@outgoing) is the verification call.
VERIFICATION_NUMBER = "79991234567"
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/asterisk/modules"


@dataclass(frozen=True, slots=True)
class TestNumber:
    """A provider number with fixed behaviour: what it does and what the caller should see."""

    number: str
    behaviour: str
    sip_code: int | None
    dialplan: tuple[str, ...]
    description: Text


# PJSIPHangup (Asterisk ≥ 20.7/21.2) rejects an unanswered channel with an exact SIP code.
TEST_NUMBERS: tuple[TestNumber, ...] = (
    TestNumber(
        "79990000200",
        "answer",
        200,
        ("Answer()", "Playback(hello-world)", "Wait(1.6)", "Hangup()"),
        Text(
            "answers and plays audio for about 3 s, then hangs up",
            "отвечает и ~3 с проигрывает звук, затем кладёт трубку",
        ),
    ),
    TestNumber(
        VERIFICATION_NUMBER,
        "verification",
        200,
        ("Answer()", "Playback(hello-world)", "Wait(1.6)", "Hangup()"),
        Text(
            "the verification number: answers and plays audio (verifies the IP trunk)",
            "номер для верификации: отвечает и проигрывает звук (верифицирует IP-транк)",
        ),
    ),
    TestNumber(
        "79990000486",
        "busy",
        486,
        ("Ringing()", "Wait(0.3)", "PJSIPHangup(486)"),
        Text("rings briefly, then 486 Busy Here", "коротко звонит, затем 486 Busy Here (занято)"),
    ),
    TestNumber(
        "79990000480",
        "no_answer",
        180,
        ("Ringing()", "Wait(600)", "Hangup()"),
        Text(
            "rings and never answers (the caller's timeout ends it)",
            "звонит и не отвечает (вызов заканчивает таймаут звонящего)",
        ),
    ),
    TestNumber(
        "79990000404",
        "not_found",
        404,
        ("PJSIPHangup(404)",),
        Text("404 Not Found at once", "сразу 404 Not Found (номер не найден)"),
    ),
    TestNumber(
        "79990000403",
        "forbidden",
        403,
        ("PJSIPHangup(403)",),
        Text("403 Forbidden at once", "сразу 403 Forbidden (запрещено)"),
    ),
    TestNumber(
        "79990000503",
        "congestion",
        503,
        ("PJSIPHangup(503)",),
        Text("503 Service Unavailable at once", "сразу 503 Service Unavailable (перегрузка)"),
    ),
    # NovoFon names the reason of a refusal in the reason phrase and a Warning header.
    # Asterisk 22 cannot send either (PJSIPHangup takes a code only; PJSIP_HEADER writes to
    # outbound requests, PJSIP_RESPONSE_HEADER is read-only), so the provider sends the code
    # with its standard phrase and tests/trace plays these two with their exact words.
    TestNumber(
        "79990000431",
        "caller_id_not_allowed",
        403,
        ("PJSIPHangup(403)",),
        Text(
            '403 at once; NovoFon words it "Caller ID not allowed" '
            '(Warning: 399 novofon "Caller ID not allowed")',
            '403 сразу; NovoFon пишет "Caller ID not allowed" '
            '(Warning: 399 novofon "Caller ID not allowed")',
        ),
    ),
    TestNumber(
        "79990000482",
        "insufficient_funds",
        480,
        ("PJSIPHangup(480)",),
        Text(
            '480 at once; NovoFon words it "Insufficient funds" '
            '(Warning: 399 novofon "Insufficient funds")',
            '480 сразу; NovoFon пишет "Insufficient funds" '
            '(Warning: 399 novofon "Insufficient funds")',
        ),
    ),
    TestNumber(
        "79990000201",
        "answer_hangup",
        200,
        ("Answer()", "Hangup()"),
        Text("answers and hangs up at once", "отвечает и сразу кладёт трубку"),
    ),
)


@dataclass(frozen=True, slots=True)
class InstancePaths:
    """An instance's folders as Asterisk inside the root sees them."""

    base: str

    @property
    def etc(self) -> str:
        return f"{self.base}/etc"

    @property
    def conf(self) -> str:
        return f"{self.base}/etc/asterisk.conf"

    def dirs(self) -> dict[str, str]:
        """asterisk.conf [directories] entries that must differ per instance."""
        b = self.base
        return {
            "astetcdir": f"{b}/etc",
            "astvarlibdir": "/var/lib/asterisk",
            "astdbdir": f"{b}/db",
            "astkeydir": f"{b}/keys",
            "astspooldir": f"{b}/spool",
            "astrundir": f"{b}/run",
            "astlogdir": f"{b}/log",
            "astcachedir": f"{b}/cache",
        }


def _asterisk_conf(paths: InstancePaths, name: str) -> str:
    dirs = "\n".join(f"{k} => {v}" for k, v in paths.dirs().items())
    return f"""; Written by trunkctl's sandbox: the {name} instance's own folders.
[directories]
{dirs}
astmoddir => {MODULE_DIR}
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astsbindir => /usr/sbin

[options]
systemname = {name}
verbose = 3
documentation_language = en_US
"""


# Modules that would bind fixed network ports (and collide between two instances) or
# cannot work in the sandbox; everything else autoloads as on a fresh install.
_NOLOAD = (
    "chan_iax2.so",
    "pbx_dundi.so",
    "chan_unistim.so",
    "chan_mgcp.so",
    "chan_skinny.so",
    "chan_ooh323.so",
    "res_hep.so",
    "res_hep_pjsip.so",
    "res_hep_rtcp.so",
    "res_xmpp.so",
    "chan_motif.so",
    "res_calendar.so",
    "res_snmp.so",
    "res_phoneprov.so",
    "res_pjsip_phoneprov_provider.so",
    "chan_dahdi.so",
    "chan_console.so",
    "chan_alsa.so",
    "chan_oss.so",
    "cdr_pgsql.so",
    "cel_pgsql.so",
    "res_config_pgsql.so",
    "cdr_tds.so",
    "cel_tds.so",
    "res_corosync.so",
    "res_statsd.so",
    "res_prometheus.so",
    "chan_mobile.so",
)


def _modules_conf() -> str:
    noload = "\n".join(f"noload => {m}" for m in _NOLOAD)
    return f"[modules]\nautoload = yes\n{noload}\n"


def _logger_conf() -> str:
    return """[general]
dateformat = %F %T.%3q

[logfiles]
messages.log => notice,warning,error,verbose(3)
"""


def _rtp_conf(start: int) -> str:
    return f"[general]\nrtpstart = {start}\nrtpend = {start + 998}\n"


def _manager_conf(bind: str, port: int, user: str, secret: str, *, permit: str) -> str:
    return f"""[general]
enabled = yes
port = {port}
bindaddr = {bind}

[{user}]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = {permit}
read = system,call,log,verbose,agent,user,config,dtmf,reporting,cdr,dialplan
write = system,call,originate,reporting,config,command,agent,user
"""


def pbx_files(
    paths: InstancePaths, *, address: str, sip_port: int, ami_port: int, ami_secret: str
) -> dict[str, str]:
    """Config files of a freshly installed server: a UDP transport, no trunk, no outgoing."""
    return {
        "asterisk.conf": _asterisk_conf(paths, "pbx"),
        "modules.conf": _modules_conf(),
        "logger.conf": _logger_conf(),
        "rtp.conf": _rtp_conf(31000),
        "manager.conf": _manager_conf(
            address, ami_port, "trunkctl", ami_secret, permit="127.0.0.0/255.0.0.0"
        ),
        "pjsip.conf": f"""; PJSIP configuration of this server.
; Fresh install: one UDP transport, no provider trunk yet.

[transport-udp]
type = transport
protocol = udp
bind = {address}:{sip_port}
""",
        "extensions.conf": """; Dialplan of this server (fresh install: nothing dials out yet).

[general]
static = yes
writeprotect = no
clearglobalvars = no

[globals]

[default]
exten => s,1,Answer()
 same => n,Playback(hello-world)
 same => n,Hangup()
""",
    }


def _provider_dialplan() -> str:
    lines = [
        "; The emulated NovoFon: what each test number does.",
        "[general]",
        "static = yes",
        "writeprotect = no",
        "",
        "[numbers]",
        "; Accept both 7XXXXXXXXXX and +7XXXXXXXXXX, as NovoFon does.",
        "exten => _+X.,1,Goto(numbers,${EXTEN:1},1)",
        "; Any other number: 404, like an unallocated number.",
        "exten => _X.,1,PJSIPHangup(404)",
    ]
    for tn in TEST_NUMBERS:
        lines.append(f"; {tn.behaviour}: {tn.description.en}")
        first, *rest = tn.dialplan
        lines.append(f"exten => {tn.number},1,{first}")
        lines.extend(f" same => n,{step}" for step in rest)
    lines += [
        "",
        "[from-line]",
        "; Calls over the registration-based SIP line (authenticated by digest).",
        "include => numbers",
        "",
        "[from-ip-trunk]",
        "; Calls over the IP trunk (identified by the termination address, no credentials).",
        "; Until one call to the verification number has arrived, everything gets 403:",
        "; that is NovoFon's 'verify the trunk's IP with a test call' step.",
        'exten => _[+0-9].,1,GotoIf($["${DB(trunkctl/ip_verified)}" = "1"]?numbers,${EXTEN},1)',
        f' same => n,GotoIf($["${{EXTEN}}" = "{VERIFICATION_NUMBER}" | '
        f'"${{EXTEN}}" = "+{VERIFICATION_NUMBER}"]?verify)',
        " same => n,PJSIPHangup(403)",
        " same => n(verify),Set(DB(trunkctl/ip_verified)=1)",
        " same => n,Goto(numbers,${EXTEN},1)",
        "",
    ]
    return "\n".join(lines)


def provider_files(
    paths: InstancePaths,
    *,
    address: str,
    sip_port: int,
    ami_port: int,
    ami_secret: str,
    line_login: str,
    line_password: str,
    termination_address: str,
) -> dict[str, str]:
    """Config files of the emulated NovoFon SIP side."""
    # `\;` is how a literal semicolon is written in a .conf value; our passwords have none,
    # but never write one raw.
    password = line_password.replace(";", r"\;")
    return {
        "asterisk.conf": _asterisk_conf(paths, "provider"),
        "modules.conf": _modules_conf(),
        "logger.conf": _logger_conf(),
        "rtp.conf": _rtp_conf(33000),
        "manager.conf": _manager_conf(
            address, ami_port, "sandbox", ami_secret, permit="127.0.0.0/255.0.0.0"
        ),
        "pjsip.conf": f"""; The emulated NovoFon SIP side (realm "{LINE_REALM}").

[global]
type = global
; A request whose From user names a SIP line is that line's (and must authenticate);
; anything else from the termination address is the IP trunk.
endpoint_identifier_order = username,ip,anonymous
user_agent = NovoFon-sandbox

[transport-udp]
type = transport
protocol = udp
bind = {address}:{sip_port}

; The registration-based SIP line: REGISTER and INVITE must authenticate.
[{line_login}]
type = auth
auth_type = userpass
realm = {LINE_REALM}
username = {line_login}
password = {password}

[{line_login}]
type = aor
max_contacts = 1
remove_existing = yes
qualify_frequency = 0

[{line_login}]
type = endpoint
context = from-line
auth = {line_login}
aors = {line_login}
identify_by = username,auth_username
disallow = all
allow = alaw,ulaw
direct_media = no
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes

; The IP trunk: calls from the termination address need no credentials.
[{IP_TRUNK_ENDPOINT}]
type = endpoint
context = from-ip-trunk
disallow = all
allow = alaw,ulaw
direct_media = no
rtp_symmetric = yes

[{IP_TRUNK_ENDPOINT}]
type = identify
endpoint = {IP_TRUNK_ENDPOINT}
match = {termination_address}
""",
        "extensions.conf": _provider_dialplan(),
    }
