"""`trunkctl demo`: the seed's whole flow on the sandbox, told step by step.

A fresh server meets NovoFon: the trunk is set up in IP mode first (no credentials exist
yet), the verification call is refused with 403 until it is the verification call itself,
then the line's credentials arrive, the trunk registers, and test calls are explained.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from pathlib import Path
from typing import Any

import typer

from trunkctl.i18n import Text

from ._app_state import JsonOpt, out

BUSY, ANSWER = "79990000486", "79990000200"


class _Story:
    """Prints each step as it happens and collects them for --json."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.started = time.monotonic()

    def step(self, key: str, title: Text, story: Text) -> None:
        o = out()
        n = len(self.steps) + 1
        self.steps.append({"step": key, "title": title.render(o.language), "ok": None})
        if not o.json:
            o.console.rule(f"[bold]{n}. {o.t(title)}", style="cyan")
            o.say(story, style="dim")

    def done(self, ok: bool, data: dict[str, Any] | None = None, line: Text | None = None) -> None:
        o = out()
        self.steps[-1].update({"ok": ok, "data": data or {}})
        if line is not None and not o.json:
            o.say(line, style="green" if ok else "bold red")
        if not ok:
            raise _StepFailed()


class _StepFailed(Exception):
    pass


def _spec(status: dict[str, Any], mode: str, password: str | None = None) -> Any:
    from trunkctl.pjsip import TrunkSpec
    from trunkctl.providers import PROFILES
    from trunkctl.secret import Secret

    prov = status["provider"]
    profile = PROFILES["novofon"].with_server(prov["sip_host"], prov["sip_port"], None)
    if mode == "ip":
        return TrunkSpec(profile=profile, mode="ip", caller_id="79581114585")
    return TrunkSpec(
        profile=profile,
        mode="registration",
        login=prov["line"]["login"],
        password=Secret(password or ""),
        caller_id="79581114585",
    )


def _write(settings: Any, spec: Any) -> dict[str, Any]:
    from trunkctl.conf import ConfigDir
    from trunkctl.pjsip import render_trunk
    from trunkctl.provision import plan_setup

    with ConfigDir(settings.config_dir).transaction() as tx:
        plan = plan_setup(tx, render_trunk(spec))
        diff, changed = tx.diff(), tx.changed()
        tx.commit()
    return {"changed": changed, "diff": diff, "transport": plan.transport}


def _call(
    settings: Any, story: _Story, number: str, *, expect: str, verification: bool = False
) -> dict[str, Any]:
    from trunkctl.calling import place_test_call

    from ._call import print_verdict
    from ._common import run

    report = run(place_test_call(settings, number, verification=verification, timeout=20))
    data = report.to_dict(out().language)
    if not out().json:
        out().say(
            Text(
                f"channel originate {report.channel} application Playback hello-world",
                f"channel originate {report.channel} application Playback hello-world",
            ),
            style="bold",
        )
        print_verdict(data)
    story.done(report.result.status == expect, data)
    return data


