"""The support message from facts (each situation, RU and EN), call JSON, masking, the bundle.

The same against the sandbox, through the CLI: tests/cli/test_support_cli.py.
"""

from __future__ import annotations

import os
import stat
import tarfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from trunkctl.conf import MASK
from trunkctl.doctor import (
    BundleError,
    CallFacts,
    DoctorReport,
    ExchangeStep,
    SupportFacts,
    TrunkFacts,
    call_facts,
    collect_secrets,
    config_excerpts,
    read_trunk,
    scrub,
    support_facts,
    support_message,
    write_bundle,
)
from trunkctl.errors import BadInput
from trunkctl.lint import lint
from trunkctl.settings import AmiSettings, Settings

from .conftest import write_conf

MSK = timezone(timedelta(hours=3))
AT = datetime(2026, 3, 4, 12, 3, 5, tzinfo=MSK)


def facts(**kw: object) -> SupportFacts:
    base: dict[str, object] = {
        "checked_at": AT,
        "trunk": "novofon",
        "mode": "ip",
        "provider": "sip.novofon.ru:5060",
        "termination_ip": "109.73.192.126",
        "seen_address": "109.73.192.126:5060",
        "local_ip": "10.0.0.5",
        "login": None,
        "phone": "79581114585",
        "asterisk_version": "22.10.1",
        "registration_status": None,
        "register_outcome": None,
    }
    base.update(kw)
    return SupportFacts(**base)  # type: ignore[arg-type]


FORBIDDEN_CALL = CallFacts(
    "79991234567", AT, False, "rejected", 403, "Forbidden", 21, "Call Rejected", "CONGESTION"
)


def test_seed_situation_in_russian() -> None:
    f = facts(call=FORBIDDEN_CALL)
    assert f.situation == "ip_verification"
    m = support_message(f, "ru")
    assert m.subject == "Верификация IP SIP-транка: нет логина и пароля для тестового звонка"
    assert m.body == (
        "Здравствуйте!\n\n"
        "Я создал SIP-транк в личном кабинете и указал адрес терминации 109.73.192.126. "
        "Система требует совершить тестовый звонок для верификации IP, но для звонка нужны "
        "SIP-логин и пароль, которых у меня пока нет.\n\n"
        "Тестовый звонок с этого адреса на 79991234567 (2026-03-04 12:03:05 +0300) отклонён: "
        "403 Forbidden (Q.850 21 Call Rejected, DIALSTATUS CONGESTION).\n\n"
        "Можете предоставить временные данные для верификации или активировать транк вручную?\n\n"
        "Данные для проверки:\n"
        "- IP-адрес сервера, как его видит ваш SIP-сервер (sip.novofon.ru:5060): 109.73.192.126\n"
        "- SIP-логин: ещё не выдан\n"
        "- Номер телефона: +79581114585\n"
        "- АТС: Asterisk 22.10.1\n"
        "- Тестовый звонок 2026-03-04 12:03:05 +0300:\n"
        "    INVITE 79991234567 → 403 Forbidden (Q.850 21 Call Rejected, DIALSTATUS CONGESTION)\n\n"
        "Спасибо!\n"
    )


def test_seed_situation_in_english_without_a_call() -> None:
    m = support_message(facts(), "en")
    assert m.subject == "SIP trunk IP verification: no login and password for the test call"
    assert "gave 109.73.192.126 as its termination address" in m.body
    assert "Could you give me temporary credentials" in m.body
    assert "Test call" not in m.body and "- SIP login: not issued yet" in m.body
    assert m.body.startswith("Hello,\n\n") and m.body.endswith("Thank you.\n")


REJECTED_STEPS = (
    ExchangeStep("REGISTER", "sip:0053248@sip.novofon.ru", 401, "Unauthorized", 12.0),
    ExchangeStep("REGISTER", "sip:0053248@sip.novofon.ru", 403, "Forbidden", 10.5, True),
)


