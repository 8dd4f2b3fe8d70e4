"""Turn a rendered trunk into staged edits of pjsip.conf and extensions.conf.

Every section trunkctl writes carries a marker comment right above its header
(``; trunkctl: <trunk> <type> ...``). Sections with the same (name, type) but no marker
are the user's own: they are reported as conflicts and left alone unless ``force``.
Nothing here writes: edits are staged on a :class:`trunkctl.conf.Transaction`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from trunkctl.conf import Document, Line, Section, Transaction
from trunkctl.errors import BadInput, TrunkctlError
from trunkctl.i18n import Text
from trunkctl.pjsip import DialplanContext, PjsipObject, TrunkConfig, render_trunk

from ._existing import Leftover, Replaced, check_not_generated, find_leftovers, foreign_section
from ._transports import pick_transport

__all__ = ["MARKER", "Conflict", "SetupPlan", "owner_at", "owner_of", "plan_setup"]

MARKER = "trunkctl:"
PJSIP = "pjsip.conf"
EXTENSIONS = "extensions.conf"


@dataclass(frozen=True, slots=True)
class Conflict:
    """A section of the user's own where trunkctl wanted to write one."""

    file: str
    name: str
    type: str | None
    line: int

    def describe(self) -> str:
        kind = f" (type={self.type})" if self.type else ""
        return f"{self.file}:{self.line}: [{self.name}]{kind}"


@dataclass(slots=True)
class SetupPlan:
    """What setup would change: staged texts on the transaction, plus what it found."""

    config: TrunkConfig
    conflicts: list[Conflict] = field(default_factory=list)
    transport: str = ""
    created_transport: bool = False
    removed: list[str] = field(default_factory=list)
    # The user's sections a --force replaces (their text, secrets masked).
    replaced: list[Replaced] = field(default_factory=list)
    # The user's own registration/auth to the same provider: lines to remove by hand.
    leftovers: list[Leftover] = field(default_factory=list)
    # What setup decided on its own (a reused inbound context, a transport in an include…).
    notes: list[Text] = field(default_factory=list)


def _marker(trunk: str, kind: str) -> str:
    return f"{MARKER} {trunk} {kind}, managed by `trunkctl setup`"


def _line_no(doc: Document, section: Section) -> int:
    """The header's line in the file as read, not in the text edited since (issue 11)."""
    if section.source_line is not None:
        return section.source_line
    for n, line in enumerate(doc.lines(), 1):
        if line is section.header:
            return n
    return 0


def _marker_words(line: Line) -> list[str] | None:
    """The words after ``trunkctl:`` of a marker comment line, else None."""
    if line.kind != "comment":
        return None
    body = line.text.strip().lstrip(";").strip()
    return body[len(MARKER) :].split() if body.startswith(MARKER) else None


def owner_at(doc: Document, index: int) -> str | None:
    """The trunk named by the marker comment right above section ``index``, if any.

    Only the comment lines touching the header are read (the section's lead-in), not the
    file.
    """
    sec = doc.sections_[index]
    above = doc.sections_[index - 1].body if index > 0 else doc.preamble
    for line in (*reversed(sec.lead), *reversed(above)):
        words = _marker_words(line)
        if line.kind != "comment":
            return None  # a blank line or an option: no marker touches this header
        if words is not None:
            return words[0] if words else None
    return None


def owner_of(doc: Document, section: Section) -> str | None:
    """The trunk named by the marker comment right above ``section``, if trunkctl wrote it."""
    return owner_at(doc, doc.sections_.index(section))


def _claim(
    doc: Document,
    name: str,
    type_: str | None,
    trunk: str,
    file: str,
    force: bool,
    plan: SetupPlan,
) -> tuple[Section | None, bool]:
    """The existing section (or None) and whether trunkctl may write it."""
    existing = doc.find(name, type_)
    if existing is None:
        return None, True
    if owner_of(doc, existing) == trunk or force:
        return existing, True
    plan.conflicts.append(Conflict(file, name, type_, _line_no(doc, existing)))
    return existing, False


def _is_marker_of(trunk: str, kind: str | None = None) -> Callable[[Line], bool]:
    """Accept the marker comment of ``trunk`` (and of ``kind``, if given)."""

    def accept(line: Line) -> bool:
        words = _marker_words(line)
        if not words or words[0] != trunk:
            return False
        return kind is None or (len(words) > 1 and words[1].rstrip(",") == kind)

    return accept


