"""The trunk model renders the objects a correct NovoFon trunk needs (pure, no Asterisk).

What the rendered trunk does on a real Asterisk is proven in tests/provision/ against the
sandbox.
"""

from __future__ import annotations

import pytest

from trunkctl.errors import BadInput
from trunkctl.pjsip import TrunkSpec, render_trunk
from trunkctl.providers import PROFILES
from trunkctl.secret import Secret

NOVOFON = PROFILES["novofon"]


def _reg(**kw: object) -> TrunkSpec:
    base: dict[str, object] = {
        "profile": NOVOFON,
        "login": "0053248",
        "password": Secret("s3cr;et"),
    }
    base.update(kw)
    return TrunkSpec(**base)  # type: ignore[arg-type]


def test_registration_mode_objects() -> None:
    cfg = render_trunk(_reg())
    assert [(o.name, o.type) for o in cfg.objects] == [
        ("novofon", "auth"),
        ("novofon", "aor"),
        ("novofon", "endpoint"),
        ("novofon", "registration"),
        ("novofon", "identify"),
    ]
    auth = cfg.object("auth")
    assert auth is not None
    assert auth.get("username") == "0053248" and auth.get("password") == "s3cr;et"
    endpoint = cfg.object("endpoint")
    assert endpoint is not None
    # The classic mistake is `auth = novofon`: answering the provider's challenge needs
    # outbound_auth, and `auth` must not be there at all.
    assert endpoint.get("outbound_auth") == "novofon" and endpoint.get("auth") is None
    assert endpoint.get("from_user") == "0053248"
    assert endpoint.get("from_domain") == "sip.novofon.ru"
    assert endpoint.get("allow") == "alaw,ulaw" and endpoint.get("disallow") == "all"
    assert endpoint.get("direct_media") == "no"
    assert endpoint.get("context") == "from-novofon"
    reg = cfg.object("registration")
    assert reg is not None
    assert reg.get("outbound_auth") == "novofon"
    assert reg.get("server_uri") == "sip:sip.novofon.ru:5060"
    assert reg.get("client_uri") == "sip:0053248@sip.novofon.ru:5060"
    assert reg.get("contact_user") == "0053248"
    aor = cfg.object("aor")
    assert aor is not None and aor.get("contact") == "sip:sip.novofon.ru:5060"
    ident = cfg.object("identify")
    assert ident is not None and ident.get("match") == "sip.novofon.ru"
    assert cfg.stale == ()


def test_ip_mode_has_no_credentials_and_drops_them() -> None:
    cfg = render_trunk(TrunkSpec(profile=NOVOFON, mode="ip"))
    types = [o.type for o in cfg.objects]
    assert types == ["aor", "endpoint", "identify"]
    endpoint = cfg.object("endpoint")
    assert endpoint is not None and endpoint.get("outbound_auth") is None
    assert endpoint.get("from_user") is None
    assert set(cfg.stale) == {("novofon", "auth"), ("novofon", "registration")}


def test_tcp_uris_say_so() -> None:
    cfg = render_trunk(_reg(profile=NOVOFON.with_server(None, None, "tcp")))
    reg = cfg.object("registration")
    assert reg is not None and reg.get("server_uri") == "sip:sip.novofon.ru:5060;transport=tcp"


def test_outgoing_dialplan_normalises_and_reports() -> None:
    cfg = render_trunk(_reg(caller_id="79581114585"))
    outgoing = cfg.contexts[0]
    assert outgoing.name == "outgoing"
    text = "\n".join(f"{k} => {v}" for k, v in outgoing.lines)
    assert "exten => _8XXXXXXXXXX,1,Goto(${CONTEXT},+7${EXTEN:1},1)" in text
    assert "exten => _9XXXXXXXXX,1,Goto(${CONTEXT},+7${EXTEN},1)" in text
    assert "exten => _810X.,1,Goto(${CONTEXT},+${EXTEN:3},1)" in text
    assert "exten => _X.,1,Goto(${CONTEXT},+${EXTEN},1)" in text
    assert "exten => _+X.,1,NoOp(" in text
    assert "same => n,Set(CALLERID(num)=79581114585)" in text
    # Dialled only from _+X., as E.164 digits: no rewrite can apply after the '+' form.
    assert "same => n,Dial(PJSIP/${EXTEN:1}@novofon,60)" in text
    assert text.index("exten => _+X.") < text.index("Dial(PJSIP/")
    assert "UserEvent(TrunkctlDial," in text and "DialStatus: ${DIALSTATUS}" in text
    assert "Dial(SIP/" not in text  # chan_sip is gone since Asterisk 21


