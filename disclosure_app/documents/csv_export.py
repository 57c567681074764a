"""CSV exports that are safe to open in a spreadsheet (SECURITY.md SEC-23).

RFC 4180 quoting comes from the ``csv`` module (CRLF line ends, fields with commas, quotes or line
breaks quoted). Formula injection is neutralised cell by cell: a cell a spreadsheet would treat as
a formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``, so
``=HYPERLINK("http://x","y")`` is shown as text and never evaluated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from disclosure_app.models import AuditEntry

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

AUDIT_COLUMNS = (
    "seq",
    "time_utc",
    "actor_name",
    "actor_role",
    "action",
    "category",
    "case_reference",
    "from_status",
    "to_status",
    "entry_hash",
)


def neutralise(cell: Any) -> str:
    """The cell as text that no spreadsheet will evaluate."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then each row, one encoded CSV line at a time (for streaming)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in header])
    yield _drain(buffer)
    for row in rows:
        writer.writerow([neutralise(c) for c in row])
        yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def audit_row(entry: AuditEntry | Any, references: Mapping[int, str]) -> list[Any]:
    """One export row from an ``AuditEntry`` or a plain row of the audit table."""
    return [
        entry.seq,
        entry.created_at.isoformat(timespec="microseconds"),
        entry.actor_name,
        entry.actor_role,
        entry.action,
        entry.category,
        references.get(entry.case_id, "") if entry.case_id is not None else "",
        entry.from_status,
        entry.to_status,
        entry.entry_hash,
    ]
