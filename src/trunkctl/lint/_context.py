"""What every rule sees: the config dir read as Asterisk reads it, plus the facts.

Files are resolved once (templates applied, includes followed) with trunkctl.conf's
resolver; a file Asterisk would refuse is kept as its parse error for CONF001. Evidence
lines point at the option's own line, found by scanning the file's text from its section
(ResolvedSection only knows the header's line).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from trunkctl.conf import (
    MASK,
    ConfMissingError,
    Line,
    Resolution,
    ResolvedSection,
    is_secret_key,
    parse,
    resolve,
)
from trunkctl.errors import ConfParseError

from ._dialplan import Dialplan, Priority, dial_targets, jumps, split_args
from ._known import SINGLE_OBJECT_TYPES, option_info
from ._model import LintFacts
from ._roles import EndpointRole, RoleKind, classify
from ._values import Version, parse_version, split_list

__all__ = ["FILES", "LintContext", "Where"]

# The files the lint reads, relative to the config dir.
FILES: Final = ("pjsip.conf", "extensions.conf", "manager.conf", "ari.conf", "http.conf")
_MAX_EXCERPT: Final = 120
# Keys people write with "=>" (the dialplan's), shown that way in evidence.
_OBJECT_KEYS: Final = frozenset({"exten", "same", "include", "switch", "ignorepat"})


@dataclass(frozen=True, slots=True)
class Where:
    """A place in a file: shown as ``pjsip.conf:14``."""

    file: str
    line: int


class LintContext:
    """The resolved files of one config dir, the facts, and helpers shared by rules."""

    def __init__(
        self,
        config_dir: str | os.PathLike[str],
        facts: LintFacts | None = None,
        *,
        files: Mapping[str, bytes] | None = None,
    ) -> None:
        self.config_dir = Path(config_dir).absolute()
        self.facts = facts or LintFacts()
        self.staged = {str(Path(k).absolute()): v for k, v in (files or {}).items()}
        self.resolutions: dict[str, Resolution | None] = {}
        self.errors: dict[str, ConfParseError] = {}
        self.status: dict[str, str] = {}
        self.load_failures: dict[str, BaseException] = {}
        self._docs: dict[str, list[Line]] = {}
        self._bodies: dict[tuple[str, int, str], list[tuple[int, str, str]]] = {}
        self._owners: dict[int, Resolution] = {}
        for name in FILES:
            self._load(name)

    # --- loading ----------------------------------------------------------------------

    def path(self, name: str) -> Path:
        """Absolute path of a file of the config dir."""
        return self.config_dir / name

    def exists(self, name: str) -> bool:
        """Whether the config dir has ``name`` (staged files count)."""
        p = self.path(name)
        return str(p) in self.staged or p.is_file()

    def _load(self, name: str) -> None:
        self.resolutions[name] = None
        if not self.exists(name):
            self.status[name] = "missing"
            return
        try:
            self.resolutions[name] = resolve(name, config_dir=self.config_dir, files=self.staged)
            self.status[name] = "ok"
        except ConfParseError as exc:
            self.errors[name] = exc
            self.status[name] = "invalid"
        except ConfMissingError:
            self.status[name] = "missing"
        except Exception as exc:  # a resolver bug must not stop the other rules
            self.load_failures[name] = exc
            self.status[name] = "unreadable"

    def conf(self, name: str) -> Resolution | None:
        """The resolution of ``name`` (``None``: missing or refused)."""
        return self.resolutions.get(name)

    @property
    def pjsip(self) -> Resolution | None:
        """pjsip.conf as Asterisk reads it."""
        return self.resolutions.get("pjsip.conf")

    @property
    def extensions(self) -> Resolution | None:
        """extensions.conf as Asterisk reads it."""
        return self.resolutions.get("extensions.conf")

    @functools.cached_property
    def version(self) -> Version | None:
        """The Asterisk version from the facts, parsed (``None``: unknown)."""
        return parse_version(self.facts.asterisk_version)

    @functools.cached_property
    def modules(self) -> frozenset[str] | None:
        """Loaded module names without ``.so`` (``None``: unknown)."""
        mods = self.facts.modules
        if mods is None:
            return None
        return frozenset(m.removesuffix(".so") for m in mods)

    # --- where things are -------------------------------------------------------------

    def show_path(self, file: str) -> str:
        """A file name as shown in evidence: relative to the config dir when inside it."""
        try:
            return str(Path(file).relative_to(self.config_dir))
        except ValueError:
            return file

    def _lines(self, file: str) -> list[Line]:
        """The file's lines (parsed once); empty if it cannot be read."""
        if file not in self._docs:
            data = self.staged.get(str(Path(file).absolute()))
            try:
                if data is None:
                    data = Path(file).read_bytes()
                self._docs[file] = list(parse(data).lines())
            except (OSError, ValueError):
                self._docs[file] = []
        return self._docs[file]

    def _body(self, sec: ResolvedSection) -> list[tuple[int, str, str]]:
        """``(line, key, value)`` of the options written in ``sec``'s own body (cached)."""
        cache_key = (sec.file, sec.line, sec.name)
        cached = self._bodies.get(cache_key)
        if cached is not None:
            return cached
        lines = self._lines(sec.file)
        start = sec.line
        # Glob includes share line numbers across files (config.c); if the header is not
        # where the number says, look it up by name.
        if not (0 < start <= len(lines) and lines[start - 1].kind == "header"):
            start = next(
                (i + 1 for i, ln in enumerate(lines) if ln.kind == "header" and ln.key == sec.name),
                0,
            )
        out: list[tuple[int, str, str]] = []
        for i in range(start, len(lines) if start else 0):
            ln = lines[i]
            if ln.kind == "header":
                break
            if ln.kind == "option" and ln.key is not None:
                out.append((i + 1, ln.key, ln.value or ""))
        self._bodies[cache_key] = out
        return out

    def _bases(self, sec: ResolvedSection, res: Resolution | None) -> list[ResolvedSection]:
        if res is None:
            return []
        out: list[ResolvedSection] = []
        pool = res.templates + res.sections
        for name in sec.templates:
            base = next((s for s in pool if s.name.lower() == name.lower()), None)
            if base is not None:
                out.append(base)
        return out

    def locate(
        self, sec: ResolvedSection, key: str, value: str | None = None, nth: int | None = None
    ) -> tuple[Where, ResolvedSection] | None:
        """Where ``key`` (with ``value``, if given; else its last occurrence) is written for
        ``sec``: in its own body first, then in the templates it inherits from. ``nth``
        picks one of several identical lines (0: the first)."""
        res = self._owner(sec)
        seen: set[tuple[str, int]] = set()
        todo = [sec]
        while todo:
            cur = todo.pop(0)
            if (cur.file, cur.line) in seen:
                continue
            seen.add((cur.file, cur.line))
            hits = [
                (ln, k, v)
                for ln, k, v in self._body(cur)
                if k.lower() == key.lower() and (value is None or v == value)
            ]
            if hits:
                pick = hits[nth] if nth is not None and nth < len(hits) else hits[-1]
                return Where(cur.file, pick[0]), cur
            todo.extend(self._bases(cur, res))
        return None

    def _owner(self, sec: ResolvedSection) -> Resolution | None:
        if not self._owners:
            for res in self.resolutions.values():
                if res is not None:
                    self._owners.update((id(s), res) for s in res.sections + res.templates)
        return self._owners.get(id(sec))

    def at_prio(self, prio: Priority) -> str:
        """Evidence for one dialplan line (identical lines each get their own number)."""
        return self.at(prio.section, prio.key, prio.value, nth=prio.nth)

    def at(
        self,
        sec: ResolvedSection,
        key: str | None = None,
        value: str | None = None,
        *,
        nth: int | None = None,
    ) -> str:
        """Evidence ``pjsip.conf:14: [novofon] auth = novofon`` (secrets masked).

        Without ``key``: the section header's line and its type. When the option comes from
        a template, the template's line is given and the section named.
        """
        header = f"[{sec.name}]"
        if key is None:
            t = self.type_of(sec)
            extra = f" type = {t}" if t else ""
            return f"{self.show_path(sec.file)}:{sec.line}: {header}{extra}"
        shown_value = value if value is not None else sec.get(key)
        found = self.locate(sec, key, value, nth)
        if found is None and value is not None:
            found = self.locate(sec, key)  # a value built by "+=" is on no single line
        if found is None:
            where = Where(sec.file, sec.line)
            owner = sec
        else:
            where, owner = found
        op = "=>" if key.lower() in _OBJECT_KEYS or key.lower().startswith("same") else "="
        text = f"{key} {op} {self.mask(key, shown_value or '')}"
        via = "" if owner is sec else f" (in template [{owner.name}], inherited by {header})"
        prefix = "" if owner is not sec else f"{header} "
        excerpt = _clip(f"{prefix}{text}{via}" if via else f"{prefix}{text}")
        return f"{self.show_path(where.file)}:{where.line}: {excerpt}"

    @staticmethod
    def mask(key: str, value: str) -> str:
        """``value``, or ``********`` when ``key`` holds a credential."""
        return MASK if is_secret_key(key) and value else value

    # --- pjsip objects ----------------------------------------------------------------

    def type_of(self, sec: ResolvedSection) -> str | None:
        """The sorcery type Asterisk gives ``sec``, or ``None`` (the section is ignored).

        res_sorcery_config.c matches criteria ``type=<t>`` with ast_variable_find_in_list():
        the FIRST ``type`` option (inherited ones come first; name compared without case),
        its value compared exactly. [global]/[system] also match by name alone
        (explicit_name) when every option is one of that type's.
        """
        for k, v in sec.options:
            if k.lower() == "type":
                return v
        if sec.name in SINGLE_OBJECT_TYPES and all(
            option_info(sec.name, k) is not None for k, _ in sec.options
        ):
            return sec.name
        return None

    @functools.cached_property
    def _objects(self) -> dict[str, list[ResolvedSection]]:
        out: dict[str, list[ResolvedSection]] = {}
        if self.pjsip is None:
            return out
        for sec in self.pjsip.sections:
            t = self.type_of(sec)
            if t is not None:
                out.setdefault(t, []).append(sec)
        return out

    def objects(self, type_: str) -> list[ResolvedSection]:
        """pjsip.conf sections Asterisk loads as ``type_``, in file order."""
        return list(self._objects.get(type_, []))

    @functools.cached_property
    def _by_name(self) -> dict[str, dict[str, ResolvedSection]]:
        out: dict[str, dict[str, ResolvedSection]] = {}
        for type_, secs in self._objects.items():
            for sec in secs:
                out.setdefault(sec.name, {}).setdefault(type_, sec)
        return out

    def object(self, name: str, type_: str) -> ResolvedSection | None:
        """The ``type_`` object called exactly ``name`` (sorcery ids are case-sensitive)."""
        return self._by_name.get(name, {}).get(type_)

    def types_named(self, name: str) -> list[str]:
        """The pjsip types that have an object called ``name``."""
        return list(self._by_name.get(name, {}))

    def near_miss(self, name: str, type_: str) -> tuple[str, str]:
        """A message tail (en, ru) for a name with no ``type_`` object: the same name in
        other case, or the types that do have it; empty strings when neither."""
        case = next((s.name for s in self.objects(type_) if s.name.lower() == name.lower()), None)
        if case:
            return (
                f" (there is {case!r}: names are case-sensitive)",
                f" (есть {case!r}: регистр букв важен)",
            )
        other = ", ".join(t for t in self.types_named(name) if t != type_)
        if other:
            return f" ([{name}] exists only as {other})", f" ([{name}] есть только как {other})"
        return "", ""

    @functools.cached_property
    def roles(self) -> dict[str, EndpointRole]:
        """Every endpoint's role (trunk, phone, app, unknown), decided once from evidence."""
        return {ep.name: classify(self, ep) for ep in self.objects("endpoint")}

    def role(self, ep: ResolvedSection) -> RoleKind:
        """The role of one endpoint."""
        found = self.roles.get(ep.name)
        return found.role if found is not None else "unknown"

    @functools.cached_property
    def provider_endpoints(self) -> list[ResolvedSection]:
        """Endpoints whose role is ``trunk`` (see :mod:`._roles`): provider rules run on
        these only, never on phones or applications."""
        return [
            ep
            for ep in self.objects("endpoint")
            if ep.name != "anonymous" and self.role(ep) == "trunk"
        ]

    def written_by_trunkctl(self, sec: ResolvedSection) -> bool:
        """Whether ``trunkctl setup`` wrote this section (its marker comment is right above
        the header)."""
        lines = self._lines(sec.file)
        for i in range(sec.line - 2, max(sec.line - 4, -1), -1):
            if 0 <= i < len(lines) and "trunkctl" in (lines[i].text or "").lower():
                return True
        return False

    def is_profile_trunk(self, ep: ResolvedSection) -> bool:
        """Whether ``ep`` is a trunk to the provider of the facts' profile (NovoFon rules
        such as the 7-digit login apply only there)."""
        profile = self.facts.provider
        found = self.roles.get(ep.name)
        return (
            profile is not None
            and found is not None
            and found.role == "trunk"
            and found.provider == profile.name
        )

    def aors_of(self, ep: ResolvedSection) -> list[ResolvedSection]:
        """The existing aor objects an endpoint's ``aors`` names."""
        found = (self.object(n, "aor") for n in split_list(ep.get("aors")))
        return [a for a in found if a is not None]

    @functools.cached_property
    def _registrations_by_endpoint(self) -> dict[str, list[ResolvedSection]]:
        out: dict[str, list[ResolvedSection]] = {}
        for r in self.objects("registration"):
            out.setdefault(r.get("endpoint") or r.name, []).append(r)
        return out

    @functools.cached_property
    def _identifies_by_endpoint(self) -> dict[str | None, list[ResolvedSection]]:
        out: dict[str | None, list[ResolvedSection]] = {}
        for i in self.objects("identify"):
            out.setdefault(i.get("endpoint"), []).append(i)
        return out

    def registrations_of(self, ep: ResolvedSection) -> list[ResolvedSection]:
        """Registrations for an endpoint: ``endpoint=`` names it, or they share its name."""
        return list(self._registrations_by_endpoint.get(ep.name, []))

    def identifies_of(self, ep: ResolvedSection) -> list[ResolvedSection]:
        """identify objects whose ``endpoint`` is this endpoint."""
        return list(self._identifies_by_endpoint.get(ep.name, []))

    # --- dialplan ---------------------------------------------------------------------

    @functools.cached_property
    def dialplan(self) -> Dialplan | None:
        """extensions.conf as pbx_config builds contexts (``None`` if unreadable/missing)."""
        res = self.extensions
        return Dialplan.from_resolution(res) if res is not None else None

    @functools.cached_property
    def dialled_endpoints(self) -> frozenset[str]:
        """Endpoint names the dialplan Dial()s literally (``PJSIP/…@name``, ``PJSIP/name``)."""
        plan = self.dialplan
        if plan is None:
            return frozenset()
        return frozenset(
            t.literal_endpoint
            for p in plan.all_priorities()
            for t in dial_targets(p)
            if t.tech == "PJSIP" and t.literal_endpoint
        )

    def sends_calls(self, ep: ResolvedSection) -> bool:
        """Whether calls go OUT through this endpoint: the dialplan dials it, or it
        authenticates outwards (outbound_auth, a registration)."""
        return (
            ep.name in self.dialled_endpoints
            or bool(ep.get("outbound_auth"))
            or bool(self.registrations_of(ep))
        )

    @functools.cached_property
    def reachable_contexts(self) -> frozenset[str] | None:
        """Contexts a call can get into: every endpoint's context, trunkctl's [outgoing]
        (its test calls enter there), and what those reach by include =>, Goto/Gosub,
        Macro and Local channels. ``None`` when the lint cannot know (no dialplan, or
        extensions.ael/.lua add contexts it cannot read): then everything counts."""
        plan = self.dialplan
        if plan is None:
            return None
        roots = {(ep.get("context") or "default").strip() for ep in self.objects("endpoint")}
        roots.add("outgoing")
        roots |= self._foreign_roots(plan)
        seen: set[str] = set()
        todo = [r for r in roots if r in plan]
        while todo:
            cur = todo.pop()
            if cur in seen:
                continue
            seen.add(cur)
            nxt = [t for t, _sec, _v in plan.includes.get(cur, [])]
            for prio in plan.priorities.get(cur, []):
                for j in jumps(prio):
                    if "$" in j.context and j.context.strip().upper() != "${CONTEXT}":
                        return None  # a computed target the lint cannot follow
                    nxt.append(j.context)
                if prio.app.lower() == "macro" and prio.data:
                    nxt.append("macro-" + split_args(prio.data)[0])
            todo.extend(n for n in nxt if n in plan and n not in seen)
        return frozenset(seen)

    def _foreign_roots(self, plan: Dialplan) -> set[str]:
        """extensions.conf contexts that extensions.ael/.lua reach: named in their
        includes, gotos/gosubs/jumps or after an '@' of a dial string, and not defined by
        that file itself. A file whose module the facts say is not loaded adds nothing."""
        out: set[str] = set()
        for name in self.other_dialplan_sources:
            text = self._foreign_text(name)
            if text is None:
                continue
            own = set(re.findall(r"\bcontext\s+([\w+-]+)\s*\{", text))
            own |= set(re.findall(r"^\s*\[?\"?([\w+-]+)\"?\]?\s*=\s*\{", text, re.M))
            refs = set(re.findall(r"@([\w+-]+)", text))
            refs |= set(
                re.findall(r"(?i)\b(?:goto|gosub|jump)\b['\"\]\s(]*([\w+-]+)['\"]?\s*,", text)
            )
            for block in re.findall(r"(?i)\binclude[s]?\s*=?\s*\{([^}]*)\}", text):
                refs |= set(re.findall(r"[\w+-]+", block))
            out |= {c for c in plan.sections if c in refs and c not in own}
        return out

    def _foreign_text(self, name: str) -> str | None:
        """extensions.ael / extensions.lua without comments (``None``: unreadable)."""
        try:
            text = self.path(name).read_text("utf-8", "replace")
        except OSError:
            return None
        comment = r"//[^\n]*|/\*.*?\*/" if name.endswith(".ael") else r"--\[\[.*?\]\]|--[^\n]*"
        return re.sub(comment, " ", text, flags=re.S)

    @functools.cached_property
    def foreign_contexts(self) -> dict[str, tuple[frozenset[str], bool]]:
        """Per extensions.ael / extensions.lua Asterisk may load: the contexts it defines
        and whether that list is complete. AEL declares each one (``context name {``);
        Lua is code: its ``extensions = {…}`` table's keys, complete unless the file makes
        contexts at run time (a computed key, another file, a metatable)."""
        out: dict[str, tuple[frozenset[str], bool]] = {}
        for name in self.other_dialplan_sources:
            text = self._foreign_text(name)
            if text is None:
                out[name] = (frozenset(), False)
            elif name.endswith(".ael"):
                found = re.findall(r"\bcontext\s+([^\s{]+)\s*\{", text)
                out[name] = (frozenset(found), True)
            else:
                out[name] = _lua_contexts(text)
        return out

    def reached(self, context: str) -> bool:
        """Whether calls can get into ``context`` (True when the lint cannot tell)."""
        reach = self.reachable_contexts
        return reach is None or context in reach

    @functools.cached_property
    def other_dialplan_sources(self) -> list[str]:
        """extensions.ael / extensions.lua that add contexts beside extensions.conf: those
        present whose module (pbx_ael, pbx_lua) the facts do not say is missing."""
        mods = self.modules
        return [
            name
            for name, module in (("extensions.ael", "pbx_ael"), ("extensions.lua", "pbx_lua"))
            if self.exists(name) and (mods is None or module in mods)
        ]