def _rewrite(
    doc: Document, sec: Section, options: tuple[tuple[str, str], ...], comment: str, trunk: str
) -> None:
    """Rewrite a section's options in place and mark it as the trunk's (issue 11).

    Never removed and appended: the section keeps its place (order matters in a dialplan),
    its header line, and every comment, blank line and directive in and around it.
    """
    sec.replace_options(options, templates=[])
    sec.mark(comment, _is_marker_of(trunk))


def _write_object(
    doc: Document, obj: PjsipObject, trunk: str, force: bool, plan: SetupPlan, after: Section | None
) -> Section | None:
    """Write one object; return the section new objects should follow."""
    sec, writable = _claim(doc, obj.name, obj.type, trunk, PJSIP, force, plan)
    if not writable:
        return sec
    comment = _marker(trunk, obj.type)
    if sec is None:
        return doc.add_section(obj.name, obj.options, after=after, comment=comment)
    if owner_of(doc, sec) != trunk:  # --force over the user's own section
        _rewrite(doc, sec, obj.options, comment, trunk)
        return sec
    return doc.upsert_section(obj.name, obj.options, type=obj.type, prune=True)


def _write_context(
    doc: Document, ctx: DialplanContext, trunk: str, force: bool, plan: SetupPlan
) -> None:
    sec, writable = _claim(doc, ctx.name, None, trunk, EXTENSIONS, force, plan)
    if not writable:
        return
    comment = _marker(trunk, "context") + f" — {ctx.comment}"
    if sec is None:
        doc.add_section(ctx.name, ctx.lines, comment=comment)
    elif sec.items() != list(ctx.lines) or owner_of(doc, sec) != trunk:
        _rewrite(doc, sec, ctx.lines, comment, trunk)


def plan_setup(tx: Transaction, config: TrunkConfig, *, force: bool = False) -> SetupPlan:
    """Stage the trunk's sections on ``tx`` (pjsip.conf, extensions.conf); return the plan.

    With conflicts and no ``force`` nothing is staged: the caller shows them and stops.
    A file marked as generated is refused (BadInput) unless ``force``; the user's own
    inbound context is never written over, even with ``force``: the endpoint points at it.
    """
    if not force:
        check_not_generated(tx.cfg)
    config = _protect_inbound(tx, config)
    plan = SetupPlan(config)
    if config.spec.user_inbound:
        _note_user_inbound(tx, config, plan)
    trunk = config.spec.name
    pjsip = tx.read(PJSIP)
    plan.replaced = _foreign(pjsip, tx.read(EXTENSIONS), config) if force else []
    choice = pick_transport(tx, pjsip, config.spec)
    transport = choice.name
    plan.transport = transport
    plan.created_transport = choice.created
    plan.notes += choice.notes
    objects = [
        PjsipObject(
            o.name,
            o.type,
            tuple((k, transport) if k == "transport" else (k, v) for k, v in o.options),
        )
        for o in config.objects
    ]
    other = _set_transport_options(tx, pjsip, config, transport, choice.file)
    after = pjsip.find(transport, "transport")
    for obj in objects:
        after = _write_object(pjsip, obj, trunk, force, plan, after) or after
    for name, type_ in config.stale:
        sec = pjsip.find(name, type_)
        if sec is not None and owner_of(pjsip, sec) == trunk:
            # Its header, options and own marker go; a user's comment near it stays.
            pjsip.remove_section(sec, keep_comments=True, owned=_is_marker_of(trunk, type_))
            plan.removed.append(f"[{name}] type={type_}")
    dialplan = tx.read(EXTENSIONS)
    for ctx in config.contexts:
        _write_context(dialplan, ctx, trunk, force, plan)
    _remove_unused_contexts(dialplan, config, plan)
    if plan.conflicts and not force:
        return plan
    tx.stage(PJSIP, pjsip)
    tx.stage(EXTENSIONS, dialplan)
    if other is not None:
        tx.stage(other[0], other[1])
    host = config.spec.profile.sip_host
    plan.leftovers = find_leftovers(
        tx.cfg, trunk, host, files={str(tx.cfg.file(r)): d for r, d in tx.staged.items()}
    )
    return plan


