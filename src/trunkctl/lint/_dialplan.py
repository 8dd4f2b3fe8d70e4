"""The dialplan as pbx_config builds it from a resolved extensions.conf, for the lint.

A small model, not an interpreter: contexts, their priorities (extension, application,
data), ``include =>`` edges, and the dial strings and jumps an application names. It
follows pbx/pbx_config.c pbx_load_config() of Asterisk 22: [general] and [globals] are not
contexts, a context split over several sections is one context, context names are
case-sensitive, ``same =>`` continues the previous extension, an application's data is
what lies between the first '(' and the last ')'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from trunkctl.conf import Resolution, ResolvedSection

__all__ = [
    "DialTarget",
    "Dialplan",
    "Jump",
    "Priority",
    "dial_targets",
    "jumps",
    "parse_target",
    "split_args",
]

_NOT_CONTEXTS: Final = frozenset({"general", "globals"})
# Applications that hand the call to another place in the dialplan: (context, exten) are
# the first two of three location arguments ([[context,]exten,]priority).
_JUMPS: Final = frozenset({"goto", "gosub", "gotoif", "gosubif", "exec"})


@dataclass(frozen=True, slots=True)
class Priority:
    """One ``exten =>`` / ``same =>`` line: extension pattern, application and its data."""

    context: str
    exten: str
    app: str
    data: str
    section: ResolvedSection
    key: str
    value: str
    nth: int = 0  # earlier lines of this section with the same key and value

    @property
    def is_pattern(self) -> bool:
        """A ``_…`` pattern: any number it matches can be dialled into it."""
        return self.exten.startswith("_")


@dataclass(frozen=True, slots=True)
class DialTarget:
    """One ``TECH/resource`` of a Dial(): for PJSIP ``[user@]endpoint[/uri]``."""

    tech: str
    resource: str
    endpoint: str | None = None
    number: str | None = None

    @property
    def literal_endpoint(self) -> str | None:
        """The endpoint name when it is fixed text (no ``${...}``)."""
        e = self.endpoint
        return e if e and "$" not in e else None


@dataclass(frozen=True, slots=True)
class Jump:
    """A hand-over to ``context`` (Goto/Gosub/Local channel) carrying ``exten``."""

    context: str
    exten: str
    priority: Priority


@dataclass(slots=True)
class Dialplan:
    """Contexts of one extensions.conf, in file order."""

    priorities: dict[str, list[Priority]] = field(default_factory=dict)
    includes: dict[str, list[tuple[str, ResolvedSection, str]]] = field(default_factory=dict)
    sections: dict[str, list[ResolvedSection]] = field(default_factory=dict)

    @classmethod
    def from_resolution(cls, res: Resolution) -> Dialplan:
        """Build the model the way pbx_config reads the categories."""
        plan = cls()
        for sec in res.sections:
            if sec.name.lower() in _NOT_CONTEXTS:
                continue
            name = sec.name
            plan.sections.setdefault(name, []).append(sec)
            prios = plan.priorities.setdefault(name, [])
            incs = plan.includes.setdefault(name, [])
            last = ""  # "Reset continuation items at the beginning of each context"
            counts: dict[tuple[str, str], int] = {}
            for key, value in sec.options:
                nth = counts.get((key.lower(), value), 0)
                counts[(key.lower(), value)] = nth + 1
                low = key.lower()
                if low.startswith("same") or low == "exten":
                    if low == "exten":
                        ext, _, rest = value.partition(",")
                        last = ext.strip()
                    elif not last:
                        continue  # "No previous pattern in the first entry of context"
                    else:
                        rest = value
                    _prio, _, appl = rest.partition(",")
                    app, data = _app_data(appl)
                    cid = last.find("/")
                    exten = last if cid < 0 else last[:cid]
                    prios.append(Priority(name, exten, app, data, sec, key, value, nth))
                elif low == "include":
                    target = value.split(",", 1)[0].split("|", 1)[0].strip()
                    incs.append((target, sec, value))
        return plan

    def __contains__(self, context: object) -> bool:
        return context in self.sections

    def all_priorities(self) -> list[Priority]:
        """Every priority of every context."""
        return [p for prios in self.priorities.values() for p in prios]


def _app_data(appl: str) -> tuple[str, str]:
    appl = appl.strip()
    start = appl.find("(")
    if start < 0:
        return appl, ""
    app = appl[:start]
    if "${" in app or "$[" in app:
        return appl, ""
    end = appl.rfind(")")
    data = appl[start + 1 : end] if end > start else appl[start + 1 :]
    return app.strip(), data


def split_args(data: str) -> list[str]:
    """Application arguments split at top-level commas (``${...}``, ``$[...]``, quotes kept)."""
    out: list[str] = []
    depth = 0
    quote = False
    cur: list[str] = []
    i = 0
    while i < len(data):
        ch = data[i]
        if ch == "\\" and i + 1 < len(data):
            cur.append(data[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quote = not quote
        elif not quote and ch in "([{":
            depth += 1
        elif not quote and ch in ")]}" and depth:
            depth -= 1
        elif ch == "," and not depth and not quote:
            out.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur).strip())
    return out


def dial_targets(prio: Priority) -> list[DialTarget]:
    """The channels a ``Dial()`` (or ``Queue``-less ``Page``/``Originate``) would create."""
    if prio.app.lower() not in ("dial", "page"):
        return []
    first = split_args(prio.data)[0] if prio.data else ""
    return [parse_target(t.strip()) for t in first.split("&") if t.strip()]


def parse_target(target: str) -> DialTarget:
    """``PJSIP/79991234567@novofon`` → tech PJSIP, endpoint novofon, number 79991234567."""
    tech, _, resource = target.partition("/")
    t = tech.strip().upper()
    if t == "PJSIP":
        head, _, uri = resource.partition("/")
        if "@" in head:
            number, _, endpoint = head.rpartition("@")
            return DialTarget(t, resource, endpoint, number)
        return DialTarget(t, resource, head, uri or None)
    if t in ("SIP", "IAX2"):
        head, _, tail = resource.partition("/")
        if "@" in head:
            number, _, peer = head.rpartition("@")
            return DialTarget(t, resource, peer, number)
        return DialTarget(t, resource, head, tail or None)
    if t == "LOCAL":
        head = resource.split("/", 1)[0]
        number, _, context = head.rpartition("@")
        return DialTarget(t, resource, context or None, number or None)
    return DialTarget(t, resource)


def jumps(prio: Priority) -> list[Jump]:
    """Hand-overs to another context: Goto/GotoIf/Gosub/GosubIf with three location parts
    (also inside Exec()), and Dial(Local/exten@context)."""
    app = prio.app.lower()
    out = [
        Jump(t.endpoint, t.number or "", prio)
        for t in dial_targets(prio)
        if t.tech == "LOCAL" and t.endpoint
    ]
    if app == "exec":
        inner_app, _, inner = prio.data.partition("(")
        if inner_app.strip().lower() in _JUMPS - {"exec"}:
            nested = Priority(
                prio.context,
                prio.exten,
                inner_app.strip(),
                inner.rsplit(")", 1)[0],
                prio.section,
                prio.key,
                prio.value,
                prio.nth,
            )
            return jumps(nested)
        return out
    if app not in _JUMPS:
        return out
    if app in ("gotoif", "gosubif"):
        _cond, _, labels = prio.data.partition("?")
        places = [p for p in labels.split(":") if p.strip()]
    else:
        places = [prio.data]
    for place in places:
        parts = split_args(place.split("(", 1)[0] if app.startswith("gosub") else place)
        if len(parts) >= 3 and parts[0]:
            out.append(Jump(parts[0], parts[1], prio))
    return out
