"""PJSIP rules, each with the broken config users actually wrote and a healthy near miss.

The configs follow reference/novofon.md's "Mistakes users actually made" and the seed
guide; option lists come from the sandbox Asterisk (see test_options.py).
"""

from __future__ import annotations

from trunkctl.lint import LintFacts

from .conftest import FACTS, HEALTHY, NOVOFON, Lint, evidence, only, variant

# The classic from public repos: auth= on the trunk endpoint, registration without
# outbound_auth (novofon.md, first mistake).
CLASSIC = """[transport-udp]
type=transport
protocol=udp
bind=0.0.0.0

[novofon]
type=registration
transport=transport-udp
server_uri=sip:sip.novofon.ru
client_uri=sip:0053248@sip.novofon.ru

[novofon]
type=auth
auth_type=userpass
username=0053248
password=nF4k-Rz8QpL2

[novofon]
type=aor
contact=sip:sip.novofon.ru

[novofon]
type=endpoint
transport=transport-udp
context=from-novofon
disallow=all
allow=alaw,ulaw
auth=novofon
aors=novofon
"""


def _pjsip(text: str) -> dict[str, str]:
    return dict(HEALTHY, **{"pjsip.conf": text})


def test_pjsip001_auth_instead_of_outbound_auth(run: Lint) -> None:
    report = run(_pjsip(CLASSIC))
    (f,) = only(report, "PJSIP001")
    assert f.severity == "error"
    assert f.evidence == ("pjsip.conf:28: [novofon] auth = novofon",)
    assert "outbound_auth" in f.fix.en and "outbound_auth" in f.fix.ru


def test_pjsip001_auth_next_to_outbound_auth_is_a_warning(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "outbound_auth = novofon\nfrom_user",
        "outbound_auth = novofon\nauth = novofon\nfrom_user",
    )
    (f,) = only(run(files), "PJSIP001")
    assert f.severity == "warning"


def test_pjsip001_phone_with_auth_is_not_a_trunk(run: Lint) -> None:
    # HEALTHY's [101] phone has auth= and an aor without contact: correct as it is.
    assert only(run(HEALTHY), "PJSIP001") == []


def test_pjsip002_registration_without_outbound_auth(run: Lint) -> None:
    (f,) = only(run(_pjsip(CLASSIC)), "PJSIP002")
    assert f.evidence == ("pjsip.conf:6: [novofon] type = registration",)
    assert only(run(HEALTHY), "PJSIP002") == []


def test_pjsip003_missing_objects_with_hints(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "aors = novofon\noutbound_auth = novofon",
        "aors = Novofon\noutbound_auth = novofon-auth",
    )
    files = variant(
        files,
        "pjsip.conf",
        "type = identify\nendpoint = novofon",
        "type = identify\nendpoint = nofovon",
    )
    found = only(run(files), "PJSIP003")
    messages = [f.message.en for f in found]
    assert any("outbound_auth = novofon-auth: no auth" in m for m in messages)
    assert any("aors = Novofon" in m and "case-sensitive" in m for m in messages)
    assert any("identify [novofon] endpoint = nofovon" in m for m in messages)
    # The registration's outbound_auth still names [novofon] (auth): fine.
    assert len(found) == 3


def test_pjsip003_names_an_object_of_another_type(run: Lint) -> None:
    text = (
        CLASSIC.replace("auth=novofon\n", "outbound_auth=trunk\n")
        + "\n[trunk]\ntype=aor\ncontact=sip:x.example.net\n"
    )
    found = only(run(_pjsip(text)), "PJSIP003")
    assert any("exists only as aor" in f.message.en for f in found)


def test_pjsip003_identify_without_endpoint(run: Lint) -> None:
    files = variant(
        HEALTHY, "pjsip.conf", "type = identify\nendpoint = novofon\n", "type = identify\n"
    )
    found = only(run(files), "PJSIP003")
    assert any("has no endpoint=" in f.message.en for f in found)
    assert only(run(HEALTHY), "PJSIP003") == []


