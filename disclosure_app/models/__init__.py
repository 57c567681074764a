"""Every model, imported so that ``Base.metadata`` is complete (Alembic and tests rely on it)."""

from disclosure_app.models.audit import AuditEntry, ChainHead
from disclosure_app.models.case import Applicant, Case, Child, Subject
from disclosure_app.models.dip_sample import DipSample, DipSampleDraw
from disclosure_app.models.document import StoredDocument
from disclosure_app.models.fingerprint import RationaleFingerprint
from disclosure_app.models.invitation import CaseInvitation
from disclosure_app.models.security import MfaResetRequest, RateLimitCounter
from disclosure_app.models.step import CaseStep
from disclosure_app.models.submission import SubmissionKey
from disclosure_app.models.user import User

__all__ = [
    "Applicant",
    "AuditEntry",
    "Case",
    "CaseInvitation",
    "CaseStep",
    "ChainHead",
    "Child",
    "DipSample",
    "DipSampleDraw",
    "MfaResetRequest",
    "RateLimitCounter",
    "RationaleFingerprint",
    "StoredDocument",
    "Subject",
    "SubmissionKey",
    "User",
]
