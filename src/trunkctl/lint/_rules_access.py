"""manager.conf, ari.conf and http.conf rules: who can reach Asterisk's control ports.

Defaults are Asterisk 22's: AMI is off unless enabled=yes and then binds [::] (every
address) on port 5038 (main/manager.c __init_manager()); the HTTP server is off unless
enabled=yes AND bindaddr is set (main/http.c __ast_http_load(): a NULL bindaddr does not
resolve, so nothing listens); ARI is on whenever the HTTP server is (res_ari general
enabled defaults to yes). Secrets are judged, never printed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Final

from trunkctl.conf import Resolution, ResolvedSection
from trunkctl.i18n import Text

from ._context import LintContext
from ._known import AMI_GENERAL_OPTIONS, AMI_USER_OPTIONS, AMI_USER_PREFIXES
from ._model import Hit
from ._registry import rule
from ._values import host_port, is_false, is_true, weak_secret_reason

_AMI_DEFAULT_BIND: Final = "::"


def _general(res: Resolution | None) -> ResolvedSection | None:
    if res is None:
        return None
    return next((s for s in res.sections if s.name.lower() == "general"), None)


def _bind_scope(value: str | None) -> str:
    """``all`` (0.0.0.0, ::), ``loopback``, ``address`` (one specific address) or ``bad``."""
    hp = host_port(value or "")
    host = hp[0] if hp else (value or "")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return "bad" if value else "all"
    if addr.is_unspecified:
        return "all"
    return "loopback" if addr.is_loopback else "address"


def _ami(ctx: LintContext) -> tuple[ResolvedSection | None, list[ResolvedSection], str] | None:
    """(general, users, bind scope) when AMI is enabled, else ``None``."""
    res = ctx.conf("manager.conf")
    general = _general(res)
    if res is None or general is None or not is_true(general.get("enabled")):
        return None
    users = [s for s in res.sections if s.name.lower() != "general"]
    return general, users, _bind_scope(general.get("bindaddr") or _AMI_DEFAULT_BIND)


@rule(
    "AMI001",
    "warning",
    title=Text("AMI listens on every address", "AMI слушает на всех адресах"),
    why=Text(
        "With bindaddr = 0.0.0.0 (or none: the default is [::]) the manager port 5038 is "
        "open to every network the server is on; scanners try it with sample passwords. "
        "trunkctl and local tools only need 127.0.0.1.",
        "С bindaddr = 0.0.0.0 (или без него: по умолчанию [::]) порт 5038 открыт всем сетям "
        "сервера; сканеры пробуют его с паролями из примеров. trunkctl и локальным "
        "инструментам достаточно 127.0.0.1.",
    ),
    fix=Text(
        "In manager.conf [general] set `bindaddr = 127.0.0.1`.",
        "В manager.conf [general] укажите `bindaddr = 127.0.0.1`.",
    ),
)
def _ami_bind(ctx: LintContext) -> Iterator[Hit]:
    ami = _ami(ctx)
    if ami is None or ami[2] != "all":
        return
    general = ami[0]
    assert general is not None
    shown = general.get("bindaddr")
    yield Hit(
        Text(
            f"AMI is enabled on {shown or 'every address (no bindaddr)'}",
            f"AMI включён на {shown or 'всех адресах (нет bindaddr)'}",
        ),
        (ctx.at(general, "bindaddr") if shown else ctx.at(general, "enabled"),),
    )


@rule(
    "AMI002",
    "error",
    title=Text("AMI user without permit/deny", "Пользователь AMI без permit/deny"),
    why=Text(
        "A manager user without permit= may log in from any address; whoever guesses or "
        "finds the secret (often committed to a repository) controls the PBX, including "
        "Originate to premium numbers.",
        "Пользователь AMI без permit= может войти с любого адреса; тот, кто угадал или нашёл "
        "пароль (часто он лежит в репозитории), управляет АТС, включая Originate на платные "
        "номера.",
    ),
    fix=Text(
        "Add `deny = 0.0.0.0/0.0.0.0` and `permit = 127.0.0.1/255.255.255.255` (plus the "
        "hosts that really need AMI) to the user.",
        "Добавьте пользователю `deny = 0.0.0.0/0.0.0.0` и `permit = 127.0.0.1/255.255.255.255` "
        "(и те хосты, которым AMI действительно нужен).",
    ),
)
def _ami_acl(ctx: LintContext) -> Iterator[Hit]:
    ami = _ami(ctx)
    if ami is None:
        return
    _general_sec, users, scope = ami
    for user in users:
        if not any(user.get(k) for k in ("permit", "deny", "acl")):
            yield Hit(
                Text(
                    f"AMI user [{user.name}] may log in from any address",
                    f"пользователь AMI [{user.name}] может войти с любого адреса",
                ),
                (ctx.at(user),),
                severity="warning" if scope == "loopback" else None,
            )


@rule(
    "AMI003",
    "error",
    title=Text("Weak or sample AMI secret", "Слабый или типовой пароль AMI"),
    why=Text(
        "Secrets like amp111, mysecret, the user name or anything short are the first a "
        "scanner tries; an AMI login can originate calls and run CLI commands.",
        "Пароли вроде amp111, mysecret, имени пользователя или любой короткий сканер пробует "
        "первыми; через AMI можно звонить (Originate) и выполнять команды CLI.",
    ),
    fix=Text(
        "Set a random secret of 16+ characters (e.g. `openssl rand -base64 18`) and keep it "
        "out of version control.",
        "Задайте случайный пароль от 16 символов (например, `openssl rand -base64 18`) и не "
        "храните его в системе контроля версий.",
    ),
)
def _ami_secret(ctx: LintContext) -> Iterator[Hit]:
    ami = _ami(ctx)
    if ami is None:
        return
    for user in ami[1]:
        secret = user.get("secret")
        if secret is None:
            continue
        reason = weak_secret_reason(secret, user.name)
        if reason is not None:
            yield Hit(
                Text(
                    f"AMI user [{user.name}] has a weak secret: {reason.en}",
                    f"у пользователя AMI [{user.name}] слабый пароль: {reason.ru}",
                ),
                (ctx.at(user, "secret"),),
            )


@rule(
    "AMI004",
    "warning",
    title=Text(
        "manager.conf option Asterisk ignores", "Параметр manager.conf, который Asterisk пропускает"
    ),
    why=Text(
        "Asterisk ignores unknown manager.conf keys (with a NOTICE at most): a typo such as "
        "`bindaddress` or `premit` silently leaves AMI open or unrestricted.",
        "Неизвестные ключи manager.conf Asterisk пропускает (максимум NOTICE в логе): "
        "опечатка вроде `bindaddress` или `premit` молча оставляет AMI открытым.",
    ),
    fix=Text(
        "Correct the key (see main/manager.c's list: bindaddr, permit, deny, secret, read, "
        "write…).",
        "Исправьте ключ (bindaddr, permit, deny, secret, read, write…).",
    ),
)
def _ami_unknown(ctx: LintContext) -> Iterator[Hit]:
    res = ctx.conf("manager.conf")
    if res is None:
        return
    for sec in res.sections:
        general = sec.name.lower() == "general"
        for key in dict.fromkeys(k.lower() for k, _ in sec.options):
            known = (
                key in AMI_GENERAL_OPTIONS
                if general
                else key in AMI_USER_OPTIONS or key.startswith(AMI_USER_PREFIXES)
            )
            if not known:
                yield Hit(
                    Text(
                        f"manager.conf [{sec.name}]: {key!r} is not an option; Asterisk ignores it",
                        f"manager.conf [{sec.name}]: {key!r} — не параметр, Asterisk его "
                        "пропускает",
                    ),
                    (ctx.at(sec, key),),
                )


def _http(ctx: LintContext) -> tuple[ResolvedSection, str] | None:
    """The http.conf [general] and its bind scope when the HTTP server listens."""
    general = _general(ctx.conf("http.conf"))
    if general is None or not is_true(general.get("enabled")) or not general.get("bindaddr"):
        return None
    return general, _bind_scope(general.get("bindaddr"))


@rule(
    "ARI001",
    "error",
    title=Text("Weak ARI password", "Слабый пароль ARI"),
    why=Text(
        "ARI users can originate calls and control channels over HTTP; a weak plain-text "
        "password on a server listening on every address is an open door.",
        "Пользователи ARI могут звонить и управлять каналами по HTTP; слабый пароль при "
        "сервере, слушающем на всех адресах, — открытая дверь.",
    ),
    fix=Text(
        "Give the ARI user a random password of 16+ characters (or password_format = crypt) "
        "and bind http.conf to 127.0.0.1.",
        "Задайте пользователю ARI случайный пароль от 16 символов (или password_format = "
        "crypt) и привяжите http.conf к 127.0.0.1.",
    ),
)
def _ari_password(ctx: LintContext) -> Iterator[Hit]:
    http = _http(ctx)
    res = ctx.conf("ari.conf")
    ari_general = _general(res)
    if http is None or res is None:
        return
    if ari_general is not None and is_false(ari_general.get("enabled")):
        return
    if ctx.modules is not None and "res_ari" not in ctx.modules:
        return
    scope = http[1]
    for user in res.sections:
        if (user.get("type") or "").lower() != "user":
            continue
        if (user.get("password_format") or "plain").lower() != "plain":
            continue
        reason = weak_secret_reason(user.get("password") or "", user.name)
        if reason is not None:
            yield Hit(
                Text(
                    f"ARI user [{user.name}] has a weak password: {reason.en}",
                    f"у пользователя ARI [{user.name}] слабый пароль: {reason.ru}",
                ),
                (ctx.at(user, "password") if user.get("password") else ctx.at(user),),
                severity="error" if scope == "all" else "warning",
            )


@rule(
    "HTTP001",
    "warning",
    title=Text(
        "Asterisk's HTTP server listens on every address",
        "HTTP-сервер Asterisk слушает на всех адресах",
    ),
    why=Text(
        "http.conf with bindaddr = 0.0.0.0 exposes ARI (and AMI over HTTP when webenabled) "
        "to every network the server is on.",
        "http.conf с bindaddr = 0.0.0.0 открывает ARI (и AMI по HTTP при webenabled) всем "
        "сетям сервера.",
    ),
    fix=Text(
        "Set `bindaddr = 127.0.0.1` in http.conf [general] (put a reverse proxy with TLS in "
        "front if remote access is needed).",
        "Укажите `bindaddr = 127.0.0.1` в http.conf [general] (для удалённого доступа — "
        "обратный прокси с TLS).",
    ),
)
def _http_bind(ctx: LintContext) -> Iterator[Hit]:
    http = _http(ctx)
    if http is None:
        return
    general, scope = http
    if scope == "all":
        yield Hit(
            Text(
                f"the HTTP server (ARI) listens on {general.get('bindaddr')}",
                f"HTTP-сервер (ARI) слушает на {general.get('bindaddr')}",
            ),
            (ctx.at(general, "bindaddr"),),
        )


@rule(
    "ARI002",
    "warning",
    title=Text(
        "ARI accepts requests from web pages of any site",
        "ARI принимает запросы со страниц любого сайта",
    ),
    why=Text(
        "allowed_origins = * lets JavaScript on any web page your browser opens call ARI "
        "(CORS): a page that knows or guesses the ARI credentials originates calls through "
        "the PBX from inside your network, past the firewall.",
        "allowed_origins = * позволяет JavaScript с любой страницы, открытой в вашем "
        "браузере, обращаться к ARI (CORS): страница, знающая или угадавшая пароль ARI, "
        "звонит через АТС изнутри вашей сети, минуя файрвол.",
    ),
    fix=Text(
        "List only the origins of your own web apps: `allowed_origins = "
        "https://panel.example.ru` (or remove the line).",
        "Перечислите только адреса своих веб-приложений: `allowed_origins = "
        "https://panel.example.ru` (или уберите строку).",
    ),
)
def _ari_origins(ctx: LintContext) -> Iterator[Hit]:
    res = ctx.conf("ari.conf")
    general = _general(res)
    if general is None or is_false(general.get("enabled")):
        return
    value = general.get("allowed_origins") or ""
    if "*" in [v.strip() for v in value.split(",")]:
        yield Hit(
            Text(
                f"ari.conf allowed_origins = {value}",
                f"в ari.conf allowed_origins = {value}",
            ),
            (ctx.at(general, "allowed_origins"),),
            severity="warning" if _http(ctx) is not None else "info",
        )


def _privileges(value: str | None) -> set[str]:
    return {p.strip().lower() for p in (value or "").split(",") if p.strip()}


def _loopback_only(user: ResolvedSection) -> bool:
    """Whether the user's permit lines allow loopback addresses only."""
    permits = user.get_all("permit")
    if not permits:
        return False
    for p in permits:
        net = p.split("/", 1)[0].strip()
        try:
            if not ipaddress.ip_address(net).is_loopback:
                return False
        except ValueError:
            return False
    return True


