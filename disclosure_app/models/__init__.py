"""Every model, imported so that ``Base.metadata`` is complete (Alembic and tests rely on it)."""

from disclosure_app.models.access_reason import AccessReason
from disclosure_app.models.audit import AuditCheckpoint, AuditEntry, AuditVerification, ChainHead
from disclosure_app.models.case import Applicant, Case, Child, Subject
from disclosure_app.models.invitation import CaseInvitation
from disclosure_app.models.security import SecurityEvent
from disclosure_app.models.step import CaseStep
from disclosure_app.models.submission import SubmissionKey
from disclosure_app.models.user import User

__all__ = [
    "AccessReason",
    "Applicant",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditVerification",
    "Case",
    "CaseInvitation",
    "CaseStep",
    "ChainHead",
    "Child",
    "SecurityEvent",
    "Subject",
    "SubmissionKey",
    "User",
]