def test_pjsip004_duplicate_object_fails_the_type(run: Lint) -> None:
    text = (
        HEALTHY["pjsip.conf"]
        + "\n[novofon]\ntype = endpoint\ncontext = from-novofon\nallow = alaw\n"
    )
    (f,) = only(run(_pjsip(text)), "PJSIP004")
    assert "every endpoint" in f.message.en
    assert len(f.evidence) == 2


def test_pjsip004_two_global_sections(run: Lint) -> None:
    text = HEALTHY["pjsip.conf"] + "\n[global]\ntype = global\n\n[global2]\ntype = global\n"
    (f,) = only(run(_pjsip(text)), "PJSIP004")
    assert "type global" in f.message.en
    # Same name, different types (auth, aor, endpoint...) is how trunks are written.
    assert only(run(HEALTHY), "PJSIP004") == []


def test_pjsip005_chan_sip_option_and_typo(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "from_domain = sip.novofon.ru",
        "fromdomain = sip.novofon.ru\nhost = sip.novofon.ru\noutbound_auht = novofon",
    )
    found = only(run(files), "PJSIP005")
    msgs = {f.message.en.split("unknown option ")[1].split(" ")[0]: f for f in found}
    assert set(msgs) == {"'fromdomain'", "'host'", "'outbound_auht'"}
    assert "from_domain" in msgs["'fromdomain'"].message.en
    assert "aor contact" in msgs["'host'"].message.en
    assert "did you mean 'outbound_auth'" in msgs["'outbound_auht'"].message.en
    assert msgs["'host'"].evidence == ("pjsip.conf:28: [novofon] host = sip.novofon.ru",)


def test_pjsip005_option_newer_than_the_running_asterisk(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "auth_type = userpass\nusername = 0053248",
        "auth_type = userpass\nsupported_algorithms_uac = md5\nusername = 0053248",
    )
    old = LintFacts(asterisk_version="Asterisk 22.1.0", provider=NOVOFON)
    (f,) = only(run(files, old), "PJSIP005")
    assert "22.2.0" in f.message.en and "22.1.0" in f.message.en
    assert only(run(files, LintFacts(asterisk_version="22.2.0")), "PJSIP005") == []
    assert only(run(files, LintFacts(asterisk_version="21.6.0")), "PJSIP005") != []
    assert only(run(files, LintFacts()), "PJSIP005") == []


def test_pjsip005_inherited_option_points_at_the_template(run: Lint) -> None:
    files = variant(
        HEALTHY, "pjsip.conf", "context = office\n", "context = office\ndtmfmode = rfc2833\n"
    )
    (f,) = only(run(files), "PJSIP005")
    assert f.evidence == (
        "pjsip.conf:54: dtmfmode = rfc2833 (in template [phone-tpl], inherited by [101])",
    )


def test_pjsip005_extended_fields_are_accepted(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "from_domain = sip.novofon.ru",
        "from_domain = sip.novofon.ru\n@custom_tag = yes",
    )
    assert only(run(files), "PJSIP005") == []


def test_pjsip006_ignored_sections(run: Lint) -> None:
    text = HEALTHY["pjsip.conf"] + (
        "\n[old-trunk]\ntype = friend\nhost = sip.novofon.ru\n"
        "\n[trunk2]\ntype = Endpoint\n"
        "\n[notype]\ncontext = x\n"
        "\n[c1]\ntype = contact\n"
    )
    found = only(run(_pjsip(text)), "PJSIP006")
    msgs = [f.message.en for f in found]
    assert len(found) == 4
    assert "chan_sip" in msgs[0]
    assert "'endpoint'" in msgs[1]
    assert "has no type=" in msgs[2]
    assert "astdb" in msgs[3]
    # [global] without type= but with only global options is the global object.
    text2 = HEALTHY["pjsip.conf"] + "\n[global]\nuser_agent = pbx\n"
    assert only(run(_pjsip(text2)), "PJSIP006") == []


def test_pjsip007_aor_without_contact(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "contact = sip:sip.novofon.ru:5060\n", "")
    (f,) = only(run(files), "PJSIP007")
    assert f.evidence == ("pjsip.conf:13: [novofon] type = aor",)
    assert only(run(HEALTHY), "PJSIP007") == []


