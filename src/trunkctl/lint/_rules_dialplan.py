"""extensions.conf rules: contexts that must exist, dial strings, and the way out.

Context names are case-sensitive in Asterisk 22 (main/pbx.c compares them with strcmp()),
so ``[Outgoing]`` does not satisfy ``Local/…@outgoing``; messages point out such near
misses.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from trunkctl.conf import ResolvedSection
from trunkctl.i18n import Text

from ._context import LintContext
from ._dialplan import Dialplan, Priority, dial_targets, jumps
from ._model import Hit
from ._registry import rule
from ._rules_conf import chan_sip_state

OUTGOING = "outgoing"


def _case_hint(plan: Dialplan, name: str) -> tuple[str, str]:
    other = next((c for c in plan.sections if c.lower() == name.lower()), None)
    if other is None:
        return "", ""
    return (
        f" ([{other}] exists: context names are case-sensitive)",
        f" (есть [{other}]: регистр в именах контекстов важен)",
    )


@rule(
    "DIAL001",
    "error",
    title=Text("No [outgoing] context", "Нет контекста [outgoing]"),
    why=Text(
        "trunkctl's test and verification calls (and the seed guide's `channel originate "
        "Local/79991234567@outgoing`) enter the dialplan at [outgoing]; beside a trunk "
        "trunkctl wrote, without it they fail at once ('No such extension/context … while "
        "calling Local channel'). Where your own outbound dialplan has another name, only a "
        "note.",
        "Тестовые и верификационные звонки trunkctl (и `channel originate "
        "Local/79991234567@outgoing` из инструкции) входят в диалплан через [outgoing]; "
        "рядом с транком, записанным trunkctl, без него они сразу завершаются ('No such "
        "extension/context … while calling Local channel'). Если ваш исходящий диалплан "
        "назван иначе — только замечание.",
    ),
    fix=Text(
        "Let `trunkctl setup` write [outgoing], or add `[outgoing]` with `exten => _X.,1,"
        "Dial(PJSIP/${EXTEN}@<trunk>,60)`.",
        "Пусть `trunkctl setup` запишет [outgoing], или добавьте `[outgoing]` с `exten => "
        "_X.,1,Dial(PJSIP/${EXTEN}@<транк>,60)`.",
    ),
)
def _no_outgoing(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    if plan is None:
        if ctx.status.get("extensions.conf") == "missing" and not ctx.other_dialplan_sources:
            yield Hit(
                Text(
                    "there is no extensions.conf, so no dialplan and no [outgoing]",
                    "нет extensions.conf — нет ни диалплана, ни [outgoing]",
                ),
                (f"{ctx.show_path(str(ctx.path('extensions.conf')))}: missing",),
            )
        return
    if OUTGOING in plan:
        return
    trunks = ctx.provider_endpoints
    if not trunks:
        return  # no trunk yet: PJSIP023 says what to do first
    ours = [ep for ep in trunks if ctx.written_by_trunkctl(ep)]
    en, ru = _case_hint(plan, OUTGOING)
    where = (
        f"{ctx.show_path(str(ctx.path('extensions.conf')))}: contexts: "
        f"{', '.join(list(plan.sections)[:8]) or '(none)'}",
    )
    if ours:
        yield Hit(
            Text(
                f"extensions.conf has no [outgoing] context{en}, but trunkctl's trunk "
                f"[{ours[0].name}] is dialled from there",
                f"в extensions.conf нет [outgoing]{ru}, а транк trunkctl [{ours[0].name}] "
                "набирается оттуда",
            ),
            where,
        )
        return
    names_ = {ep.name for ep in trunks}
    own = sorted(
        {
            p.context
            for p in plan.all_priorities()
            for t in dial_targets(p)
            if t.literal_endpoint in names_ and ctx.reached(p.context)
        }
    )
    if own:
        msg = Text(
            f"your calls go out through [{', '.join(own[:3])}]; trunkctl's own test calls "
            f"would need an [outgoing] context{en}",
            f"ваши звонки уходят через [{', '.join(own[:3])}]; тестовым звонкам trunkctl "
            f"нужен контекст [outgoing]{ru}",
        )
    else:
        msg = Text(
            f"extensions.conf has no [outgoing] context{en} and no context dials the trunk",
            f"в extensions.conf нет [outgoing]{ru}, и ни один контекст не набирает через транк",
        )
    yield Hit(msg, where, severity="info")


@rule(
    "DIAL002",
    "error",
    title=Text(
        "An endpoint's context does not exist in the dialplan",
        "Контекста endpoint нет в диалплане",
    ),
    why=Text(
        "Calls arriving on an endpoint start in its context= (default: 'default'); if "
        "extensions.conf has no such context, Asterisk answers 404 Not Found and the call "
        "is lost.",
        "Звонки на endpoint начинаются в его context= (по умолчанию 'default'); если в "
        "extensions.conf такого контекста нет, Asterisk отвечает 404 Not Found и звонок "
        "теряется.",
    ),
    fix=Text(
        "Create the context in extensions.conf, or point context= at an existing one.",
        "Создайте контекст в extensions.conf или укажите в context= существующий.",
    ),
)
def _missing_context(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    if plan is None:
        return
    # Debian's package ships extensions.ael and extensions.lua beside extensions.conf:
    # their contexts count too, and only one the lint cannot read fully makes it unsure.
    foreign = ctx.foreign_contexts
    elsewhere = frozenset().union(*(names for names, _complete in foreign.values()))
    partial = not all(complete for _names, complete in foreign.values())
    files = ", ".join(["extensions.conf", *foreign])
    for ep in ctx.objects("endpoint"):
        name = (ep.get("context") or "default").strip()
        if name in plan or name in elsewhere or "$" in name:
            continue
        en, ru = _case_hint(plan, name)
        yield Hit(
            Text(
                f"endpoint [{ep.name}] context = {name}: no such context in {files}{en}",
                f"endpoint [{ep.name}] context = {name}: такого контекста нет в {files}{ru}",
            ),
            (ctx.at(ep, "context") if ep.get("context") else ctx.at(ep),),
            severity="warning" if partial else None,
        )


@rule(
    "DIAL003",
    "error",
    title=Text(
        "Dial(SIP/…) on an Asterisk without chan_sip",
        "Dial(SIP/…) в Asterisk без chan_sip",
    ),
    why=Text(
        "SIP/ is chan_sip's technology, removed in Asterisk 21. Dial(SIP/…) then fails "
        "with CHANUNAVAIL ('No channel type registered for SIP'); PJSIP trunks are dialled as "
        "PJSIP/number@endpoint.",
        "SIP/ — технология chan_sip, удалённого в Asterisk 21. Dial(SIP/…) тогда "
        "завершается CHANUNAVAIL ('No channel type registered for SIP'); транки PJSIP набирают как "
        "PJSIP/номер@endpoint.",
    ),
    fix=Text(
        "Write Dial(PJSIP/${EXTEN}@<trunk endpoint>) instead of Dial(SIP/<trunk>/${EXTEN}).",
        "Пишите Dial(PJSIP/${EXTEN}@<endpoint транка>) вместо Dial(SIP/<транк>/${EXTEN}).",
    ),
)
def _chan_sip_dial(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    state = chan_sip_state(ctx)
    if plan is None or state is True:
        return
    if state is False:
        en, ru = "this Asterisk has no chan_sip", "в этом Asterisk нет chan_sip"
    else:
        en = "chan_sip is gone since Asterisk 21"
        ru = "chan_sip удалён начиная с Asterisk 21"
    # Unknown Asterisk: with a sip.conf beside it, it may still be an old chan_sip one.
    unsure = state is None and ctx.exists("sip.conf")
    for prio in plan.all_priorities():
        if not any(t.tech == "SIP" for t in dial_targets(prio)):
            continue
        reached = ctx.reached(prio.context)
        tail_en = "" if reached else f" (but nothing reaches [{prio.context}])"
        tail_ru = "" if reached else f" (но в [{prio.context}] ничто не попадает)"
        yield Hit(
            Text(
                f"[{prio.context}] dials SIP/…: {en}{tail_en}",
                f"[{prio.context}] набирает SIP/…: {ru}{tail_ru}",
            ),
            (ctx.at_prio(prio),),
            severity="info" if not reached else "warning" if unsure else None,
        )


@dataclass(frozen=True, slots=True)
class _Step:
    context: str
    via: tuple[str, ...]  # evidence of each hop
    path: tuple[str, ...]  # contexts passed, the start first


def _trunk_dials(ctx: LintContext, prio: Priority) -> list[str]:
    """Literal trunk names this priority dials with a caller-chosen number."""
    out: list[str] = []
    if not prio.is_pattern:
        return out
    for t in dial_targets(prio):
        if t.tech not in ("PJSIP", "SIP", "IAX2") or t.literal_endpoint is None:
            continue
        if t.number is not None and "${EXTEN" in t.number.upper():
            out.append(t.literal_endpoint)
    return out


def _ways_out(
    ctx: LintContext, plan: Dialplan, start: str
) -> Iterator[tuple[Priority, str, _Step]]:
    """Pattern priorities reachable from ``start`` with the caller's number that Dial a
    trunk with it: through include => (same number), and Goto/Gosub/Local carrying
    ${EXTEN} from a pattern extension."""
    todo: deque[_Step] = deque([_Step(start, (), (start,))])
    seen = {start}
    while todo:
        step = todo.popleft()
        for prio in plan.priorities.get(step.context, []):
            for trunk in _trunk_dials(ctx, prio):
                yield prio, trunk, step
            if not prio.is_pattern:
                continue
            for jump in jumps(prio):
                if "${EXTEN" in jump.exten.upper() and jump.context not in seen:
                    seen.add(jump.context)
                    where = ctx.at_prio(prio)
                    todo.append(_Step(jump.context, (*step.via, where), (*step.path, jump.context)))
        for target, sec, value in plan.includes.get(step.context, []):
            if target not in seen:
                seen.add(target)
                hop = ctx.at(sec, "include", value)
                todo.append(_Step(target, (*step.via, hop), (*step.path, target)))


@rule(
    "DIAL004",
    "error",
    title=Text(
        "Calls from outside can dial out through the trunk (toll fraud)",
        "Звонки снаружи могут звонить наружу через транк (фрод)",
    ),
    why=Text(
        "The provider's (or an anonymous) endpoint puts inbound calls into a context; if "
        "that context reaches Dial(PJSIP/${EXTEN}@trunk) — directly, via include => or a "
        "Goto/Local hop — anyone who can send you an INVITE (spoofing the provider's name) "
        "calls premium numbers on your account.",
        "Endpoint провайдера (или анонимный) направляет входящие в контекст; если из него "
        "достижим Dial(PJSIP/${EXTEN}@транк) — напрямую, через include => или Goto/Local, — "
        "любой, кто пришлёт вам INVITE (подделав имя провайдера), звонит на платные номера "
        "за ваш счёт.",
    ),
    fix=Text(
        "Keep inbound contexts separate: answer, queue or ring phones there, never include "
        "[outgoing] or any context that dials the trunk.",
        "Держите входящие контексты отдельно: там отвечайте, ставьте в очередь, звоните на "
        "телефоны, но никогда не подключайте [outgoing] и другие контексты с набором через транк.",
    ),
)
def _toll_fraud(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    if plan is None:
        return
    inbound: dict[str, ResolvedSection] = {}
    anonymous = ctx.object("anonymous", "endpoint")
    for ep in [*ctx.provider_endpoints, *([anonymous] if anonymous else [])]:
        inbound.setdefault((ep.get("context") or "default").strip(), ep)
    for start, ep in inbound.items():
        for prio, trunk, step in _ways_out(ctx, plan, start):
            route = " → ".join(step.path)
            yield Hit(
                Text(
                    f"calls arriving on [{ep.name}] enter [{start}] and can dial any number "
                    f"through [{trunk}] ({route})",
                    f"звонки на [{ep.name}] попадают в [{start}] и могут набрать любой номер "
                    f"через [{trunk}] ({route})",
                ),
                (
                    ctx.at(ep, "context") if ep.get("context") else ctx.at(ep),
                    *step.via,
                    ctx.at_prio(prio),
                ),
            )
            break  # one path per inbound context is enough to make the point


@rule(
    "DIAL005",
    "error",
    title=Text(
        "Dial(PJSIP/…) names an endpoint that does not exist",
        "Dial(PJSIP/…) указывает на несуществующий endpoint",
    ),
    why=Text(
        "Dial(PJSIP/number@name) needs an endpoint called exactly 'name' in pjsip.conf; "
        "otherwise the call fails at once with CHANUNAVAIL ('endpoint … was not found').",
        "Dial(PJSIP/номер@имя) требует endpoint с точно таким именем в pjsip.conf; иначе "
        "звонок сразу завершается CHANUNAVAIL ('endpoint … was not found').",
    ),
    fix=Text(
        "Use the trunk endpoint's exact name (case matters) after the '@'.",
        "Укажите после '@' точное имя endpoint транка (регистр важен).",
    ),
)
def _dial_missing_endpoint(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    if plan is None or ctx.pjsip is None:
        return
    for prio in plan.all_priorities():
        for t in dial_targets(prio):
            name = t.literal_endpoint
            if t.tech != "PJSIP" or name is None or ctx.object(name, "endpoint") is not None:
                continue
            en, ru = ctx.near_miss(name, "endpoint")
            yield Hit(
                Text(
                    f"[{prio.context}] dials PJSIP endpoint {name!r}, which pjsip.conf lacks{en}",
                    f"[{prio.context}] набирает PJSIP endpoint {name!r}, которого нет в "
                    f"pjsip.conf{ru}",
                ),
                (ctx.at_prio(prio),),
            )


@rule(
    "DIAL006",
    "warning",
    title=Text(
        "include => names a missing context", "include => указывает на несуществующий контекст"
    ),
    why=Text(
        "An include of a context that does not exist adds nothing: the numbers you meant "
        "to make reachable answer 404.",
        "include несуществующего контекста ничего не добавляет: номера, которые вы хотели "
        "сделать доступными, отвечают 404.",
    ),
    fix=Text(
        "Fix the context name (case matters) or create that context.",
        "Исправьте имя контекста (регистр важен) или создайте его.",
    ),
)
def _missing_include(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    if plan is None or ctx.other_dialplan_sources:
        return
    for context, incs in plan.includes.items():
        for target, sec, value in incs:
            if target in plan or "$" in target or not target:
                continue
            en, ru = _case_hint(plan, target)
            yield Hit(
                Text(
                    f"[{context}] includes [{target}], which does not exist{en}",
                    f"[{context}] подключает [{target}], которого нет{ru}",
                ),
                (ctx.at(sec, "include", value),),
            )


_EIGHT_CALLERID = re.compile(r"CALLERID\((num|all)\)\s*=\s*\"?[^\d+]*8\d{10}\b", re.I)


@rule(
    "DIAL007",
    "warning",
    title=Text(
        "Numbers in the Russian 8… form go to the provider as they are",
        "Номера в форме 8… уходят провайдеру как есть",
    ),
    why=Text(
        "NovoFon expects E.164 digits (79991234567): a call to 89991234567, or a caller ID "
        "set to 8…, is refused or shown wrongly. Users type 8…, so the dialplan must rewrite it.",
        "NovoFon ждёт цифры E.164 (79991234567): звонок на 89991234567 или номер звонящего "
        "8… отклоняется или показывается неверно. Пользователи набирают 8…, поэтому "
        "диалплан должен переписывать номер.",
    ),
    fix=Text(
        "Rewrite before dialling: `exten => _8XXXXXXXXXX,1,Goto(${CONTEXT},7${EXTEN:1},1)`; "
        "set the caller ID as 7XXXXXXXXXX.",
        "Переписывайте номер перед набором: `exten => _8XXXXXXXXXX,1,Goto(${CONTEXT},"
        "7${EXTEN:1},1)`; номер звонящего указывайте как 7XXXXXXXXXX.",
    ),
)
def _eight_prefix(ctx: LintContext) -> Iterator[Hit]:
    plan = ctx.dialplan
    profile = ctx.facts.provider
    if plan is None or profile is None or profile.number_format != "e164_digits":
        return
    trunks = {ep.name for ep in ctx.provider_endpoints if ctx.is_profile_trunk(ep)}
    if not trunks:
        return
    for prio in plan.all_priorities():
        if prio.app.lower() == "set" and _EIGHT_CALLERID.search(prio.data):
            yield Hit(
                Text(
                    f"[{prio.context}] sets an 8… caller ID",
                    f"[{prio.context}] ставит номер звонящего в форме 8…",
                ),
                (ctx.at_prio(prio),),
            )
        if not prio.exten.startswith("_8"):
            continue
        for t in dial_targets(prio):
            number = (t.number or "").replace(" ", "")
            if t.literal_endpoint in trunks and "${EXTEN}" in number.upper():
                yield Hit(
                    Text(
                        f"[{prio.context}] {prio.exten} dials {t.literal_endpoint} with the "
                        "number still starting with 8",
                        f"[{prio.context}] {prio.exten} набирает через {t.literal_endpoint} "
                        "номер, всё ещё начинающийся с 8",
                    ),
                    (ctx.at_prio(prio),),
                )
