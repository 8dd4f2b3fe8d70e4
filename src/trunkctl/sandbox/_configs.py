"""The two sandbox instances' Asterisk configuration.

``pbx`` is the user's server as Debian's asterisk package installs it: the package's own
``/etc/asterisk`` (read from the root, checked against dpkg's checksums) with only the
loopback lab's addresses and ports changed, in each file's own style (:func:`stock_pbx_tree`,
listed in :data:`LAB_CHANGES`). ``provider`` plays NovoFon's SIP side and stays minimal.
Test numbers are a table (:data:`TEST_NUMBERS`) from which both the provider's dialplan
and ``sandbox status`` are made, so the two cannot disagree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trunkctl.errors import SandboxError
from trunkctl.i18n import Text

__all__ = [
    "ADMIN_USER",
    "IP_TRUNK_ENDPOINT",
    "LAB_CHANGES",
    "LINE_REALM",
    "TEST_NUMBERS",
    "TRUNKCTL_AMI_READ",
    "TRUNKCTL_AMI_WRITE",
    "VERIFICATION_NUMBER",
    "ConfigFile",
    "ConfigTree",
    "InstancePaths",
    "StockConfig",
    "TestNumber",
    "minimal_tree",
    "pbx_files",
    "provider_files",
    "read_stock_config",
    "stock_pbx_tree",
    "user_ids",
]

LINE_REALM = "novofon"
IP_TRUNK_ENDPOINT = "ip-trunk"
# trunkctl's AMI user in the pbx has exactly what `trunkctl init` grants (provision/_init.py
# AMI_READ / AMI_WRITE; a test keeps them equal): no `system` + `originate` pair that runs
# System(), no `command`. The lab's own tooling and the tests that drive the pbx directly
# (Command, PJSIPShow*) log in as ADMIN_USER instead, with the same secret.
TRUNKCTL_AMI_READ = "call,user,system,reporting"
TRUNKCTL_AMI_WRITE = "originate,call,reporting"
ADMIN_USER = "sandbox-admin"
_ADMIN_READ = "system,call,log,verbose,agent,user,config,dtmf,reporting,cdr,dialplan"
_ADMIN_WRITE = "system,call,originate,reporting,config,command,agent,user"
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
            "astkeydir": b,  # res_crypto reads <astkeydir>/keys
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
    "res_calendar_caldav.so",
    "res_calendar_ews.so",
    "res_calendar_exchange.so",
    "res_calendar_icalendar.so",
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
    """manager.conf of the provider (one broad lab user) and of the minimal pbx (trunkctl's
    narrow user plus the lab's admin)."""
    users = (
        _manager_user(user, secret, permit=permit)
        if user == "trunkctl"
        else _ami_section(user, secret, permit, _ADMIN_READ, _ADMIN_WRITE)
    )
    return f"""[general]
enabled = yes
port = {port}
bindaddr = {bind}

{users}"""


def _ami_section(user: str, secret: str, permit: str, read: str, write: str) -> str:
    return f"""[{user}]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = {permit}
read = {read}
write = {write}
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


# --- the stock Debian pbx --------------------------------------------------------------------

STOCK_ETC = "etc/asterisk"
"""The package's config dir inside the root: never run from, only copied."""
CONFIG_PACKAGE = "asterisk-config"
ASTERISK_USER = "asterisk"

LAB_CHANGES: tuple[tuple[str, str], ...] = (
    (
        "asterisk.conf",
        "[directories]: the (!) template mark removed, as the file's own comment says, and the "
        "db, keys, spool, run, log, cache and etc folders made the instance's own",
    ),
    ("manager.conf", "[general]: port = the lab's AMI port, bindaddr = 127.0.0.2"),
    (
        "manager.d/trunkctl.conf",
        "new, 0640: trunkctl's least-privilege AMI user and the lab's sandbox-admin "
        "(where Debian puts users)",
    ),
    (
        "modules.conf",
        "a commented noload block at the end: modules that bind fixed ports (two Asterisks "
        "share the host) or cannot run in the lab",
    ),
    ("pjsip.conf", "a commented [transport-udp] at the end, bound to 127.0.0.2:<port>"),
)
"""Every file the lab changes in the stock config and how; README lists the same."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """One file of a config dir: its bytes, mode and owner."""

    data: bytes
    mode: int
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class ConfigTree:
    """A whole config dir: files and subfolders by relative path ("" is the dir itself)."""

    files: dict[str, ConfigFile]
    dirs: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # mode, uid, gid


@dataclass(frozen=True, slots=True)
class StockConfig:
    """The package's /etc/asterisk as installed: files (bytes, mode) and subfolder modes."""

    files: dict[str, tuple[bytes, int]]
    dirs: dict[str, int]
    uid: int
    gid: int


def user_ids(root: Path, user: str = ASTERISK_USER) -> tuple[int, int]:
    """The uid and gid of ``user`` in the root's own passwd and group (not this machine's)."""
    uid = gid = None
    for line in (root / "etc/passwd").read_text(errors="replace").splitlines():
        parts = line.split(":")
        if len(parts) > 3 and parts[0] == user:
            uid = int(parts[2])
    for line in (root / "etc/group").read_text(errors="replace").splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[0] == user:
            gid = int(parts[2])
    if uid is None or gid is None:
        raise _stock_broken(f"no {user!r} user or group in {root}/etc/passwd and etc/group")
    return uid, gid


def _stock_broken(why: str) -> SandboxError:
    return SandboxError(
        Text(
            "the sandbox root's stock Asterisk config is not the package's",
            "стоковая конфигурация Asterisk в корне песочницы не совпадает с пакетом",
        ),
        evidence=why,
        next_step=Text(
            "Rebuild the root: `trunkctl sandbox up --rebuild`.",
            "Пересоберите корень: `trunkctl sandbox up --rebuild`.",
        ),
    )


def _conffiles(root: Path) -> dict[str, str]:
    """dpkg's record of the config package's files under /etc/asterisk: path → md5."""
    status = (root / "var/lib/dpkg/status").read_text(errors="replace")
    for block in status.split("\n\n"):
        if not block.startswith(f"Package: {CONFIG_PACKAGE}\n"):
            continue
        found: dict[str, str] = {}
        in_conffiles = False
        for line in block.splitlines():
            if line.startswith("Conffiles:"):
                in_conffiles = True
            elif in_conffiles and line.startswith(" "):
                path, md5 = line.split()[:2]
                if path.startswith(f"/{STOCK_ETC}/"):
                    found[path.removeprefix(f"/{STOCK_ETC}/")] = md5
            else:
                in_conffiles = False
        return found
    raise _stock_broken(f"{CONFIG_PACKAGE} is not installed in {root}")


def read_stock_config(root: Path) -> StockConfig:
    """The package's /etc/asterisk from the root, each file checked against dpkg's md5."""
    etc = root / STOCK_ETC
    uid, gid = user_ids(root)
    files: dict[str, tuple[bytes, int]] = {}
    dirs: dict[str, int] = {}
    for rel, md5 in sorted(_conffiles(root).items()):
        path = etc / rel
        try:
            data = path.read_bytes()
            mode = path.stat().st_mode & 0o7777
        except OSError as exc:
            raise _stock_broken(f"{path}: {exc}") from exc
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
            raise _stock_broken(f"{path} differs from the package (md5 {md5} expected)")
        files[rel] = (data, mode)
        parent = Path(rel).parent
        while str(parent) != ".":
            dirs[str(parent)] = (etc / parent).stat().st_mode & 0o7777
            parent = parent.parent
    return StockConfig(files, dirs, uid, gid)


def _replace_line(name: str, text: str, old: str, new: str) -> str:
    """``text`` with its one line ``old`` replaced by ``new`` (the stock line must exist)."""
    lines = text.split("\n")
    hits = [i for i, line in enumerate(lines) if line.rstrip() == old]
    if len(hits) != 1:
        raise _stock_broken(f"{name}: expected one line {old!r}, found {len(hits)}")
    lines[hits[0]] = new
    return "\n".join(lines)


def _lab_asterisk_conf(text: str, paths: InstancePaths) -> str:
    text = _replace_line(
        "asterisk.conf",
        text,
        "[directories](!)",
        "; trunkctl sandbox: (!) removed and the folders below made this instance's own.\n"
        "[directories]",
    )
    for key, value in paths.dirs().items():
        lines = [line for line in text.split("\n") if line.startswith(f"{key} => ")]
        if len(lines) != 1:
            raise _stock_broken(f"asterisk.conf: expected one {key} line, found {len(lines)}")
        text = _replace_line("asterisk.conf", text, lines[0], f"{key} => {value}")
    return text


def _lab_manager_conf(text: str, *, address: str, port: int) -> str:
    text = _replace_line(
        "manager.conf",
        text,
        "port = 5038",
        f"; trunkctl sandbox: the lab's own AMI port and address.\nport = {port}",
    )
    return _replace_line("manager.conf", text, "bindaddr = 127.0.0.1", f"bindaddr = {address}")


def _lab_modules_conf(text: str) -> str:
    """The lab's noload lines go after the stock ones, inside [modules] (before [global])."""
    lines = text.split("\n")
    stock = {line.split("=>", 1)[1].strip() for line in lines if line.startswith("noload")}
    last = max((i for i, line in enumerate(lines) if line.startswith("noload")), default=-1)
    if last < 0:
        raise _stock_broken("modules.conf: no noload line to follow")
    block = [
        ";",
        "; trunkctl sandbox: modules that bind fixed network ports (two Asterisks share",
        "; this host) or cannot run in the lab.",
        ";",
        *(f"noload => {m}" for m in _NOLOAD if m not in stock),
    ]
    return "\n".join([*lines[: last + 1], *block, *lines[last + 1 :]])


def _lab_pjsip_conf(text: str, *, address: str, port: int) -> str:
    return (
        text.rstrip("\n") + "\n\n; trunkctl sandbox: the lab's transport; 127.0.0.2 stands for "
        "this server's public address.\n"
        f"[transport-udp]\ntype=transport\nprotocol=udp\nbind={address}:{port}\n"
    )


def _manager_user(user: str, secret: str, *, permit: str) -> str:
    """trunkctl's least-privilege user, then the lab's admin user for tests and tooling."""
    return (
        "; trunkctl's AMI user (the sandbox's; `trunkctl init` writes one on a server):\n"
        "; exactly the classes init grants.\n"
        + _ami_section(user, secret, permit, TRUNKCTL_AMI_READ, TRUNKCTL_AMI_WRITE)
        + "\n; The sandbox's own admin user (tests drive the pbx with Command and PJSIPShow*).\n"
        + _ami_section(ADMIN_USER, secret, permit, _ADMIN_READ, _ADMIN_WRITE)
    )


def stock_pbx_tree(
    stock: StockConfig,
    paths: InstancePaths,
    *,
    address: str,
    sip_port: int,
    ami_port: int,
    ami_secret: str,
) -> ConfigTree:
    """The pbx's config dir: the package's files plus :data:`LAB_CHANGES`, owned as packaged.

    Debian's postinst chowns /etc/asterisk and every conffile to asterisk; subfolders keep
    the package's root owner.
    """
    uid, gid = stock.uid, stock.gid
    files = {rel: ConfigFile(data, mode, uid, gid) for rel, (data, mode) in stock.files.items()}
    lab: dict[str, Callable[[str], str]] = {
        "asterisk.conf": lambda t: _lab_asterisk_conf(t, paths),
        "manager.conf": lambda t: _lab_manager_conf(t, address=address, port=ami_port),
        "modules.conf": _lab_modules_conf,
        "pjsip.conf": lambda t: _lab_pjsip_conf(t, address=address, port=sip_port),
    }
    for name, change in lab.items():
        data, mode = stock.files[name]
        files[name] = ConfigFile(change(data.decode("utf-8")).encode("utf-8"), mode, uid, gid)
    files["manager.d/trunkctl.conf"] = ConfigFile(
        _manager_user("trunkctl", ami_secret, permit="127.0.0.0/255.0.0.0").encode(),
        0o640,
        uid,
        gid,
    )
    dirs = {"": (0o755, uid, gid)}
    dirs.update({rel: (mode, 0, 0) for rel, mode in stock.dirs.items()})
    return ConfigTree(files, dirs)


def minimal_tree(
    files: dict[str, str], uid: int, gid: int, *, secret_files: tuple[str, ...] = ()
) -> ConfigTree:
    """A config dir of just ``files`` (the provider, `--minimal`), owned by the asterisk user."""
    return ConfigTree(
        {
            name: ConfigFile(
                text.encode("utf-8"), 0o600 if name in secret_files else 0o640, uid, gid
            )
            for name, text in files.items()
        },
        {"": (0o755, uid, gid)},
    )
