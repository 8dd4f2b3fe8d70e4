"""Asterisk's own reading of a .conf file: what AMI ``GetConfig`` would return.

A re-derivation of ast_config_load2() → ast_config_internal_load() →
config_text_file_load() → process_text_line() in Asterisk 22's main/config.c (read, not
copied), including its corner cases. Files are read as bytes and handled as latin-1 text so
that byte limits (8191-byte lines, 79-byte names) hold exactly; names and values are handed
back as UTF-8 (undecodable bytes as surrogate escapes). #include names are expanded with
glibc's glob(3) rules (_glob.py). Checked against a real Asterisk 22.10's AMI GetConfig
(tests/conf/test_differential.py).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from trunkctl.errors import ConfParseError
from trunkctl.i18n import Text

from ._glob import glob
from ._lexer import (
    BLANKS,
    MAX_LINE_BYTES,
    MAX_NAME_BYTES,
    Directive,
    Header,
    ascii_lower,
    parse_content,
    strip_comments,
)
from ._problems import ConfMissingError, Problem

__all__ = ["Resolution", "ResolvedSection", "resolve", "resolve_text"]

# ast_config_new(): max_include_level = MAX_INCLUDE_LEVEL (10).
_MAX_INCLUDE_LEVEL = 10
_OK, _MISSING, _INVALID = 0, 1, 2
_BOM = "\xef\xbb\xbf"


def _out(s: str) -> str:
    return s.encode("latin-1").decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class ResolvedSection:
    """One category as Asterisk holds it: inherited options first, then its own."""

    name: str
    templates: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    is_template: bool = False
    file: str = ""
    line: int = 0

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value of ``key`` (case-insensitive), as ast_variable_retrieve() gives it."""
        low = ascii_lower(key)
        found = default
        for k, v in self.options:
            if ascii_lower(k) == low:
                found = v
        return found

    def get_all(self, key: str) -> list[str]:
        """Every value of ``key`` in order (``allow``, ``match``, ``contact`` accumulate)."""
        low = ascii_lower(key)
        return [v for k, v in self.options if ascii_lower(k) == low]

    def to_json(self) -> dict[str, Any]:
        """``{"name", "templates", "options": [[key, value], ...]}`` for ``config show``."""
        return {
            "name": self.name,
            "templates": list(self.templates),
            "options": [[k, v] for k, v in self.options],
        }


@dataclass(slots=True)
class Resolution:
    """The result of :func:`resolve`: sections as GetConfig lists them, and what was ignored."""

    sections: list[ResolvedSection]
    templates: list[ResolvedSection]
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def find(self, name: str, type: str | None = None) -> ResolvedSection | None:
        """The first non-template section called ``name`` (and of ``type``, if given)."""
        low = ascii_lower(name)
        for sec in self.sections:
            if ascii_lower(sec.name) == low and (type is None or sec.get("type") == type):
                return sec
        return None

    def to_json(self) -> list[dict[str, Any]]:
        """The ``trunkctl config show --json`` list: non-template sections in file order."""
        return [s.to_json() for s in self.sections]


class _Cat:
    __slots__ = ("file", "ignored", "line", "name", "templates", "vars")

    def __init__(self, name: str, file: str, line: int) -> None:
        self.name = name
        self.file = file
        self.line = line
        self.ignored = False
        self.templates: list[str] = []
        self.vars: list[tuple[str, str]] = []