def test_pjsip007_inbound_only_ip_trunk_needs_no_aor(run: Lint) -> None:
    # The sandbox provider's own [ip-trunk]: identify only, never dialled.
    text = (
        "[transport-udp]\ntype = transport\nbind = 127.0.0.1:5060\n\n"
        "[ip-trunk]\ntype = endpoint\ncontext = from-ip-trunk\nallow = alaw\n\n"
        "[ip-trunk]\ntype = identify\nendpoint = ip-trunk\nmatch = 127.0.0.2\n"
    )
    ext = "[from-ip-trunk]\nexten => _X.,1,Answer()\n"
    assert only(run({"pjsip.conf": text, "extensions.conf": ext}), "PJSIP007") == []
    dialled = ext + "[outgoing]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@ip-trunk)\n"
    (f,) = only(run({"pjsip.conf": text, "extensions.conf": dialled}), "PJSIP007")
    assert "has no aors=" in f.message.en


def test_pjsip008_identify_match_values(run: Lint) -> None:
    bad = ["sip:sip.novofon.ru", "37.139.38.300", "novofon servers", "10.0.0.1/abc"]
    for value in bad:
        files = variant(HEALTHY, "pjsip.conf", "match = sip.novofon.ru", f"match = {value}")
        found = only(run(files), "PJSIP008")
        assert len(found) == 1, value
    good = (
        "37.139.38.224, 37.139.38.0/24, 10.0.0.0/255.0.0.0, sip.novofon.ru:5060, "
        "[2001:db8::1]:5060, 2001:db8::/32"
    )
    files = variant(HEALTHY, "pjsip.conf", "match = sip.novofon.ru", f"match = {good}")
    assert only(run(files), "PJSIP008") == []


def test_pjsip008_identify_without_match(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "match = sip.novofon.ru\n", "")
    (f,) = only(run(files), "PJSIP008")
    assert "nothing to match" in f.message.en


def test_pjsip009_codecs(run: Lint) -> None:
    g729 = variant(HEALTHY, "pjsip.conf", "allow = alaw,ulaw", "allow = g729")
    (f,) = only(run(g729), "PJSIP009")
    assert "alaw, ulaw" in f.message.en
    none = variant(
        HEALTHY, "pjsip.conf", "disallow = all\nallow = alaw,ulaw\naors = novofon", "aors = novofon"
    )
    (f2,) = only(run(none), "PJSIP009")
    assert "no codec at all" in f2.message.en
    # Without the provider fact only "no codec at all" can be judged.
    assert only(run(g729, LintFacts()), "PJSIP009") == []
    every = variant(HEALTHY, "pjsip.conf", "allow = alaw,ulaw", "allow = all\ndisallow = g729")
    assert only(run(every), "PJSIP009") == []


def test_pjsip010_direct_media(run: Lint) -> None:
    on = variant(HEALTHY, "pjsip.conf", "direct_media = no", "direct_media = yes")
    (f,) = only(run(on), "PJSIP010")
    assert f.severity == "warning"
    unset = variant(HEALTHY, "pjsip.conf", "direct_media = no\n", "")
    (f2,) = only(run(unset), "PJSIP010")
    assert f2.severity == "info"
    assert only(run(HEALTHY), "PJSIP010") == []


def test_pjsip011_public_ip_without_external_addresses(run: Lint) -> None:
    natted = LintFacts(asterisk_version="22.10.1", provider=NOVOFON, public_ip="109.73.192.126")
    (f,) = only(run(HEALTHY, natted), "PJSIP011")
    assert "external_media_address, external_signaling_address, local_net" in f.message.en
    fixed = variant(
        HEALTHY,
        "pjsip.conf",
        "bind = 0.0.0.0:5060",
        "bind = 0.0.0.0:5060\nexternal_media_address = 109.73.192.126\n"
        "external_signaling_address = 109.73.192.126\nlocal_net = 192.168.0.0/16",
    )
    assert only(run(fixed, natted), "PJSIP011") == []
    wrong = fixed["pjsip.conf"].replace(
        "external_media_address = 109.73.192.126", "external_media_address = 109.73.192.127"
    )
    (f2,) = only(run(_pjsip(wrong), natted), "PJSIP011")
    assert "external_media_address = 109.73.192.127" in f2.message.en
    # Bound to the public address itself: no NAT.
    direct = variant(HEALTHY, "pjsip.conf", "bind = 0.0.0.0:5060", "bind = 109.73.192.126:5060")
    assert only(run(direct, natted), "PJSIP011") == []