def test_register_rejected() -> None:
    f = facts(
        mode="registration",
        login="0053248",
        registration_status="Rejected",
        register_outcome="forbidden",
        register_steps=REJECTED_STEPS,
    )
    assert f.situation == "register_rejected"
    ru = support_message(f, "ru")
    assert ru.subject == "SIP-транк 0053248: регистрация отклоняется (403 Forbidden)"
    assert (
        "Мой SIP-транк (логин 0053248) не регистрируется: ваш сервер sip.novofon.ru:5060 "
        "отвечает на REGISTER кодом 403 Forbidden уже после отправки логина и пароля." in ru.body
    )
    assert (
        "- Проверка регистрации 2026-03-04 12:03:05 +0300:\n"
        "    REGISTER sip:0053248@sip.novofon.ru → 401 Unauthorized (12 мс)\n"
        "    REGISTER sip:0053248@sip.novofon.ru (с авторизацией) → 403 Forbidden (10.5 мс)\n"
    ) in ru.body
    en = support_message(f, "en")
    assert (
        "REGISTER sip:0053248@sip.novofon.ru (with credentials) → 403 Forbidden (10.5 ms)"
        in en.body
    )


def test_provider_accepting_our_register_outranks_a_lagging_asterisk() -> None:
    f = facts(mode="registration", login="0053248", registration_status="Unregistered",
              register_outcome="registered")  # fmt: skip
    assert f.situation == "general"
    assert f.to_dict()["phone"] == "+79581114585"


def test_call_failed_while_registered() -> None:
    f = facts(
        mode="registration", login="0053248", registration_status="Registered",
        call=CallFacts("79990000503", AT, True, "congestion", 503, "Service Unavailable",
                       34, None, "CONGESTION"),
    )  # fmt: skip
    assert f.situation == "call_failed"
    m = support_message(f, "ru")
    assert m.subject == "SIP-транк: исходящие звонки отклоняются (503 Service Unavailable)"
    assert "звонок на 79990000503 (около 2026-03-04 12:03:05 +0300) получил ответ 503" in m.body
    assert "Регистрация при этом проходит успешно." in m.body
    assert "- Тестовый звонок около 2026-03-04 12:03:05 +0300:" in m.body


def test_no_answer_to_options() -> None:
    f = facts(mode="registration", login="0053248", termination_ip=None, seen_address=None,
              options_outcome="timeout", options_transmissions=7)  # fmt: skip
    assert f.situation == "no_answer"
    m = support_message(f, "en")
    assert "does not answer requests from my server 10.0.0.5" in m.body
    assert "(7 tries, 2026-03-04 12:03:05 +0300)" in m.body
    assert "- Server IP: 10.0.0.5" in m.body


def test_call_facts_from_call_json() -> None:
    doc = {
        "number": "79991234567",
        "result": {"status": "rejected", "sip_code": 403, "sip_reason": "Forbidden",
                   "q850": 21, "q850_text": "Call Rejected", "dial_status": "CONGESTION",
                   "duration": 1.5},
    }  # fmt: skip
    c = call_facts(doc, file_time=AT)
    assert c == CallFacts(
        "79991234567",
        datetime.fromtimestamp(AT.timestamp() - 1.5).astimezone(),
        True,
        "rejected",
        403,
        "Forbidden",
        21,
        "Call Rejected",
        "CONGESTION",
    )
    assert c.failed
    exact = call_facts(dict(doc, started_at="2026-03-04T12:00:00+03:00"), file_time=AT)
    assert (exact.at, exact.approximate) == (datetime(2026, 3, 4, 12, 0, tzinfo=MSK), False)
    with pytest.raises(BadInput):
        call_facts({"ok": False, "error": {}})
    with pytest.raises(BadInput):
        call_facts([1, 2])


def test_scrub_masks_every_occurrence() -> None:
    text = "pw=hunter2hunter2;again hunter2hunter2; short ab in abc and ab."
    assert scrub(text, {"hunter2hunter2", "ab"}) == (
        f"pw={MASK};again {MASK}; short {MASK} in abc and {MASK}."
    )


