"""Any auditor's report (``services.audit_reports.Report``) as a PDF table: the same rows as the
page and the CSV, landscape, with the protective marking and page numbers. Every cell goes
through ``records.text`` (escaped), as in the decision record."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from reportlab.lib.pagesizes import landscape
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Table, TableStyle

from disclosure_app.audit.reports import Report
from disclosure_app.documents.pdf.records import text
from disclosure_app.documents.pdf.styles import (
    HEADER_GAP,
    MARGIN,
    PAGE_SIZE,
    PROTECTIVE_MARKING,
    RULE,
    SHADE,
    draw_running_heads,
    numbered_canvas,
)

MAX_PAGES = 500


def build_report(report: Report, *, force_name: str, generated_at: datetime,
                 generated_by: str, description: str) -> bytes:
    buffer = io.BytesIO()
    size = landscape(PAGE_SIZE)
    doc = BaseDocTemplate(buffer, pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN,
                          topMargin=MARGIN + HEADER_GAP, bottomMargin=MARGIN, invariant=1,
                          title=report.title, author=force_name, keywords=PROTECTIVE_MARKING,
                          creator=f"{force_name} disclosure service", lang="en-GB")
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")

    def on_page(canvas: Any, _doc: Any) -> None:
        draw_running_heads(canvas, force_name=force_name, reference="Audit report")

    doc.addPageTemplates([PageTemplate(id="report", frames=[frame], onPage=on_page)])
    cut = " (the newest only: narrow the search)" if report.truncated else ""
    story: list[Any] = [
        text(report.title, "title"),
        text(description),
        text(f"Generated {generated_at:%d %B %Y %H:%M} UTC by {generated_by}. "
             f"{len(report.rows)} row(s){cut}.", "small"),
    ]
    if report.rows:
        width = doc.width / len(report.columns)
        table = Table([[text(c, "cell_label") for c in report.columns]]
                      + [[text(cell, "cell") for cell in row] for row in report.rows],
                      colWidths=[width] * len(report.columns), repeatRows=1)
        table.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story.append(table)
    else:
        story.append(text("Nothing matched."))
    doc.build(story, canvasmaker=numbered_canvas(MAX_PAGES))
    return buffer.getvalue()
