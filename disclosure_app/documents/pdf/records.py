"""The PDF decision record of a case: a summary, then every workflow step in order with who took
it, when, the stage, the change of state, each structured field and the rationale.

ReportLab's ``Paragraph`` parses its text as markup, so every piece of text that did not come from
this module's own string literals is passed through ``xml.sax.saxutils.escape`` first (line breaks
become ``<br/>`` only after escaping). Without that, an officer's ``<b>`` crashes the build, an
``<img src=...>`` makes the server read a local file and ``<a href="javascript:...">`` becomes a
live link (SECURITY.md finding 4, SEC-22). The output is deterministic (``invariant=1``): the
same case, steps and generation details always give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape  # nosec B406 # escapes output; parses no XML

from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.orm import object_session

from disclosure_app.cases.step_display import StepView, describe_steps, stage_label, status_label
from disclosure_app.documents.pdf.styles import (
    HEADER_GAP,
    MARGIN,
    PAGE_SIZE,
    PROTECTIVE_MARKING,
    RULE,
    SHADE,
    STYLES,
    DocumentTooLong,
    draw_running_heads,
    numbered_canvas,
)
from disclosure_app.models import Case, CaseStep
from disclosure_app.risk.identity_record import IdentityRecord, identity_record

MAX_PAGES = 200

__all__ = ["MAX_PAGES", "DocumentTooLong", "build_case_record", "text"]


def text(value: Any, style: str = "body") -> Paragraph:
    """A paragraph of plain text: markup characters escaped, line breaks kept."""
    markup = escape("" if value is None else str(value)).replace("\n", "<br/>")
    return Paragraph(markup, STYLES[style])


def _utc(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%d %B %Y %H:%M UTC")


def _table(rows: Sequence[tuple[str, str]], widths: tuple[float, float]) -> Table:
    table = Table(
        [[text(label, "cell_label"), text(value, "cell")] for label, value in rows],
        colWidths=list(widths),
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), SHADE),
                ("GRID", (0, 0), (-1, -1), 0.5, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _summary(case: Case) -> list[tuple[str, str]]:
    rows = [
        ("Reference", case.reference),
        ("Route", case.route.label),
        ("Current state", status_label(case.status)),
        ("Current stage", stage_label(case.status)),
        ("Received", _utc(case.received_at)),
        ("Initial checks due", _utc(case.initial_checks_due_at)),
    ]
    if case.interview_due_at is not None:
        rows.append(("Interview due", _utc(case.interview_due_at)))
    rows.append(("Decision due", _utc(case.decision_due_at)))
    if case.closed_at is not None:
        rows.append(("Closed", _utc(case.closed_at)))
    if case.personal_data_disposed_at is not None:
        rows.append(("Personal data", f"Disposed of on {_utc(case.personal_data_disposed_at)} "
                     "(MoPI review): the fields of each step below can no longer be read"))
    return rows


def _day(value: date | None) -> str:
    return "" if value is None else f"{value.day} {value:%B %Y}"


def _identity_flowables(identity: IdentityRecord, width: float) -> list[Flowable]:
    """Who proposed and who confirmed the subject's identity, on which register record and
    identifiers, and the checks checklist with each result."""
    widths = (0.3 * width, 0.7 * width)
    story: list[Flowable] = [
        text("Subject identity", "h2"),
        _table([("Identity", identity.status),
                ("Register record", identity.register_record or "None confirmed")], widths),
    ]
    if not identity.steps:
        story.append(text("No match has been proposed and no trace has been recorded."))
    for n, step in enumerate(identity.steps, start=1):
        if step.kind == "no_trace":
            rows = [("Recorded", "No trace: no register record can be attributed to the subject"),
                    ("Recorded by", f"{step.proposed_by}, {_utc(step.proposed_at)}"),
                    ("What was searched", step.note)]
        else:
            record = step.register_record + (f" ({step.register_source})"
                                             if step.register_source else "")
            rows = [("Register record proposed", record),
                    ("Proposed by", f"{step.proposed_by}, {_utc(step.proposed_at)}"),
                    ("Identifiers relied on", "; ".join(step.identifiers) or "None"),
                    ("Assessment when proposed", step.classification)]
            if step.flags:
                rows.append(("Flagged names", "; ".join(step.flags)))
            rows += [("Proposer's reasons", step.note), ("Outcome", step.outcome)]
            if step.reviewed_by:
                verb = "Confirmed by" if step.outcome == "Confirmed" else "Reviewed by"
                rows += [(verb, f"{step.reviewed_by}, {_utc(step.reviewed_at)}"),
                         ("Second person's reasons", step.review_note)]
        story += [Spacer(1, 4), text(f"Identity record {n}", "h3"), _table(rows, widths)]
    story.append(text("Checks", "h3"))
    if not identity.checks:
        story.append(text("No checks have been recorded."))
    else:
        rows = []
        for check in identity.checks:
            parts = [check.outcome]
            if check.checked_on or check.checked_by:
                parts.append("checked " + " by ".join(
                    p for p in (_day(check.checked_on), check.checked_by) if p))
            if check.reference:
                parts.append(f"reference {check.reference}")
            detail = "; ".join(parts) + (f"\n{check.result}" if check.result else "")
            detail += f"\nRecorded by {check.recorded_by}, {_utc(check.recorded_at)}"
            rows.append((check.source, detail))
        story.append(_table(rows, widths))
    return story


def _step_flowables(view: StepView, width: float) -> list[Flowable]:
    heading = f"{view.number}. {view.title}" + (" (decision)" if view.is_decision else "")
    meta = [("Who", view.actor_name), ("Role", view.actor_role)]
    if view.actor_rank:
        meta.append(("Rank", view.actor_rank))
    meta += [
        ("When", _utc(view.at)),
        ("Stage", view.stage),
        ("State", f"{view.from_label} → {view.to_label}"),
    ]
    flowables: list[Flowable] = [
        KeepTogether([text(heading, "h3"), _table(meta, (0.25 * width, 0.75 * width))])
    ]
    for line in view.fields:
        flowables += [text(line.label, "label"), text(line.value)]
    flowables += [text(view.rationale_label, "label"), text(view.rationale or "Not given")]
    return flowables


def _story(
    case: Case, views: Iterable[StepView], *, generated_at: datetime, generated_by: str,
    width: float, identity: IdentityRecord | None = None,
) -> list[Flowable]:
    story: list[Flowable] = [
        text(f"Decision record {case.reference}", "title"),
        text(
            f"Generated {_utc(generated_at)} by {generated_by}. This record is "
            f"{PROTECTIVE_MARKING}: do not copy or share it beyond those who need it for the "
            "purposes of the Child Sex Offender Disclosure Scheme.",
            "small",
        ),
        text("Case summary", "h2"),
        _table(_summary(case), (0.3 * width, 0.7 * width)),
        *(_identity_flowables(identity, width) if identity is not None else []),
        text("Decision trail", "h2"),
    ]
    views = list(views)
    if not views:
        story.append(text("No steps have been recorded on this case."))
    for view in views:
        story += _step_flowables(view, width)
        story.append(Spacer(1, 4))
    return story


def build_case_record(
    case: Case,
    steps: Iterable[CaseStep],
    *,
    force_name: str,
    generated_at: datetime,
    generated_by: str,
    people: Mapping[int, str] | None = None,
    identity: IdentityRecord | None = None,
) -> bytes:
    """The decision record as PDF bytes. ``people`` names staff accounts that steps refer to (an
    invited partner); ``identity`` is how the subject's identity was resolved (read from the
    case's session when not given; left out for a case that is in no session). Raises
    ``DocumentTooLong`` beyond ``MAX_PAGES`` pages."""
    if identity is None:
        session = object_session(case)
        if session is not None and case.id is not None:
            identity = identity_record(session, case)
    buffer = io.BytesIO()
    width, height = PAGE_SIZE
    doc = BaseDocTemplate(
        buffer,
        pagesize=PAGE_SIZE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_GAP,
        bottomMargin=MARGIN,
        invariant=1,
        title=f"Decision record {case.reference}",
        author=force_name,
        subject="Child Sex Offender Disclosure Scheme decision record",
        creator=f"{force_name} disclosure service",
        keywords=PROTECTIVE_MARKING,
        lang="en-GB",
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    reference = case.reference

    def on_page(canvas: Any, _doc: Any) -> None:
        draw_running_heads(canvas, force_name=force_name, reference=reference)

    doc.addPageTemplates([PageTemplate(id="record", frames=[frame], onPage=on_page)])
    views = describe_steps(steps, people or {})
    story = _story(case, views, generated_at=generated_at, generated_by=generated_by,
                   width=doc.width, identity=identity)
    doc.build(story, canvasmaker=numbered_canvas(MAX_PAGES))
    return buffer.getvalue()
