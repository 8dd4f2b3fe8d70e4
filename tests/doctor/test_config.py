"""read_trunk: the trunk's facts from config files as Asterisk reads them (templates too)."""

from __future__ import annotations

from pathlib import Path

from trunkctl.doctor import read_trunk, split_host_port

from .conftest import write_conf

REGISTRATION = """
[transport-udp]
type = transport
protocol = udp
bind = 198.51.100.7:5060
external_signaling_address = 203.0.113.9

[novofon]
type = auth
auth_type = userpass
username = 0053248
password = s3cret;pa55\\;word

[novofon]
type = aor
contact = sip:sip.novofon.ru:5060
qualify_frequency = 60

[novofon]
type = endpoint
transport = transport-udp
context = from-novofon
aors = novofon
outbound_auth = novofon

[novofon]
type = registration
transport = transport-udp
outbound_auth = novofon
server_uri = sip:sip.novofon.ru:5070
client_uri = sip:0053248@sip.novofon.ru
endpoint = novofon

[novofon-identify]
type = identify
endpoint = novofon
match = sip.novofon.ru, 37.139.38.224
"""

DIALPLAN = """
[outgoing]
exten => _X.,1,NoOp()
 same => n,Set(CALLERID(num)=+79581114585)
 same => n,Dial(PJSIP/${EXTEN}@novofon,60)
[from-novofon]
exten => s,1,Hangup()
"""


def test_registration_trunk(tmp_path: Path) -> None:
    write_conf(tmp_path, pjsip_conf=REGISTRATION, extensions_conf=DIALPLAN)
    t = read_trunk(tmp_path)
    assert t.found and t.name == "novofon" and t.mode == "registration"
    # The registration's server_uri wins over the aor's contact.
    assert (t.host, t.port, t.transport) == ("sip.novofon.ru", 5070, "udp")
    assert t.login == "0053248"
    # Asterisk's reading: the first unescaped ';' starts a comment.
    assert t.password is not None and t.password.reveal() == "s3cret"
    assert "s3cret" not in repr(t)
    assert (t.bind_ip, t.external_address) == ("198.51.100.7", "203.0.113.9")
    assert t.identify_matches == ("sip.novofon.ru", "37.139.38.224")
    assert (t.caller_id, t.outgoing_context, t.inbound_context) == (
        "79581114585",
        "outgoing",
        "from-novofon",
    )
    assert (t.contacts, t.qualify_frequency) == (1, 60)
    assert not t.host_is_ip


def test_ip_trunk_from_templates_over_tcp(tmp_path: Path) -> None:
    pjsip = """
[transport-tcp]
type = transport
protocol = tcp
bind = 0.0.0.0:5060

[trunk-tpl](!)
type = endpoint
transport = transport-tcp
context = in

[provider](trunk-tpl)
aors = provider
callerid = "Office" <79990001122>

[provider]
type = aor
contact = sip:37.139.38.224
"""
    write_conf(tmp_path, pjsip_conf=pjsip)
    t = read_trunk(tmp_path, "provider")
    assert t.found and t.mode == "ip" and t.login is None and t.password is None
    assert (t.host, t.port, t.transport, t.bind_ip) == ("37.139.38.224", 5060, "tcp", None)
    assert t.host_is_ip and t.caller_id == "79990001122" and t.inbound_context == "in"
    assert t.files == {"pjsip.conf": "ok", "extensions.conf": "missing"}


def test_only_trunk_like_endpoint_is_picked(tmp_path: Path) -> None:
    pjsip = """
[phone]
type = endpoint
auth = phone
[mytrunk]
type = endpoint
outbound_auth = mytrunk-auth
aors = mytrunk
[mytrunk]
type = aor
contact = sip:127.0.0.1:5062
"""
    write_conf(tmp_path, pjsip_conf=pjsip)
    t = read_trunk(tmp_path)
    assert (t.name, t.found, t.host, t.port) == ("mytrunk", True, "127.0.0.1", 5062)


def test_missing_or_refused_files_give_not_found(tmp_path: Path) -> None:
    assert read_trunk(tmp_path).found is False
    write_conf(tmp_path, pjsip_conf="[novofon]\ntype = endpoint\n#include missing.conf\n")
    t = read_trunk(tmp_path)
    # A missing #include makes Asterisk refuse the whole file.
    assert (t.found, t.files["pjsip.conf"]) == (False, "invalid")
    write_conf(tmp_path, pjsip_conf="option = before any section\n")
    assert read_trunk(tmp_path).files["pjsip.conf"] == "invalid"


def test_split_host_port() -> None:
    assert split_host_port("sip.novofon.ru") == ("sip.novofon.ru", None)
    assert split_host_port("127.0.0.1:5070") == ("127.0.0.1", 5070)
    assert split_host_port("[2001:db8::1]:5061") == ("2001:db8::1", 5061)
    assert split_host_port("[::1]") == ("::1", None)
    assert split_host_port("2001:db8::1") == ("2001:db8::1", None)
