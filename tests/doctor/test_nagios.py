"""Nagios verdicts from probe results (the probes themselves: tests/cli/test_probe_cli.py
runs them against SIPp and the sandbox provider)."""

from __future__ import annotations

import pytest

from trunkctl.doctor import nagios_error, nagios_options, nagios_register
from trunkctl.errors import BadInput
from trunkctl.i18n import Text
from trunkctl.sip import (
    Address,
    OptionsResult,
    RegisterResult,
    RegisterStep,
    SipAuthError,
    SipChallengeError,
    SipTimeoutError,
)


def answered(code: int = 200, reason: str = "OK", latency_ms: float = 12.5) -> OptionsResult:
    return OptionsResult(
        "sip.novofon.ru",
        5060,
        "udp",
        outcome="answered",
        status_code=code,
        reason=reason,
        latency_ms=latency_ms,
        transmissions=1,
        server="NovoFon",
        seen_address=Address("203.0.113.7", 40000),
        local_address=Address("10.0.0.5", 5060),
    )


def test_options_ok_line_and_perfdata() -> None:
    v = nagios_options(answered())
    assert v.exit_code == 0
    assert v.lines("en") == [
        "SIP OPTIONS OK - 200 OK from sip.novofon.ru:5060/udp in 12.5 ms|time=0.012500s;;;0;",
        "server: NovoFon",
        "the peer sees us at 203.0.113.7:40000 (Via received/rport)",
        "local: 10.0.0.5:5060",
    ]
    assert v.lines("ru")[0].startswith("SIP OPTIONS OK - 200 OK от sip.novofon.ru:5060/udp за")
    data = v.to_dict("en")
    assert data["status"] == "OK" and data["probe"]["seen_address"] == "203.0.113.7:40000"


@pytest.mark.parametrize(
    ("result", "warning", "critical", "status"),
    [
        (answered(latency_ms=150), 0.1, 0.2, "WARNING"),
        (answered(latency_ms=250), 0.1, 0.2, "CRITICAL"),
        (answered(latency_ms=50), 0.1, 0.2, "OK"),
        (answered(404, "Not Found"), None, None, "WARNING"),  # alive, but says no
        (answered(404, "Not Found", 250), None, 0.2, "CRITICAL"),
    ],
)
def test_options_thresholds_and_codes(
    result: OptionsResult, warning: float | None, critical: float | None, status: str
) -> None:
    v = nagios_options(result, warning=warning, critical=critical)
    assert v.status == status
    w = "" if warning is None else f"{warning:g}"
    c = "" if critical is None else f"{critical:g}"
    assert v.lines()[0].endswith(f";{w};{c};0;")


def test_options_silence_is_critical_with_the_probe_advice() -> None:
    err = SipTimeoutError(
        Text("No answer from sip.novofon.ru:5060", "Нет ответа"),
        evidence="7 transmissions",
        next_step=Text("Check the firewall.", "Проверьте файрвол."),
    )
    result = OptionsResult("sip.novofon.ru", 5060, "udp", outcome="timeout", error=err)
    v = nagios_options(result)
    assert (v.status, v.exit_code) == ("CRITICAL", 2)
    assert v.lines("en") == [
        "SIP OPTIONS CRITICAL - No answer from sip.novofon.ru:5060",
        "7 transmissions",
        "Check the firewall.",
    ]


def step(purpose: str, code: int, reason: str, creds: bool) -> RegisterStep:
    return RegisterStep(
        purpose,  # type: ignore[arg-type]
        1,
        60,
        {"username": "0053248"} if creds else None,
        code,
        reason,
        1.25,
        1,
    )


def registered(unregister: int | None = 200) -> RegisterResult:
    steps = [step("register", 401, "Unauthorized", False), step("register", 200, "OK", True)]
    if unregister:
        steps.append(step("unregister", unregister, "OK", True))
    return RegisterResult(
        "sip.novofon.ru",
        5060,
        "udp",
        "0053248",
        "sip.novofon.ru",
        outcome="registered",
        steps=steps,
        challenge_code=401,
        algorithm="MD5",
        realm="novofon",
        final_code=200,
        unregister_code=unregister,
    )


def test_a_register_without_contact_says_credentials_accepted_not_registered() -> None:
    from dataclasses import replace

    v = nagios_register(replace(registered(unregister=None), mode="query"))
    assert v.exit_code == 0
    assert v.lines("en")[0].startswith(
        "SIP REGISTER OK - 0053248's credentials accepted at sip.novofon.ru:5060/udp"
    )
    assert "учётные данные 0053248 приняты" in v.lines("ru")[0]


def test_register_ok_and_a_binding_left_behind() -> None:
    v = nagios_register(registered())
    assert v.exit_code == 0
    assert v.lines("en") == [
        "SIP REGISTER OK - 0053248 registered at sip.novofon.ru:5060/udp (401 MD5 realm "
        "novofon) in 2.5 ms|time=0.002500s;;;0;",
        "REGISTER → 401 Unauthorized (1.2 ms)",
        "REGISTER (with credentials) → 200 OK (1.2 ms)",
        "UNREGISTER (with credentials) → 200 OK (1.2 ms)",
    ]
    left = nagios_register(registered(unregister=None))
    assert left.status == "WARNING"
    assert left.lines("en")[-1] == "our test binding was not removed: it expires by itself in 60 s"


def test_a_binding_left_behind_by_bind_mode_names_the_binding_registers_expires() -> None:
    # --bind: the Contact-less query (no Expires) comes first, then the binding REGISTER.
    from dataclasses import replace

    query = [
        replace(step("register", 401, "Unauthorized", False), expires=0, query=True),
        replace(step("register", 200, "OK", True), expires=0, query=True),
    ]
    bound = registered(unregister=None)
    v = nagios_register(replace(bound, steps=[*query, step("register", 200, "OK", True)]))
    assert v.status == "WARNING"
    assert v.lines("en")[-1] == "our test binding was not removed: it expires by itself in 60 s"


def test_register_refused_is_critical_and_odd_challenge_unknown() -> None:
    err = SipAuthError(
        Text("The registrar refused the password for 0053248.", "Регистратор не принял пароль"),
        status_code=401,
        next_step=Text("Copy them again.", "Скопируйте заново."),
    )
    refused = RegisterResult(
        "h", 5060, "udp", "0053248", "h", outcome="auth_failed", error=err,
        steps=[step("register", 401, "Unauthorized", False),
               step("register", 401, "Unauthorized", True)],
    )  # fmt: skip
    v = nagios_register(refused)
    assert v.status == "CRITICAL"
    assert v.lines("en")[0].startswith("SIP REGISTER CRITICAL - The registrar refused the password")
    assert v.lines("en")[2:] == [
        "REGISTER (with credentials) → 401 Unauthorized (1.2 ms)",
        "Copy them again.",
    ]
    odd = RegisterResult(
        "h", 5060, "udp", "u", "h", outcome="unsupported_challenge",
        error=SipChallengeError(Text("algorithm AKAv1-MD5 is not supported", "не поддерживается")),
    )  # fmt: skip
    assert nagios_register(odd).exit_code == 3


def test_errors_are_unknown() -> None:
    v = nagios_error("SIP REGISTER", BadInput(Text("no --username", "нет --username")))
    assert (v.status, v.exit_code, v.lines("en")) == (
        "UNKNOWN",
        3,
        ["SIP REGISTER UNKNOWN - no --username"],
    )
    assert v.to_dict("en")["error"]["code"] == "bad_input"
