"""A lossless Asterisk .conf document: byte-exact until edited, then minimal edits.

Modelled on tomlkit (nodes keep their text, a section body is an ordered list with a side
index), with Asterisk's reading rules from ``_lexer``. Lines are split on '\\n' only, as
fgets() does: a lone '\\r' or form feed is part of a line, never a line break.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final

from trunkctl.errors import ConfValueError
from trunkctl.i18n import Text

from ._lexer import (
    BLANKS,
    MAX_LINE_BYTES,
    MAX_NAME_BYTES,
    Header,
    Option,
    ascii_lower,
    parse_content,
    strip_comments,
    strip_comments_positions,
)
from ._problems import Problem

__all__ = ["Document", "Line", "Section", "parse"]

BLANK: Final = "blank"
COMMENT: Final = "comment"
HEADER: Final = "header"
OPTION: Final = "option"
DIRECTIVE: Final = "directive"
INVALID: Final = "invalid"


class Line:
    """One physical line: its exact text (line ending included) and what Asterisk makes of it.

    ``kind`` is blank, comment, header, option, directive or invalid; ``key`` is the option
    key or section name as Asterisk reads it. ``depth`` is the ``;-- --;`` depth before it.
    """

    __slots__ = ("_parsed", "depth", "key", "kind", "note", "text")

    def __init__(
        self, text: str, kind: str, key: str | None, depth: int, note: str | None = None
    ) -> None:
        self.text = text
        self.kind = kind
        self.key = key
        self.depth = depth
        self.note = note
        self._parsed: _Parsed | None = None

    def __repr__(self) -> str:
        # Never the text: it may hold a password.
        return f"<Line {self.kind} {self.key!r}>"

    @property
    def line_ending(self) -> str:
        """``\\r\\n``, ``\\n`` or ``""`` (last line without a newline)."""
        t = self.text
        if t.endswith("\r\n"):
            return "\r\n"
        return "\n" if t.endswith("\n") else ""

    @property
    def value(self) -> str | None:
        """The option's value as Asterisk reads it (escapes undone), else ``None``."""
        return self.parsed().value if self.kind == OPTION else None

    @property
    def op(self) -> str | None:
        """``=``, ``=>`` or ``+=`` for an option line."""
        return self.parsed().op if self.kind == OPTION else None

    def parsed(self) -> _Parsed:
        """Where key and value sit in the text (computed once, on demand)."""
        if self._parsed is None:
            self._parsed = _Parsed(self.text, self.depth, self.note == "bom")
        return self._parsed


class _Parsed:
    """Content of a line mapped back to positions in its raw text."""

    __slots__ = ("content", "depth_out", "item", "op", "pos", "value", "vend", "vstart")

    def __init__(self, raw: str, depth: int, bom: bool = False) -> None:
        body = raw[:-1] if raw.endswith("\n") else raw
        nul = body.find("\0")
        if nul >= 0:
            body = body[:nul]
        if bom:
            body = " " + body[1:]  # the BOM is skipped; keep positions aligned
        positions, self.depth_out = strip_comments_positions(body, depth)
        self.pos: list[int] = []
        self.content = ""
        self.item: Header | Option | None = None
        self.op: str | None = None
        self.value: str | None = None
        self.vstart = self.vend = len(body)
        if positions is None:
            return
        chars = "".join(body[i] for i in positions)
        lead = len(chars) - len(chars.lstrip(BLANKS))
        trail = len(chars.rstrip(BLANKS))
        if trail <= lead:
            return
        self.pos = positions[lead:trail]
        self.content = s = chars[lead:trail]
        item = parse_content(s)
        if isinstance(item, Header):
            self.item = item
            return
        if not isinstance(item, Option):
            return
        self.item = item
        self.op = item.op
        self.value = item.value.strip(BLANKS) if item.op == "+=" else item.value
        # Locate the value: after the first '=' (and '>' of '=>'), past blanks.
        eq = s.find("=", 2 if s[0] == "\\" else 0)
        vs = eq + 1 + (1 if item.op == "=>" else 0)
        while vs < len(s) and s[vs] in BLANKS:
            vs += 1
        if vs < len(s):
            v0 = self.pos[vs]
            if body[v0] == ";" and v0 and body[v0 - 1] == "\\" and self.pos[vs - 1] != v0 - 1:
                v0 -= 1  # the value starts with "\;": its backslash belongs to it
            self.vstart = v0
        else:
            self.vstart = self.pos[min(eq + (1 if item.op == "=>" else 0), len(s) - 1)] + 1
        self.vend = self.pos[-1] + 1 if vs < len(s) else self.vstart


class _Style:
    """How this file writes things, so new text looks like the old."""

    __slots__ = ("arrow", "blank_between", "eol", "indent", "sep")

    def __init__(self, doc: Document) -> None:
        crlf = lf = 0
        seps: dict[str, int] = {}
        arrows: dict[str, int] = {}
        indents: dict[str, int] = {}
        gaps: dict[int, int] = {}
        blank_run = 0
        seen_header = False
        for line in doc.lines():
            t = line.text
            if t.endswith("\r\n"):
                crlf += 1
            elif t.endswith("\n"):
                lf += 1
            if line.kind == HEADER:
                if seen_header:
                    gaps[blank_run] = gaps.get(blank_run, 0) + 1
                seen_header = True
            elif line.kind == OPTION and len(seps) < 50:
                sep, indent = _sep_of(line)
                if sep is not None:
                    seps[sep] = seps.get(sep, 0) + 1
                    indents[indent] = indents.get(indent, 0) + 1
            if line.kind == OPTION and len(arrows) < 50:
                arrow = _arrow_of(line)
                if arrow is not None:
                    arrows[arrow] = arrows.get(arrow, 0) + 1
            if line.kind == BLANK:
                blank_run += 1
            elif line.kind != COMMENT:
                blank_run = 0  # comments above a header do not break its blank-line gap
        self.eol = "\r\n" if crlf > lf else "\n"
        self.sep = max(seps, key=lambda k: seps[k]) if seps else " = "
        self.indent = max(indents, key=lambda k: indents[k]) if indents else ""
        # `exten => …` lines have their own look (the stock extensions.conf writes
        # `static=yes` but `exten => s,1,…`); None: the file has none, derive it from sep.
        self.arrow = max(arrows, key=lambda k: arrows[k]) if arrows else None
        # Most common gap before a header; a tie goes to the larger gap.
        self.blank_between = min(max(gaps, key=lambda k: (gaps[k], k)), 3) if gaps else 1


