"""What trunkctl says about each kind of call outcome: data, keyed by a stable id.

An id is ``<situation>`` or ``<situation>.<variant>``; variants (``verification``, ``ip``,
``registered``) replace the base entry when the context matches. Every entry has a severity,
a headline, a meaning and next steps, each in English and Russian; steps name a trunkctl
command, a config option, or a place in NovoFon's cabinet. Facts about NovoFon here come from
the project's reference notes; where they are only likely, the text says "usually".
"""

# ruff: noqa: E501  (prose table: sentences stay whole so they can be read and reviewed)

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..i18n import Text
from ._outcome import Severity

__all__ = ["CATALOG", "NOTES", "STATUS", "Entry"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One canned explanation."""

    severity: Severity
    headline: Text
    meaning: Text
    steps: tuple[Text, ...]


def _e(severity: Severity, headline: Text, meaning: Text, *steps: Text) -> Entry:
    return Entry(severity, headline, meaning, steps)


T = Text

# Steps shared by several entries.
DOCTOR = T(
    "Run `trunkctl doctor`: it checks the trunk's config, DNS and reachability of NovoFon.",
    "Запустите `trunkctl doctor`: он проверит настройки транка, DNS и доступность NovoFon.",
)
STATUS = T(
    "Run `trunkctl status` to see whether the trunk is registered and NovoFon answers OPTIONS.",
    "Запустите `trunkctl status`: он покажет, зарегистрирован ли транк и отвечает ли NovoFon на OPTIONS.",
)
SUPPORT = T(
    "If it persists, run `trunkctl support-request` and send the prepared text to NovoFon support.",
    "Если не проходит, запустите `trunkctl support-request` и отправьте готовый текст в поддержку NovoFon.",
)
CREDENTIALS = T(
    "Re-enter the SIP login and password from the cabinet with `trunkctl credentials set` "
    "(the login is the trunk's number, leading zeros included, e.g. 0053248).",
    "Заново введите SIP-логин и пароль из кабинета: `trunkctl credentials set` "
    "(логин — это номер транка вместе с ведущими нулями, например 0053248).",
)
OUTBOUND_AUTH = T(
    "Check the `[novofon]` endpoint in pjsip.conf: it needs `outbound_auth = <auth section>`; "
    "`auth =` only checks calls coming in to you.",
    "Проверьте эндпоинт `[novofon]` в pjsip.conf: нужен `outbound_auth = <секция auth>`; "
    "`auth =` проверяет только входящие к вам вызовы.",
)
CABINET_TRUNK = T(
    "Open the trunk in the NovoFon cabinet: status active, this server's public IP among the "
    "termination addresses, the direction you call allowed.",
    "Откройте транк в личном кабинете NovoFon: статус «активен», публичный IP этого сервера есть "
    "среди адресов терминации, направление, куда вы звоните, разрешено.",
)
PUBLIC_IP = T(
    "Compare the server's public IP (`curl -4 ifconfig.me`) with the termination address in the "
    "NovoFon cabinet: behind NAT or with two uplinks they differ.",
    "Сравните публичный IP сервера (`curl -4 ifconfig.me`) с адресом терминации в кабинете NovoFon: "
    "за NAT или при двух каналах в интернет они не совпадают.",
)
NUMBER_FORMAT = T(
    "Dial Russian numbers as 11 digits starting with 7 (79991234567), others as full international "
    "digits; in extensions.conf turn a leading 8 into 7: `Dial(PJSIP/7${EXTEN:1}@novofon)`.",
    "Набирайте российские номера как 11 цифр с 7 в начале (79991234567), зарубежные — полным "
    "международным номером; в extensions.conf замените ведущую 8 на 7: `Dial(PJSIP/7${EXTEN:1}@novofon)`.",
)
OTHER_NUMBER = T(
    "Call a number you know answers (your own mobile) to tell a number problem from a trunk problem.",
    "Позвоните на номер, который точно ответит (свой мобильный), чтобы отличить проблему номера от проблемы транка.",
)
SIP_LOGGER = T(
    "Watch the SIP messages: open `asterisk -rvvv`, type `pjsip set logger on`, repeat the call.",
    "Посмотрите SIP-сообщения: откройте `asterisk -rvvv`, введите `pjsip set logger on` и повторите звонок.",
)
CABINET_CHECK = T(
    "Open the trunk in the NovoFon cabinet and check that its status turned active (refresh; it "
    "can take a few minutes).",
    "Откройте транк в личном кабинете NovoFon и проверьте, что статус сменился на «активен» "
    "(обновите страницу, это может занять несколько минут).",
)
VERIFY_SUPPORT = T(
    "Run `trunkctl support-request`: it prepares a message with your IP and this call's result; "
    "ask NovoFon to verify the IP by hand or to give temporary credentials for the test call.",
    "Запустите `trunkctl support-request`: он подготовит письмо с вашим IP и итогом этого звонка; "
    "попросите NovoFon подтвердить IP вручную или выдать временные логин и пароль для тестового звонка.",
)
REPEAT_VERIFICATION = T(
    "Once you have the login and password, add them to the trunk with `trunkctl setup --login "
    "<LOGIN> --password-stdin` (an IP-mode trunk has no auth for `credentials set` to change), "
    "`trunkctl apply`, and repeat the verification call.",
    "Когда получите логин и пароль, добавьте их в транк: `trunkctl setup --login <ЛОГИН> "
    "--password-stdin` (у транка в режиме IP нет секции auth, которую мог бы изменить "
    "`credentials set`), затем `trunkctl apply`, и повторите проверочный звонок.",
)

CATALOG: Mapping[str, Entry] = MappingProxyType(
    {
        "answered": _e(
            "ok",
            T("Call answered: the trunk works.", "На звонок ответили: транк работает."),
            T(
                "The call left this server, went through NovoFon and was answered.",
                "Вызов ушёл с этого сервера, прошёл через NovoFon, и на него ответили.",
            ),
            T(
                "Nothing to fix. Run `trunkctl status` any time to see the trunk's state.",
                "Исправлять нечего. Чтобы посмотреть состояние транка, запустите `trunkctl status`.",
            ),
        ),
        "answered.verification": _e(
            "ok",
            T(
                "Verification call answered: now check the NovoFon cabinet.",
                "Проверочный звонок прошёл: теперь загляните в личный кабинет NovoFon.",
            ),
            T(
                "The call left this server's IP, went through NovoFon and was answered, which is "
                "what the IP verification needs. NovoFon marks the address verified on its side; "
                "trunkctl cannot see that from here.",
                "Вызов ушёл с IP этого сервера, прошёл через NovoFon, и на него ответили — именно "
                "это и нужно для верификации IP. Отметку о проверке NovoFon ставит у себя, отсюда "
                "trunkctl её не видит.",
            ),
            CABINET_CHECK,
            T(
                "If the cabinet now shows the trunk's login and password, save them: run "
                "`trunkctl setup --login <LOGIN> --password-stdin` (the caller ID and the rest "
                "are kept), then `trunkctl apply`.",
                "Если в кабинете появились логин и пароль транка, сохраните их: запустите "
                "`trunkctl setup --login <ЛОГИН> --password-stdin` (Caller ID и остальное "
                "сохранятся), затем `trunkctl apply`.",
            ),
            T(
                "If the status has not changed within half an hour, run `trunkctl support-request` "
                "and send the message to NovoFon support.",
                "Если за полчаса статус не изменился, запустите `trunkctl support-request` и "
                "отправьте письмо в поддержку NovoFon.",
            ),
        ),
        "busy": _e(
            "ok",
            T(
                "The number is busy, but your trunk works.",
                "Номер занят, но ваш транк работает.",
            ),
            T(
                "NovoFon carried the call to the callee, whose line answered busy. Phones also send "
                "busy when the user rejects the call or has do-not-disturb on.",
                "NovoFon довёл вызов до абонента, и его линия ответила «занято». Телефон отвечает "
                "так же, когда абонент сбрасывает вызов или включил «не беспокоить».",
            ),
            T(
                "Call again later, or call a number that will answer (your own mobile).",
                "Перезвоните позже или позвоните на номер, который ответит (свой мобильный).",
            ),
        ),
        "busy.verification": _e(
            "warn",
            T(
                "Verification call reached a busy number: check the NovoFon cabinet.",
                "Проверочный звонок попал на занятый номер: загляните в кабинет NovoFon.",
            ),
            T(
                "The call did get through NovoFon, so your IP and credentials were accepted, but "
                "it was not answered; whether NovoFon counts that as a verification is not known.",
                "Вызов прошёл через NovoFon, значит ваш IP и учётные данные приняты, но ответа не "
                "было; засчитывает ли NovoFon такой звонок как проверку — неизвестно.",
            ),
            CABINET_CHECK,
            T(
                "If it is not verified, repeat the verification call to a number that will answer "
                "and pick up.",
                "Если проверка не засчитана, повторите проверочный звонок на номер, который "
                "ответит, и возьмите трубку.",
            ),
        ),
        "no_answer": _e(
            "ok",
            T(
                "Nobody answered, but the call got through.",
                "Никто не ответил, но вызов прошёл.",
            ),
            T(
                "The call reached the callee and rang until the timeout or until the far end gave up.",
                "Вызов дошёл до абонента, и телефон звонил до тайм-аута или пока сеть не прекратила попытку.",
            ),
            T(
                "Call a number where someone will pick up (your own mobile).",
                "Позвоните на номер, где точно возьмут трубку (свой мобильный).",
            ),
            T(
                "If it needs to ring longer, raise the timeout: the second argument of "
                "`Dial(PJSIP/...@novofon,60)`.",
                "Если нужно звонить дольше, увеличьте тайм-аут — второй аргумент "
                "`Dial(PJSIP/...@novofon,60)`.",
            ),
        ),
        "no_answer.ring_limit": _e(
            "ok",
            T(
                "Nobody answered before trunkctl's own ring limit; the call got through.",
                "Никто не ответил до предела звонка, заданного trunkctl; вызов прошёл.",
            ),
            T(
                "The call reached the callee and rang until trunkctl stopped it: a test call "
                "rings for 2/3 of --timeout (a list: --ring-timeout).",
                "Вызов дошёл до абонента и звонил, пока trunkctl его не остановил: тестовый "
                "звонок звонит 2/3 от --timeout (список номеров — --ring-timeout).",
            ),
            T(
                "Call a number where someone will pick up (your own mobile).",
                "Позвоните на номер, где точно возьмут трубку (свой мобильный).",
            ),
            T(
                "To let it ring longer, raise `--timeout` (or `--ring-timeout` with --numbers).",
                "Чтобы звонило дольше, увеличьте `--timeout` (или `--ring-timeout` с --numbers).",
            ),
        ),
        "no_answer.verification": _e(
            "warn",
            T(
                "Verification call rang but nobody answered: check the NovoFon cabinet.",
                "Проверочный звонок дошёл, но трубку не взяли: загляните в кабинет NovoFon.",
            ),
            T(
                "The call got through NovoFon, so your IP and credentials were accepted; whether an "
                "unanswered call counts as a verification is not known.",
                "Вызов прошёл через NovoFon, значит ваш IP и учётные данные приняты; засчитывается "
                "ли звонок без ответа как проверка — неизвестно.",
            ),
            CABINET_CHECK,
            T(
                "If it is not verified, repeat the verification call to your own mobile and pick up.",
                "Если проверка не засчитана, повторите проверочный звонок на свой мобильный и возьмите трубку.",
            ),
        ),
        "auth_rejected": _e(
            "fail",
            T(
                "NovoFon did not accept our credentials.",
                "NovoFon не принял наши логин и пароль.",
            ),
            T(
                "NovoFon asked this server to authenticate (401/407) and got no answer or a wrong "
                "one. The classic cause: the endpoint has `auth =` instead of `outbound_auth =`, so "
                "Asterisk never answers the challenge. Otherwise the login or password is wrong.",
                "NovoFon потребовал авторизацию (401/407) и не получил ответа или получил неверный. "
                "Классическая причина: у эндпоинта указан `auth =` вместо `outbound_auth =`, и "
                "Asterisk просто не отвечает на запрос пароля. Иначе — неверный логин или пароль.",
            ),
            OUTBOUND_AUTH,
            CREDENTIALS,
            DOCTOR,
        ),
        "auth_rejected.credentials": _e(
            "fail",
            T(
                "NovoFon refused the trunk's login or password.",
                "NovoFon отклонил логин или пароль транка.",
            ),
            T(
                "The endpoint has `outbound_auth`, so Asterisk answered NovoFon's 401/407 with "
                "the trunk's credentials, and NovoFon refused them: the login or the password "
                "is wrong (or the line is blocked in the cabinet).",
                "У эндпоинта есть `outbound_auth`, значит Asterisk ответил на 401/407 от "
                "NovoFon логином и паролем транка, и NovoFon их отклонил: неверен логин или "
                "пароль (или линия заблокирована в кабинете).",
            ),
            CREDENTIALS,
            STATUS,
            DOCTOR,
        ),
        "auth_rejected.registered": _e(
            "fail",
            T(
                "Registration works but calls are refused: the endpoint lacks `outbound_auth`.",
                "Регистрация проходит, а звонки отклоняются: у эндпоинта нет `outbound_auth`.",
            ),
            T(
                "The trunk is registered, so the login and password are right. The registration "
                "section carries its own `outbound_auth`; the endpoint needs one too, or Asterisk "
                "cannot answer NovoFon's 401/407 on a call.",
                "Транк зарегистрирован, значит логин и пароль верные. У секции registration свой "
                "`outbound_auth`, а эндпоинту нужен собственный — иначе Asterisk не может ответить "
                "на 401/407 от NovoFon при звонке.",
            ),
            OUTBOUND_AUTH,
            DOCTOR,
        ),
        "auth_rejected.ip": _e(
            "fail",
            T(
                "NovoFon asked for a password: it did not recognise this server's IP.",
                "NovoFon запросил пароль: он не узнал IP этого сервера.",
            ),
            T(
                "A trunk authorised by IP is usually not asked for a password when the call comes "
                "from a termination address. A 401/407 then means the call left from another IP, or "
                "the address is not verified yet.",
                "Транк с авторизацией по IP обычно не получает запрос пароля, если вызов идёт с "
                "адреса терминации. Значит, 401/407 пришёл потому, что вызов ушёл с другого IP или "
                "адрес ещё не подтверждён.",
            ),
            PUBLIC_IP,
            CABINET_TRUNK,
            T(
                "If the trunk also has a login and password, run `trunkctl setup --login "
                "<LOGIN> --password-stdin`: it writes the auth and points the endpoint's "
                "`outbound_auth` at it.",
                "Если у транка есть и логин с паролем, запустите `trunkctl setup --login "
                "<ЛОГИН> --password-stdin`: он запишет секцию auth и укажет её в "
                "`outbound_auth` эндпоинта.",
            ),
        ),
        "auth_rejected.verification": _e(
            "fail",
            T(
                "The verification call needs credentials you do not have yet.",
                "Для проверочного звонка нужны логин и пароль, которых у вас пока нет.",
            ),
            T(
                "NovoFon asked for a password (401/407). This is the known catch-22: the test call "
                "that verifies the IP needs a login and password that the cabinet shows only after "
                "verification. Support can break the loop.",
                "NovoFon запросил пароль (401/407). Это известный замкнутый круг: для тестового "
                "звонка, подтверждающего IP, нужны логин и пароль, которые кабинет показывает "
                "только после проверки. Разорвать его может поддержка.",
            ),
            OUTBOUND_AUTH,
            VERIFY_SUPPORT,
            REPEAT_VERIFICATION,
        ),
        "forbidden": _e(
            "fail",
            T("NovoFon refused the call.", "NovoFon запретил этот вызов."),
            T(
                "NovoFon knows who is calling but will not carry this call. Usual reasons: this IP is "
                "not (yet) a verified termination address; the caller ID is not a number on your "
                "account; the balance is zero or below; the direction is not allowed (international "
                "calls are often off by default). Some setups answer 403 to a wrong password too.",
                "NovoFon понял, кто звонит, но этот вызов проводить не будет. Обычные причины: IP "
                "ещё не подтверждён как адрес терминации; номер звонящего (Caller ID) не принадлежит "
                "вашему аккаунту; баланс нулевой или отрицательный; направление не разрешено "
                "(международные звонки часто выключены по умолчанию). Иногда 403 приходит и на "
                "неверный пароль.",
            ),
            CABINET_TRUNK,
            T(
                "Make sure the caller ID (`callerid` on the endpoint or `CALLERID(num)` in the "
                "dialplan) is one of your NovoFon numbers, as 7XXXXXXXXXX.",
                "Убедитесь, что номер звонящего (`callerid` у эндпоинта или `CALLERID(num)` в "
                "диалплане) — один из ваших номеров NovoFon, в виде 7XXXXXXXXXX.",
            ),
            T(
                "Check the balance in the NovoFon cabinet, and that international calls are enabled "
                "if you called abroad.",
                "Проверьте баланс в кабинете NovoFon и, если звонили за границу, включены ли "
                "международные звонки.",
            ),
            DOCTOR,
            SUPPORT,
        ),
        "forbidden.ip": _e(
            "fail",
            T(
                "NovoFon refused the call: check the termination IP first.",
                "NovoFon запретил вызов: сначала проверьте IP терминации.",
            ),
            T(
                "For a trunk authorised by IP, a 403 most often means NovoFon does not see the call "
                "coming from a verified termination address. Caller ID, balance and allowed "
                "directions come next.",
                "Для транка с авторизацией по IP 403 чаще всего значит, что NovoFon не видит вызов "
                "с подтверждённого адреса терминации. Следом проверьте номер звонящего, баланс и "
                "разрешённые направления.",
            ),
            PUBLIC_IP,
            CABINET_TRUNK,
            T(
                "Make sure the caller ID (`callerid` on the endpoint or `CALLERID(num)` in the "
                "dialplan) is one of your NovoFon numbers, and check the balance in the cabinet.",
                "Убедитесь, что номер звонящего (`callerid` у эндпоинта или `CALLERID(num)` в "
                "диалплане) — ваш номер NovoFon, и проверьте баланс в кабинете.",
            ),
            SUPPORT,
        ),
        "forbidden.verification": _e(
            "fail",
            T(
                "NovoFon refused the verification call: the IP is not verified yet.",
                "NovoFon отклонил проверочный звонок: IP ещё не подтверждён.",
            ),
            T(
                "NovoFon takes calls from a termination IP only after it is verified, and the "
                "verification is exactly such a call — a known catch-22, since the test call also "
                "needs a login and password the cabinet shows only afterwards. The 403 means NovoFon "
                "did not accept this server as the trunk's address.",
                "NovoFon принимает вызовы с IP терминации только после проверки, а проверка — это "
                "как раз такой вызов. Известный замкнутый круг: для тестового звонка ещё и нужны "
                "логин и пароль, которые кабинет показывает только после проверки. 403 значит, что "
                "NovoFon не признал этот сервер адресом транка.",
            ),
            PUBLIC_IP,
            VERIFY_SUPPORT,
            REPEAT_VERIFICATION,
        ),
        "rejected": _e(
            "fail",
            T("NovoFon rejected the call.", "NovoFon отклонил вызов."),
            T(
                "Asterisk reports the call as rejected (Cause 21) without the SIP code; with PJSIP "
                "that is one of 401/407 (credentials), 403 (not allowed) or 603 (declined).",
                "Asterisk сообщает, что вызов отклонён (Cause 21), но без кода SIP; в PJSIP за этим "
                "стоит один из 401/407 (логин и пароль), 403 (запрещено) или 603 (отказ).",
            ),
            SIP_LOGGER,
            OUTBOUND_AUTH,
            CABINET_TRUNK,
            DOCTOR,
        ),
        "rejected.verification": _e(
            "fail",
            T(
                "NovoFon rejected the verification call.",
                "NovoFon отклонил проверочный звонок.",
            ),
            T(
                "Without the SIP code it is either a password request (401/407) or a refusal "
                "(403); during verification both usually mean the IP is not verified yet and the "
                "call has no credentials — the known catch-22.",
                "Без кода SIP это либо запрос пароля (401/407), либо запрет (403); при проверке "
                "оба обычно значат, что IP ещё не подтверждён, а логина и пароля для звонка нет — "
                "известный замкнутый круг.",
            ),
            PUBLIC_IP,
            VERIFY_SUPPORT,
            REPEAT_VERIFICATION,
        ),
        "payment_required": _e(
            "fail",
            T(
                "NovoFon wants payment: check the balance.",
                "NovoFon требует оплаты: проверьте баланс.",
            ),
            T(
                "The provider answered 402 Payment Required, which carriers use for an empty balance "
                "or an unpaid service.",
                "Оператор ответил 402 Payment Required — так сообщают о пустом балансе или "
                "неоплаченной услуге.",
            ),
            T(
                "Check the balance and unpaid services in the NovoFon cabinet, then repeat the call.",
                "Проверьте баланс и неоплаченные услуги в кабинете NovoFon, затем повторите звонок.",
            ),
            SUPPORT,
        ),
        "number_not_found": _e(
            "fail",
            T(
                "NovoFon does not know this number: check its format.",
                "NovoFon не знает такого номера: проверьте формат.",
            ),
            T(
                "The number does not exist in that form. NovoFon expects E.164 digits: "
                "7XXXXXXXXXX for Russia. A number dialled with the Russian 8 prefix (89991234567) or "
                "with 810/00 in front is the usual culprit.",
                "Номера в таком виде нет. NovoFon ждёт номер в формате E.164: 7XXXXXXXXXX для "
                "России. Обычно виноват номер с восьмёркой (89991234567) или с 810/00 в начале.",
            ),
            NUMBER_FORMAT,
            OTHER_NUMBER,
        ),
        "number_incomplete": _e(
            "fail",
            T(
                "The number is incomplete or badly formatted.",
                "Номер неполный или записан в неверном формате.",
            ),
            T(
                "NovoFon could not route the digits it got: too few of them, or a prefix it does not "
                "expect. It wants 7XXXXXXXXXX for Russia, full international digits for the rest.",
                "NovoFon не смог направить полученные цифры: их слишком мало или в начале лишний "
                "префикс. Для России нужен вид 7XXXXXXXXXX, для остальных — полный международный номер.",
            ),
            NUMBER_FORMAT,
            OTHER_NUMBER,
        ),
        "request_timeout": _e(
            "fail",
            T(
                "No final answer in time (408).",
                "Окончательного ответа не дождались (408).",
            ),
            T(
                "Either NovoFon answered 408 because the callee's network did not respond, or "
                "Asterisk itself waited 32 s for any reply to its INVITE and gave up — PJSIP reports "
                "that as 408 too. If nothing came back at all, it is the network: firewall, NAT, "
                "DNS or the wrong port.",
                "Либо NovoFon ответил 408, потому что не ответила сеть абонента, либо сам Asterisk "
                "32 секунды ждал хоть какого-то ответа на INVITE и сдался — PJSIP и это показывает "
                "как 408. Если в ответ не пришло вообще ничего, дело в сети: файрвол, NAT, DNS или "
                "не тот порт.",
            ),
            SIP_LOGGER,
            STATUS,
            DOCTOR,
            OTHER_NUMBER,
        ),
        "no_response": _e(
            "fail",
            T(
                "NovoFon did not answer at all.",
                "NovoFon вообще не ответил.",
            ),
            T(
                "Asterisk sent the INVITE and got no reply. Usual causes: a firewall dropping UDP "
                "5060 or the replies; NAT sending the replies elsewhere; the NovoFon host resolving "
                "to a wrong address; a wrong port or transport in the endpoint's contact; the "
                "legacy host (sip.novofon.com) instead of sip.novofon.ru or the other way round.",
                "Asterisk отправил INVITE и не получил ответа. Обычные причины: файрвол режет UDP "
                "5060 или ответы; NAT отправляет ответы не туда; имя сервера NovoFon разрешается "
                "не в тот адрес; не тот порт или транспорт в contact эндпоинта; старый адрес "
                "(sip.novofon.com) вместо sip.novofon.ru или наоборот.",
            ),
            DOCTOR,
            T(
                "Check the `contact` of the NovoFon AOR and the registration's `server_uri` in "
                "pjsip.conf: `sip:sip.novofon.ru:5060` for the current platform.",
                "Проверьте `contact` у AOR NovoFon и `server_uri` у регистрации в pjsip.conf: "
                "`sip:sip.novofon.ru:5060` для текущей платформы.",
            ),
            T(
                "Let UDP 5060 out and its replies in: look at `nft list ruleset` or `iptables -S`.",
                "Разрешите исходящий UDP 5060 и ответы на него: смотрите `nft list ruleset` или `iptables -S`.",
            ),
            SIP_LOGGER,
        ),
        "temporarily_unavailable": _e(
            "warn",
            T(
                "The callee is unreachable right now.",
                "Абонент сейчас недоступен.",
            ),
            T(
                "NovoFon reached the callee's network, which says the phone is off, out of coverage "
                "or not registered. Your trunk most likely works.",
                "NovoFon дошёл до сети абонента, а та сообщает, что телефон выключен, вне зоны "
                "действия сети или не зарегистрирован. Ваш транк, скорее всего, работает.",
            ),
            OTHER_NUMBER,
            T(
                "If every number answers like this, run `trunkctl status`, then `trunkctl "
                "support-request`.",
                "Если так отвечает любой номер, запустите `trunkctl status`, а затем `trunkctl "
                "support-request`.",
            ),
        ),
        "cancelled": _e(
            "warn",
            T(
                "The call was cancelled before anyone answered.",
                "Вызов отменён до ответа.",
            ),
            T(
                "Usually our side cancelled it: the Dial() timeout ran out, trunkctl stopped waiting "
                "or someone hung up. The callee's phone may well have been ringing; this is not a "
                "trunk fault.",
                "Обычно вызов отменила наша сторона: истёк тайм-аут Dial(), trunkctl перестал ждать "
                "или кто-то положил трубку. Телефон абонента при этом вполне мог звонить; транк тут "
                "ни при чём.",
            ),
            T(
                "If it needs to ring longer, raise the timeout: the second argument of "
                "`Dial(PJSIP/...@novofon,60)`.",
                "Если нужно звонить дольше, увеличьте тайм-аут — второй аргумент "
                "`Dial(PJSIP/...@novofon,60)`.",
            ),
            OTHER_NUMBER,
        ),
        "codecs": _e(
            "fail",
            T(
                "No common codec with NovoFon.",
                "С NovoFon не нашлось общего кодека.",
            ),
            T(
                "NovoFon did not accept the audio offer. It works with G.711: alaw and ulaw. An "
                "endpoint offering only opus, g729 or gsm, or asking for SRTP, is refused.",
                "NovoFon не принял предложенные параметры звука. Он работает с G.711: alaw и ulaw. "
                "Эндпоинт, который предлагает только opus, g729 или gsm или требует SRTP, получит "
                "отказ.",
            ),
            T(
                "Set the NovoFon endpoint's codecs in pjsip.conf: `disallow = all` then "
                "`allow = alaw,ulaw`; keep `media_encryption = no`.",
                "Задайте кодеки эндпоинта NovoFon в pjsip.conf: `disallow = all`, затем "
                "`allow = alaw,ulaw`; оставьте `media_encryption = no`.",
            ),
            DOCTOR,
        ),
        "service_unavailable": _e(
            "fail",
            T(
                "NovoFon or the route to it is unavailable (503).",
                "NovoFon или путь до него недоступен (503).",
            ),
            T(
                "Either NovoFon answered 503 — overloaded, the trunk's channel limit reached, the "
                "route down, the trunk's registration lost — or Asterisk could not send the call at "
                "all (DNS failure, nowhere to send it) and reported that as 503 itself.",
                "Либо NovoFon ответил 503 — перегрузка, исчерпан лимит каналов транка, маршрут не "
                "работает, слетела регистрация транка, — либо Asterisk вообще не смог отправить "
                "вызов (сбой DNS, некуда отправлять) и сам обозначил это как 503.",
            ),
            STATUS,
            DOCTOR,
            T(
                "Compare the calls in progress with the trunk's channel count in the NovoFon cabinet.",
                "Сравните число идущих разговоров с количеством каналов транка в кабинете NovoFon.",
            ),
            SUPPORT,
        ),
        "congestion": _e(
            "fail",
            T(
                "Congestion: the call could not be routed.",
                "Перегрузка: вызов не удалось направить.",
            ),
            T(
                "Asterisk reports congestion (Cause 34, 503 or another 5xx): NovoFon is overloaded, "
                "the trunk's channel limit is reached, or the call could not be sent at all.",
                "Asterisk сообщает о перегрузке (Cause 34, 503 или другой 5xx): NovoFon перегружен, "
                "исчерпан лимит каналов транка или вызов вообще не удалось отправить.",
            ),
            STATUS,
            DOCTOR,
            T(
                "Compare the calls in progress with the trunk's channel count in the NovoFon cabinet.",
                "Сравните число идущих разговоров с количеством каналов транка в кабинете NovoFon.",
            ),
            SUPPORT,
        ),
        "provider_error": _e(
            "fail",
            T(
                "Server error at NovoFon or beyond.",
                "Ошибка на стороне NovoFon или дальше по пути.",
            ),
            T(
                "A server on the way failed (the code is in the evidence). Your setup is most likely "
                "not the cause; a retry in a few minutes or another destination often works.",
                "Сбой на сервере по пути (код — в подробностях). Ваши настройки тут, скорее всего, ни "
                "при чём; повтор через несколько минут или звонок на другой номер часто проходят.",
            ),
            OTHER_NUMBER,
            STATUS,
            SUPPORT,
        ),
        "request_rejected": _e(
            "fail",
            T("NovoFon rejected the request.", "NovoFon отклонил запрос."),
            T(
                "NovoFon refused something in our INVITE (the code is in the evidence). That points "
                "to the endpoint's settings rather than the number.",
                "NovoFon не принял что-то в нашем INVITE (код — в подробностях). Это указывает "
                "скорее на настройки эндпоинта, чем на номер.",
            ),
            DOCTOR,
            SIP_LOGGER,
            SUPPORT,
        ),
        "declined": _e(
            "warn",
            T("The call was declined.", "Вызов отклонён."),
            T(
                "The callee, or the network on their behalf (an anti-spam filter), declined the "
                "call. Your trunk delivered it.",
                "Абонент или сеть от его имени (например, антиспам) отклонили вызов. Ваш транк его "
                "доставил.",
            ),
            OTHER_NUMBER,
            T(
                "If every call is declined, check the caller ID and restrictions in the NovoFon "
                "cabinet, then run `trunkctl support-request`.",
                "Если отклоняется каждый звонок, проверьте номер звонящего и ограничения в кабинете "
                "NovoFon, затем запустите `trunkctl support-request`.",
            ),
        ),
        "redirected": _e(
            "warn",
            T("NovoFon redirected the call.", "NovoFon перенаправил вызов."),
            T(
                "The answer was a redirect (3xx) and the call ended there without being answered.",
                "В ответ пришло перенаправление (3xx), и на этом вызов закончился без ответа.",
            ),
            SIP_LOGGER,
            SUPPORT,
        ),
        "unavailable": _e(
            "fail",
            T(
                "Asterisk could not place the call to NovoFon.",
                "Asterisk не смог отправить вызов в NovoFon.",
            ),
            T(
                "DIALSTATUS CHANUNAVAIL: the endpoint in the dial string does not exist, its AOR has "
                "no contact, qualify marks it Unreachable, or the host does not resolve. It also "
                "covers rejections (403, 404, 487…) when the SIP code is unknown.",
                "DIALSTATUS CHANUNAVAIL: эндпоинта из строки набора нет, у его AOR нет contact, "
                "qualify считает его недоступным (Unreachable) или имя сервера не разрешается. Сюда "
                "же попадают отказы (403, 404, 487…), если код SIP неизвестен.",
            ),
            STATUS,
            T(
                "Check that the name in `Dial(PJSIP/<number>@<endpoint>)` matches the endpoint "
                "section in pjsip.conf and that its `aors` has a `contact`.",
                "Проверьте, что имя в `Dial(PJSIP/<номер>@<эндпоинт>)` совпадает с секцией "
                "эндпоинта в pjsip.conf и что у его `aors` есть `contact`.",
            ),
            DOCTOR,
        ),
        "no_channel_driver": _e(
            "fail",
            T(
                "The dialplan uses a channel type this Asterisk does not have.",
                "Диалплан использует тип канала, которого в этом Asterisk нет.",
            ),
            T(
                "Cause 66: usually `Dial(SIP/...)` — chan_sip was removed in Asterisk 21, only "
                "PJSIP is left.",
                "Cause 66: обычно это `Dial(SIP/...)` — chan_sip удалён начиная с Asterisk 21, "
                "остался только PJSIP.",
            ),
            T(
                "Replace `SIP/` with `PJSIP/` in extensions.conf: `Dial(PJSIP/${EXTEN}@novofon)`.",
                "Замените `SIP/` на `PJSIP/` в extensions.conf: `Dial(PJSIP/${EXTEN}@novofon)`.",
            ),
            DOCTOR,
        ),
        "dial_invalid_args": _e(
            "fail",
            T(
                "Dial() was called with invalid arguments.",
                "Dial() вызван с неверными аргументами.",
            ),
            T(
                "DIALSTATUS INVALIDARGS: the dialplan line with Dial() has a syntax error, so no "
                "call was attempted.",
                "DIALSTATUS INVALIDARGS: в строке диалплана с Dial() синтаксическая ошибка, поэтому "
                "вызов даже не начинался.",
            ),
            T(
                "Check the Dial() line in extensions.conf: `Dial(PJSIP/${EXTEN}@novofon,60)`; "
                "`asterisk -rx 'dialplan show <context>'` shows what Asterisk loaded.",
                "Проверьте строку с Dial() в extensions.conf: `Dial(PJSIP/${EXTEN}@novofon,60)`; "
                "`asterisk -rx 'dialplan show <контекст>'` покажет, что загрузил Asterisk.",
            ),
            DOCTOR,
        ),
        "privacy": _e(
            "warn",
            T(
                "The call was stopped by Dial()'s privacy mode.",
                "Вызов остановлен режимом приватности Dial().",
            ),
            T(
                "DIALSTATUS DONTCALL or TORTURE: Dial() ran with the privacy options (p/P) and the "
                "callee chose to refuse.",
                "DIALSTATUS DONTCALL или TORTURE: Dial() запущен с опциями приватности (p/P), и "
                "абонент отказался от разговора.",
            ),
            T(
                "Remove the `p`/`P` options from the Dial() line in extensions.conf if you did not "
                "mean to screen calls.",
                "Уберите опции `p`/`P` из строки Dial() в extensions.conf, если фильтровать звонки "
                "не собирались.",
            ),
        ),
        "interrupted": _e(
            "warn",
            T(
                "The test was interrupted before the call ended.",
                "Проверка прервана до окончания звонка.",
            ),
            T(
                "trunkctl stopped watching the call (Ctrl+C, lost AMI connection, Asterisk "
                "restarted), so the outcome is unknown.",
                "trunkctl перестал следить за звонком (Ctrl+C, обрыв соединения AMI, перезапуск "
                "Asterisk), поэтому итог неизвестен.",
            ),
            STATUS,
            T(
                "Repeat the test call once `trunkctl status` shows Asterisk and the trunk are up.",
                "Повторите тестовый звонок, когда `trunkctl status` покажет, что Asterisk и транк работают.",
            ),
        ),
        "failed": _e(
            "fail",
            T(
                "The call failed without a SIP answer.",
                "Звонок не удался, ответа по SIP не было.",
            ),
            T(
                "Asterisk gave up before NovoFon said anything: the originate failed, the dialplan "
                "context or extension does not exist, or the channel could not be created.",
                "Asterisk сдался раньше, чем NovoFon что-то ответил: originate не удался, контекста "
                "или экстеншена в диалплане нет, или канал не удалось создать.",
            ),
            DOCTOR,
            T(
                "Read the end of `/var/log/asterisk/messages.log`: Asterisk logs the reason there.",
                "Посмотрите конец `/var/log/asterisk/messages.log`: там Asterisk пишет причину.",
            ),
            SUPPORT,
        ),
    }
)

# Remarks added on top of an entry when the context calls for them.
NOTES: Mapping[str, tuple[Text, Text]] = MappingProxyType(
    {
        "unregistered": (
            T(
                " The trunk is not registered right now, which alone explains many failures.",
                " Сейчас транк не зарегистрирован, и уже одно это объясняет многие сбои.",
            ),
            T(
                "Fix the registration first: `trunkctl status` shows why the last REGISTER failed.",
                "Сначала почините регистрацию: `trunkctl status` покажет, почему не прошёл последний REGISTER.",
            ),
        ),
        "verification_pending": (
            T(
                " The IP verification is not done: NovoFon needs a call that gets through.",
                " Верификация IP не пройдена: NovoFon нужен звонок, который пройдёт.",
            ),
            T(
                "After fixing this, repeat the verification call and check the trunk's status in "
                "the NovoFon cabinet.",
                "Исправив это, повторите проверочный звонок и проверьте статус транка в кабинете NovoFon.",
            ),
        ),
    }
)
