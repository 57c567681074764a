"""How a recorded workflow step reads to a person: who, when, the stage, each structured field
as "label: human value", and the rationale.

Shared by the auditor's decision trail (HTML) and the PDF decision record, so that both say the
same thing about the same step. Values come back as plain text (line breaks kept); escaping is
the renderer's job (Jinja autoescape, or ``xml.sax.saxutils.escape`` for ReportLab).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from disclosure_app.models import CaseStep, User
from workflows.fields import Field, Kind, StepSpec
from workflows.roles import Rank, Role
from workflows.status import Status, stage_of
from workflows.steps import STEPS

NOT_GIVEN = "Not given"


@dataclass(frozen=True)
class FieldLine:
    label: str
    value: str


@dataclass(frozen=True)
class StepView:
    number: int
    step_id: int
    event: str
    title: str
    is_decision: bool
    actor_name: str
    actor_role: str
    actor_rank: str
    at: datetime
    stage: str
    from_label: str
    to_label: str
    fields: tuple[FieldLine, ...]
    rationale_label: str
    rationale: str
    audit_seq: int


def spec_for(event: str) -> StepSpec:
    """The step's specification; an event no longer in the code still gets a readable title."""
    return STEPS.get(event) or StepSpec(event, event.replace("_", " ").capitalize())


def status_label(value: Status | str | None) -> str:
    if value is None or value == "":
        return "New case"
    try:
        status = Status(value)
    except ValueError:
        return str(value)
    return "New case" if status is Status.draft else status.label


def stage_label(value: Status | str | None) -> str:
    try:
        return stage_of(Status(value or Status.draft)).label
    except (ValueError, KeyError):
        return ""


def role_label(value: Role | str | None) -> str:
    try:
        return Role(value).label
    except ValueError:
        return str(value or "").replace("_", " ").capitalize()


def rank_label(value: str | None) -> str:
    try:
        rank = Rank.parse(value)
    except (KeyError, ValueError):
        return str(value)
    return rank.label if rank is not None else ""


def _date_text(value: Any) -> str:
    try:
        day = date.fromisoformat(str(value))
        return f"{day.day} {day:%B %Y}"  # GOV.UK style: 7 March 2026
    except ValueError:
        return str(value)


def human_value(field: Field, value: Any, people: Mapping[int, str]) -> str:
    """One recorded value as a person would read it."""
    if value is None or value == "" or value == []:
        return NOT_GIVEN
    if field.kind is Kind.multichoice:
        values = value if isinstance(value, list | tuple) else [value]
        return "\n".join(field.choice_label(str(v)) for v in values)
    if field.kind in (Kind.choice, Kind.yesno):
        return field.choice_label(str(value))
    if field.kind is Kind.date:
        return _date_text(value)
    if field.kind is Kind.attendees:
        rows = value if isinstance(value, list | tuple) else []
        return "\n".join(
            f"{row.get('name', '')} ({field.choice_label(str(row.get('agency', '')))}, "
            f"{row.get('role', '')})" for row in rows if isinstance(row, Mapping)
        )
    if field.kind is Kind.partner:
        try:
            return people.get(int(value), f"Staff account {int(value)}")
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def field_lines(spec: StepSpec, data: Mapping[str, Any], people: Mapping[int, str]) -> list[
    FieldLine
]:
    """Every structured field of the step, in the order the form asked for them, then any keys an
    older version of the step recorded that the current specification no longer has."""
    lines = [
        FieldLine(f.label, human_value(f, data.get(f.name), people))
        for f in spec.fields
        if f.name in data or f.required
    ]
    known = {f.name for f in spec.fields}
    lines += [
        FieldLine(name.replace("_", " ").capitalize(), str(value))
        for name, value in sorted(data.items())
        if name not in known
    ]
    return lines


def describe_step(step: CaseStep, number: int, people: Mapping[int, str]) -> StepView:
    spec = spec_for(step.event)
    return StepView(
        number=number,
        step_id=step.id,
        event=step.event,
        title=spec.title,
        is_decision=spec.is_decision,
        actor_name=step.actor_name,
        actor_role=role_label(step.actor_role),
        actor_rank=rank_label(step.actor_rank),
        at=step.created_at,
        stage=stage_label(step.from_status),
        from_label=status_label(step.from_status),
        to_label=status_label(step.to_status),
        fields=tuple(field_lines(spec, step.data or {}, people)),
        rationale_label=spec.rationale_label,
        rationale=step.rationale or "",
        audit_seq=step.audit_seq,
    )


def describe_steps(steps: Iterable[CaseStep], people: Mapping[int, str]) -> list[StepView]:
    return [describe_step(step, n, people) for n, step in enumerate(steps, start=1)]


def partner_ids(steps: Iterable[CaseStep]) -> set[int]:
    """Ids of staff accounts that steps refer to (an invited partner, say)."""
    ids: set[int] = set()
    for step in steps:
        spec = spec_for(step.event)
        for f in spec.fields:
            if f.kind is Kind.partner and (step.data or {}).get(f.name) is not None:
                try:
                    ids.add(int(step.data[f.name]))
                except (TypeError, ValueError):
                    continue
    return ids


def people_names(session: Session, steps: Iterable[CaseStep]) -> dict[int, str]:
    """Display names for the staff accounts the steps refer to."""
    ids = partner_ids(steps)
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(ids)))}