@rule(
    "AMI005",
    "warning",
    title=Text(
        "AMI user with more power than it needs",
        "Пользователь AMI с лишними правами",
    ),
    why=Text(
        "write = all, command (any CLI command), or system together with originate "
        "(Originate may then run the System() and Exec() applications: shell commands as "
        "the asterisk user) turn a leaked AMI secret into control of the server, not just "
        "of calls. A monitoring or click-to-call tool needs far less.",
        "write = all, command (любая команда CLI) или system вместе с originate (тогда "
        "Originate может запускать приложения System() и Exec() — команды shell от имени "
        "asterisk) превращают утёкший пароль AMI в контроль над сервером, а не только над "
        "звонками. Мониторингу или click-to-call нужно гораздо меньше.",
    ),
    fix=Text(
        "Give each tool its own AMI user with only what it uses (e.g. `write = originate` "
        "for click-to-call, `read = call` for monitoring) and permit it from 127.0.0.1 only.",
        "Заведите каждому инструменту своего пользователя AMI только с нужными правами "
        "(например, `write = originate` для click-to-call, `read = call` для мониторинга) "
        "и разрешите вход только с 127.0.0.1.",
    ),
)
def _ami_privileges(ctx: LintContext) -> Iterator[Hit]:
    ami = _ami(ctx)
    if ami is None:
        return
    for user in ami[1]:
        write = _privileges(user.get("write"))
        broad: list[str] = [p for p in ("all", "command") if p in write]
        if "system" in write and "originate" in write:
            broad.append("system+originate")
        if not broad:
            continue
        local = _loopback_only(user)
        tail_en = " (it may log in from loopback only, which limits the harm)" if local else ""
        tail_ru = " (вход только с loopback, что ограничивает вред)" if local else ""
        yield Hit(
            Text(
                f"AMI user [{user.name}] may write {', '.join(broad)}{tail_en}",
                f"пользователь AMI [{user.name}] может write {', '.join(broad)}{tail_ru}",
            ),
            (ctx.at(user, "write"),),
            severity="info" if local else None,
        )
