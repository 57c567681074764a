"""The attributes of a case that the workflow reads and writes, without importing the ORM."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

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

    def is_partner_invited(self, user_id: int | None) -> bool: ...

    def resolved_check_sources(self) -> set[str]: ...