class _Loader:
    def __init__(self, config_dir: str, files: Mapping[str, bytes]) -> None:
        self.config_dir = config_dir
        self.files = files
        self.staged = {_latin(p) for p in files}
        self.staged_dirs = {d for p in self.staged for d in _parents(p)}
        self.cats: list[_Cat] = []
        # cfg->current: set by ast_category_append() and by "(+)"; an included file's
        # options before its first header go there.
        self.current: _Cat | None = None
        self.include_level = 0
        self.problems: list[Problem] = []
        self.read: list[str] = []

    def warn(self, code: str, path: str, line: int, detail: str = "") -> None:
        self.problems.append(Problem(code, line, path, _out(detail)))

    # ast_config_internal_load()
    def load(self, filename: str) -> int:
        # "The config file itself bumps include_level by 1": the top file is level 1, so
        # at most 10 nested #include levels below it load.
        if self.include_level == _MAX_INCLUDE_LEVEL + 1:
            return _MISSING
        self.include_level += 1
        result = self.load_text(filename)
        # Only an invalid file leaves include_level raised (so each invalid included file
        # costs one level for the rest of the load).
        if result != _INVALID:
            self.include_level -= 1
        return result

    def paths(self, filename: str) -> list[str]:
        # config_text_file_load(): relative names are under the config dir (not the
        # including file's dir); then glob(fn, GLOB_NOMAGIC | GLOB_BRACE), glibc's rules.
        fn = filename if filename.startswith("/") else f"{self.config_dir}/{filename}"
        return glob(fn, self)

    # The FileSystem glob() sees: the disk, with the staged files (and their folders) on top.
    def entries(self, directory: str) -> list[str] | None:
        names: set[str] = set()
        try:
            names.update(_latin(e.name) for e in Path(_native(directory)).iterdir())
        except OSError:
            if os.path.normpath(directory) not in self.staged_dirs:
                return None
        names.update((".", ".."))
        inside = os.path.normpath(directory).rstrip("/") + "/"
        for path in self.staged:
            if path.startswith(inside):
                names.add(path[len(inside) :].split("/", 1)[0])
        return sorted(names)

    def lexists(self, path: str) -> bool:
        norm = os.path.normpath(path)
        return norm in self.staged or norm in self.staged_dirs or os.path.lexists(_native(path))

    def isdir(self, path: str) -> bool:
        return os.path.normpath(path) in self.staged_dirs or Path(_native(path)).is_dir()

    def contents(self, path: str) -> str | None:
        native = _native(path)
        staged = self.files.get(str(Path(native)))
        if staged is not None:
            return staged.decode("latin-1")
        try:
            st = Path(native).stat()
            # "'%s' is not a regular file, ignoring"
            if not stat.S_ISREG(st.st_mode):
                return None
            return Path(native).read_bytes().decode("latin-1")
        except OSError:
            return None

    # config_text_file_load()
    def load_text(self, filename: str) -> int:
        cat = self.current
        comment = 0  # shared by every file of one glob, like lineno and cat
        lineno = 0
        count = 0
        for path in self.paths(filename):
            data = self.contents(path)
            if data is None:
                continue
            count += 1
            self.read.append(_out(path))
            for chunk in _fgets(data):
                lineno += 1
                if chunk is None:  # "Line %d too long, skipping"
                    self.warn("line_too_long", path, lineno)
                    continue
                if lineno == 1 and chunk.startswith(_BOM):
                    # "If there is a UTF-8 BOM, skip over it" (first line of the load only).
                    chunk = chunk[3:]
                before = comment
                content, comment = strip_comments(chunk, comment)
                if comment < 0 <= before:
                    self.warn("stray_comment_end", path, lineno)
                if content is None:
                    continue
                cur = content.strip(BLANKS)
                if not cur:
                    continue
                ok, cat = self.process_line(cur, cat, path, lineno)
                if not ok:
                    return _INVALID
            # "while (!feof(f)) { lineno++; if (fgets(...)) ... }": a file that is empty or
            # ends in a newline takes one more turn (the fgets() that meets EOF), so the next
            # file of a glob never starts at line 1 and keeps its BOM (found by GetConfig).
            if not data or data.endswith("\n"):
                lineno += 1
            if comment:
                self.warn("unterminated_comment", path, lineno)
        return _OK if count else _MISSING

    # process_text_line()
    def process_line(
        self, cur: str, cat: _Cat | None, path: str, lineno: int
    ) -> tuple[bool, _Cat | None]:
        item = parse_content(cur)
        if isinstance(item, Header):
            return self.header(item, path, lineno)
        if isinstance(item, Directive):
            return self.directive(item, path, lineno), cat
        if cat is None:
            # "parse error: No category context for line %d" (returns -1: file invalid).
            self.warn("no_category", path, lineno, cur)
            return False, cat
        if item.error:
            self.warn(item.error, path, lineno, cur)
            return not item.fatal, cat
        if item.op == "+=":
            # The variable to extend is the LAST one of exactly this name (strcmp), inherited
            # ones included; without one, "+=" just sets the variable.
            replace = None
            for name, value in cat.vars:
                if name == item.key:
                    replace = (name, value)
            if replace is None:
                cat.vars.append((item.key, item.value.strip(BLANKS)))
                return True, cat
            # ast_str_set + ast_str_append + ast_str_trim_blanks + ast_skip_blanks: the raw
            # text after '=' is glued on, leading blanks included ("a += b" → "x b").
            new = (replace[1] + item.value).strip(BLANKS)
            # ast_variable_update(cat, name, new, match=old value): Asterisk 22 replaces the
            # FIRST variable whose name and value match case-insensitively (an empty match
            # matches any value), which is not always the one found above.
            rname, rvalue = ascii_lower(replace[0]), ascii_lower(replace[1])
            for i, (name, value) in enumerate(cat.vars):
                if ascii_lower(name) == rname and (not rvalue or ascii_lower(value) == rvalue):
                    cat.vars[i] = (replace[0], new)
                    break
            return True, cat
        # "=" and "=>" alike ("=>" only sets the object flag, which GetConfig does not show).
        cat.vars.append((item.key, item.value))
        return True, cat

    def header(self, h: Header, path: str, lineno: int) -> tuple[bool, _Cat | None]:
        if h.error:
            self.warn(h.error, path, lineno, h.name)
            return False, None
        newcat: _Cat | None = _Cat(h.name[:MAX_NAME_BYTES], path, lineno)
        cat: _Cat = newcat  # type: ignore[assignment]
        for tok in h.tokens or ():
            if tok == "!":
                cat.ignored = True
            elif tok.startswith("+"):
                # category_get_sep(cfg, catname, filter, '&'): the first NON-template section
                # of that name (an empty filter never matches templates).
                target = self.find(h.name, tok[1:], "&")
                if target is None:
                    self.warn("missing_append", path, lineno, h.name)
                    return False, None
                if newcat is not None:
                    self.current = target
                    target.ignored |= newcat.ignored
                    target.vars.extend(newcat.vars)  # move_variables()
                    newcat = None
                cat = target
            else:
                # category_get_sep(cfg, name, "TEMPLATES=include", ','): the first section of
                # that name, template or not. The token is not trimmed; an empty one
                # matches the very first section.
                base = self.find(tok, "TEMPLATES=include", ",")
                if base is None:
                    self.warn("missing_base", path, lineno, tok)
                    return False, None
                # ast_category_inherit(): a snapshot of the base's variables (its own
                # inherited ones included) is appended; the base's name is recorded.
                cat.templates.append(base.name)
                cat.vars.extend(list(base.vars))
        if newcat is not None:
            # ast_category_append() also makes it cfg->current.
            self.cats.append(newcat)
            self.current = newcat
        return True, cat

    def directive(self, d: Directive, path: str, lineno: int) -> bool:
        word = ascii_lower(d.word)
        if word not in ("include", "tryinclude"):
            self.warn("exec_disabled" if word == "exec" else "unknown_directive", path, lineno)
            return True
        if d.argument is None:
            self.warn("directive_no_arg", path, lineno)
            return True
        arg = d.argument
        # "Strip off leading and trailing "'s and <>'s", only as a matching pair.
        if arg[0] in '"<' and arg[-1] == ('"' if arg[0] == '"' else ">"):
            arg = arg[1:-1]
        level = self.include_level
        result = self.load(arg)
        if result == _MISSING:
            code = "max_include" if level == _MAX_INCLUDE_LEVEL + 1 else "missing_include"
            if word == "include":
                # "The file '%s' was listed as a #include but it does not exist."
                self.warn(code, path, lineno, arg)
                return False
            if code == "max_include":
                self.warn(code, path, lineno, arg)
        # An included file that is itself invalid just stops early: the includer goes on.
        return True

    # does_category_match()
    def find(self, name: str, match: str, sep: str) -> _Cat | None:
        low = ascii_lower(name)
        for cat in self.cats:
            if name and ascii_lower(cat.name) != low:
                continue
            if _matches(cat, match, sep):
                return cat
        return None