def demo(json_: JsonOpt = False) -> None:
    """Run the seed's NovoFon flow end to end on the sandbox, explaining each step."""
    from trunkctl.provision import apply, init, trunk_status
    from trunkctl.sandbox import Sandbox
    from trunkctl.settings import load_settings

    from ._common import run
    from ._trunk import recoveries_surfaced

    o = out(json_)
    story = _Story()
    sb = Sandbox()
    # Interrupted commits repaired by a step: said on stderr as they happen, and in --json.
    surfaced = contextlib.ExitStack()
    recovered = surfaced.enter_context(recoveries_surfaced())
    try:
        story.step(
            "sandbox",
            Text("The sandbox", "Песочница"),
            Text(
                "A real Asterisk 22 plays your server (127.0.0.2); a second one plays NovoFon "
                "(127.0.0.1) with a new, not yet verified IP trunk.",
                "Настоящий Asterisk 22 играет роль вашего сервера (127.0.0.2), второй — NovoFon "
                "(127.0.0.1) с новым, ещё не верифицированным IP-транком.",
            ),
        )
        status = sb.up(progress=o.progress)
        sb.reset_pbx()
        sb.reset_provider()
        sb.set_ip_verified(False)
        settings = load_settings(Path(status["settings_file"]))
        story.done(
            status["running"],
            {"asterisk": status["asterisk_version"]},
            Text(
                f"{status['asterisk_version']}: pbx and provider are up.",
                f"{status['asterisk_version']}: pbx и провайдер запущены.",
            ),
        )

        story.step(
            "init",
            Text("trunkctl init", "trunkctl init"),
            Text(
                "Find the config dir, check PJSIP, make sure trunkctl has its AMI user.",
                "Находим каталог конфигурации, проверяем PJSIP и пользователя AMI для trunkctl.",
            ),
        )
        result = init(settings, settings_file=Path(status["settings_file"]))
        story.done(
            bool(result.pjsip_loaded),
            result.to_dict(o.language),
            Text("PJSIP is loaded; AMI user ready.", "PJSIP загружен; пользователь AMI готов."),
        )

        story.step(
            "setup-ip",
            Text("setup --mode ip", "setup --mode ip"),
            Text(
                "NovoFon gives no login until the trunk's IP is verified by a test call, so the "
                "trunk starts in IP mode: no credentials, the provider knows us by our address.",
                "NovoFon не выдаёт логин, пока IP транка не подтверждён тестовым звонком, "
                "поэтому транк начинается в режиме IP: без логина и пароля, провайдер узнаёт "
                "нас по адресу.",
            ),
        )
        written = _write(settings, _spec(status, "ip"))
        story.done(
            bool(written["changed"]),
            written,
            Text(
                "Written: " + ", ".join(written["changed"]),
                "Записано: " + ", ".join(written["changed"]),
            ),
        )

        story.step(
            "apply-ip",
            Text("apply", "apply"),
            Text(
                "Reload PJSIP and the dialplan through AMI and prove every object loaded.",
                "Перезагружаем PJSIP и диалплан через AMI и проверяем, что всё загрузилось.",
            ),
        )
        applied = run(apply(settings))
        story.done(
            applied.ok,
            applied.to_dict(),
            Text("Asterisk loaded the trunk as written.", "Asterisk загрузил транк как записано."),
        )

        story.step(
            "call-before",
            Text("A call before verification", "Звонок до верификации"),
            Text(
                "An ordinary call is refused: the IP is not verified yet.",
                "Обычный звонок отклоняется: IP ещё не подтверждён.",
            ),
        )
        _call(settings, story, ANSWER, expect="rejected")

        story.step(
            "verify",
            Text("The verification call", "Звонок для верификации"),
            Text(
                "The seed's own command: channel originate Local/79991234567@outgoing application "
                "Playback hello-world.",
                "Команда из инструкции: channel originate Local/79991234567@outgoing application "
                "Playback hello-world.",
            ),
        )
        _call(settings, story, "79991234567", expect="answered", verification=True)
        if not o.json:
            o.say(
                Text(
                    f"The provider now says: verified = {sb.ip_verified()}",
                    f"Провайдер теперь считает IP подтверждённым: {sb.ip_verified()}",
                )
            )

        story.step(
            "api-sip-lines",
            Text("NovoFon API: the SIP line", "API NovoFon: SIP-линия"),
            Text(
                "The seed's variant 2: instead of waiting for support, ask NovoFon's Data API "
                "which SIP lines the account has (get.sip_lines).",
                "Вариант 2 из инструкции: вместо ожидания поддержки спросить Data API NovoFon, "
                "какие SIP-линии есть у аккаунта (get.sip_lines).",
            ),
        )
        from trunkctl.provision import list_sip_lines, reset_sip_password
        from trunkctl.sandbox._emulator import emulator_config

        conf = emulator_config(sb)
        lines = run(list_sip_lines(conf))
        login = lines[0].phone_number if lines else ""
        story.done(
            bool(login),
            {"lines": [ln.phone_number for ln in lines]},
            Text(f"SIP login: {login}", f"SIP-логин: {login}"),
        )

        story.step(
            "setup-registration",
            Text("setup with the line's login", "setup с логином линии"),
            Text(
                "The trunk switches to registration mode; only the lines that differ change.",
                "Транк переходит в режим регистрации; меняются только отличающиеся строки.",
            ),
        )
        # A throwaway password: the real one is generated by NovoFon in the next step and
        # goes straight into pjsip.conf, never shown.
        written = _write(settings, _spec(status, "registration", secrets.token_urlsafe(16)))
        story.done(
            bool(written["changed"]),
            {"changed": written["changed"]},
            Text(
                "Written: " + ", ".join(written["changed"]),
                "Записано: " + ", ".join(written["changed"]),
            ),
        )

        story.step(
            "api-reset-password",
            Text("NovoFon API: a new SIP password", "API NovoFon: новый SIP-пароль"),
            Text(
                "update.sip_line_password makes NovoFon generate a password; trunkctl writes it "
                "into pjsip.conf through `credentials set` without ever printing it.",
                "update.sip_line_password просит NovoFon создать пароль; trunkctl записывает его "
                "в pjsip.conf через `credentials set` и нигде не печатает.",
            ),
        )
        reset = run(reset_sip_password(conf, login, settings=settings, trunk="novofon"))
        story.done(
            bool(reset.changed),
            {"changed": reset.changed},
            Text("Password written (masked everywhere).", "Пароль записан (везде скрыт)."),
        )

        story.step(
            "apply-registration",
            Text("apply", "apply"),
            Text(
                "Reload, prove, and send a fresh REGISTER.",
                "Перезагрузка, проверка и свежий REGISTER.",
            ),
        )
        applied = run(apply(settings))
        ok = applied.ok and applied.registered
        story.done(
            ok,
            applied.to_dict(),
            Text(
                f"Registration: {applied.registrations.get('novofon')}",
                f"Регистрация: {applied.registrations.get('novofon')}",
            ),
        )

        story.step("status", Text("status", "status"), Text("Is the trunk up?", "Транк работает?"))
        st = run(trunk_status(settings))
        story.done(
            st.healthy,
            st.to_dict(o.language),
            Text("Registered; the trunk is up.", "Зарегистрирован; транк работает."),
        )

        story.step(
            "call-answer",
            Text("Test call: answering number", "Тестовый звонок: отвечающий номер"),
            Text(
                "A number that answers and plays audio.", "Номер, который отвечает и играет звук."
            ),
        )
        _call(settings, story, ANSWER, expect="answered")

        story.step(
            "call-busy",
            Text("Test call: busy number", "Тестовый звонок: занятый номер"),
            Text(
                "A number that is busy: the verdict says the trunk itself is fine.",
                "Занятый номер: вердикт объясняет, что сам транк в порядке.",
            ),
        )
        _call(settings, story, BUSY, expect="busy")

        story.step(
            "api-call",
            Text("A call through NovoFon's API", "Звонок через API NovoFon"),
            Text(
                "The seed's alternative: start.simple_call — NovoFon rings your line, then the "
                "number; the calls report shows what really happened.",
                "Альтернатива из инструкции: start.simple_call — NovoFon звонит на вашу линию, "
                "затем на номер; отчёт о звонках показывает, что произошло на самом деле.",
            ),
        )
        from trunkctl.calling import place_call, wait_for_call
        from trunkctl.novofon import report_status

        placed = run(place_call(conf, ANSWER))
        row = run(wait_for_call(conf, placed.external_id or "", timeout=30))
        outcome = report_status(row) if row else "unknown"
        story.done(
            outcome == "answered",
            {"external_id": placed.external_id, "status": outcome},
            Text(f"Calls report: {outcome}", f"Отчёт о звонках: {outcome}"),
        )

        story.step(
            "doctor",
            Text("trunkctl doctor", "trunkctl doctor"),
            Text(
                "Every live check and lint rule on the finished trunk.",
                "Все проверки и правила — на готовом транке.",
            ),
        )
        from trunkctl.doctor import run_doctor

        report = run(run_doctor(settings, trunk="novofon"))
        counts = report.counts()
        story.done(
            report.exit_code == 0,
            report.to_dict(o.language),
            Text(
                f"{counts.get('ok', 0)} checks ok, {counts.get('warn', 0)} warnings, "
                f"{counts.get('fail', 0)} failures.",
                f"Проверок пройдено: {counts.get('ok', 0)}, предупреждений: "
                f"{counts.get('warn', 0)}, ошибок: {counts.get('fail', 0)}.",
            ),
        )
    except _StepFailed:
        pass
    finally:
        surfaced.close()
    ok = all(s["ok"] for s in story.steps)
    seconds = round(time.monotonic() - story.started, 1)
    if o.json:
        o.emit_json(
            {
                "ok": ok,
                "seconds": seconds,
                "steps": story.steps,
                "recovered": [r.to_dict() for r in recovered],
            }
        )
    else:
        o.console.rule(style="cyan")
        o.say(
            Text(
                f"Demo finished in {seconds} s: every step as expected.",
                f"Демо завершено за {seconds} с: все шаги прошли как ожидалось.",
            )
            if ok
            else Text(
                "Demo stopped: the last step did not go as expected (see above).",
                "Демо остановлено: последний шаг прошёл не так, как ожидалось (см. выше).",
            ),
            style="bold green" if ok else "bold red",
        )
    if not ok:
        raise typer.Exit(1)
