"""The attributes of a case that the workflow reads and writes, without importing the ORM."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from workflows.status import Route, Status


class CaseRecord(Protocol):
    status: Status | None
    route: Route
    assigned_officer_id: int | None
    applicant_identity_verified: bool | None
    representations_recorded: bool
    child_sexual_offence_flag: bool
    recipient_is_applicant: bool | None
    urgent_safeguarding: bool
    proposed_outcome: str | None
    decision_author_id: int | None
    decision_needs_countersign: bool
    decision_approver_id: int | None
    decision_approved_at: datetime | None
    decision_outcome: str | None
    disclosure_meeting_on: date | None
    undertaking_recorded: bool
    # The risk check (workflows.identity, workflows.checks).
    subject_identity: str
    register_child_sexual_offence: bool
    # Clocks and target dates (workflows.clocks, workflows.extensions).
    received_at: datetime
    initial_checks_due_at: datetime
    interview_due_at: datetime | None
    assessment_due_at: datetime | None
    decision_due_at: datetime
    checks_done_at: datetime | None
    interview_done_at: datetime | None
    assessment_done_at: datetime | None
    extension_request: dict[str, Any] | None
    extension_requested_by_id: int | None
    overall_breach_reason: str | None

    def is_partner_invited(self, user_id: int | None) -> bool: ...

    def resolved_check_sources(self) -> set[str]: ...
