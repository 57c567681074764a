"""A case under the scheme and the people in it.

The case row holds workflow facts only; personal details live in ``Applicant``, ``Child`` and
``Subject`` so that they can be minimised, restricted or erased without touching the decision log.
Every personal column is ``Sealed``: encrypted under the case's own data key (``data_key_id``,
held in the key store, disposal destroys it; see disclosure_app.privacy).
``status`` is written by the state machine and nothing else; ``stage`` and ``is_open`` follow it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from disclosure_app.db import Base
from disclosure_app.models.types import enum_column
from disclosure_app.privacy import blind_index
from disclosure_app.privacy.sealed import Sealed, register_case_model
from workflows.status import Route, Stage, Status, stage_of

if TYPE_CHECKING:
    from disclosure_app.models.clock import CaseClock
    from disclosure_app.models.invitation import CaseInvitation
    from disclosure_app.models.register import RegisterPerson
    from disclosure_app.models.risk import CaseCheck
    from disclosure_app.models.step import CaseStep
    from disclosure_app.models.team import Team
    from disclosure_app.models.user import User


PROPOSED_OUTCOME_LABELS = {
    "disclose_to_applicant": "Disclose to the applicant",
    "disclose_to_other": "Disclose to another person best placed to protect the child",
    "other_information": "Disclose other relevant information",
    "no_disclosure": "No disclosure",
}


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_open_due", "is_open", "decision_due_at", "id"),
        sa.Index("ix_cases_status_due", "status", "decision_due_at", "id"),
        sa.Index("ix_cases_stage_due", "stage", "decision_due_at", "id"),
        # is_open too (since 0007): "my cases" then matches it on more columns than
        # ix_cases_open_due, so the planner takes it even without statistics.
        sa.Index("ix_cases_officer_due", "assigned_officer_id", "is_open", "decision_due_at",
                 "id"),
        # Dip sampling draws closed no-disclosure cases by closing date.
        sa.Index("ix_cases_outcome_closed", "decision_outcome", "closed_at", "id"),
        # The team queues: a team's open cases, and its unallocated ones, by due date. The
        # second has is_open too, so that it matches the unallocated view on more columns than
        # the first and the planner takes it even without statistics (a team with few
        # unallocated cases would otherwise be read whole).
        sa.Index("ix_cases_team_open_due", "team_id", "is_open", "decision_due_at", "id"),
        sa.Index("ix_cases_team_officer_due", "team_id", "assigned_officer_id", "is_open",
                 "decision_due_at", "id"),
        # The records manager's review queue: closed cases by review date.
        sa.Index("ix_cases_review_due", "review_due_on", "id"),
        # What the disposal run picks up.
        sa.Index("ix_cases_disposal", "disposal_approved_at", "personal_data_disposed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    route: Mapped[Route] = mapped_column(enum_column(Route))
    status: Mapped[Status | None] = mapped_column(enum_column(Status), nullable=False)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    is_open: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_by_label: Mapped[str] = mapped_column(sa.String(120))
    assigned_officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The unit that holds the case (disclosure_app.teams); None only for cases made before teams.
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("teams.id"))

    received_at: Mapped[datetime]
    initial_checks_due_at: Mapped[datetime]
    interview_due_at: Mapped[datetime | None]
    decision_due_at: Mapped[datetime]
    # The full risk assessment's target (DOMAIN.md §6.1: 28 days); None for cases made before
    # the working-day clocks.
    assessment_due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Milestones: when each stage clock stopped (written by the machine's actions), read by the
    # clocks and by the breach forecast's history.
    checks_done_at: Mapped[datetime | None]
    interview_done_at: Mapped[datetime | None]
    assessment_done_at: Mapped[datetime | None]
    # An extension asked for and not yet authorised or refused (DOMAIN.md §9.3 #24):
    # {"clock", "new_date", "reason_code"}; who asked (they cannot authorise it).
    extension_request: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    extension_requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Why the whole-process target was missed, given when a late case is closed (§9.3 #23).
    overall_breach_reason: Mapped[str | None] = mapped_column(sa.String(32))

    # The case's data key in the key store (disclosure_app.privacy): every personal value of the
    # case is sealed under it. Made when the case first has something to seal.
    data_key_id: Mapped[str | None] = mapped_column(sa.String(32))

    # Retention (disclosure_app.records): the MoPI group given at closure, when the record is
    # next reviewed, when a review decided to dispose of it, and when its personal data was
    # disposed of (its key destroyed, its personal rows deleted; this skeleton stays).
    retention_group: Mapped[str | None] = mapped_column(sa.String(20))
    review_due_on: Mapped[date | None]
    disposal_approved_at: Mapped[datetime | None]
    personal_data_disposed_at: Mapped[datetime | None]

    # The private status link: only its SHA-256 is stored.
    status_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    # What the applicant told us (Right to Ask) or the referral summary (Right to Know).
    concern: Mapped[str] = mapped_column(Sealed(), default="")
    declared_truthful: Mapped[bool] = mapped_column(default=False)
    declared_sharing: Mapped[bool] = mapped_column(default=False)

    # Facts established by workflow steps (see workflows.protocols.CaseRecord).
    applicant_identity_verified: Mapped[bool | None]
    representations_recorded: Mapped[bool] = mapped_column(default=False)
    child_sexual_offence_flag: Mapped[bool] = mapped_column(default=False)
    recipient_is_applicant: Mapped[bool | None]
    urgent_safeguarding: Mapped[bool] = mapped_column(default=False)
    # The risk check (services.risk_check): who the subject is, and what the register holds.
    subject_identity: Mapped[str] = mapped_column(sa.String(16), default="unresolved")
    subject_person_pk: Mapped[int | None] = mapped_column(sa.ForeignKey("register_people.id"))
    register_child_sexual_offence: Mapped[bool] = mapped_column(default=False)

    # The disclosure decision and its second approval (four eyes on both outcomes).
    proposed_outcome: Mapped[str | None] = mapped_column(sa.String(32))
    decision_author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Server defaults too: rows written outside the ORM (bulk loads, restores) stay valid.
    decision_needs_countersign: Mapped[bool] = mapped_column(default=False,
                                                             server_default=sa.false())
    decision_approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_approved_at: Mapped[datetime | None]
    # "disclosure" or "no_disclosure" once approved; kept after the case closes.
    decision_outcome: Mapped[str | None] = mapped_column(sa.String(20))
    # The face-to-face disclosure.
    disclosure_meeting_on: Mapped[date | None]
    undertaking_recorded: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    applicant: Mapped[Applicant | None] = relationship(
        back_populates="case", uselist=False, cascade="all, delete-orphan"
    )
    subject: Mapped[Subject | None] = relationship(
        back_populates="case", uselist=False, cascade="all, delete-orphan"
    )
    children: Mapped[list[Child]] = relationship(
        back_populates="case", order_by="Child.position", cascade="all, delete-orphan"
    )
    steps: Mapped[list[CaseStep]] = relationship(
        back_populates="case", order_by="CaseStep.id", viewonly=True
    )
    invitations: Mapped[list[CaseInvitation]] = relationship(
        back_populates="case", order_by="CaseInvitation.id", viewonly=True
    )
    assigned_officer: Mapped[User | None] = relationship(foreign_keys=[assigned_officer_id])
    team: Mapped[Team | None] = relationship()
    clocks: Mapped[list[CaseClock]] = relationship(order_by="CaseClock.id", viewonly=True)
    decision_author: Mapped[User | None] = relationship(foreign_keys=[decision_author_id])
    decision_approver: Mapped[User | None] = relationship(foreign_keys=[decision_approver_id])
    subject_person: Mapped[RegisterPerson | None] = relationship()
    checks: Mapped[list[CaseCheck]] = relationship(order_by="CaseCheck.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def proposed_outcome_label(self) -> str:
        return PROPOSED_OUTCOME_LABELS.get(self.proposed_outcome or "", "")

    def is_partner_invited(self, user_id: int | None) -> bool:
        return user_id is not None and any(
            inv.user_id == user_id and inv.revoked_at is None for inv in self.invitations
        )

    def resolved_check_sources(self) -> set[str]:
        """Sources with a check record (done or not applicable): workflows.checks."""
        return {check.source for check in self.checks}


register_case_model(Case)


@event.listens_for(Case.status, "set")
def _follow_status(target: Case, value: Status | None, _old: object, _initiator: object) -> None:
    """Keep the derived, indexed columns in step with the state the machine wrote."""
    if value is None:
        return
    status = Status(value)
    target.stage = stage_of(status)
    target.is_open = not status.is_terminal


class Applicant(Base):
    __tablename__ = "applicants"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    full_name: Mapped[str] = mapped_column(Sealed())
    other_names: Mapped[str] = mapped_column(Sealed(), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Sealed("date"))
    address: Mapped[str] = mapped_column(Sealed())
    postcode: Mapped[str] = mapped_column(Sealed())
    phone: Mapped[str] = mapped_column(Sealed(), default="")
    email: Mapped[str] = mapped_column(Sealed(), default="")
    contact_method: Mapped[str] = mapped_column(sa.String(20))
    safe_contact_times: Mapped[str] = mapped_column(Sealed())
    messages_ok: Mapped[bool] = mapped_column(default=False)
    contact_notes: Mapped[str] = mapped_column(Sealed(), default="")
    relationship_to_subject: Mapped[str] = mapped_column(Sealed())

    case: Mapped[Case] = relationship(back_populates="applicant")


class Child(Base):
    __tablename__ = "children"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    position: Mapped[int]
    full_name: Mapped[str] = mapped_column(Sealed())
    date_of_birth: Mapped[date | None] = mapped_column(Sealed("date"))
    age: Mapped[int | None] = mapped_column(Sealed("int"))
    gender: Mapped[str] = mapped_column(Sealed(), default="")
    lives_with: Mapped[str] = mapped_column(Sealed(), default="")
    applicant_relationship: Mapped[str] = mapped_column(Sealed(), default="")
    subject_contact: Mapped[str] = mapped_column(Sealed())

    case: Mapped[Case] = relationship(back_populates="children")


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), unique=True)
    full_name: Mapped[str] = mapped_column(Sealed())
    aliases: Mapped[str] = mapped_column(Sealed(), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Sealed("date"))
    approximate_age: Mapped[int | None] = mapped_column(Sealed("int"))
    address: Mapped[str] = mapped_column(Sealed(), default="")
    postcode: Mapped[str] = mapped_column(Sealed(), default="")
    relationship_to_child: Mapped[str] = mapped_column(Sealed())
    relationship_to_applicant: Mapped[str] = mapped_column(Sealed(), default="")
    # Blind index of the name (privacy.blind_index): the auditors' "who consulted this subject"
    # search finds the cases without reading every name.
    name_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    case: Mapped[Case] = relationship(back_populates="subject")


@event.listens_for(Subject.full_name, "set")
def _index_subject_name(target: Subject, value: str | None, _old: object,
                        _initiator: object) -> None:
    target.name_index = blind_index.subject_name_digest(value) if value else None