# Dialplan keys that pbx_config reads as objects; `exten => ...` is the idiom (Asterisk
# accepts `=` too: config.c's process_text_line only records the `>` as object=1).
_ARROW_KEYS: Final = frozenset(
    {"exten", "same", "include", "switch", "eswitch", "lswitch", "ignorepat"}
)


def default_op(key: str) -> str:
    """``=>`` for dialplan object keys, ``=`` for everything else."""
    return "=>" if ascii_lower(key) in _ARROW_KEYS else "="


def _sep_of(line: Line) -> tuple[str | None, str]:
    """The text between key and value of a plain ``key = value`` line, and its indent."""
    t = line.text
    if line.depth or ";" in t or line.op != "=":
        return None, ""
    s = t.lstrip(BLANKS)
    indent = t[: len(t) - len(s)]
    eq = s.find("=")
    key_end = len(s[:eq].rstrip(BLANKS))
    rest = s[eq + 1 :]
    after = len(rest) - len(rest.lstrip(" \t"))
    sep = s[key_end : eq + 1 + after]
    if sep.strip(" \t") != "=" or indent.strip(" \t"):
        return None, ""
    return sep, indent


def _arrow_of(line: Line) -> str | None:
    """The text between key and value of a plain ``key => value`` line (``" => "``…)."""
    t = line.text
    if line.depth or ";" in t or line.op != "=>":
        return None
    s = t.lstrip(BLANKS)
    eq = s.find("=>")
    key_end = len(s[:eq].rstrip(BLANKS))
    rest = s[eq + 2 :]
    sep = s[key_end : eq + 2 + len(rest) - len(rest.lstrip(" \t"))]
    return sep if sep.strip(" \t") == "=>" else None


