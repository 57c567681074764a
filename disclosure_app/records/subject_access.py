"""The applicant's own subject access request: what is held about the applicant, prepared for
the disclosure officer's review before anything is sent.

Only the applicant's own details are given in full. Everything else is a third party's and is
redacted or marked for review: the subject (never released: enforced subject access is a crime,
DOMAIN.md §8, and this export is never a way to obtain the subject's record), children who are
not the applicant's own (a child the applicant names as theirs is marked for review), the police's
and partner agencies' records of their work (counted, withheld pending review: they concern the
subject), the staff who did it. The applicant's own account is included but marked for review,
because it names other people. Producing the export is a "disclosure" entry in the audit chain
with the document's SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.chain import Category
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import NotFound, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.documents.pdf.layout import build, content_width, grid
from disclosure_app.documents.pdf.records import text
from disclosure_app.models import Case, User
from workflows.roles import Role
from workflows.status import PUBLIC_PHASES, Route, public_phase

MAY_EXPORT = (Role.case_officer, Role.decision_maker)
# What an applicant may call a child of their own: such a child is marked for review, not
# redacted (their data may be given to a parent acting for them, case by case).
OWN_CHILD_WORDS = ("mother", "father", "parent", "guardian", "son", "daughter", "mum", "dad",
                   "step", "carer", "foster", "grand")
APPLICANT_EVENTS = frozenset({"submit_application", "withdraw"})
REVIEW = "[FOR REVIEW BEFORE RELEASE]"


@dataclass(frozen=True)
class SubjectAccessExport:
    filename: str
    content: bytes
    sha256: str


def _day(value: date | datetime | None) -> str:
    return "" if value is None else value.strftime("%d %B %Y")


def _story(case: Case, generated_by: str, generated_at: datetime) -> list:  # type: ignore[type-arg]
    assert case.applicant is not None
    a, width = case.applicant, content_width()
    widths = (0.32 * width, 0.68 * width)
    story = [
        text(f"Subject access request: case {case.reference}", "title"),
        text(f"Prepared {generated_at.strftime('%d %B %Y %H:%M')} UTC by {generated_by} for "
             "review by the disclosure officer before release. Only the applicant's own "
             "details are given in full; third parties' information is redacted or marked "
             f"{REVIEW}.", "small"),
        text("The applicant's details", "h2"),
        grid([("Full name", a.full_name), ("Other names", a.other_names or "None given"),
              ("Date of birth", _day(a.date_of_birth) or "Not given"),
              ("Address", a.address), ("Postcode", a.postcode),
              ("Phone", a.phone or "Not given"), ("Email", a.email or "Not given"),
              ("How to contact", a.contact_method), ("Safe times", a.safe_contact_times),
              ("Messages may be left", "Yes" if a.messages_ok else "No"),
              ("Contact notes", a.contact_notes or "None")], widths),
        text("The application", "h2"),
        grid([("Reference", case.reference), ("Received", _day(case.received_at)),
              ("Where it is now", PUBLIC_PHASES[public_phase(case.status)]),
              ("Relationship to the person asked about", f"{REVIEW} {a.relationship_to_subject}"),
              ("The applicant's account", f"{REVIEW} {case.concern}")], widths),
        text("Children named in the application", "h2"),
    ]
    rows = []
    for n, child in enumerate(case.children, start=1):
        relation = (child.applicant_relationship or "").casefold()
        if any(word in relation for word in OWN_CHILD_WORDS):
            rows.append((f"Child {n}", f"{REVIEW} {child.full_name} (the applicant's "
                                       f"{child.applicant_relationship})"))
        else:
            rows.append((f"Child {n}", "[REDACTED: a child the application does not name as the "
                                       "applicant's own]"))
    story.append(grid(rows, widths) if rows else text("None."))
    own = [s for s in case.steps if s.event in APPLICANT_EVENTS]
    others = len(case.steps) - len(own)
    story += [
        text("The person the application asked about", "h2"),
        text("[REDACTED: information about a third party. The police do not release it in "
             "answer to a subject access request.]"),
        text("Records of the work on the application", "h2"),
        grid([(_day(s.created_at), "The application was submitted" if s.event ==
               "submit_application" else "The applicant withdrew the application")
              for s in own] or [("", "None")], widths),
        text(f"[WITHHELD PENDING REVIEW: {others} further records of police and partner-agency "
             "work on the application. They concern third parties; review each before release.]"
             if others else "No further records."),
    ]
    return story


def export(session: Session, user: User, case_id: int, *, force_name: str,
           now: datetime) -> SubjectAccessExport:
    if user.role not in MAY_EXPORT:
        raise NotFound()
    with transaction(session):
        case = load_case_in_scope(session, user, case_id)
        if case.route is not Route.right_to_ask or case.applicant is None:
            raise StepNotAllowed("This case has no applicant: a subject access request is "
                                 "answered from the applicant's own case.")
        if case.personal_data_disposed_at is not None:
            raise StepNotAllowed("This case's personal data has been disposed of: nothing "
                                 "about the applicant is held on it.")
        content = build(_story(case, user.display_name, now), force_name=force_name,
                        reference=case.reference, title="Subject access request",
                        subject="Information held about the applicant")
        digest = hashlib.sha256(content).hexdigest()
        audit.append(session, now=now, actor=user.as_actor(), action="subject_access_exported",
                     category=Category.disclosure, case_id=case.id,
                     details={"recipient": "applicant (subject access request)",
                              "document_sha256": digest})
        return SubjectAccessExport(f"subject-access-{case.reference}.pdf", content, digest)