_LUA_TOKEN = re.compile(
    r"""\[\s*"((?:\\.|[^"\\])*)"\s*\]\s*=(?!=)|\[\s*'((?:\\.|[^'\\])*)'\s*\]\s*=(?!=)"""
    r"""|([A-Za-z_]\w*)\s*=(?!=)|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|\[(=*)\[.*?\]\4\]|[{}]""",
    re.S,
)
_LUA_RUNTIME = re.compile(
    r"""\bextensions\s*\[\s*[^"'\s]|\bsetmetatable\s*\(\s*extensions\b"""
    r"""|\b(?:require|dofile|loadfile|loadstring|load)\s*[("'\[]|\bextensions\s*=\s*[^{\s]"""
)


def _lua_contexts(text: str) -> tuple[frozenset[str], bool]:
    """The context names extensions.lua defines (the keys of its ``extensions`` table and
    ``extensions.name = …`` / ``extensions["name"] = …``), and whether they are all."""
    names = set(
        re.findall(r"""\bextensions\s*(?:\.\s*(\w+)|\[\s*["']([^"']+)["']\s*\])\s*=""", text)
    )
    found = {a or b for a, b in names}
    depth = 0
    table_at: int | None = None
    for m in _LUA_TOKEN.finditer(text):
        tok = m.group(0)
        if tok == "{":
            depth += 1
            continue
        if tok == "}":
            depth -= 1
            if table_at is not None and depth < table_at:
                table_at = None
            continue
        key = m.group(1) or m.group(2) or m.group(3)
        if key is None:
            continue  # a string
        if table_at is None and key == "extensions" and re.match(r"\s*\{", text[m.end() :]):
            table_at = depth + 1
        elif table_at is not None and depth == table_at:
            found.add(key)
    return frozenset(found), _LUA_RUNTIME.search(text) is None


def contacts_of(aor: ResolvedSection) -> list[str]:
    """Every URI of an aor's ``contact`` lines (each line may hold a comma list)."""
    return [c for v in aor.get_all("contact") for c in split_list(v)]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_EXCERPT else text[: _MAX_EXCERPT - 1] + "…"