def test_pjsip011_external_address_without_local_net(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "bind = 0.0.0.0:5060",
        "bind = 0.0.0.0:5060\nexternal_media_address = 109.73.192.126",
    )
    (f,) = only(run(files), "PJSIP011")
    assert "local_net" in f.message.en


def test_pjsip012_nat_options(run: Lint) -> None:
    natted = LintFacts(provider=NOVOFON, public_ip="109.73.192.126")
    files = variant(HEALTHY, "pjsip.conf", "rtp_symmetric = yes\n", "")
    (f,) = only(run(files, natted), "PJSIP012")
    assert "rtp_symmetric=yes" in f.message.en
    assert only(run(HEALTHY, natted), "PJSIP012") == []
    assert only(run(files), "PJSIP012") == []  # no sign of NAT


def test_pjsip013_from_user_and_client_uri_not_the_login(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "from_user = 0053248", "from_user = 79581114585")
    files = variant(files, "pjsip.conf", "client_uri = sip:0053248@", "client_uri = sip:novofon@")
    found = only(run(files), "PJSIP013")
    assert len(found) == 2
    assert "from_user = 79581114585" in found[0].message.en
    assert "registers novofon" in found[1].message.en
    missing = variant(HEALTHY, "pjsip.conf", "from_user = 0053248\n", "")
    assert "no from_user" in only(run(missing), "PJSIP013")[0].message.en


def test_pjsip013_login_format_of_the_provider(run: Lint) -> None:
    files = HEALTHY["pjsip.conf"].replace("0053248", "123456")
    (f,) = only(run(_pjsip(files)), "PJSIP013")
    assert "7 digits" in f.message.en
    assert only(run(HEALTHY), "PJSIP013") == []


def test_pjsip014_auth_type_digest_needs_a_recent_asterisk(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "auth_type = userpass\nusername = 0053248",
        "auth_type = digest\nusername = 0053248",
    )
    for version, fires in (
        ("22.1.0", True),
        ("22.2.0", False),
        ("21.6.0", True),
        ("21.7.0", False),
        ("20.11.0", True),
        ("20.12.0", False),
        ("18.20.0", True),
        ("23.0.0", False),
    ):
        found = only(run(files, LintFacts(asterisk_version=version)), "PJSIP014")
        assert bool(found) is fires, version
    assert only(run(files, LintFacts()), "PJSIP014") == []


def test_pjsip014_unknown_auth_type(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "auth_type = userpass\nusername = 0053248",
        "auth_type = password\nusername = 0053248",
    )
    (f,) = only(run(files, LintFacts()), "PJSIP014")
    assert "auth_type = password" in f.message.en


def test_pjsip015_uris(run: Lint) -> None:
    cases = {
        "server_uri = sip:sip.novofon.ru:5060": "server_uri = sip.novofon.ru",
        "client_uri = sip:0053248@sip.novofon.ru:5060": "client_uri = sip://0053248@sip.novofon.ru",
        "contact = sip:sip.novofon.ru:5060": "contact = sip:sip.novofon.ru:99999",
    }
    for old, new in cases.items():
        found = only(run(variant(HEALTHY, "pjsip.conf", old, new)), "PJSIP015")
        assert [f.severity for f in found] == ["error"], new
    nouser = variant(HEALTHY, "pjsip.conf", "client_uri = sip:0053248@", "client_uri = sip:")
    (f,) = only(run(nouser), "PJSIP015")
    assert f.severity == "warning"
    noserver = variant(HEALTHY, "pjsip.conf", "server_uri = sip:sip.novofon.ru:5060\n", "")
    assert "has no server_uri" in only(run(noserver), "PJSIP015")[0].message.en
    assert only(run(HEALTHY), "PJSIP015") == []