def _remove_unused_contexts(dialplan: Document, config: TrunkConfig, plan: SetupPlan) -> None:
    """Remove the trunk's own contexts it no longer writes and its endpoint no longer uses
    (its generated inbound context after a switch to ``--inbound-context NAME``).

    Only trunkctl's marker-owned contexts of this trunk go, as stale pjsip sections do: the
    header, the options and the trunk's own marker; every other line of the user's stays.
    """
    trunk = config.spec.name
    keep = {c.name.lower() for c in config.contexts} | {config.spec.inbound_context.lower()}
    for i, sec in reversed(list(enumerate(dialplan.sections_))):
        if sec.name.lower() in keep or sec.is_append or owner_at(dialplan, i) != trunk:
            continue
        dialplan.remove_section(sec, keep_comments=True, owned=_is_marker_of(trunk, "context"))
        plan.removed.append(f"{EXTENSIONS} [{sec.name}]")


def _protect_inbound(tx: Transaction, config: TrunkConfig) -> TrunkConfig:
    """Never write over the user's own inbound context: point the endpoint at it instead."""
    spec = config.spec
    if spec.user_inbound:
        return config
    dialplan = tx.read(EXTENSIONS)
    if foreign_section(dialplan, EXTENSIONS, spec.inbound_context, None, spec.name) is None:
        return config
    if spec.inbound_app is not None:
        raise BadInput(
            Text(
                f"extensions.conf already has your own [{spec.inbound_context}]: trunkctl "
                f"does not replace it with one running {spec.inbound_app}",
                f"в extensions.conf уже есть ваш [{spec.inbound_context}]: trunkctl не "
                f"заменяет его контекстом с {spec.inbound_app}",
            ),
            next_step=Text(
                f"Nothing was written. Use your context: --inbound-context "
                f"{spec.inbound_context}; or rename yours and run again.",
                f"Ничего не записано. Используйте свой контекст: --inbound-context "
                f"{spec.inbound_context}; или переименуйте свой и запустите снова.",
            ),
        )
    return render_trunk(replace(spec, user_inbound=True))


def _note_user_inbound(tx: Transaction, config: TrunkConfig, plan: SetupPlan) -> None:
    name = config.spec.inbound_context
    dialplan = tx.read(EXTENSIONS)
    if dialplan.find(name) is not None:
        plan.notes.append(
            Text(
                f"calls from the provider go to your own context [{name}] in extensions.conf "
                "(trunkctl does not write it; --inbound-app APP makes trunkctl write one)",
                f"звонки от провайдера идут в ваш контекст [{name}] в extensions.conf "
                "(trunkctl его не пишет; --inbound-app ПРИЛОЖЕНИЕ — чтобы trunkctl написал свой)",
            )
        )
        return
    try:
        found = tx.resolve(EXTENSIONS).find(name) is not None
    except TrunkctlError:  # an unreadable dialplan: say the context is not seen
        found = False
    if not found:
        plan.notes.append(
            Text(
                f"the endpoint's context [{name}] is not in extensions.conf or its includes: "
                "Asterisk rejects calls from the provider until it exists",
                f"контекста endpoint [{name}] нет в extensions.conf и его include: Asterisk "
                "отклонит звонки от провайдера, пока его нет",
            )
        )


def _foreign(pjsip: Document, dialplan: Document, config: TrunkConfig) -> list[Replaced]:
    """The user's sections a --force run replaces, each with its (masked) text."""
    trunk = config.spec.name
    found = [foreign_section(pjsip, PJSIP, o.name, o.type, trunk) for o in config.objects]
    found += [foreign_section(dialplan, EXTENSIONS, c.name, None, trunk) for c in config.contexts]
    return [r for r in found if r is not None]


def _set_transport_options(
    tx: Transaction, pjsip: Document, config: TrunkConfig, transport: str, file: str
) -> tuple[str, Document] | None:
    """Set (or clear) the NAT options on the chosen transport, in the file that defines it.

    Returns (file, document) when that file is not pjsip.conf and must be staged too.
    """
    if not config.transport_options and not config.transport_clear:
        return None
    doc = pjsip if file == PJSIP else tx.read(file)
    tsec = doc.find(transport, "transport")
    if tsec is None:
        raise BadInput(
            Text(f"transport {transport} vanished", f"транспорт {transport} исчез"),
            evidence=file,
        )
    keys = dict.fromkeys(k for k, _ in config.transport_options)
    for key in keys:
        tsec.set_all(key, [v for k, v in config.transport_options if k == key])
    for key in config.transport_clear:
        if key in tsec:
            tsec.remove(key)
    return None if file == PJSIP else (file, doc)