def _matches(cat: _Cat, match: str, sep: str) -> bool:
    if not match:
        return not cat.ignored
    # ast_strsep(..., AST_STRSEP_STRIP); quoting inside a filter is not supported here.
    exprs = [e.strip(BLANKS) for e in match.split(sep)]
    found = 0
    template_ok = False
    for expr in exprs:
        if "=" not in expr:
            return False  # "A NULL match value (no =) is NOT [OK]": break, count mismatch
        mname, mvalue = (x.strip(BLANKS) for x in expr.split("=", 1))
        if mname == "TEMPLATES":
            if ascii_lower(mvalue) == "include":
                template_ok = template_ok or cat.ignored
                found += 1
            elif ascii_lower(mvalue) == "restrict":
                if not cat.ignored:
                    return False
                found += 1
                template_ok = True
            continue
        # regcomp(REG_EXTENDED | REG_NOSUB) + regexec: unanchored search on name and value.
        try:
            rn, rv = re.compile(mname), re.compile(mvalue)
        except re.error:
            return False
        if any(rn.search(k) and rv.search(v) for k, v in cat.vars):
            found += 1
    return found == len(exprs) and (not cat.ignored or template_ok)


def _fgets(data: str) -> Iterator[str | None]:
    """Lines as config_text_file_load()'s fgets() loop sees them; ``None`` for a skipped one.

    fgets() reads at most 8191 bytes; strlen() then stops at a NUL byte.
    """
    pos, n = 0, len(data)
    while pos < n:
        nl = data.find("\n", pos, pos + MAX_LINE_BYTES)
        end = nl + 1 if nl >= 0 else min(pos + MAX_LINE_BYTES, n)
        chunk = data[pos:end]
        pos = end
        nul = chunk.find("\0")
        if nul >= 0:
            chunk = chunk[:nul]
        if len(chunk) == MAX_LINE_BYTES and chunk[-1] != "\n":
            # Too long: drop it and every following read until one ends the line.
            while pos < n:
                nl = data.find("\n", pos, pos + MAX_LINE_BYTES)
                end = nl + 1 if nl >= 0 else min(pos + MAX_LINE_BYTES, n)
                more = data[pos:end]
                pos = end
                nul = more.find("\0")
                if nul >= 0:
                    more = more[:nul]
                if len(more) != MAX_LINE_BYTES or more[-1] == "\n":
                    break
            yield None
            continue
        yield chunk


