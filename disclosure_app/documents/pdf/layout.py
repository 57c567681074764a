"""The frame shared by the short documents a case produces (the undertaking and the outcome
letters): running heads with the protective marking, "Page X of Y", fixed metadata and
deterministic bytes (``invariant=1``).

Text goes into a story only through ``records.text``, which escapes ReportLab's markup
(SECURITY.md SEC-22); numbered lists only through ``numbered``, which does the same per item.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    ListFlowable,
    ListItem,
    PageTemplate,
    Table,
    TableStyle,
)

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

# Letters and the undertaking are a page or two; anything longer is a fault, not a document.
MAX_PAGES = 10


def numbered(items: Sequence[str]) -> ListFlowable:
    """A numbered list of plain-text items."""
    return ListFlowable(
        [ListItem(text(item), leftIndent=14, value=n) for n, item in enumerate(items, start=1)],
        bulletType="1", bulletFormat="%s.", bulletFontName="Helvetica", bulletFontSize=10,
        leftIndent=16,
    )


def bullets(items: Sequence[str]) -> ListFlowable:
    """A bulleted list of plain-text items."""
    return ListFlowable([ListItem(text(item), leftIndent=14) for item in items],
                        bulletType="bullet", start="•", bulletFontSize=9, leftIndent=14)


def grid(rows: Sequence[Sequence[Any]], widths: Sequence[float], *,
         min_height: float | None = None, shade_first_column: bool = True) -> Table:
    """A ruled table; every cell is passed through ``text`` unless it is already a flowable."""
    cells = [[cell if isinstance(cell, Flowable) else text(cell, "cell") for cell in row]
             for row in rows]
    table = Table(cells, colWidths=list(widths), hAlign="LEFT",
                  rowHeights=[min_height] * len(cells) if min_height else None)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.5, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
    if shade_first_column:
        style.append(("BACKGROUND", (0, 0), (0, -1), SHADE))
    table.setStyle(TableStyle(style))
    return table


def build(story: list[Flowable], *, force_name: str, reference: str, title: str,
          subject: str) -> bytes:
    """The PDF bytes of ``story``. The metadata is fixed text chosen by the caller: never a
    person's name (SECURITY.md SEC-22)."""
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_GAP,
        bottomMargin=MARGIN,
        invariant=1,
        title=title,
        author=force_name,
        subject=subject,
        creator=f"{force_name} disclosure service",
        keywords=PROTECTIVE_MARKING,
        lang="en-GB",
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")

    def on_page(canvas: Any, _doc: Any) -> None:
        draw_running_heads(canvas, force_name=force_name, reference=reference)

    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    doc.build(story, canvasmaker=numbered_canvas(MAX_PAGES))
    return buffer.getvalue()


def content_width() -> float:
    return PAGE_SIZE[0] - 2 * MARGIN
