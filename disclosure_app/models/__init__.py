"""Every model, imported so that ``Base.metadata`` is complete (Alembic and tests rely on it)."""

from disclosure_app.models.audit import AuditEntry, ChainHead
from disclosure_app.models.case import Applicant, Case, Child, Subject
from disclosure_app.models.dip_sample import DipSample, DipSampleDraw
from disclosure_app.models.document import StoredDocument
from disclosure_app.models.fingerprint import RationaleFingerprint
from disclosure_app.models.invitation import CaseInvitation
from disclosure_app.models.register import (
    RegisterAddress,
    RegisterImport,
    RegisterName,
    RegisterPerson,
)
from disclosure_app.models.risk import CaseCheck, CaseLink, CaseLinkKey, IdentityDecision
from disclosure_app.models.step import CaseStep
from disclosure_app.models.submission import SubmissionKey
from disclosure_app.models.user import User

__all__ = [
    "Applicant",
    "AuditEntry",
    "Case",
    "CaseCheck",
    "CaseInvitation",
    "CaseLink",
    "CaseLinkKey",
    "CaseStep",
    "ChainHead",
    "Child",
    "DipSample",
    "DipSampleDraw",
    "IdentityDecision",
    "RationaleFingerprint",
    "RegisterAddress",
    "RegisterImport",
    "RegisterName",
    "RegisterPerson",
    "StoredDocument",
    "Subject",
    "SubmissionKey",
    "User",
]
