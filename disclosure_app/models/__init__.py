"""Every model, imported so that ``Base.metadata`` is complete (Alembic and tests rely on it)."""

from disclosure_app.models.access_reason import AccessReason
from disclosure_app.models.audit import AuditCheckpoint, AuditEntry, AuditVerification, ChainHead
from disclosure_app.models.case import Applicant, Case, Child, Subject
from disclosure_app.models.clock import (
    CaseClock,
    ClosureDay,
    ForecastFit,
    HistoricalCase,
    SchedulerLease,
)
from disclosure_app.models.dip_sample import DipSample, DipSampleDraw
from disclosure_app.models.document import StoredDocument
from disclosure_app.models.fingerprint import RationaleFingerprint
from disclosure_app.models.invitation import CaseInvitation
from disclosure_app.models.notification import Notification
from disclosure_app.models.register import (
    RegisterAddress,
    RegisterImport,
    RegisterName,
    RegisterPerson,
)
from disclosure_app.models.retention import LegalHold, Rectification, RetentionReview
from disclosure_app.models.risk import CaseCheck, CaseLink, CaseLinkKey, IdentityDecision
from disclosure_app.models.security import MfaResetRequest, RateLimitCounter, SecurityEvent
from disclosure_app.models.step import CaseStep
from disclosure_app.models.submission import SubmissionKey
from disclosure_app.models.team import CaseAllocation, OfficerCover, Team, TeamMember
from disclosure_app.models.user import User

__all__ = [
    "AccessReason",
    "Applicant",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditVerification",
    "Case",
    "CaseAllocation",
    "CaseCheck",
    "CaseClock",
    "CaseInvitation",
    "CaseLink",
    "CaseLinkKey",
    "CaseStep",
    "ChainHead",
    "Child",
    "ClosureDay",
    "DipSample",
    "DipSampleDraw",
    "ForecastFit",
    "HistoricalCase",
    "IdentityDecision",
    "LegalHold",
    "MfaResetRequest",
    "Notification",
    "OfficerCover",
    "RateLimitCounter",
    "RationaleFingerprint",
    "RegisterAddress",
    "RegisterImport",
    "RegisterName",
    "RegisterPerson",
    "Rectification",
    "RetentionReview",
    "SchedulerLease",
    "SecurityEvent",
    "StoredDocument",
    "Subject",
    "SubmissionKey",
    "Team",
    "TeamMember",
    "User",
]
