"""docs/outcomes.md stays true to the code: every explanation id is listed, and the mapping
table agrees with ``trunkctl.codes`` (whose values tests/codes/test_mapping.py pins)."""

import re
from pathlib import Path

import pytest

from trunkctl.codes import (
    CATALOG,
    CallOutcome,
    dial_status_for_cause,
    dialend_status_for_cause,
    explain,
    q850_cause,
    sip_to_q850,
    situation_for,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "outcomes.md"


def _rows(first_cell: str) -> list[list[str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if re.match(first_cell, line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_every_id_has_a_row_with_its_severity_and_headline() -> None:
    rows = {row[0].strip("`"): row for row in _rows(r"\| `[a-z_.]+` \|")}
    assert set(rows) == set(CATALOG)
    for entry_id, row in rows.items():
        entry = CATALOG[entry_id]
        assert row[2] == entry.severity, entry_id
        assert row[3] == entry.headline.en, entry_id


@pytest.mark.parametrize("row", _rows(r"\| \d{3} "), ids=lambda r: r[0])
def test_mapping_table_matches_the_code(row: list[str]) -> None:
    code = int(row[0].split()[0])
    cause = sip_to_q850(code)
    assert row[1] == f"{cause} {q850_cause(cause).cause_txt}"
    assert row[2:4] == [dial_status_for_cause(cause), dialend_status_for_cause(cause)]
    outcome = CallOutcome("failed", sip_code=code)
    assert row[4] == f"`{situation_for(outcome)}`" == f"`{explain(outcome).id}`"
