"""docs/lint.md lists every rule with the code's own severity and texts, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from trunkctl.lint import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "lint.md"


def _tables() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    text = DOC.read_text(encoding="utf-8")
    en_part, ru_part = text.split("## Правила", 1)
    rows: list[dict[str, list[str]]] = []
    for part in (en_part, ru_part):
        found: dict[str, list[str]] = {}
        for line in part.splitlines():
            m = re.match(r"\| `([A-Z]+\d{3})` \|(.*)\|$", line)
            if m:
                found[m.group(1)] = [c.strip() for c in m.group(2).split(" | ")]
        rows.append(found)
    return rows[0], rows[1]


def test_every_rule_is_documented_in_english_and_russian() -> None:
    en, ru = _tables()
    assert list(en) == [r.id for r in RULES]
    assert list(ru) == [r.id for r in RULES]
    for r in RULES:
        assert en[r.id] == [r.severity, r.title.en, r.why.en, r.fix.en], r.id
        assert ru[r.id] == [r.severity, r.title.ru, r.why.ru, r.fix.ru], r.id


def test_every_rule_has_its_scope_and_the_asterisk_behaviour_behind_it() -> None:
    text = DOC.read_text(encoding="utf-8")
    part = text.split("## Scope and proof", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([A-Z]+\d{3}) \| (.+?) \| (.+) \|$", part, flags=re.M)
    assert [r[0] for r in rows] == [r.id for r in RULES]
    assert all(scope.strip() and proof.strip() for _id, scope, proof in rows)