PJSIP = """
[transport-udp]
type = transport
protocol = udp
bind = 0.0.0.0:5060

[novofon]
type = auth
auth_type = userpass
username = 0053248
password = Line-Pa55word

[novofon]
type = aor
contact = sip:sip.novofon.ru:5060

[novofon]
type = endpoint
transport = transport-udp
context = from-novofon
aors = novofon
outbound_auth = novofon

[phone]
type = auth
password = Phone-Pa55word
"""
EXTENSIONS = """
[outgoing]
exten => _X.,1,Dial(PJSIP/${EXTEN}@novofon,60)
 same => n,Hangup()
[from-novofon]
exten => s,1,Hangup()
[private]
exten => 1,1,Dial(PJSIP/1@phone)
"""
MANAGER = "[general]\nenabled = yes\n[admin]\nsecret = Manager-Secret-1\n"


def settings_for(tmp_path: Path) -> Settings:
    cdir = write_conf(
        tmp_path / "etc", pjsip_conf=PJSIP, extensions_conf=EXTENSIONS, manager_conf=MANAGER
    )
    secret = tmp_path / "ami.secret"
    secret.write_text("Ami-Secret-From-File\n")
    return Settings(config_dir=cdir, ami=AmiSettings(secret_file=secret))


def test_excerpts_and_secrets(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    excerpts = config_excerpts(settings, read_trunk(settings.config_dir))
    pjsip = excerpts["pjsip.conf"]
    assert "password = ********" in pjsip and "Pa55word" not in pjsip
    assert "[transport-udp]" in pjsip and "[phone]" not in pjsip
    assert "; pjsip.conf:7\n[novofon]\ntype = auth" in pjsip
    ext = excerpts["extensions.conf"]
    assert "[outgoing]\nexten => _X.,1,Dial(PJSIP/${EXTEN}@novofon,60)\n same => n,Hangup()" in ext
    assert "[from-novofon]" in ext and "[private]" not in ext
    assert collect_secrets(settings) == {
        "Line-Pa55word",
        "Phone-Pa55word",
        "Manager-Secret-1",
        "Ami-Secret-From-File",
    }


def test_bundle_is_private_and_clean(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    secrets = collect_secrets(settings)
    target = tmp_path / "out" / "support.tar.gz"
    target.parent.mkdir()
    old = os.umask(0)
    try:
        bundle = write_bundle(
            target,
            {
                "message.txt": "password Line-Pa55word leaked?",
                "facts.json": {"ami": "Ami-Secret-From-File"},
            },
            secrets=secrets,
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert bundle.members == ("trunkctl-support/message.txt", "trunkctl-support/facts.json")
    with tarfile.open(target, "r:gz") as tar:
        texts = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]
        assert all(m.mode == 0o600 for m in tar.getmembers())
    assert texts["trunkctl-support/message.txt"] == f"password {MASK} leaked?"
    assert "Ami-Secret" not in texts["trunkctl-support/facts.json"]
    assert list(tmp_path.joinpath("out").iterdir()) == [target]  # no temp file left


def test_unwritable_bundle_place_fails_cleanly(tmp_path: Path) -> None:
    with pytest.raises(BundleError) as err:
        write_bundle(tmp_path / "no" / "such" / "dir.tar.gz", {"a.txt": "x"}, secrets=())
    assert "--bundle" in err.value.next_step.en  # type: ignore[union-attr]


def test_support_facts_never_repeat_notes_or_the_lint_summary(tmp_path: Path) -> None:
    """Issue: support-request told NovoFon about the stock sample [iax2-trunk] placeholder
    and counted the "Config lint" line as a second failure."""
    etc = write_conf(
        tmp_path,
        extensions_conf=(
            "[iax2-trunk]\n"
            "exten => _555XXXX,1,Dial(IAX2/username:secret@example.com/${EXTEN}@ctx)\n"
            "[local]\ninclude => iax2-trunk\n"
        ),
        pjsip_conf="[t]\ntype = transport\nbind = 0.0.0.0\n",
    )
    report = DoctorReport(
        str(etc),
        None,
        True,
        datetime(2026, 1, 2, tzinfo=UTC),
        0.1,
        lint=lint(etc),
    )
    assert report.lint is not None and report.lint.ok
    assert report.exit_code == 0
    got = support_facts(report, TrunkFacts("novofon"))
    assert got.own_problems == ()