def _parents(path: str) -> Iterator[str]:
    return (str(p) for p in PurePosixPath(path).parents)


def _native(latin: str) -> str:
    return os.fsdecode(latin.encode("latin-1"))


def _latin(native: str) -> str:
    return os.fsencode(native).decode("latin-1")


def _finish(loader: _Loader, result: int, name: str) -> Resolution:
    if result == _MISSING:
        raise ConfMissingError(
            Text("Config file not found: {f}", "Файл конфигурации не найден: {f}").format(f=name),
            next_step=Text(
                "Check the name and --config-dir.", "Проверьте имя файла и --config-dir."
            ),
        )
    if result == _INVALID:
        fatal = [p for p in loader.problems if p.severity == "fatal"]
        p = fatal[-1] if fatal else Problem("no_category", 0, name)
        raise ConfParseError(
            Text("Asterisk would refuse {f}: ", "Asterisk не примет {f}: ").format(f=name)
            + p.message,
            file=_out(p.file) if p.file else name,
            line=p.line,
            evidence=Text(f"{p.where()}: {p.detail}", f"{p.where()}: {p.detail}"),
            next_step=Text("Fix that line, then retry.", "Исправьте эту строку и повторите."),
        )
    sections: list[ResolvedSection] = []
    templates: list[ResolvedSection] = []
    for cat in loader.cats:
        sec = ResolvedSection(
            _out(cat.name),
            tuple(_out(t) for t in cat.templates),
            tuple((_out(k), _out(v)) for k, v in cat.vars),
            cat.ignored,
            _out(cat.file),
            cat.line,
        )
        (templates if cat.ignored else sections).append(sec)
    problems = [
        Problem(p.code, p.line, _out(p.file) if p.file else None, p.detail) for p in loader.problems
    ]
    return Resolution(sections, templates, problems, loader.read)


def resolve(
    name: str | os.PathLike[str],
    *,
    config_dir: str | os.PathLike[str] = "/etc/asterisk",
    files: Mapping[str, bytes] | None = None,
) -> Resolution:
    """Read ``name`` (relative to ``config_dir``) and its includes exactly as Asterisk does.

    ``files`` maps absolute paths to contents that stand in for the disk (staged edits).
    Raises ConfMissingError or ConfParseError where GetConfig would answer an error.
    """
    cdir = _latin(str(Path(config_dir).absolute()))
    staged = {str(Path(k).absolute()): v for k, v in (files or {}).items()}
    loader = _Loader(cdir, staged)
    fname = _latin(os.fspath(name))
    return _finish(loader, loader.load(fname), os.fspath(name))


def resolve_text(
    text: str | bytes,
    *,
    config_dir: str | os.PathLike[str] = "/etc/asterisk",
    name: str = "<text>",
    files: Mapping[str, bytes] | None = None,
) -> Resolution:
    """Like :func:`resolve` for a top-level file given as text (includes still come from disk)."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    path = str(Path(config_dir).absolute() / name)
    staged = dict(files or {})
    staged[path] = data
    return resolve(path, config_dir=config_dir, files=staged)
