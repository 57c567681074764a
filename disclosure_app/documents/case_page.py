"""What the documents part of a staff case page offers each user: the documents to produce, the
kept ones, upload, bundle and record links. The case page's view calls ``case_documents``; the
document routes themselves are in ``documents.views``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for

from disclosure_app.db import get_session
from disclosure_app.documents import case_documents as documents
from disclosure_app.models import Case, User
from workflows.roles import Role
from workflows.status import Status

# Who may download the decision record: the route allows them, and the case page links it for
# them only (a partner agency member is never offered a link that answers 403).
RECORD_READERS = (Role.case_officer, Role.decision_maker, Role.auditor)
UPLOAD_ENDPOINT = "documents.signed_undertaking"


@dataclass(frozen=True)
class DocumentLink:
    label: str
    href: str


@dataclass(frozen=True)
class CaseDocuments:
    """The context of ``templates/documents/_case_documents.html``."""

    produce: list[DocumentLink] = field(default_factory=list)
    stored: list[dict[str, Any]] = field(default_factory=list)
    upload_href: str | None = None
    bundle_href: str | None = None
    record_href: str | None = None  # the decision record, linked beside the case's actions

    @property
    def empty(self) -> bool:
        return not (self.produce or self.stored or self.upload_href or self.bundle_href)


_KIND_ENDPOINTS = {
    documents.UNDERTAKING: "documents.undertaking",
    documents.NON_DISCLOSURE_LETTER: "documents.non_disclosure_letter",
    documents.CLOSURE_LETTER: "documents.closure_letter",
}


def case_documents(case: Case, user: User) -> CaseDocuments:
    """What the documents part of the case page offers this user (nothing for partners and
    administrators). Reads the kept documents' names, never their contents, and logs nothing:
    opening the case page is already logged."""
    produce, upload = [], None
    if user.role in documents.GENERATORS:
        produce = [DocumentLink(f"{documents.KIND_LABELS[kind]} (PDF)",
                                url_for(_KIND_ENDPOINTS[kind], case_id=case.id))
                   for kind in documents.available_kinds(case)]
    if user.role is Role.case_officer and case.status is Status.disclosure_approved:
        upload = url_for(UPLOAD_ENDPOINT, case_id=case.id)
    stored: list[dict[str, Any]] = []
    if user.role in documents.STORED_READERS:
        stored = [{**documents.public_summary(doc),
                   "href": url_for("documents.stored_document", case_id=case.id,
                                   document_id=doc.id)}
                  for doc in documents.stored_documents(get_session(), case.id)]
    bundle = (url_for("documents.case_bundle_zip", case_id=case.id)
              if user.role is Role.auditor else None)
    record = (url_for("documents.case_record", case_id=case.id)
              if user.role in RECORD_READERS and "documents.case_record" in
              current_app.view_functions else None)
    return CaseDocuments(produce, stored, upload, bundle, record)