class Section:
    """A ``[name]`` header, the comments leading into it, and the lines under it.

    ``lead`` holds the comment and blank lines that lead into the header (see
    :func:`_lead_start` for the rule); ``body`` the lines after it, up to the next section's
    lead. Reading gives values as written in this section (no templates, no ``+=`` folding;
    see :func:`trunkctl.conf.resolve` for Asterisk's full view). Edits touch only the lines
    named.
    """

    __slots__ = ("_doc", "_index", "body", "header", "lead", "source_line")

    def __init__(
        self,
        doc: Document,
        header: Line,
        body: list[Line],
        lead: list[Line] | None = None,
        source_line: int | None = None,
    ) -> None:
        self._doc = doc
        self.header = header
        self.body = body
        self.lead: list[Line] = [] if lead is None else lead
        # 1-based line of the header in the text parsed; None for a section added since.
        self.source_line = source_line
        self._index: dict[str, list[int]] | None = None

    def __repr__(self) -> str:
        return f"<Section [{self.name}] type={self.type!r}>"

    # --- the header ---------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The name as Asterisk reads it (not trimmed, case kept)."""
        return self.header.key or ""

    def _header(self) -> Header:
        item = self.header.parsed().item
        return item if isinstance(item, Header) else Header(self.name, None, None)

    @property
    def templates(self) -> list[str]:
        """The sections this one inherits from, in order."""
        return self._header().templates

    @property
    def is_template(self) -> bool:
        """``(!)``: a template, invisible to Asterisk's readers."""
        return self._header().is_template

    @property
    def is_append(self) -> bool:
        """``(+)``: continues an earlier section of the same name."""
        return self._header().append_filter is not None

    @property
    def type(self) -> str | None:
        """The last ``type`` here, else the one inherited from its templates (in this file)."""
        return self._doc._type_of(self, 0)

    # --- reading ----------------------------------------------------------------------

    def _positions(self, key: str) -> list[int]:
        if self._index is None:
            index: dict[str, list[int]] = {}
            for i, line in enumerate(self.body):
                if line.kind is OPTION and line.key is not None:
                    index.setdefault(ascii_lower(line.key), []).append(i)
            self._index = index
        return self._index.get(ascii_lower(key), [])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._positions(key))

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value written for ``key`` (case-insensitive) in this section."""
        pos = self._positions(key)
        return self.body[pos[-1]].value if pos else default

    def get_all(self, key: str) -> list[str]:
        """Every value written for ``key``, in order (``allow``, ``match``...)."""
        return [self.body[i].value or "" for i in self._positions(key)]

    def keys(self) -> list[str]:
        """Distinct option keys in order of first appearance."""
        seen: dict[str, str] = {}
        for line in self.body:
            if line.kind is OPTION and line.key is not None:
                seen.setdefault(ascii_lower(line.key), line.key)
        return list(seen.values())

    def items(self) -> list[tuple[str, str]]:
        """Every ``(key, value)`` line in order."""
        return [(ln.key, ln.value or "") for ln in self.body if ln.kind is OPTION and ln.key]

    def render(self) -> str:
        """This section's exact text: header and body (its ``lead`` is not included)."""
        return self.header.text + "".join(ln.text for ln in self.body)

    # --- editing ----------------------------------------------------------------------

    def set(self, key: str, value: str) -> None:
        """Make ``key`` have exactly this one value: first line edited in place, others removed."""
        self.set_all(key, [value])

    def set_all(self, key: str, values: Sequence[str]) -> None:
        """Make ``key`` have exactly these values, in order, reusing its lines in place."""
        if isinstance(values, str):
            raise TypeError("set_all takes a list of values")
        pos = self._positions(key)
        for i, value in enumerate(values):
            if i < len(pos):
                self._replace_at(pos[i], key, value)
            else:
                last = self._positions(key)
                self._insert_option(key, value, last[-1] + 1 if last else None)
        for j in reversed(self._positions(key)[len(values) :]):
            self._delete_at(j)

    def append(self, key: str, value: str) -> None:
        """Add one more ``key = value`` line, after the key's last line (else at the end)."""
        pos = self._positions(key)
        self._insert_option(key, value, pos[-1] + 1 if pos else None)

    def replace(self, key: str, value: str, *, match: str | None = None, all: bool = False) -> int:
        """Change the value of the first (or every) line of ``key`` [whose value is ``match``].

        Returns how many lines changed hands; 0 if none matched.
        """
        hits = [i for i in self._positions(key) if match is None or self.body[i].value == match]
        hits = hits if all else hits[:1]
        for i in hits:
            self._replace_at(i, key, value)
        return len(hits)

    def remove(self, key: str, *, match: str | None = None, all: bool = True) -> int:
        """Delete every (or the first) line of ``key`` [whose value is ``match``]; count them."""
        hits = [i for i in self._positions(key) if match is None or self.body[i].value == match]
        hits = hits if all else hits[:1]
        for i in reversed(hits):
            self._delete_at(i)
        return len(hits)

    def replace_options(
        self, options: Iterable[tuple[str, str]], *, templates: Sequence[str] | None = None
    ) -> None:
        """Make the option lines exactly ``options``, in order, where the section stands.

        Lines already right stay byte for byte (a diff aligns old and new); changed values
        are edited in place; comments, blank lines and directives stay where they are.
        ``templates`` (if given) replaces the header's template list.
        """
        doc = self._doc
        new = [(k, v) for k, v in options]
        if templates is not None and list(templates) != self.templates:
            doc._set_templates(self, list(templates))
        body = self.body
        slots = [i for i, ln in enumerate(body) if ln.kind is OPTION and ln.key is not None]
        for i in slots:
            if body[i].depth or _depth_after(body[i]) != 0:
                raise ConfValueError(
                    Text(
                        "section [{n}] is tangled with a ;-- --; comment; edit it by hand",
                        "секция [{n}] переплетена с ;-- --;; исправьте её вручную",
                    ).format(n=self.name)
                )
        end = body[-1] if body else self.header
        no_final_eol = not end.text.endswith("\n")
        old = [(ascii_lower(body[i].key or ""), body[i].value, body[i].op == "+=") for i in slots]
        want = [(ascii_lower(k), v, False) for k, v in new]
        # emit[j]: what replaces old option slot j; head: new lines before the first slot.
        emit: list[list[Line]] = [[body[i]] for i in slots]
        head: list[Line] = []

        def fresh(key: str, value: str, like: Line | None) -> Line:
            # Copy the look of the nearest line with this key (`` same => ``), else the file's.
            low = ascii_lower(key)
            op = default_op(key)
            same = [ln for ln in body if ln.kind is OPTION and ascii_lower(ln.key or "") == low]
            for model in sorted(same, key=lambda ln: ln is not like):
                p = model.parsed()
                if model.depth or model.op != op or p.vstart > len(model.text):
                    continue
                esc = _escape_value(key, value)
                text = model.text[: p.vstart] + esc + (model.line_ending or doc._style().eol)
                try:
                    return doc._checked(text, 0, model.key or key, op, value)
                except ConfValueError:
                    continue
            return doc._new_option(None, key, value, 0, op)

        matcher = difflib.SequenceMatcher(None, old, want, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
            for t in range(paired):
                line = body[slots[i1 + t]]
                key, value = new[j1 + t]
                if ascii_lower(line.key or "") == ascii_lower(key) and line.op != "+=":
                    self._replace_at(slots[i1 + t], key, value)
                    emit[i1 + t] = [body[slots[i1 + t]]]
                else:
                    emit[i1 + t] = [fresh(key, value, line)]
            for t in range(i1 + paired, i2):
                emit[t] = []
            extra = [
                fresh(k, v, body[slots[i1 - 1]] if i1 else None) for k, v in new[j1 + paired : j2]
            ]
            if not extra:
                continue
            if i1 + paired > 0:
                emit[i1 + paired - 1].extend(extra)
            else:
                head.extend(extra)
        out: list[Line] = []
        if slots:
            at = dict(zip(slots, range(len(slots)), strict=True))
            for i, line in enumerate(body):
                j = at.get(i)
                if j is None:
                    out.append(line)
                    continue
                if j == 0:
                    out.extend(head)
                out.extend(emit[j])
        else:
            pos = doc._depth_zero_at(self, self._content_end())
            out = body[:pos] + head + body[pos:]
        self.body[:] = out
        self._index = None
        # The file's last line had no newline: lines now after it get one, the last loses it.
        eol = doc._style().eol
        if not self.header.text.endswith("\n") and self.body:
            self.header = _relex(self.header.text + eol, self.header.depth, self.header)
        for j, line in enumerate(self.body[:-1]):
            if not line.text.endswith("\n"):
                self.body[j] = _relex(line.text + eol, line.depth, line)
        last = self.body[-1] if self.body else self.header
        # ...unless it is an empty line: without its ending it would be gone, and a user's
        # line is worth more than the missing final newline.
        if no_final_eol and last.text.endswith("\n") and last.text.rstrip("\r\n"):
            cut = _without_eol(last)
            if self.body:
                self.body[-1] = cut
            else:
                self.header = cut

    def mark(self, text: str, is_mark: Callable[[Line], bool]) -> None:
        """Put the comment ``; text`` right above the header, replacing an old mark there.

        Only the comment lines touching the header are searched for one ``is_mark`` accepts;
        if none does, the new line goes directly above the header (below the user's comments).
        """
        doc = self._doc
        block = doc._comments_above(self)
        for where, k in block:
            line = where[k]
            if is_mark(line):
                eol = line.line_ending or doc._style().eol
                new = _comment_lines(text, eol)
                if len(new) != 1:
                    raise ConfValueError(Text("bad comment text", "недопустимый текст комментария"))
                if line.text != new[0].text:
                    where[k] = _relex(new[0].text, line.depth, line)
                return
        eol = self.header.line_ending or doc._style().eol
        self.lead.extend(_comment_lines(text, eol))
        doc._resplit()

    def _replace_at(self, i: int, key: str, value: str) -> None:
        old = self.body[i]
        key = old.key or key  # the line keeps its own spelling of the key
        if old.value == value and old.op != "+=":
            return  # unchanged lines stay byte for byte
        p = old.parsed()
        esc = _escape_value(key, value)
        raw = old.text
        if old.op == "+=" or p.vstart > len(raw):
            # "+=" would append: rewrite the line with a plain '=' in the file's style.
            self.body[i] = self._doc._new_option(old, key, value, old.depth)
            self._index = None
            return
        head = raw[: p.vstart]
        if not esc:
            head = head.rstrip(" \t") if head.rstrip(" \t").endswith("=") else head
        elif head.endswith("=") and old.op == "=" and esc.startswith(">"):
            head += " "  # "key=>x" would turn into an object line
        elif head.endswith("=") and p.vstart == p.vend and " =" in head:
            head += " "
        new = head + esc + raw[p.vend :]
        self.body[i] = self._doc._checked(new, old.depth, key, old.op or "=", value)
        self._index = None

    def _delete_at(self, i: int) -> None:
        line = self.body[i]
        after = line.parsed().depth_out
        if after != line.depth:
            raise ConfValueError(
                Text(
                    "cannot remove option {k}: its line opens or closes a ;-- --; comment",
                    "нельзя удалить параметр {k}: строка открывает или закрывает ;-- --;",
                ).format(k=line.key),
                next_step=Text("Edit that line by hand.", "Исправьте эту строку вручную."),
            )
        del self.body[i]
        self._index = None

    def _insert_option(self, key: str, value: str, at: int | None) -> None:
        doc = self._doc
        if at is None:
            at = self._content_end()
        at = doc._depth_zero_at(self, at)
        model = None
        for j in range(min(at, len(self.body)) - 1, -1, -1):
            if self.body[j].kind is OPTION and _sep_of(self.body[j])[0] is not None:
                model = self.body[j]
                break
        same = [self.body[j] for j in self._positions(key)]
        # A key already written keeps its arrow style; a new one takes the default.
        same_op = "=>" if all(ln.op == "=>" for ln in same) else "="
        op = same_op if same else default_op(key)
        line = doc._new_option(model, key, value, 0, op)
        prev = self.body[at - 1] if at > 0 else self.header
        if at == len(self.body) and not prev.text.endswith("\n"):
            # The file's last line had no newline: give it one, keep "no final newline".
            fixed = prev.text + doc._style().eol
            line.text = line.text[: len(line.text) - len(line.line_ending)]
            if at > 0:
                self.body[at - 1] = _relex(fixed, prev.depth, prev)
            else:
                self.header = _relex(fixed, prev.depth, prev)
        self.body.insert(at, line)
        self._index = None

    def _content_end(self) -> int:
        """Index after the last line that is not blank, a comment, or the next header's comments."""
        end = len(self.body)
        while end > 0 and self.body[end - 1].kind in (BLANK, COMMENT):
            end -= 1
        return end


def _relex(text: str, depth: int, like: Line | None = None) -> Line:
    """Classify one rewritten line; ``like`` (the line it replaces) keeps a first-line BOM."""
    first = like is not None and like.note == "bom"
    return _lex_lines([text], depth, first=first)[0][0]


def _escape_value(key: str, value: str) -> str:
    bad = None
    if any(c in value for c in "\n\r\0"):
        bad = Text("a newline, CR or NUL", "перевод строки, CR или NUL")
    elif value and (value[0] in BLANKS or value[-1] in BLANKS):
        bad = Text(
            "leading or trailing blanks (Asterisk trims them)",
            "пробелы в начале или конце (Asterisk их срезает)",
        )
    if bad is not None:
        raise ConfValueError(
            Text(
                "the value of {k} cannot be written: it has ",
                "значение {k} нельзя записать: в нём ",
            ).format(k=key)
            + bad,
            next_step=Text("Remove those characters.", "Уберите эти символы."),
        )
    # "\;" is read as ';' (config_text_file_load() removes only the backslash right before
    # ';'), so every ';' is written as "\;", whatever precedes it.
    return value.replace(";", "\\;")


def _check_key(key: str) -> None:
    if (
        not key
        or key[0] in BLANKS + "[#\\;"
        or key[-1] in BLANKS + "+"
        or any(c in key for c in "=;\n\r\0")
    ):
        raise ConfValueError(
            Text(
                "{k!r} cannot be an option name (empty, '=', ';', a line break, a leading "
                "'[', '#', '\\', a trailing '+' or blanks at the ends)",
                "{k!r} не может быть именем параметра (пусто, '=', ';', перевод строки, "
                "'[', '#', '\\' в начале, '+' в конце или пробелы по краям)",
            ).format(k=key),
            next_step=Text("Use a plain option name.", "Используйте обычное имя параметра."),
        )


def _check_name(name: str, what: str = "section") -> None:
    bad = (
        not name
        or name[0] in BLANKS
        or name[-1] in BLANKS
        or any(c in name for c in "[];\n\r\0")
        or len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES
        or (what == "template" and (any(c in name for c in ",()") or name == "!" or name[0] == "+"))
    )
    if bad:
        raise ConfValueError(
            Text(
                "{n!r} cannot be a section name (empty, over 79 bytes, '[', ']', ';', a line "
                "break or blanks at the ends; template names also no ',', '(', ')')",
                "{n!r} не может быть именем секции (пусто, длиннее 79 байт, '[', ']', ';', "
                "перевод строки, пробелы по краям; в шаблонах ещё ',', '(', ')')",
            ).format(n=name),
            next_step=Text("Use a plain name.", "Используйте простое имя."),
        )


def _lex_lines(
    texts: Iterable[str], depth: int, *, first: bool, nul: bool = True
) -> tuple[list[Line], int]:
    """Classify lines; the hot loop of :func:`parse` (no regex, few calls per line)."""
    out: list[Line] = []
    append = out.append
    blanks = BLANKS
    for raw in texts:
        d = depth
        text = raw
        if first:
            first = False
            if raw.startswith("\ufeff"):
                # config_text_file_load(): a UTF-8 BOM is skipped on line 1 only.
                line, depth = _lex_lines([raw[1:]], d, first=False)
                line[0].text = raw
                if line[0].kind is not INVALID:
                    line[0].note = "bom"
                append(line[0])
                continue
        if len(text) > 2047 and len(text.encode("utf-8", "surrogateescape")) > MAX_LINE_BYTES - (
            0 if text.endswith("\n") else 1
        ):
            # fgets() into char[8192]: the whole line is skipped.
            append(Line(raw, INVALID, None, d, "line_too_long"))
            continue
        if nul and "\0" in text:
            text = text[: text.index("\0")]  # C strings end at NUL
        if ";" in text:
            content, depth = strip_comments(text, d)
            if content is None:
                append(Line(raw, COMMENT if text.strip(blanks) else BLANK, None, d))
                continue
        elif d:
            append(Line(raw, COMMENT if text.strip(blanks) else BLANK, None, d))
            continue
        else:
            content = text
        s = content.strip(blanks)
        if not s:
            append(Line(raw, COMMENT if text.strip(blanks) else BLANK, None, d))
            continue
        c = s[0]
        if c == "[":
            item = parse_content(s)
            assert isinstance(item, Header)
            append(Line(raw, INVALID if item.error else HEADER, item.name, d, item.error))
        elif c == "#":
            append(Line(raw, DIRECTIVE, None, d))
        else:
            eq = s.find("=")
            if eq > 0 and c != "\\":
                k = s[:eq]
                if k[-1] == "+":
                    k = k[:-1]
                k = k.rstrip(blanks)
                if k:
                    append(Line(raw, OPTION, k, d))
                    continue
            opt = parse_content(s)
            assert isinstance(opt, Option)
            if opt.error:
                append(Line(raw, INVALID, opt.key or None, d, opt.error))
            else:
                append(Line(raw, OPTION, opt.key, d))
    return out, depth


def _split(text: str) -> list[str]:
    parts = text.split("\n")
    last = parts.pop()
    out = [p + "\n" for p in parts]
    if last:
        out.append(last)
    return out


class Document:
    """A whole .conf file: ``preamble`` lines, then sections; renders byte for byte."""

    __slots__ = ("_from_bytes", "_style_cache", "depth_end", "path", "preamble", "sections_")

    def __init__(self, text: str, *, path: str | None = None, from_bytes: bool = False) -> None:
        self.path = path
        self._from_bytes = from_bytes
        self._style_cache: _Style | None = None
        lines, self.depth_end = _lex_lines(_split(text), 0, first=True, nul="\0" in text)
        self.preamble: list[Line] = []
        self.sections_: list[Section] = []
        body = self.preamble
        for n, line in enumerate(lines, 1):
            if line.kind is HEADER:
                body = []
                self.sections_.append(Section(self, line, body, source_line=n))
            else:
                body.append(line)
        self._resplit()

    def __repr__(self) -> str:
        return f"<Document {self.path or ''} sections={len(self.sections_)}>"

    # --- text -------------------------------------------------------------------------

    def lines(self) -> Iterator[Line]:
        """Every line in file order."""
        yield from self.preamble
        for sec in self.sections_:
            yield from sec.lead
            yield sec.header
            yield from sec.body

    def render(self) -> str:
        """The exact text: the input itself, plus only the edits made."""
        parts = [ln.text for ln in self.preamble]
        for sec in self.sections_:
            parts.extend([ln.text for ln in sec.lead])
            parts.append(sec.header.text)
            parts.extend([ln.text for ln in sec.body])
        return "".join(parts)

    # --- lead-ins ---------------------------------------------------------------------

    def _resplit(self) -> None:
        """Give each section its lead-in again by :func:`_lead_start`; no line moves."""
        prev: list[Line] = self.preamble
        owner: Section | None = None
        for idx, sec in enumerate(self.sections_):
            if sec.lead:
                prev.extend(sec.lead)
            k = _lead_start(prev, first=idx == 0)
            if k < len(prev) or sec.lead:
                sec.lead = prev[k:]
                del prev[k:]
                if owner is not None:
                    owner._index = None
            prev, owner = sec.body, sec

    def _comments_above(self, sec: Section) -> list[tuple[list[Line], int]]:
        """The comment lines touching ``sec``'s header, nearest first, as (list, index)."""
        i = self.sections_.index(sec)
        out: list[tuple[list[Line], int]] = []
        for where in (sec.lead, self.sections_[i - 1].body if i else self.preamble):
            for k in range(len(where) - 1, -1, -1):
                if where[k].kind is not COMMENT:
                    return out
                out.append((where, k))
        return out

    def to_bytes(self) -> bytes:
        """The exact bytes (undecodable input bytes come back as they were)."""
        return self.render().encode("utf-8", "surrogateescape")

    def __str__(self) -> str:
        return self.render()

    # --- finding ----------------------------------------------------------------------

    def sections(self, name: str | None = None, *, type: str | None = None) -> list[Section]:
        """Sections in file order, optionally only those called ``name`` / of ``type``."""
        low = None if name is None else ascii_lower(name)
        return [
            s
            for s in self.sections_
            if (low is None or ascii_lower(s.name) == low) and (type is None or s.type == type)
        ]

    def find(self, name: str, type: str | None = None) -> Section | None:
        """The first section ``name`` (case-insensitive) of ``type``; ``(+)`` parts skipped."""
        low = ascii_lower(name)
        for s in self.sections_:
            if ascii_lower(s.name) == low and not s.is_append and (type is None or s.type == type):
                return s
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def _type_of(self, sec: Section, depth: int) -> str | None:
        own = sec.get("type")
        if own is not None or depth > 10:
            return own
        found = None
        for tpl in sec.templates:
            low = ascii_lower(tpl)
            for base in self.sections_:
                if base is sec:
                    break
                if ascii_lower(base.name) == low:
                    t = self._type_of(base, depth + 1)
                    found = t if t is not None else found
                    break
        return found

    # --- problems ---------------------------------------------------------------------

    @property
    def problems(self) -> list[Problem]:
        """Lines Asterisk rejects or ignores, with 1-based line numbers (see Problem)."""
        out: list[Problem] = []
        seen: set[str] = set()
        included = False
        n = 0
        for line in self.lines():
            n += 1
            kind = line.kind
            if kind is INVALID and line.note:
                out.append(Problem(line.note, n, self.path))
            elif kind is OPTION and not seen and not included:
                out.append(Problem("no_category", n, self.path))
            elif kind is HEADER:
                h = line.parsed().item
                if isinstance(h, Header) and not included:
                    for t in h.templates:
                        if ascii_lower(t) not in seen:
                            out.append(Problem("missing_base", n, self.path, t))
                    if h.append_filter is not None and ascii_lower(h.name) not in seen:
                        out.append(Problem("missing_append", n, self.path, h.name))
                seen.add(ascii_lower(line.key or ""))
            elif kind is DIRECTIVE:
                word = line.text.strip(BLANKS)[1:].split(None, 1)
                w = ascii_lower(word[0]) if word else ""
                if w in ("include", "tryinclude"):
                    included = True
                elif w == "exec":
                    out.append(Problem("exec_disabled", n, self.path))
                else:
                    out.append(Problem("unknown_directive", n, self.path))
            if line.depth >= 0 and _depth_after(line) < 0:
                out.append(Problem("stray_comment_end", n, self.path))
        if self.depth_end > 0:
            out.append(Problem("unterminated_comment", n, self.path))
        return out

    # --- editing ----------------------------------------------------------------------

    def _style(self) -> _Style:
        if self._style_cache is None:
            self._style_cache = _Style(self)
        return self._style_cache

    def _checked(self, text: str, depth: int, key: str, op: str, value: str) -> Line:
        """Re-read a line we built; refuse it unless Asterisk reads exactly what we meant."""
        line = _relex(text, depth)
        p = line.parsed()
        ok = (
            line.kind is OPTION
            and line.key == key
            and p.op == op
            and p.value == value
            and p.depth_out == depth
            and len(text.encode("utf-8", "surrogateescape")) < MAX_LINE_BYTES
        )
        if not ok:
            raise ConfValueError(
                Text(
                    "the value of {k} would not read back as written",
                    "значение {k} не прочитается как записано",
                ).format(k=key),
                next_step=Text(
                    "Avoid line breaks and over-long values.",
                    "Уберите переводы строк и сократите значение.",
                ),
            )
        return line

    def _new_option(
        self, model: Line | None, key: str, value: str, depth: int, op: str = "="
    ) -> Line:
        _check_key(key)
        esc = _escape_value(key, value)
        style = self._style()
        sep, indent = _sep_of(model) if model is not None else (None, "")
        if sep is None:
            sep, indent = style.sep, style.indent
        if op == "=>":
            own = _arrow_of(model) if model is not None else None
            sep = own or style.arrow or sep.replace("=", "=>")
            if model is None and ascii_lower(key) == "same" and not indent:
                indent = " "  # ` same => n,...` is how dialplans are written
        elif esc.startswith(">") and sep.endswith("="):
            sep += " "
        eol = model.line_ending if model is not None and model.line_ending else style.eol
        if not esc:
            sep = sep.rstrip(" \t")
        text = f"{indent}{key}{sep}{esc}{eol}"
        return self._checked(text, depth, key, op, value)

    def _depth_zero_at(self, sec: Section, at: int) -> int:
        """The first index >= at in ``sec.body`` where no block comment is open."""
        while True:
            depth = sec.body[at].depth if at < len(sec.body) else self._depth_after_section(sec)
            if depth == 0:
                return at
            if at >= len(sec.body):
                raise ConfValueError(
                    Text(
                        "section [{n}] ends inside a ;-- --; comment: nothing can be added",
                        "секция [{n}] кончается внутри ;-- --;: добавить нельзя",
                    ).format(n=sec.name),
                    next_step=Text("Close the comment by hand.", "Закройте комментарий вручную."),
                )
            at += 1

    def _depth_after_section(self, sec: Section) -> int:
        i = self.sections_.index(sec)
        if i + 1 < len(self.sections_):
            nxt = self.sections_[i + 1]
            return (nxt.lead[0] if nxt.lead else nxt.header).depth
        return self.depth_end

    def add_section(
        self,
        name: str,
        options: Iterable[tuple[str, str]] = (),
        *,
        templates: Sequence[str] = (),
        template: bool = False,
        after: Section | str | None = None,
        comment: str | None = None,
    ) -> Section:
        """Insert a new ``[name]`` (even if one exists: pjsip repeats names across types).

        Goes right after section ``after`` (its whole body, before the next section's
        lead-in) or at the end; ``comment`` becomes its lead-in. Spacing, ``=`` style and
        line endings copy the file's. No existing line moves.
        """
        _check_name(name)
        for t in templates:
            _check_name(t, "template")
        style = self._style()
        eol = style.eol
        tokens = (["!"] if template else []) + list(templates)
        head = f"[{name}]" + (f"({','.join(tokens)})" if tokens else "") + eol
        header = _relex(head, 0)
        h = header.parsed().item
        if header.kind is not HEADER or not isinstance(h, Header) or h.name != name:
            raise ConfValueError(
                Text("bad section name {n!r}", "недопустимое имя секции {n!r}").format(n=name)
            )
        new = Section(self, header, [])
        for key, value in options:
            new.body.append(self._new_option(None, key, value, 0, default_op(key)))
        lead = _comment_lines(comment, eol) if comment is not None else []
        if after is not None:
            anchor = after if isinstance(after, Section) else self.find(after)
            if anchor is None or anchor not in self.sections_:
                raise KeyError(after if isinstance(after, str) else after.name)
            idx = self.sections_.index(anchor)
        else:
            idx = len(self.sections_) - 1
        nxt = self.sections_[idx + 1] if idx + 1 < len(self.sections_) else None
        depth = (nxt.lead[0] if nxt.lead else nxt.header).depth if nxt else self.depth_end
        if depth != 0:
            raise ConfValueError(
                Text(
                    "the place for [{n}] is inside a ;-- --; comment: nothing can be added",
                    "место для [{n}] внутри комментария ;-- --;: добавить нельзя",
                ).format(n=name),
                next_step=Text("Close the comment by hand.", "Закройте комментарий вручную."),
            )
        container = self.sections_[idx].body if idx >= 0 else self.preamble
        before = [self.sections_[idx].header, *container] if idx >= 0 else list(container)
        if before and not before[-1].text.endswith("\n"):
            # The file's last line had no newline: it gets one, and the new text then ends
            # without one, keeping the file's habit.
            end = before[-1]
            fixed = _relex(end.text + eol, end.depth, end)
            if container:
                container[-1] = fixed
            else:
                self.sections_[idx].header = fixed
            last = new.body[-1] if new.body else new.header
            cut = _relex(last.text[: len(last.text) - len(last.line_ending)], 0)
            if new.body:
                new.body[-1] = cut
            else:
                new.header = cut
        existing = 0
        for ln in reversed(before):
            if ln.kind is not BLANK:
                break
            existing += 1
        content = [ln for ln in before if ln.kind is not BLANK]
        gap = style.blank_between if content else 0
        if content and content[-1].kind is COMMENT and not existing:
            gap = max(gap, 1)  # never glue the new lead-in to a comment that is not its own
        # The gap above is the new section's own lead-in; below it, the next section keeps
        # its lead-in as it was (no separator is added there: removing the new section
        # then gives back the text byte for byte).
        new.lead = [_relex(eol, 0) for _ in range(max(0, gap - existing))] + lead
        if idx >= 0:
            self.sections_[idx]._index = None
        self.sections_.insert(idx + 1, new)
        self._resplit()
        self._style_cache = None
        return new

    def upsert_section(
        self,
        name: str,
        options: Iterable[tuple[str, str]],
        *,
        type: str | None = None,
        templates: Sequence[str] | None = None,
        after: Section | str | None = None,
        comment: str | None = None,
        prune: bool = False,
    ) -> Section:
        """Make section (``name``, ``type``) hold these options; create it if missing.

        Each listed key gets exactly the listed values (repeat a key for several); other
        keys stay unless ``prune``. A ``type`` not in ``options`` is written first.
        """
        opts = list(options)
        if type is not None and not any(ascii_lower(k) == "type" for k, _ in opts):
            opts.insert(0, ("type", type))
        sec = self.find(name, type)
        if sec is None:
            return self.add_section(
                name, opts, templates=templates or (), after=after, comment=comment
            )
        if templates is not None and list(templates) != sec.templates:
            self._set_templates(sec, list(templates))
        grouped: dict[str, tuple[str, list[str]]] = {}
        for k, v in opts:
            grouped.setdefault(ascii_lower(k), (k, []))[1].append(v)
        for key, values in grouped.values():
            sec.set_all(key, values)
        if prune:
            stale = {ascii_lower(k): k for k, _ in sec.items() if ascii_lower(k) not in grouped}
            for key in stale.values():
                sec.remove(key)
        return sec

    def _set_templates(self, sec: Section, templates: list[str]) -> None:
        for t in templates:
            _check_name(t, "template")
        raw = sec.header.text
        p = sec.header.parsed()
        close = raw.find("]", p.pos[0] if p.pos else 0)
        end = p.pos[-1] + 1 if p.pos else len(raw)
        tokens = ["!"] if sec.is_template else []
        tokens += [t for t in (sec._header().tokens or []) if t.startswith("+")] + templates
        new = raw[: close + 1] + (f"({','.join(tokens)})" if tokens else "") + raw[end:]
        if raw[close + 1 : close + 2] != "(":
            new = raw[: close + 1] + (f"({','.join(tokens)})" if tokens else "") + raw[close + 1 :]
        line = _relex(new, sec.header.depth, sec.header)
        if line.kind is not HEADER or line.parsed().depth_out != p.depth_out:
            raise ConfValueError(
                Text(
                    "cannot rewrite the header of [{n}]", "нельзя переписать заголовок [{n}]"
                ).format(n=sec.name)
            )
        sec.header = line

    def remove_section(
        self,
        section: Section | str,
        *,
        type: str | None = None,
        keep_comments: bool = False,
        owned: Callable[[Line], bool] | None = None,
    ) -> bool:
        """Delete a section with its lead-in: lead, header and body. False if absent.

        With ``keep_comments`` only the header, the option lines and lines ``owned``
        accepts go; every other line (comments, directives, blank lines) stays where it was.
        """
        sec = section if isinstance(section, Section) else self.find(section, type)
        if sec is None or sec not in self.sections_:
            return False
        i = self.sections_.index(sec)
        prev = self.sections_[i - 1].body if i > 0 else self.preamble
        nxt = self.sections_[i + 1] if i + 1 < len(self.sections_) else None
        last = sec.body[-1] if sec.body else sec.header
        tangled = sec.header.depth or _depth_after(last) != 0
        if keep_comments:
            tangled = tangled or any(
                ln.depth or _depth_after(ln) != ln.depth
                for ln in sec.body
                if ln.kind is OPTION or (owned is not None and owned(ln))
            )
        if tangled:
            raise ConfValueError(
                Text(
                    "section [{n}] is tangled with a ;-- --; comment; remove it by hand",
                    "секция [{n}] переплетена с ;-- --;; удалите её вручную",
                ).format(n=sec.name)
            )
        final_eol = last.text.endswith("\n")
        kept: list[Line] = []
        if keep_comments and owned is not None and i == 0 and not sec.lead:
            # The first section's comments are the file's heading (see _lead_start), but
            # an owned line among those touching the header is still the section's own.
            k = len(prev)
            while k and prev[k - 1].kind is COMMENT:
                k -= 1
            prev[k:] = [ln for ln in prev[k:] if not owned(ln)]
        if keep_comments:
            kept = [
                ln
                for ln in (*sec.lead, *sec.body)
                if ln.kind is not OPTION and not (owned is not None and owned(ln))
            ]
            if all(ln.kind is BLANK for ln in kept):
                # Only blank lines are left: keep as many as the longest run that met here
                # (above the section, at its end, below it), so no run shrinks and removing
                # and re-adding the section does not make the gap grow.
                above = sum(1 for ln in sec.lead if ln.kind is BLANK)
                tail = 0
                for ln in reversed(sec.body):
                    if ln.kind is not BLANK:
                        break
                    tail += 1
                below = 0
                for ln in nxt.lead if nxt is not None else ():
                    if ln.kind is not BLANK:
                        break
                    below += 1
                # The runs meet: of all their blank lines keep as many as the longest run.
                # Which ones go matters only when they differ in bytes (a lone LF in a CRLF
                # file, a line of spaces): trunkctl writes only the file's own line ending,
                # so a line that differs is the user's and stays; the rest go from the end.
                # Blank lines between the options are the user's (trunkctl writes none: this
                # is a section --force took from the user): they all stay.
                inner = sum(1 for ln in sec.body if ln.kind is BLANK) - tail
                junction = kept + (nxt.lead[:below] if nxt is not None else [])
                kept = _drop_plain_blanks(
                    junction, len(junction) - inner - max(above, tail, below), self._style().eol
                )
                if nxt is not None:
                    del nxt.lead[:below]
        prev.extend(kept)
        del self.sections_[i]
        if i > 0:
            self.sections_[i - 1]._index = None
        if not final_eol:
            # The removed text ended the file without a newline: so does what ends it now.
            if prev:
                if prev[-1].text.rstrip("\r\n"):  # an empty line would vanish: keep it
                    prev[-1] = _without_eol(prev[-1])
            elif i > 0:
                self.sections_[i - 1].header = _without_eol(self.sections_[i - 1].header)
        self._resplit()
        self._style_cache = None
        return True


def _drop_plain_blanks(lines: list[Line], count: int, eol: str) -> list[Line]:
    """``lines`` less ``count`` of them, the last plain ones (exactly ``eol``) first."""
    out = list(lines)
    for k in range(len(out) - 1, -1, -1):
        if count <= 0:
            break
        if out[k].text == eol:
            del out[k]
            count -= 1
    return out[: len(out) - max(0, count)]


def _without_eol(line: Line) -> Line:
    return _relex(line.text[: len(line.text) - len(line.line_ending)], line.depth, line)


def _lead_start(lines: list[Line], *, first: bool) -> int:
    """Where the lead-in of the header after ``lines`` starts (``len(lines)``: none).

    The lead-in is the comment lines touching the header plus the blank lines right above
    them; comments further up (after a blank line) stay with the section above, as its
    trailing trivia. It starts outside any ``;-- --;`` block, so it can go whole. The first
    section never takes the file's opening lines: they are the file's own heading.
    """
    k = len(lines)
    while k and lines[k - 1].kind is COMMENT:
        k -= 1
    while k and lines[k - 1].kind is BLANK:
        k -= 1
    while k < len(lines) and lines[k].depth:
        k += 1
    return len(lines) if first and k == 0 else k


def _comment_lines(comment: str, eol: str) -> list[Line]:
    """``; text`` lines for a comment we write; refuse text that would not stay a comment."""
    out: list[Line] = []
    for part in comment.split("\n"):
        if "\r" in part or "\0" in part or "--" in part:
            raise ConfValueError(
                Text("bad comment text", "недопустимый текст комментария"),
                next_step=Text("No CR, NUL or '--'.", "Без CR, NUL и '--'."),
            )
        out.append(_relex(f"; {part}".rstrip(" ") + eol, 0))
    return out


def _depth_after(line: Line) -> int:
    if ";" not in line.text or line.note == "line_too_long":
        return line.depth
    return line.parsed().depth_out


def parse(text: str | bytes, *, path: str | None = None) -> Document:
    """Read any text (or bytes) into a :class:`Document`; never raises on content.

    Bytes are decoded as UTF-8 with surrogate escapes, so ``to_bytes()`` gives them back.
    """
    if isinstance(text, bytes):
        return Document(text.decode("utf-8", "surrogateescape"), path=path, from_bytes=True)
    return Document(text, path=path)
