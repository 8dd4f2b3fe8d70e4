"""pjsip.conf rules: the trunk's objects, their links, options, NAT, codecs and transports.

Asterisk behaviour each rule relies on is cited from Asterisk 22's res_pjsip sources or
from the sandbox's Asterisk 22.10; provider habits come from docs/providers.md.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterator
from typing import Final

from trunkctl.conf import ResolvedSection
from trunkctl.i18n import Text

from ._context import LintContext, contacts_of
from ._known import NOT_IN_PJSIP_CONF, PJSIP_TYPES, SINGLE_OBJECT_TYPES, option_info, option_names
from ._model import Hit
from ._registry import rule
from ._values import (
    codecs_of,
    has_since,
    host_port,
    identify_match_problem,
    is_false,
    is_true,
    names,
    sip_uri_host,
    sip_uri_problem,
    sip_uri_user,
    split_list,
    weak_secret_reason,
)

# --- the trunk's authentication ------------------------------------------------------------


@rule(
    "PJSIP001",
    "error",
    title=Text(
        "Provider endpoint has auth= but no outbound_auth=",
        "У endpoint провайдера есть auth=, но нет outbound_auth=",
    ),
    why=Text(
        "auth= is what Asterisk demands from callers who call IN to it; to answer the "
        "provider's 401/407 challenge on outgoing calls the endpoint needs outbound_auth=. "
        "With auth= only, every outgoing call ends in an endless 401/407 and the provider's "
        "own calls to you are challenged and fail.",
        "auth= — это то, что Asterisk требует от звонящих К НЕМУ; чтобы ответить на запрос "
        "пароля (401/407) провайдера при исходящих звонках, нужен outbound_auth=. С одним "
        "auth= каждый исходящий звонок упирается в бесконечные 401/407, а от входящих "
        "звонков провайдера Asterisk сам требует пароль, и они не проходят.",
    ),
    fix=Text(
        "In the provider's endpoint replace `auth = <name>` with `outbound_auth = <name>` "
        "(the registration needs `outbound_auth = <name>` too).",
        "В endpoint провайдера замените `auth = <имя>` на `outbound_auth = <имя>` (в "
        "registration тоже нужен `outbound_auth = <имя>`).",
    ),
)
def _auth_not_outbound(ctx: LintContext) -> Iterator[Hit]:
    for ep in ctx.provider_endpoints:
        if not ep.get("auth"):
            continue
        if not ep.get("outbound_auth"):
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] uses auth= where outbound_auth= is needed",
                    f"endpoint [{ep.name}]: auth= там, где нужен outbound_auth=",
                ),
                (ctx.at(ep, "auth"),),
            )
        else:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] also has auth=: Asterisk will challenge the "
                    "provider's own calls to you, and most providers do not answer challenges",
                    f"у endpoint [{ep.name}] есть и auth=: Asterisk будет требовать пароль "
                    "от входящих звонков провайдера, а провайдеры обычно на это не отвечают",
                ),
                (ctx.at(ep, "auth"),),
                fix=Text(
                    "Remove `auth =` from the provider's endpoint; identify the provider by "
                    "its addresses (type = identify) instead.",
                    "Уберите `auth =` из endpoint провайдера; опознавайте провайдера по его "
                    "адресам (type = identify).",
                ),
                severity="warning",
            )


@rule(
    "PJSIP002",
    "error",
    title=Text("Registration without outbound_auth=", "Регистрация без outbound_auth="),
    why=Text(
        "Providers challenge REGISTER with 401; a registration without outbound_auth= has no "
        "credentials to answer with, so it stays Rejected and no calls come in.",
        "Провайдер отвечает на REGISTER запросом пароля (401); регистрации без "
        "outbound_auth= нечем ответить, она остаётся Rejected, и входящие звонки не приходят.",
    ),
    fix=Text(
        "Add `outbound_auth = <auth name>` to the registration (the auth object holds the "
        "SIP login and password).",
        "Добавьте в registration `outbound_auth = <имя auth>` (в объекте auth — SIP-логин и "
        "пароль).",
    ),
)
def _registration_without_auth(ctx: LintContext) -> Iterator[Hit]:
    for reg in ctx.objects("registration"):
        if not split_list(reg.get("outbound_auth")):
            yield Hit(
                Text(
                    f"registration [{reg.name}] has no outbound_auth=",
                    f"у registration [{reg.name}] нет outbound_auth=",
                ),
                (ctx.at(reg),),
            )


# (type of the referring object, option, type it must name, is a list)
_REFERENCES: Final = (
    ("endpoint", "auth", "auth", True),
    ("endpoint", "outbound_auth", "auth", True),
    ("endpoint", "aors", "aor", True),
    ("registration", "outbound_auth", "auth", True),
    ("registration", "endpoint", "endpoint", False),
    ("identify", "endpoint", "endpoint", False),
)


@rule(
    "PJSIP003",
    "error",
    title=Text(
        "An object names an auth, aor or endpoint that does not exist",
        "Объект ссылается на несуществующий auth, aor или endpoint",
    ),
    why=Text(
        "Asterisk looks the name up when it needs it (names are case-sensitive): a missing "
        "auth means no credentials, a missing aor means nowhere to send calls, an identify "
        "without its endpoint matches calls to nothing.",
        "Asterisk ищет объект по имени в момент использования (регистр важен): нет auth — "
        "нет пароля, нет aor — некуда слать звонки, identify без своего endpoint никуда не "
        "направит звонок.",
    ),
    fix=Text(
        "Create the missing object, or correct the name to one that exists.",
        "Создайте недостающий объект или исправьте имя на существующее.",
    ),
)
def _missing_references(ctx: LintContext) -> Iterator[Hit]:
    for src_type, option, target_type, is_list in _REFERENCES:
        for obj in ctx.objects(src_type):
            value = obj.get(option)
            wanted = split_list(value) if is_list else ([value.strip()] if value else [])
            for name in wanted:
                if ctx.object(name, target_type) is not None:
                    continue
                en, ru = ctx.near_miss(name, target_type)
                yield Hit(
                    Text(
                        f"{src_type} [{obj.name}] {option} = {name}: no {target_type} "
                        f"called {name!r}{en}",
                        f"{src_type} [{obj.name}] {option} = {name}: нет {target_type} "
                        f"с именем {name!r}{ru}",
                    ),
                    (ctx.at(obj, option),),
                )
    for ident in ctx.objects("identify"):
        if not ident.get("endpoint"):
            yield Hit(
                Text(
                    f"identify [{ident.name}] has no endpoint=: Asterisk refuses it",
                    f"у identify [{ident.name}] нет endpoint=: Asterisk его не примет",
                ),
                (ctx.at(ident),),
            )


# --- objects Asterisk refuses or ignores ----------------------------------------------------


@rule(
    "PJSIP004",
    "error",
    title=Text(
        "Two objects of the same type share a name",
        "Два объекта одного типа с одинаковым именем",
    ),
    why=Text(
        "Sorcery refuses the WHOLE type when pjsip.conf has a duplicate object ('contains a "
        "duplicate object'): every endpoint (or aor, auth…) keeps its old state or, on "
        "start-up, none loads at all. [global] and [system] may appear once.",
        "Sorcery отвергает ВЕСЬ тип, если в pjsip.conf есть дубликат ('contains a duplicate "
        "object'): все endpoint (или aor, auth…) остаются в старом состоянии, а при запуске "
        "не загружается ни один. [global] и [system] допустимы один раз.",
    ),
    fix=Text(
        "Rename or merge the duplicates (same name with DIFFERENT types is fine: [novofon] "
        "as auth, aor and endpoint).",
        "Переименуйте или объедините дубликаты (одно имя у РАЗНЫХ типов — нормально: "
        "[novofon] как auth, aor и endpoint).",
    ),
)
def _duplicates(ctx: LintContext) -> Iterator[Hit]:
    for type_ in PJSIP_TYPES:
        objs = ctx.objects(type_)
        if type_ in SINGLE_OBJECT_TYPES and len(objs) > 1:
            yield Hit(
                Text(
                    f"{len(objs)} objects of type {type_}: Asterisk allows one and loads none",
                    f"{len(objs)} объекта типа {type_}: Asterisk допускает один и не "
                    "загрузит ни одного",
                ),
                tuple(ctx.at(o) for o in objs),
            )
            continue
        groups: dict[str, list[ResolvedSection]] = {}
        for o in objs:
            groups.setdefault(o.name, []).append(o)
        for name, group in groups.items():
            if len(group) > 1:
                yield Hit(
                    Text(
                        f"{len(group)} {type_} objects called [{name}]: Asterisk refuses "
                        f"every {type_} in pjsip.conf",
                        f"{len(group)} объекта {type_} с именем [{name}]: Asterisk отвергнет "
                        f"все {type_} из pjsip.conf",
                    ),
                    tuple(ctx.at(o) for o in group),
                )


# "Since" in the docs marks the release that last changed an option on some old branches
# (from_user: 13.18.0, 14.7.0), so release checks are kept to the branches trunkctl targets.
_SINCE_FROM: Final = (18, 0, 0)

# chan_sip habits and the pjsip option that replaces each.
_CHAN_SIP_OPTIONS: Final[dict[str, str]] = {
    "host": "aor contact = sip:HOST",
    "secret": "auth password (and outbound_auth on the endpoint)",
    "defaultuser": "auth username / registration client_uri",
    "fromuser": "from_user",
    "fromdomain": "from_domain",
    "dtmfmode": "dtmf_mode",
    "nat": "rtp_symmetric, force_rport, rewrite_contact",
    "qualify": "aor qualify_frequency",
    "insecure": "an identify object with match = the provider's address",
    "canreinvite": "direct_media",
    "directmedia": "direct_media",
    "port": "aor contact = sip:HOST:PORT",
    "register": "a type = registration object",
    "username": "auth username",
}


@rule(
    "PJSIP005",
    "error",
    title=Text(
        "An option this Asterisk does not know for that object type",
        "Параметр, которого этот Asterisk не знает для такого типа объекта",
    ),
    why=Text(
        "An unknown option makes sorcery drop the whole object ('Could not create an object "
        "of type'): the endpoint, auth or registration simply does not exist. Lists are "
        "Asterisk 22's own (config show help) and each option's first release.",
        "Неизвестный параметр заставляет sorcery выбросить весь объект ('Could not create an "
        "object of type'): endpoint, auth или registration просто не существует. Списки взяты "
        "из самого Asterisk 22 (config show help) вместе с версией появления параметра.",
    ),
    fix=Text(
        "Correct the option name (see the suggestion) or remove it; chan_sip names like "
        "host, secret, fromuser have pjsip equivalents.",
        "Исправьте имя параметра (см. подсказку) или удалите его; у имён из chan_sip (host, "
        "secret, fromuser) есть аналоги в pjsip.",
    ),
)
def _unknown_options(ctx: LintContext) -> Iterator[Hit]:
    version = ctx.version
    for type_ in PJSIP_TYPES:
        for obj in ctx.objects(type_):
            seen: set[str] = set()
            for key, _value in obj.options:
                low = key.lower()
                if low in seen:
                    continue
                seen.add(low)
                info = option_info(type_, key)
                if info is None:
                    en, ru = _suggest(type_, key)
                    yield Hit(
                        Text(
                            f"{type_} [{obj.name}]: unknown option {key!r}{en}; Asterisk "
                            "drops this object",
                            f"{type_} [{obj.name}]: неизвестный параметр {key!r}{ru}; Asterisk "
                            "выбросит этот объект",
                        ),
                        (ctx.at(obj, key),),
                    )
                elif (
                    version is not None
                    and version >= _SINCE_FROM
                    and info[2]
                    and (has_since(version, info[2]) is False)
                ):
                    v = ".".join(map(str, version))
                    yield Hit(
                        Text(
                            f"{type_} [{obj.name}]: {key!r} appeared in Asterisk {info[2]}; "
                            f"this Asterisk {v} drops the object",
                            f"{type_} [{obj.name}]: {key!r} появился в Asterisk {info[2]}; "
                            f"этот Asterisk {v} выбросит объект",
                        ),
                        (ctx.at(obj, key),),
                    )


def _suggest(type_: str, key: str) -> tuple[str, str]:
    low = key.lower()
    if low in _CHAN_SIP_OPTIONS:
        hint = _CHAN_SIP_OPTIONS[low]
        return f" (a chan_sip option; pjsip uses {hint})", f" (параметр chan_sip; в pjsip — {hint})"
    close = difflib.get_close_matches(low, option_names(type_), n=1, cutoff=0.75)
    if close:
        return f" (did you mean {close[0]!r}?)", f" (может быть, {close[0]!r}?)"
    owners = [t for t in PJSIP_TYPES if t != type_ and option_info(t, key) is not None]
    if owners:
        where = names(owners[:3])
        return f" (it belongs to {where})", f" (это параметр {where})"
    return "", ""


@rule(
    "PJSIP006",
    "error",
    title=Text(
        "A pjsip.conf section Asterisk ignores (no type, or an unknown type)",
        "Секция pjsip.conf, которую Asterisk пропускает (нет type или неизвестный type)",
    ),
    why=Text(
        "Sorcery loads a section only if its FIRST type= names a pjsip type exactly "
        "('endpoint', not 'Endpoint' or 'friend'); anything else is skipped without a word.",
        "Sorcery загружает секцию, только если её ПЕРВЫЙ type= точно называет тип pjsip "
        "('endpoint', а не 'Endpoint' или 'friend'); остальное молча пропускается.",
    ),
    fix=Text(
        "Give the section the right `type =` (endpoint, auth, aor, registration, identify, "
        "transport…).",
        "Укажите секции правильный `type =` (endpoint, auth, aor, registration, identify, "
        "transport…).",
    ),
)
def _ignored_sections(ctx: LintContext) -> Iterator[Hit]:
    if ctx.pjsip is None:
        return
    for sec in ctx.pjsip.sections:
        t = ctx.type_of(sec)
        if t in PJSIP_TYPES:
            continue
        if t is None:
            en, ru = "has no type=", "нет type="
        elif t.lower() in PJSIP_TYPES:
            en = f"type = {t}: Asterisk compares exactly, write {t.lower()!r}"
            ru = f"type = {t}: Asterisk сравнивает точно, пишите {t.lower()!r}"
        elif t in NOT_IN_PJSIP_CONF:
            en = f"type = {t} is never read from pjsip.conf (it lives in {NOT_IN_PJSIP_CONF[t]})"
            ru = f"type = {t} не читается из pjsip.conf (он хранится в {NOT_IN_PJSIP_CONF[t]})"
        elif t.lower() in ("friend", "peer", "user"):
            en = f"type = {t} is chan_sip's; pjsip needs endpoint + aor + auth"
            ru = f"type = {t} — из chan_sip; в pjsip нужны endpoint + aor + auth"
        else:
            close = difflib.get_close_matches(t.lower(), list(PJSIP_TYPES), n=1)
            tail_en = f" (did you mean {close[0]!r}?)" if close else ""
            tail_ru = f" (может быть, {close[0]!r}?)" if close else ""
            en, ru = f"unknown type = {t}{tail_en}", f"неизвестный type = {t}{tail_ru}"
        yield Hit(
            Text(
                f"[{sec.name}] {en}: Asterisk ignores this section",
                f"[{sec.name}] {ru}: Asterisk пропускает эту секцию",
            ),
            (ctx.at(sec, "type") if t is not None else ctx.at(sec),),
        )


# --- where calls go -----------------------------------------------------------------------


@rule(
    "PJSIP007",
    "error",
    title=Text(
        "Provider endpoint has no aor with a contact",
        "У endpoint провайдера нет aor с contact",
    ),
    why=Text(
        "Dial(PJSIP/number@trunk) sends the INVITE to the contacts of the endpoint's aors. "
        "A registration does not fill them in: without `contact = sip:provider` the call "
        "fails at once (CHANUNAVAIL) and never reaches the provider.",
        "Dial(PJSIP/номер@транк) отправляет INVITE на contact из aor этого endpoint. "
        "Регистрация их не заполняет: без `contact = sip:провайдер` звонок сразу "
        "завершается (CHANUNAVAIL) и до провайдера не доходит.",
    ),
    fix=Text(
        "Give the trunk's aor `contact = sip:<provider host>:<port>` and name it in the "
        "endpoint's `aors =`.",
        "Добавьте в aor транка `contact = sip:<адрес провайдера>:<порт>` и укажите этот aor "
        "в `aors =` endpoint.",
    ),
)
def _aor_without_contact(ctx: LintContext) -> Iterator[Hit]:
    # Trunks always; any other endpoint only when nothing can ever give it a contact (no
    # aor takes registrations): a phone's contacts come from its own REGISTER.
    def never_registers(e: ResolvedSection) -> bool:
        return not any(
            (a.get("max_contacts") or "0").strip() not in ("", "0") for a in ctx.aors_of(e)
        )

    others = [
        e
        for e in ctx.objects("endpoint")
        if ctx.role(e) != "trunk" and e.name != "anonymous" and never_registers(e)
    ]
    for ep in [*ctx.provider_endpoints, *others]:
        if not ctx.sends_calls(ep):
            continue  # an inbound-only trunk (identify, never dialled) needs no contact
        wanted = split_list(ep.get("aors"))
        if not wanted:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] has no aors=: calls through it cannot be sent",
                    f"у endpoint [{ep.name}] нет aors=: звонки через него некуда отправить",
                ),
                (ctx.at(ep),),
            )
            continue
        aors = ctx.aors_of(ep)
        if len(aors) < len(wanted):
            continue  # PJSIP003 reports the missing ones
        if not any(contacts_of(a) for a in aors):
            yield Hit(
                Text(
                    f"aor {names(a.name for a in aors)} of endpoint [{ep.name}] has no "
                    "contact=: Asterisk has nowhere to send outgoing calls",
                    f"у aor {names(a.name for a in aors)} endpoint [{ep.name}] нет contact=: "
                    "исходящие звонки некуда отправлять",
                ),
                tuple(ctx.at(a) for a in aors),
            )


@rule(
    "PJSIP008",
    "error",
    title=Text(
        "identify match= is not an address, network or host name",
        "identify match= — не адрес, не сеть и не имя хоста",
    ),
    why=Text(
        "A bad address/mask makes Asterisk drop the identify object; anything else is taken "
        "as a host name, and one that cannot resolve (sip:host, a placeholder, "
        "37.139.38.300) is skipped with only a warning. Either way the provider's calls "
        "match no endpoint and are rejected.",
        "Неверный адрес/маска — Asterisk выбрасывает объект identify; всё остальное "
        "считается именем хоста, и нерезолвящееся имя (sip:host, заглушка, 37.139.38.300) "
        "пропускается лишь с предупреждением. В обоих случаях звонки провайдера не находят "
        "endpoint и отклоняются.",
    ),
    fix=Text(
        "List the provider's addresses or host names: `match = sip.novofon.ru` or "
        "`match = 37.139.38.0/24` (comma-separated; no sip:, no port unless needed).",
        "Перечислите адреса или имена провайдера: `match = sip.novofon.ru` или "
        "`match = 37.139.38.0/24` (через запятую; без sip:).",
    ),
)
def _identify_match(ctx: LintContext) -> Iterator[Hit]:
    for ident in ctx.objects("identify"):
        values = ident.get_all("match")
        has_other = ident.get("match_header") or ident.get("match_request_uri")
        if not any(split_list(v) for v in values) and not has_other:
            # Asterisk refuses it ("is not configured to match anything"); for a phone,
            # matched by its auth anyway, that only costs an ERROR line per reload.
            target = (ident.get("endpoint") or "").strip()
            ep = ctx.object(target, "endpoint")
            phone = ep is not None and ctx.role(ep) == "phone"
            tail_en = f" (harmless: [{target}] is a phone, matched by its auth)" if phone else ""
            tail_ru = f" (не страшно: [{target}] — телефон, его опознают по auth)" if phone else ""
            yield Hit(
                Text(
                    f"identify [{ident.name}] has nothing to match (no match=): Asterisk "
                    f"refuses it{tail_en}",
                    f"identify [{ident.name}] ничего не сопоставляет (нет match=): Asterisk "
                    f"его не примет{tail_ru}",
                ),
                (ctx.at(ident),),
                severity="info" if phone else None,
            )
            continue
        for value in values:
            for item in split_list(value):
                problem = identify_match_problem(item)
                if problem is not None:
                    yield Hit(
                        Text(
                            f"identify [{ident.name}]: {problem.en}",
                            f"identify [{ident.name}]: {problem.ru}",
                        ),
                        (ctx.at(ident, "match", value),),
                    )


# --- media ----------------------------------------------------------------------------------


@rule(
    "PJSIP009",
    "error",
    title=Text(
        "Endpoint allows no codec the other side can use",
        "Endpoint не разрешает ни одного кодека, который есть у другой стороны",
    ),
    why=Text(
        "An endpoint allows no codec by default; with none in common every call fails with "
        "488 Not Acceptable Here. NovoFon uses G.711 (alaw, ulaw).",
        "По умолчанию endpoint не разрешает ни одного кодека; без общего кодека каждый "
        "звонок завершается 488 Not Acceptable Here. NovoFon использует G.711 (alaw, ulaw).",
    ),
    fix=Text(
        "Add `disallow = all` then `allow = alaw,ulaw` to the endpoint.",
        "Добавьте в endpoint `disallow = all`, затем `allow = alaw,ulaw`.",
    ),
)
def _codecs(ctx: LintContext) -> Iterator[Hit]:
    provider = ctx.facts.provider
    trunks = {ep.name for ep in ctx.provider_endpoints if ctx.is_profile_trunk(ep)}
    for ep in ctx.objects("endpoint"):
        codecs = codecs_of(ep.options)
        if codecs.empty:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] allows no codec at all",
                    f"endpoint [{ep.name}] не разрешает ни одного кодека",
                ),
                (ctx.at(ep, "allow") if ep.get("allow") is not None else ctx.at(ep),),
            )
        elif (
            provider is not None
            and ep.name in trunks
            and provider.codecs
            and not any(codecs.allows(c) for c in provider.codecs)
        ):
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] allows none of {provider.title}'s codecs "
                    f"({names(provider.codecs)})",
                    f"endpoint [{ep.name}] не разрешает ни одного кодека {provider.title} "
                    f"({names(provider.codecs)})",
                ),
                (ctx.at(ep, "allow"),),
                fix=Text(
                    f"Add `allow = {','.join(provider.codecs)}` after `disallow = all`.",
                    f"Добавьте `allow = {','.join(provider.codecs)}` после `disallow = all`.",
                ),
            )


@rule(
    "PJSIP010",
    "warning",
    title=Text("direct_media is on for the provider trunk", "direct_media включён для транка"),
    why=Text(
        "direct_media (default yes) lets Asterisk re-INVITE the provider to send audio "
        "straight to the other party; behind NAT or with a provider that ignores re-INVITEs "
        "this gives one-way or no audio after the answer.",
        "direct_media (по умолчанию yes) разрешает Asterisk пере-INVITE-ить провайдера, "
        "чтобы звук шёл напрямую; за NAT или у провайдера, игнорирующего re-INVITE, это "
        "даёт односторонний звук или тишину после ответа.",
    ),
    fix=Text(
        "Set `direct_media = no` on the provider's endpoint.",
        "Укажите `direct_media = no` в endpoint провайдера.",
    ),
)
def _direct_media(ctx: LintContext) -> Iterator[Hit]:
    for ep in ctx.provider_endpoints:
        value = ep.get("direct_media")
        if value is None:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] leaves direct_media at its default (yes)",
                    f"endpoint [{ep.name}] оставляет direct_media по умолчанию (yes)",
                ),
                (ctx.at(ep),),
                severity="info",
            )
        elif is_true(value):
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] has direct_media = {value}",
                    f"у endpoint [{ep.name}] direct_media = {value}",
                ),
                (ctx.at(ep, "direct_media"),),
            )


# --- NAT ------------------------------------------------------------------------------------


def _bind_host(transport: ResolvedSection) -> str | None:
    hp = host_port(transport.get("bind") or "")
    return hp[0] if hp else None


def _trunk_transports(ctx: LintContext) -> list[ResolvedSection]:
    named = {ep.get("transport") for ep in ctx.provider_endpoints} - {None}
    transports = ctx.objects("transport")
    picked = [t for t in transports if t.name in named]
    return picked or transports


@rule(
    "PJSIP011",
    "warning",
    title=Text(
        "Server behind NAT, but the transport does not know its public address",
        "Сервер за NAT, но транспорт не знает свой публичный адрес",
    ),
    why=Text(
        "Without external_media_address / external_signaling_address Asterisk puts its "
        "private address into SDP and Contact: the provider sends audio nowhere (one-way "
        "audio) and in-dialog requests get lost. local_net tells which peers are NOT "
        "behind the NAT.",
        "Без external_media_address / external_signaling_address Asterisk пишет в SDP и "
        "Contact свой частный адрес: провайдер шлёт звук в никуда (звук в одну сторону), "
        "запросы внутри диалога теряются. local_net говорит, какие адреса — локальные.",
    ),
    fix=Text(
        "On the transport set `external_media_address = <public IP>`, "
        "`external_signaling_address = <public IP>` and `local_net = <your LAN/CIDR>`.",
        "В транспорте укажите `external_media_address = <публичный IP>`, "
        "`external_signaling_address = <публичный IP>` и `local_net = <ваша сеть/CIDR>`.",
    ),
)
def _transport_nat(ctx: LintContext) -> Iterator[Hit]:
    public = ctx.facts.public_ip
    for t in _trunk_transports(ctx):
        ext_media = t.get("external_media_address")
        ext_sig = t.get("external_signaling_address")
        local = t.get_all("local_net")
        if public:
            if _bind_host(t) == public:
                continue  # bound to the public address itself: no NAT in between
            missing = [
                k
                for k, v in (
                    ("external_media_address", ext_media),
                    ("external_signaling_address", ext_sig),
                )
                if not v
            ]
            if not local:
                missing.append("local_net")
            if missing:
                yield Hit(
                    Text(
                        f"public IP {public} is given, but transport [{t.name}] has no "
                        f"{names(missing)}",
                        f"указан публичный IP {public}, но в транспорте [{t.name}] нет "
                        f"{names(missing)}",
                    ),
                    (ctx.at(t),),
                )
            for key, value in (
                ("external_media_address", ext_media),
                ("external_signaling_address", ext_sig),
            ):
                if value and (host_port(value) or ("", None))[0] != public:
                    yield Hit(
                        Text(
                            f"transport [{t.name}] {key} = {value}, but the public IP is {public}",
                            f"в транспорте [{t.name}] {key} = {value}, а публичный IP — {public}",
                        ),
                        (ctx.at(t, key),),
                    )
        elif (ext_media or ext_sig) and not local:
            yield Hit(
                Text(
                    f"transport [{t.name}] has an external address but no local_net: "
                    "Asterisk then rewrites addresses for LAN phones too",
                    f"в транспорте [{t.name}] есть внешний адрес, но нет local_net: Asterisk "
                    "подменит адреса и для телефонов в локальной сети",
                ),
                (ctx.at(t),),
                fix=Text(
                    "Add `local_net = <your LAN CIDR>` (one line per network).",
                    "Добавьте `local_net = <CIDR вашей сети>` (по строке на сеть).",
                ),
            )


@rule(
    "PJSIP012",
    "warning",
    title=Text(
        "NAT options missing on the provider endpoint",
        "На endpoint провайдера нет параметров для NAT",
    ),
    why=Text(
        "Behind NAT, rtp_symmetric=yes sends audio back where it came from, rewrite_contact"
        "=yes and force_rport=yes keep SIP replies on the NAT's address; without them audio "
        "is one-way and calls drop after ~30 s.",
        "За NAT rtp_symmetric=yes отправляет звук туда, откуда он пришёл, rewrite_contact"
        "=yes и force_rport=yes держат ответы SIP на адресе NAT; без них звук в одну сторону, "
        "а звонки рвутся через ~30 с.",
    ),
    fix=Text(
        "On the provider's endpoint set `rtp_symmetric = yes`, `force_rport = yes`, "
        "`rewrite_contact = yes`.",
        "В endpoint провайдера укажите `rtp_symmetric = yes`, `force_rport = yes`, "
        "`rewrite_contact = yes`.",
    ),
)
def _endpoint_nat(ctx: LintContext) -> Iterator[Hit]:
    behind_nat = bool(ctx.facts.public_ip) or any(
        t.get("external_media_address") or t.get("external_signaling_address")
        for t in ctx.objects("transport")
    )
    if not behind_nat:
        return
    for ep in ctx.provider_endpoints:
        # Defaults (config show help): rtp_symmetric no, rewrite_contact no, force_rport yes.
        missing = [k for k in ("rtp_symmetric", "rewrite_contact") if not is_true(ep.get(k))]
        if is_false(ep.get("force_rport")):
            missing.append("force_rport")
        if missing:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] behind NAT lacks {names(f'{k}=yes' for k in missing)}",
                    f"endpoint [{ep.name}] за NAT: нет {names(f'{k}=yes' for k in missing)}",
                ),
                (ctx.at(ep),),
            )


# --- identity -------------------------------------------------------------------------------


def _outbound_login(ctx: LintContext, ep: ResolvedSection) -> tuple[ResolvedSection, str] | None:
    for name in split_list(ep.get("outbound_auth")):
        auth = ctx.object(name, "auth")
        if auth is not None and auth.get("username"):
            return auth, auth.get("username") or ""
    return None


@rule(
    "PJSIP013",
    "warning",
    title=Text(
        "From user or registration user is not the SIP login",
        "From user или пользователь регистрации — не SIP-логин",
    ),
    why=Text(
        "Providers such as NovoFon identify the line by the From user of INVITEs and the "
        "user of the registration's client_uri: both must be the SIP login. Otherwise "
        "outgoing calls get 403 or are billed to nobody.",
        "Провайдеры вроде NovoFon узнают линию по From user в INVITE и по пользователю в "
        "client_uri регистрации: оба должны быть SIP-логином. Иначе исходящие получают 403.",
    ),
    fix=Text(
        "Set `from_user = <SIP login>` on the endpoint and `client_uri = sip:<SIP login>@"
        "<provider host>` on the registration.",
        "Укажите в endpoint `from_user = <SIP-логин>`, а в registration `client_uri = "
        "sip:<SIP-логин>@<адрес провайдера>`.",
    ),
)
def _login_mismatch(ctx: LintContext) -> Iterator[Hit]:
    profile = ctx.facts.provider
    for ep in ctx.provider_endpoints:
        found = _outbound_login(ctx, ep)
        if found is None:
            continue
        auth, login = found
        from_user = ep.get("from_user")
        regs = ctx.registrations_of(ep)
        if from_user is not None and from_user != login:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] from_user = {from_user}, but the login in "
                    f"auth [{auth.name}] is {login}",
                    f"в endpoint [{ep.name}] from_user = {from_user}, а логин в auth "
                    f"[{auth.name}] — {login}",
                ),
                (ctx.at(ep, "from_user"), ctx.at(auth, "username")),
            )
        elif from_user is None and regs:
            yield Hit(
                Text(
                    f"endpoint [{ep.name}] has no from_user: INVITEs carry the caller ID "
                    f"instead of the login {login}",
                    f"у endpoint [{ep.name}] нет from_user: в INVITE вместо логина {login} "
                    "уйдёт номер звонящего",
                ),
                (ctx.at(ep),),
            )
        for reg in regs:
            client = reg.get("client_uri") or ""
            user = sip_uri_user(client)
            if user is not None and user != login:
                yield Hit(
                    Text(
                        f"registration [{reg.name}] registers {user}, but the login is {login}",
                        f"registration [{reg.name}] регистрирует {user}, а логин — {login}",
                    ),
                    (ctx.at(reg, "client_uri"), ctx.at(auth, "username")),
                )
        if (
            profile is not None
            and ctx.is_profile_trunk(ep)
            and not re.fullmatch(profile.login_pattern, login)
        ):
            yield Hit(
                Text(
                    f"auth [{auth.name}] username does not look like a {profile.title} login "
                    f"({profile.login_hint.en})",
                    f"username в auth [{auth.name}] не похож на логин {profile.title} "
                    f"({profile.login_hint.ru})",
                ),
                (ctx.at(auth, "username"),),
            )


# auth_type values res_pjsip/config_auth.c auth_type_handler() accepts; "digest" only since
# 20.12.0 / 21.7.0 / 22.2.0 (checked against the tags).
_AUTH_TYPES: Final = ("userpass", "md5", "google_oauth", "digest")
_DIGEST_SINCE: Final = "20.12.0, 21.7.0, 22.2.0"


@rule(
    "PJSIP014",
    "error",
    title=Text(
        "auth_type this Asterisk does not accept",
        "auth_type, который этот Asterisk не принимает",
    ),
    why=Text(
        "auth_type=digest exists only since Asterisk 20.12, 21.7 and 22.2; older versions, "
        "like any unknown auth_type, drop the auth object, so the trunk has no credentials.",
        "auth_type=digest есть только с Asterisk 20.12, 21.7 и 22.2; старые версии, как и "
        "при любом неизвестном auth_type, выбрасывают объект auth — у транка нет пароля.",
    ),
    fix=Text(
        "Use `auth_type = userpass` (works on Asterisk 20–22).",
        "Используйте `auth_type = userpass` (работает на Asterisk 20–22).",
    ),
)
def _auth_type(ctx: LintContext) -> Iterator[Hit]:
    version = ctx.version
    for auth in ctx.objects("auth"):
        value = auth.get("auth_type")
        if value is None:
            continue
        low = value.strip().lower()
        if low not in _AUTH_TYPES:
            yield Hit(
                Text(
                    f"auth [{auth.name}] auth_type = {value} is not one of {names(_AUTH_TYPES)}",
                    f"auth [{auth.name}] auth_type = {value} — не из {names(_AUTH_TYPES)}",
                ),
                (ctx.at(auth, "auth_type"),),
            )
        elif low == "digest" and version is not None and has_since(version, _DIGEST_SINCE) is False:
            v = ".".join(map(str, version))
            yield Hit(
                Text(
                    f"auth [{auth.name}] auth_type = digest needs Asterisk 20.12/21.7/22.2+; "
                    f"this is {v}",
                    f"auth [{auth.name}] auth_type = digest требует Asterisk 20.12/21.7/22.2+; "
                    f"здесь {v}",
                ),
                (ctx.at(auth, "auth_type"),),
            )


# (type, option, required, user part expected)
_URI_OPTIONS: Final = (
    ("registration", "server_uri", True, False),
    ("registration", "client_uri", True, True),
    ("registration", "outbound_proxy", False, False),
    ("aor", "contact", False, False),
    ("aor", "outbound_proxy", False, False),
    ("endpoint", "outbound_proxy", False, False),
)


@rule(
    "PJSIP015",
    "error",
    title=Text("A SIP URI Asterisk cannot parse", "SIP URI, который Asterisk не разберёт"),
    why=Text(
        "server_uri, client_uri, contact and outbound_proxy must be SIP URIs "
        "(sip:host[:port], sip:user@host): a bare host or sip://host makes the registration "
        "or aor fail to load, so nothing registers and nothing is dialled. A '// comment' "
        "after a URI loads but stays inside it (a warning).",
        "server_uri, client_uri, contact и outbound_proxy должны быть SIP URI "
        "(sip:хост[:порт], sip:пользователь@хост): голый хост или sip://хост не даёт "
        "загрузиться registration или aor — нет ни регистрации, ни звонков. '// комментарий' "
        "после URI загружается, но остаётся внутри него (предупреждение).",
    ),
    fix=Text(
        "Write e.g. `server_uri = sip:sip.novofon.ru`, `client_uri = sip:<login>@sip.novofon."
        "ru`, `contact = sip:sip.novofon.ru:5060`.",
        "Пишите, например, `server_uri = sip:sip.novofon.ru`, `client_uri = sip:<логин>@sip."
        "novofon.ru`, `contact = sip:sip.novofon.ru:5060`.",
    ),
)
def _uris(ctx: LintContext) -> Iterator[Hit]:
    for type_, option, required, wants_user in _URI_OPTIONS:
        for obj in ctx.objects(type_):
            values = obj.get_all(option)
            if required and not any(v.strip() for v in values):
                yield Hit(
                    Text(
                        f"{type_} [{obj.name}] has no {option}: Asterisk refuses it",
                        f"у {type_} [{obj.name}] нет {option}: Asterisk его не примет",
                    ),
                    (ctx.at(obj),),
                )
                continue
            for value in values:
                items = split_list(value) if option in ("contact", "outbound_proxy") else [value]
                for item in items:
                    problem = sip_uri_problem(item)
                    bare = re.split(r"\s+(?://|#)", item, maxsplit=1)[0]
                    if problem is not None and bare != item and sip_uri_problem(bare) is None:
                        # Asterisk 22 loads it (the comment becomes part of the contact).
                        yield Hit(
                            Text(
                                f"{type_} [{obj.name}] {option}: {item.strip()!r} carries a "
                                "comment Asterisk does not know (comments start with ';'); "
                                "it loads, with the comment inside the URI",
                                f"{type_} [{obj.name}] {option}: в {item.strip()!r} "
                                "комментарий, которого Asterisk не знает (комментарии "
                                "начинаются с ';'); загрузится, но с комментарием внутри URI",
                            ),
                            (ctx.at(obj, option, value),),
                            fix=Text(
                                f"Write `{option} = {bare.strip()} ; comment`.",
                                f"Пишите `{option} = {bare.strip()} ; комментарий`.",
                            ),
                            severity="warning",
                        )
                    elif problem is not None:
                        yield Hit(
                            Text(
                                f"{type_} [{obj.name}] {option}: {problem.en}",
                                f"{type_} [{obj.name}] {option}: {problem.ru}",
                            ),
                            (ctx.at(obj, option, value),),
                        )
                    elif wants_user and sip_uri_user(item) is None:
                        yield Hit(
                            Text(
                                f"{type_} [{obj.name}] {option} has no user part: the "
                                "provider cannot tell which line registers",
                                f"в {type_} [{obj.name}] {option} нет пользователя: провайдер "
                                "не поймёт, какая линия регистрируется",
                            ),
                            (ctx.at(obj, option, value),),
                            severity="warning",
                        )


@rule(
    "PJSIP016",
    "info",
    title=Text(
        "The provider's aor is not qualified",
        "aor провайдера не проверяется (qualify)",
    ),
    why=Text(
        "Without qualify_frequency Asterisk never sends OPTIONS to the provider, so "
        "`pjsip show contacts` and trunkctl status cannot tell whether it is reachable, and "
        "a NAT mapping may expire between calls.",
        "Без qualify_frequency Asterisk не шлёт провайдеру OPTIONS: ни `pjsip show contacts`, "
        "ни trunkctl status не скажут, доступен ли он, а NAT-сопоставление может истечь.",
    ),
    fix=Text(
        "Set `qualify_frequency = 60` on the provider's aor.",
        "Укажите `qualify_frequency = 60` в aor провайдера.",
    ),
)
def _qualify(ctx: LintContext) -> Iterator[Hit]:
    for ep in ctx.provider_endpoints:
        for aor in ctx.aors_of(ep):
            if contacts_of(aor) and (aor.get("qualify_frequency") or "0").strip() in ("", "0"):
                yield Hit(
                    Text(
                        f"aor [{aor.name}] has no qualify_frequency",
                        f"у aor [{aor.name}] нет qualify_frequency",
                    ),
                    (ctx.at(aor),),
                )


@rule(
    "PJSIP017",
    "warning",
    title=Text(
        "An anonymous endpoint accepts calls from anyone",
        "Анонимный endpoint принимает звонки от кого угодно",
    ),
    why=Text(
        "Calls that match no other endpoint land on [anonymous] without authentication: "
        "spoofed calls from the whole Internet reach its context (and whatever it can dial).",
        "Звонки, не опознанные ни одним endpoint, попадают в [anonymous] без пароля: "
        "поддельные звонки со всего Интернета попадают в его контекст (и туда, куда он "
        "может звонить).",
    ),
    fix=Text(
        "Remove the [anonymous] endpoint and identify the provider by its addresses "
        "(type = identify, match = <provider host>).",
        "Удалите endpoint [anonymous] и опознавайте провайдера по адресам (type = identify, "
        "match = <адрес провайдера>).",
    ),
)
def _anonymous(ctx: LintContext) -> Iterator[Hit]:
    ep = ctx.object("anonymous", "endpoint")
    if ep is not None:
        yield Hit(
            Text(
                f"endpoint [anonymous] takes unauthenticated calls into context "
                f"{ep.get('context') or 'default'}",
                f"endpoint [anonymous] принимает звонки без пароля в контекст "
                f"{ep.get('context') or 'default'}",
            ),
            (ctx.at(ep),),
        )


@rule(
    "PJSIP018",
    "warning",
    title=Text(
        "Calls from the provider cannot be matched to its endpoint",
        "Входящие от провайдера не сопоставятся с его endpoint",
    ),
    why=Text(
        "Asterisk matches an incoming INVITE to an endpoint by source address (identify), "
        "by the registration's line (line=yes + endpoint=) or by From user. The provider "
        "puts the caller's number in From, so without identify or line its calls are "
        "rejected (or land on an anonymous endpoint).",
        "Asterisk сопоставляет входящий INVITE с endpoint по адресу источника (identify), "
        "по линии регистрации (line=yes + endpoint=) или по From user. Провайдер ставит в "
        "From номер звонящего, поэтому без identify или line его звонки отклоняются.",
    ),
    fix=Text(
        "Add `[<trunk>] type = identify, endpoint = <trunk>, match = <provider host>` (or "
        "`line = yes` and `endpoint = <trunk>` on the registration).",
        "Добавьте `[<транк>] type = identify, endpoint = <транк>, match = <адрес провайдера>` "
        "(или `line = yes` и `endpoint = <транк>` в registration).",
    ),
)
def _unidentified(ctx: LintContext) -> Iterator[Hit]:
    for ep in ctx.provider_endpoints:
        if ctx.identifies_of(ep):
            continue
        lines = [
            r
            for r in ctx.objects("registration")
            if is_true(r.get("line")) and r.get("endpoint") == ep.name
        ]
        if not lines:
            yield Hit(
                Text(
                    f"no identify (or registration line) points at endpoint [{ep.name}]",
                    f"ни identify, ни линия регистрации не указывают на endpoint [{ep.name}]",
                ),
                (ctx.at(ep),),
            )


# --- transports -----------------------------------------------------------------------------


@rule(
    "PJSIP019",
    "error",
    title=Text("No usable SIP transport", "Нет рабочего SIP-транспорта"),
    why=Text(
        "Without a transport (or with one missing bind=) res_pjsip listens nowhere and "
        "cannot send: every registration and call fails.",
        "Без транспорта (или без bind= в нём) res_pjsip ничего не слушает и не может "
        "отправлять: все регистрации и звонки завершаются ошибкой.",
    ),
    fix=Text(
        "Add `[transport-udp] type = transport, protocol = udp, bind = 0.0.0.0:5060`.",
        "Добавьте `[transport-udp] type = transport, protocol = udp, bind = 0.0.0.0:5060`.",
    ),
)
def _no_transport(ctx: LintContext) -> Iterator[Hit]:
    transports = ctx.objects("transport")
    users = ctx.objects("endpoint") + ctx.objects("registration")
    if users and not transports:
        yield Hit(
            Text(
                "pjsip.conf has endpoints or registrations but no type = transport",
                "в pjsip.conf есть endpoint или registration, но нет type = transport",
            ),
            (ctx.at(users[0]),),
        )
    for t in transports:
        protocol = (t.get("protocol") or "udp").lower()
        if protocol not in ("ws", "wss") and not (t.get("bind") or "").strip():
            yield Hit(
                Text(
                    f"transport [{t.name}] has no bind=: Asterisk cannot start it",
                    f"у транспорта [{t.name}] нет bind=: Asterisk не сможет его запустить",
                ),
                (ctx.at(t),),
            )


@rule(
    "PJSIP020",
    "error",
    title=Text("Names a transport that does not exist", "Ссылка на несуществующий транспорт"),
    why=Text(
        "An endpoint or registration whose transport= names no transport cannot send "
        "anything: Asterisk logs 'Unable to retrieve PJSIP transport' on every attempt.",
        "Endpoint или registration с transport=, указывающим в никуда, ничего не отправит: "
        "Asterisk на каждую попытку пишет 'Unable to retrieve PJSIP transport'.",
    ),
    fix=Text(
        "Point transport= at an existing `type = transport` section (or remove it to use "
        "the default).",
        "Укажите в transport= существующую секцию `type = transport` (или уберите "
        "параметр, чтобы взять транспорт по умолчанию).",
    ),
)
def _missing_transport(ctx: LintContext) -> Iterator[Hit]:
    for type_ in ("endpoint", "registration"):
        for obj in ctx.objects(type_):
            name = (obj.get("transport") or "").strip()
            if name and ctx.object(name, "transport") is None:
                en, ru = ctx.near_miss(name, "transport")
                yield Hit(
                    Text(
                        f"{type_} [{obj.name}] transport = {name}: no such transport{en}",
                        f"{type_} [{obj.name}] transport = {name}: такого транспорта нет{ru}",
                    ),
                    (ctx.at(obj, "transport"),),
                )


_Addr = ipaddress.IPv4Address | ipaddress.IPv6Address
_DEFAULT_PORTS: Final = {"udp": 5060, "tcp": 5060, "tls": 5061}
_SOCKET_KIND: Final = {"udp": "udp", "tcp": "tcp", "tls": "tcp"}


def _bind_key(
    t: ResolvedSection,
) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    protocol = (t.get("protocol") or "udp").strip().lower()
    kind = _SOCKET_KIND.get(protocol)
    hp = host_port(t.get("bind") or "")
    if kind is None or hp is None:
        return None
    try:
        addr = ipaddress.ip_address(hp[0])
    except ValueError:
        return None
    return kind, addr, hp[1] or _DEFAULT_PORTS[protocol]


def _overlap(a: _Addr, b: _Addr) -> bool:
    if a.version != b.version:
        return False
    return a == b or a.is_unspecified or b.is_unspecified


@rule(
    "PJSIP021",
    "error",
    title=Text(
        "Two transports bind the same address and port",
        "Два транспорта на одном адресе и порту",
    ),
    why=Text(
        "Only one socket can own an address:port (UDP and TCP are separate; 0.0.0.0 covers "
        "every IPv4 address): the second transport fails to bind and whatever uses it is "
        "dead.",
        "Адрес:порт может занять только один сокет (UDP и TCP — отдельно; 0.0.0.0 покрывает "
        "все IPv4-адреса): второй транспорт не поднимется, и всё, что на нём, не работает.",
    ),
    fix=Text(
        "Keep one transport per protocol and address:port (delete the extra or move it to "
        "another port).",
        "Оставьте один транспорт на протокол и адрес:порт (удалите лишний или перенесите на "
        "другой порт).",
    ),
)
def _duplicate_binds(ctx: LintContext) -> Iterator[Hit]:
    keyed = [(t, _bind_key(t)) for t in ctx.objects("transport")]
    bound = [(t, k) for t, k in keyed if k is not None]
    for i, (t1, k1) in enumerate(bound):
        for t2, k2 in bound[i + 1 :]:
            if k1[0] == k2[0] and k1[2] == k2[2] and _overlap(k1[1], k2[1]):
                yield Hit(
                    Text(
                        f"transports [{t1.name}] and [{t2.name}] both bind {k1[0]} port {k1[2]}",
                        f"транспорты [{t1.name}] и [{t2.name}] оба занимают {k1[0]} порт {k1[2]}",
                    ),
                    (ctx.at(t1, "bind"), ctx.at(t2, "bind")),
                )


@rule(
    "PJSIP022",
    "error",
    title=Text(
        "Weak password on an auth that callers log in with",
        "Слабый пароль в auth, с которым входят звонящие",
    ),
    why=Text(
        "Scanners try short, sample and user-name passwords against every SIP server; a "
        "phone account that falls can place calls through your trunk at your expense.",
        "Сканеры перебирают короткие, типовые и совпадающие с логином пароли на каждом "
        "SIP-сервере; взломанная учётная запись звонит через ваш транк за ваш счёт.",
    ),
    fix=Text(
        "Give the auth a random password of 16+ characters (e.g. `openssl rand -base64 18`).",
        "Задайте auth случайный пароль от 16 символов (например, `openssl rand -base64 18`).",
    ),
)
def _weak_inbound_auth(ctx: LintContext) -> Iterator[Hit]:
    # The trunks' own credentials are the provider's to choose; every auth= that callers
    # log in with (phones, apps, also a phone that names the same auth as outbound_auth)
    # is checked the same way.
    outbound = {n for ep in ctx.provider_endpoints for n in split_list(ep.get("outbound_auth"))} | {
        n for r in ctx.objects("registration") for n in split_list(r.get("outbound_auth"))
    }
    checked: set[str] = set()
    for ep in ctx.objects("endpoint"):
        for name in split_list(ep.get("auth")):
            auth = ctx.object(name, "auth")
            if auth is None or name in outbound or name in checked:
                continue
            checked.add(name)
            password = auth.get("password")
            if password is None:
                continue
            reason = weak_secret_reason(password, auth.get("username") or ep.name)
            if reason is not None:
                yield Hit(
                    Text(
                        f"auth [{auth.name}] (used by endpoint [{ep.name}]) has a weak "
                        f"password: {reason.en}",
                        f"в auth [{auth.name}] (endpoint [{ep.name}]) слабый пароль: {reason.ru}",
                    ),
                    (ctx.at(auth, "password"),),
                )


@rule(
    "PJSIP023",
    "info",
    title=Text("No provider trunk yet", "Транка к провайдеру пока нет"),
    why=Text(
        "No endpoint in pjsip.conf looks like a provider trunk (no registration, no contact "
        "or identify at a provider): calls cannot leave this server or come in from the "
        "phone network. A fresh install looks like this; it is not a fault.",
        "Ни один endpoint в pjsip.conf не похож на транк провайдера (нет регистрации, "
        "contact или identify на провайдера): звонки не уйдут с сервера и не придут из "
        "телефонной сети. Так выглядит свежая установка; это не ошибка.",
    ),
    fix=Text(
        "Write the trunk with `trunkctl setup --login <SIP login> --password-stdin`, then "
        "`trunkctl apply`.",
        "Запишите транк командой `trunkctl setup --login <SIP-логин> --password-stdin`, "
        "затем `trunkctl apply`.",
    ),
)
def _no_trunk(ctx: LintContext) -> Iterator[Hit]:
    if ctx.provider_endpoints or ctx.status.get("pjsip.conf") == "invalid":
        return
    eps = ctx.objects("endpoint")
    yield Hit(
        Text(
            f"pjsip.conf has {len(eps)} endpoint(s) and none is a provider trunk",
            f"в pjsip.conf endpoint: {len(eps)}, и ни один не транк провайдера",
        ),
        (f"{ctx.show_path(str(ctx.path('pjsip.conf')))}: {ctx.status.get('pjsip.conf')}",),
    )


@rule(
    "PJSIP024",
    "error",
    title=Text("An auth without username", "auth без username"),
    why=Text(
        "Asterisk refuses an auth object that has no username ('No authentication "
        "username', then 'Could not create an object of type auth'): the endpoint or "
        "registration that names it has no credentials, so phones cannot log in and "
        "registrations are never answered.",
        "Asterisk не принимает объект auth без username ('No authentication username', "
        "затем 'Could not create an object of type auth'): у endpoint или registration, "
        "которые на него ссылаются, нет учётных данных — телефоны не войдут, регистрация "
        "не пройдёт.",
    ),
    fix=Text(
        "Add `username = <login>` to the auth (for a phone, usually its extension number).",
        "Добавьте в auth `username = <логин>` (для телефона обычно его внутренний номер).",
    ),
)
def _auth_without_username(ctx: LintContext) -> Iterator[Hit]:
    users: dict[str, list[str]] = {}
    for type_, option in (
        ("endpoint", "auth"),
        ("endpoint", "outbound_auth"),
        ("registration", "outbound_auth"),
    ):
        for obj in ctx.objects(type_):
            for name in split_list(obj.get(option)):
                users.setdefault(name, []).append(f"{type_} [{obj.name}]")
    for auth in ctx.objects("auth"):
        if (auth.get("username") or "").strip():
            continue
        who = users.get(auth.name, [])
        en = f"; {names(who[:3])} then has no credentials" if who else ""
        ru = f"; у {names(who[:3])} тогда нет учётных данных" if who else ""
        yield Hit(
            Text(
                f"auth [{auth.name}] has no username: Asterisk refuses it{en}",
                f"у auth [{auth.name}] нет username: Asterisk его не примет{ru}",
            ),
            (ctx.at(auth),),
        )


# Transport options Asterisk resolves when it loads the transport (ast_sockaddr_resolve):
# a value that does not resolve is dropped with "Unable to lookup '…'".
_RESOLVED_OPTIONS: Final = ("external_media_address", "external_signaling_address")


def _lookup_problem(value: str) -> str | None:
    v = value.strip()
    if not v:
        return None
    if re.search(r"\s", v):
        return "it holds spaces (a comment? Asterisk comments start with ';')"
    hp = host_port(v)
    host = hp[0] if hp else v
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", host) or not re.fullmatch(
        r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?", host
    ):
        return f"{host!r} is neither an address nor a host name"
    return None


@rule(
    "PJSIP025",
    "error",
    title=Text(
        "A transport address Asterisk cannot look up",
        "Адрес транспорта, который Asterisk не может разрешить",
    ),
    why=Text(
        "external_media_address and external_signaling_address are resolved when the "
        "transport loads; a value that does not resolve (a '// comment' after the address, "
        "a typo) is dropped with only 'Unable to lookup': Asterisk then puts its private "
        "address into SDP and Contact, and audio or in-dialog requests get lost. Such a "
        "bind makes Asterisk refuse the whole transport ('Error parsing bind').",
        "external_media_address и external_signaling_address разрешаются при загрузке "
        "транспорта; значение, которое не разрешается ('// комментарий' после адреса, "
        "опечатка), отбрасывается лишь с 'Unable to lookup': Asterisk пишет в SDP и Contact "
        "свой частный адрес, звук или запросы внутри диалога теряются. Такой bind — и "
        "Asterisk отвергает весь транспорт ('Error parsing bind').",
    ),
    fix=Text(
        "Leave only the address on the line (comments start with ';'): "
        "`external_media_address = 203.0.113.7`.",
        "Оставьте в строке только адрес (комментарии начинаются с ';'): "
        "`external_media_address = 203.0.113.7`.",
    ),
)
def _unresolvable(ctx: LintContext) -> Iterator[Hit]:
    for t in ctx.objects("transport"):
        bind = t.get("bind")
        problem = _lookup_problem(bind or "")
        if bind is not None and problem is not None:
            # bind is parsed, not looked up: Asterisk refuses the whole transport.
            yield Hit(
                Text(
                    f"transport [{t.name}] bind = {bind}: {problem}; Asterisk refuses the "
                    "transport ('Error parsing bind')",
                    f"транспорт [{t.name}] bind = {bind}: {problem}; Asterisk не примет "
                    "транспорт ('Error parsing bind')",
                ),
                (ctx.at(t, "bind"),),
            )
        for key in _RESOLVED_OPTIONS:
            value = t.get(key)
            problem = _lookup_problem(value or "")
            if value is not None and problem is not None:
                yield Hit(
                    Text(
                        f"transport [{t.name}] {key} = {value}: {problem}; Asterisk logs "
                        "'Unable to lookup' and ignores it",
                        f"транспорт [{t.name}] {key} = {value}: {problem}; Asterisk пишет "
                        "'Unable to lookup' и игнорирует его",
                    ),
                    (ctx.at(t, key),),
                )


@rule(
    "PJSIP026",
    "warning",
    title=Text(
        "Two registrations to the same provider",
        "Две регистрации к одному провайдеру",
    ),
    why=Text(
        "An old registration left beside the new one keeps registering to the same host: "
        "with a stale login or password each attempt fails with 401/403 (at every reload "
        "and restart, or on a timer with auth_rejection_permanent = no), and providers "
        "block addresses that fail too often; with the same login the two replace each "
        "other's contact and incoming calls go to whichever registered last.",
        "Старая регистрация рядом с новой продолжает регистрироваться на тот же хост: со "
        "старым логином или паролем каждая попытка получает 401/403 (при каждом reload и "
        "перезапуске или по таймеру при auth_rejection_permanent = no), а провайдеры "
        "блокируют адреса с частыми ошибками; с тем же логином две регистрации вытесняют "
        "друг друга, и входящие уходят туда, кто зарегистрировался последним.",
    ),
    fix=Text(
        "Delete (or comment out) the registration you no longer use, then `trunkctl apply`.",
        "Удалите (или закомментируйте) ненужную регистрацию, затем `trunkctl apply`.",
    ),
)
def _twin_registrations(ctx: LintContext) -> Iterator[Hit]:
    by_host: dict[str, list[ResolvedSection]] = {}
    for reg in ctx.objects("registration"):
        host = sip_uri_host(reg.get("server_uri") or "")
        if host:
            by_host.setdefault(host.lower(), []).append(reg)
    for host, regs in by_host.items():
        if len(regs) < 2:
            continue
        ours = [r for r in regs if ctx.written_by_trunkctl(r)]
        beside = f" beside trunkctl's [{ours[0].name}]" if ours else ""
        beside_ru = f" рядом с регистрацией trunkctl [{ours[0].name}]" if ours else ""
        listed = names(f"[{r.name}]" for r in regs)
        yield Hit(
            Text(
                f"{len(regs)} registrations to {host}: {listed}{beside}",
                f"{len(regs)} регистрации на {host}: {listed}{beside_ru}",
            ),
            tuple(ctx.at(r, "server_uri") for r in regs),
        )


@rule(
    "PJSIP027",
    "warning",
    title=Text(
        "Anyone can reach the trunk's endpoint by putting its name in From",
        "Endpoint транка доступен любому, кто укажет его имя в From",
    ),
    why=Text(
        "identify_by defaults to username,ip: an INVITE whose From user is the endpoint's "
        "name matches it by name, from any address. A trunk endpoint has no inbound auth, "
        "so a stranger who guesses the name (novofon, trunk, provider…) gets into its "
        "context as if the provider called.",
        "identify_by по умолчанию username,ip: INVITE, у которого From user совпадает с "
        "именем endpoint, сопоставляется с ним по имени, с любого адреса. У endpoint транка "
        "нет входящей авторизации, так что посторонний, угадавший имя (novofon, trunk, "
        "provider…), попадает в его контекст, как будто звонит провайдер.",
    ),
    fix=Text(
        "Set `identify_by = ip` on the trunk's endpoint and match the provider's hosts with "
        "an identify (`type = identify`, `match = <provider host>`).",
        "Укажите `identify_by = ip` в endpoint транка и сопоставляйте хосты провайдера "
        "через identify (`type = identify`, `match = <адрес провайдера>`).",
    ),
)
def _from_user_match(ctx: LintContext) -> Iterator[Hit]:
    for ep in ctx.provider_endpoints:
        if split_list(ep.get("auth")):
            continue  # callers must authenticate anyway
        by = [x.lower() for x in split_list(ep.get("identify_by") or "username,ip")]
        if "username" not in by:
            continue
        shown = ep.get("identify_by")
        yield Hit(
            Text(
                f"endpoint [{ep.name}] has no auth= and identify_by = "
                f"{shown or 'username,ip (the default)'}: a From of {ep.name}@anything matches it",
                f"у endpoint [{ep.name}] нет auth=, а identify_by = "
                f"{shown or 'username,ip (по умолчанию)'}: From {ep.name}@что-угодно "
                "сопоставится с ним",
            ),
            (ctx.at(ep, "identify_by") if shown else ctx.at(ep),),
        )