def test_inbound_context_cannot_dial_out() -> None:
    inbound = render_trunk(_reg()).contexts[1]
    assert inbound.name == "from-novofon"
    joined = " ".join(v for _, v in inbound.lines)
    assert "Dial(" not in joined and "Goto(outgoing" not in joined
    assert all(k != "include" for k, _ in inbound.lines)


def test_public_ip_sets_nat_options() -> None:
    cfg = render_trunk(_reg(public_ip="109.73.192.126", local_nets=("10.0.0.0/8",)))
    assert cfg.transport_options == (
        ("external_media_address", "109.73.192.126"),
        ("external_signaling_address", "109.73.192.126"),
        ("local_net", "10.0.0.0/8"),
    )


@pytest.mark.parametrize(
    "kw,needle",
    [
        ({"login": "53248"}, "SIP login"),
        ({"login": None}, "needs the SIP login"),
        ({"password": None}, "needs the SIP password"),
        ({"password": Secret("abc\ndef")}, "line break"),
        ({"password": Secret(" abc")}, "spaces"),
        ({"name": "nov[ofon]"}, "not a usable name"),
        ({"name": "a b"}, "not a usable name"),
        ({"public_ip": "109.73.192"}, "not an IP address"),
        ({"local_nets": ("10.0.0.0/33",)}, "not a network"),
        ({"dial_timeout": 1}, "dial timeout"),
        ({"profile": PROFILES["generic"]}, "SIP server"),
    ],
)
def test_bad_input_is_refused_with_a_reason(kw: dict[str, object], needle: str) -> None:
    with pytest.raises(BadInput) as exc:
        render_trunk(_reg(**kw))
    assert needle in exc.value.what.en
    assert exc.value.next_step is not None and exc.value.next_step.ru


def test_password_never_shows_in_reprs() -> None:
    spec = _reg()
    assert "s3cr;et" not in repr(spec) and "s3cr;et" not in f"{spec.password}"


@pytest.mark.parametrize("mode", ["registration", "ip"])
def test_endpoint_is_identified_by_address_only(mode: str) -> None:
    # The default username,ip takes any INVITE whose From user is "novofon" as the trunk's.
    spec = _reg(mode=mode) if mode == "registration" else TrunkSpec(profile=NOVOFON, mode="ip")
    endpoint = render_trunk(spec).object("endpoint")
    assert endpoint is not None and endpoint.get("identify_by") == "ip"
    assert endpoint.get("auth") is None


def test_legacy_profile_identifies_both_hosts() -> None:
    spec = TrunkSpec(profile=PROFILES["novofon-legacy"], mode="ip")
    ident = render_trunk(spec).object("identify")
    assert ident is not None
    assert [v for k, v in ident.options if k == "match"] == ["sip.novofon.com", "pbx.novofon.com"]


def test_inbound_app_and_users_context() -> None:
    cfg = render_trunk(TrunkSpec(profile=NOVOFON, mode="ip", inbound_app="Stasis(bot)"))
    inbound = cfg.contexts[1]
    assert [v for _, v in inbound.lines][1:3] == ["n,Stasis(bot)", "n,Hangup()"]
    mine = render_trunk(
        TrunkSpec(profile=NOVOFON, mode="ip", inbound_context="bot-in", user_inbound=True)
    )
    assert [c.name for c in mine.contexts] == ["outgoing"]
    endpoint = mine.object("endpoint")
    assert endpoint is not None and endpoint.get("context") == "bot-in"


@pytest.mark.parametrize("app", ["Stasis(bot);x", "Dial(a)\nexten", "A(b)(c)", "1bad"])
def test_inbound_app_refused(app: str) -> None:
    with pytest.raises(BadInput):
        render_trunk(TrunkSpec(profile=NOVOFON, mode="ip", inbound_app=app))


@pytest.mark.parametrize("bind", ["host.example", "10.0.0.1:0", "10.0.0.1:x", "[::1"])
def test_bad_bind_refused(bind: str) -> None:
    with pytest.raises(BadInput):
        render_trunk(TrunkSpec(profile=NOVOFON, mode="ip", bind=bind))
