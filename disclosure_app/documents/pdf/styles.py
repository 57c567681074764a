"""Page layout and paragraph styles for the force's PDF documents.

Fixed fonts (the PDF standard Helvetica family, nothing embedded or loaded from disk) and fixed
colours: nothing in a document's appearance comes from user input (SECURITY.md SEC-22). Every page
carries the protective marking at its top and bottom, the force's name, the case reference and
"Page X of Y".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

PROTECTIVE_MARKING = "OFFICIAL-SENSITIVE"
PAGE_SIZE = A4
MARGIN = 20 * mm
HEADER_GAP = 10 * mm

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
INK = colors.HexColor("#0b0c0c")
SECONDARY_INK = colors.HexColor("#505a5f")
RULE = colors.HexColor("#b1b4b6")
SHADE = colors.HexColor("#f3f2f1")


class DocumentTooLong(ValueError):
    """A document would exceed the page cap (SECURITY.md SEC-30): refuse, do not truncate."""


STYLES = {
    "title": ParagraphStyle("title", fontName=FONT_BOLD, fontSize=20, leading=24,
                            spaceAfter=6 * mm, textColor=INK),
    "h2": ParagraphStyle("h2", fontName=FONT_BOLD, fontSize=14, leading=18, spaceBefore=6 * mm,
                         spaceAfter=3 * mm, textColor=INK),
    "h3": ParagraphStyle("h3", fontName=FONT_BOLD, fontSize=12, leading=15, spaceBefore=5 * mm,
                         spaceAfter=2 * mm, textColor=INK, keepWithNext=1),
    "label": ParagraphStyle("label", fontName=FONT_BOLD, fontSize=10, leading=13,
                            spaceBefore=2 * mm, textColor=INK, keepWithNext=1),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=10, leading=13, textColor=INK,
                           splitLongWords=1),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11, textColor=INK,
                           splitLongWords=1),
    "cell_label": ParagraphStyle("cell_label", fontName=FONT_BOLD, fontSize=9, leading=11,
                                 textColor=INK),
    "small": ParagraphStyle("small", fontName=FONT, fontSize=8, leading=10,
                            textColor=SECONDARY_INK),
    "marking": ParagraphStyle("marking", fontName=FONT_BOLD, fontSize=10, alignment=TA_CENTER),
}


def draw_running_heads(canvas: Canvas, *, force_name: str, reference: str) -> None:
    """The marking, force name and reference at the top; the marking again at the bottom."""
    width, height = PAGE_SIZE
    canvas.saveState()
    canvas.setFillColor(INK)
    canvas.setFont(FONT_BOLD, 10)
    canvas.drawCentredString(width / 2, height - 10 * mm, PROTECTIVE_MARKING)
    canvas.drawCentredString(width / 2, 7 * mm, PROTECTIVE_MARKING)
    canvas.setFont(FONT, 8)
    canvas.setFillColor(SECONDARY_INK)
    canvas.drawString(MARGIN, height - 15 * mm, force_name)
    canvas.drawRightString(width - MARGIN, height - 15 * mm, f"Case {reference}")
    canvas.setStrokeColor(RULE)
    canvas.line(MARGIN, height - 17 * mm, width - MARGIN, height - 17 * mm)
    canvas.line(MARGIN, 15 * mm, width - MARGIN, 15 * mm)
    canvas.restoreState()


def _draw_page_number(canvas: Canvas, number: int, total: int) -> None:
    width, _ = PAGE_SIZE
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.setFillColor(SECONDARY_INK)
    canvas.drawRightString(width - MARGIN, 11 * mm, f"Page {number} of {total}")
    canvas.restoreState()


def numbered_canvas(max_pages: int) -> Callable[..., Canvas]:
    """A canvas class that holds pages back until the end, to print "Page X of Y" on each, and
    refuses to go past ``max_pages``."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # ReportLab's method name
            if len(self._held_pages) >= max_pages:
                raise DocumentTooLong(f"the document would be longer than {max_pages} pages")
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held_pages)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                _draw_page_number(self, number, total)
                Canvas.showPage(self)
            Canvas.save(self)

    return NumberedCanvas