def test_pjsip016_qualify(run: Lint) -> None:
    files = variant(HEALTHY, "pjsip.conf", "qualify_frequency = 60\n", "")
    (f,) = only(run(files), "PJSIP016")
    assert f.severity == "info"
    assert only(run(HEALTHY), "PJSIP016") == []


def test_pjsip017_anonymous_endpoint(run: Lint) -> None:
    text = (
        HEALTHY["pjsip.conf"]
        + "\n[anonymous]\ntype = endpoint\ncontext = from-novofon\nallow = alaw\n"
    )
    (f,) = only(run(_pjsip(text)), "PJSIP017")
    assert "from-novofon" in f.message.en
    assert only(run(HEALTHY), "PJSIP017") == []


def test_pjsip018_trunk_nobody_can_call_in_on(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "[novofon]\ntype = identify\nendpoint = novofon\nmatch = sip.novofon.ru\n",
        "",
    )
    # Still identified: the registration has line = yes and endpoint = novofon.
    assert only(run(files), "PJSIP018") == []
    files = variant(files, "pjsip.conf", "line = yes\n", "")
    (f,) = only(run(files), "PJSIP018")
    assert f.evidence == ("pjsip.conf:18: [novofon] type = endpoint",)


def test_pjsip019_no_transport_and_transport_without_bind(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "[transport-udp]\ntype = transport\nprotocol = udp\nbind = 0.0.0.0:5060\n",
        "",
    )
    assert len(only(run(files), "PJSIP019")) == 1
    files = variant(HEALTHY, "pjsip.conf", "bind = 0.0.0.0:5060\n", "")
    (f,) = only(run(files), "PJSIP019")
    assert "no bind=" in f.message.en


def test_pjsip020_missing_transport(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "type = endpoint\ntransport = transport-udp",
        "type = endpoint\ntransport = transport-tcp",
    )
    (f,) = only(run(files), "PJSIP020")
    assert f.evidence == ("pjsip.conf:20: [novofon] transport = transport-tcp",)
    assert only(run(HEALTHY), "PJSIP020") == []


def test_pjsip021_two_transports_on_one_bind(run: Lint) -> None:
    extra = "\n[transport-udp2]\ntype = transport\nprotocol = udp\nbind = 127.0.0.1:5060\n"
    (f,) = only(run(_pjsip(HEALTHY["pjsip.conf"] + extra)), "PJSIP021")
    assert "udp port 5060" in f.message.en
    # Default port 5060 collides too.
    dflt = extra.replace("127.0.0.1:5060", "0.0.0.0")
    assert len(only(run(_pjsip(HEALTHY["pjsip.conf"] + dflt)), "PJSIP021")) == 1
    tcp = extra.replace("protocol = udp", "protocol = tcp")
    assert only(run(_pjsip(HEALTHY["pjsip.conf"] + tcp)), "PJSIP021") == []
    other_port = extra.replace("5060", "5062")
    assert only(run(_pjsip(HEALTHY["pjsip.conf"] + other_port)), "PJSIP021") == []


def test_pjsip022_weak_phone_password(run: Lint) -> None:
    files = variant(
        HEALTHY,
        "pjsip.conf",
        "username = 101\npassword = Hk3pW9vR-tQ2zX7mLs4e",
        "username = 101\npassword = 101pass",
    )
    (f,) = only(run(files), "PJSIP022")
    assert "user name" in f.message.en
    assert "101pass" not in evidence([f]) + f.message.en + f.message.ru
    assert "password = ********" in f.evidence[0]
    # The trunk's own password is the provider's choice, not judged here.
    short_trunk = variant(HEALTHY, "pjsip.conf", "password = nF4k-Rz8QpL2", "password = 1234")
    assert only(run(short_trunk), "PJSIP022") == []


def test_facts_default_to_unknown(run: Lint) -> None:
    # No facts: no version-, provider- or NAT-dependent claim on the healthy config.
    assert run(HEALTHY, None).findings == ()
    assert FACTS.public_ip is None
