"""`status` needs evidence: against an AMI that reports nothing (every list empty, every
Getvar empty) the trunk is "unknown", never "up", and a registration pjsip.conf has is "not
loaded", never "none (IP mode)". Played by the wire-level fake AMI (a real Asterisk always
reports what it loaded); the normal path runs on the sandbox in test_status_sandbox below.
"""

from __future__ import annotations

from pathlib import Path

from trunkctl.provision import trunk_status
from trunkctl.settings import AmiSettings, Settings

from ..ami.fakeami import SECRET, Action, Conn, FakeAmi
from ..conftest import SandboxInfo
from .test_setup_apply import settings_of, setup, spec_for

PJSIP = """[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:5060

[novofon]
type = endpoint
context = from-novofon
aors = novofon
outbound_auth = novofon

[novofon]
type = registration
server_uri = sip:sip.novofon.ru
client_uri = sip:0123456@sip.novofon.ru
outbound_auth = novofon
"""


def empty_list(conn: Conn, a: Action) -> None:
    """What an AMI that knows nothing answers to a list: an empty, complete list."""
    conn.reply(a, "Success", ("EventList", "start"), ("Message", "follows"))
    conn.send(
        ("Event", f"{a['Action']}Complete"),
        ("ActionID", a["ActionID"]),
        ("EventList", "Complete"),
        ("ListItems", "0"),
    )


def empty_value(conn: Conn, a: Action) -> None:
    conn.reply(a, "Success", ("Variable", a.get("Variable", "")), ("Value", ""))


def settings_for(tmp_path: Path, port: int) -> Settings:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "pjsip.conf").write_text(PJSIP)
    secret = tmp_path / "ami.secret"
    secret.write_text(SECRET + "\n")
    return Settings(
        config_dir=etc,
        ami=AmiSettings(host="127.0.0.1", port=port, secret_file=secret),
        # No control socket here: the expiry (next refresh) must then read "unknown".
        asterisk_command=(str(tmp_path / "no-asterisk"),),
    )


async def test_an_ami_that_reports_nothing_is_not_up(tmp_path: Path) -> None:
    async with FakeAmi() as server:
        for action in (
            "pjsipshowendpoint",
            "pjsipshowendpoints",
            "pjsipshowregistrationsoutbound",
            "pjsipshowcontacts",
            "coreshowchannels",
        ):
            server.handlers[action] = empty_list
        server.handlers["getvar"] = empty_value
        st = await trunk_status(settings_for(tmp_path, server.port), probe=False)
    data = st.to_dict("en")
    assert not st.healthy and st.state == "unknown" and not st.loaded
    assert any("state unknown" in p for p in data["problems"])
    # The registration pjsip.conf has is reported as not loaded, not as IP mode.
    assert st.mode == "registration"
    assert st.registration is not None and st.registration["status"] == "not loaded"
    assert st.registration["next_refresh"] == "unknown"
    assert any("in pjsip.conf but Asterisk's AMI does not report it" in p for p in data["problems"])


async def test_status_on_the_sandbox_shows_the_next_refresh(pbx: SandboxInfo) -> None:
    setup(pbx, spec_for(pbx))
    from trunkctl.provision import apply

    assert (await apply(settings_of(pbx))).ok
    st = await trunk_status(settings_of(pbx), probe=False)
    assert st.healthy and st.state == "up", st.to_dict("en")
    reg = st.registration
    assert reg is not None and reg["status"] == "Registered"
    # The sandbox registers for 300 s; Asterisk refreshes 10 s before expiry.
    assert reg["expires_in_s"] is not None and 0 < reg["expires_in_s"] <= 300
    assert reg["next_refresh_s"] == max(reg["expires_in_s"] - 10, 0)
    host, port = pbx.provider_sip
    # Right after apply the first qualify may not have run yet (NonQualified).
    assert [c["uri"] for c in st.contacts] == [f"sip:{host}:{port}"]
    assert st.contacts[0]["status"] in ("Reachable", "NonQualified", "Unknown")
    assert st.device_state and st.outbound_auth == "novofon" and st.active_channels == 0
