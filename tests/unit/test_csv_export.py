"""CSV cells are neutralised against spreadsheet formula injection and quoted per RFC 4180."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from disclosure_app.documents.csv_export import AUDIT_COLUMNS, audit_row, csv_lines, neutralise
from disclosure_app.models import AuditEntry

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+44 1234", "'+44 1234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (-1, "'-1"),
    ],
)
def test_cells_a_spreadsheet_would_evaluate_get_a_leading_apostrophe(cell, expected):
    assert neutralise(cell) == expected


def test_lines_are_rfc_4180_and_round_trip():
    rows = [["a,b", 'say "hi"', "two\nlines"], ["=1+1", "", None]]
    text = "".join(csv_lines(["h1", "h2", "h3"], rows))
    assert text.endswith("\r\n")
    assert '"a,b","say ""hi""","two\nlines"\r\n' in text
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed == [["h1", "h2", "h3"], ["a,b", 'say "hi"', "two\nlines"], ["'=1+1", "", ""]]


def test_lines_stream_one_row_at_a_time():
    lines = list(csv_lines(["h"], iter([["1"], ["2"], ["3"]])))
    assert lines == ["h\r\n", "1\r\n", "2\r\n", "3\r\n"]


def test_an_audit_row_has_every_column_in_order_and_neutralised():
    entry = AuditEntry(
        seq=9, created_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), actor_id=None,
        actor_role="system", actor_name="@evil", action="case_viewed", category="consultation",
        case_id=3, from_status=None, to_status=None, payload="{}", prev_hash="0" * 64,
        entry_hash="ab" * 32,
    )
    row = audit_row(entry, {3: "CSD-AAAA-BBBB"})
    assert len(row) == len(AUDIT_COLUMNS)
    text = "".join(csv_lines(AUDIT_COLUMNS, [row]))
    parsed = list(csv.reader(io.StringIO(text, newline="")))[1]
    assert parsed == ["9", "2026-01-02T03:04:05.000006+00:00", "'@evil", "system", "case_viewed",
                      "consultation", "CSD-AAAA-BBBB", "", "", "ab" * 32]
