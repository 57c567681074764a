"""Rectification (DPA 2018 s.46): correcting an inaccurate personal detail of a case.

The police who work a case correct a detail with a reason. The value before and after are kept
on a ``Rectification`` row, sealed under the case's key like the detail itself (auditors read
them on the case trail); the change is an "alteration" entry in the audit chain with the hashes
of both values and of the reason. Link keys (and the subject's name index) follow the corrected
detail, so the case links to the right people from then on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from disclosure_app.audit import chain as audit
from disclosure_app.audit.canonical import sha256_hex
from disclosure_app.audit.chain import Category
from disclosure_app.cases import links
from disclosure_app.cases.workflow import load_case_in_scope
from disclosure_app.core.errors import InputInvalid, NotFound, StepNotAllowed
from disclosure_app.db import transaction
from disclosure_app.models import Case, CaseLinkKey, Rectification, User
from workflows.fields import normalise_text, text_problem
from workflows.roles import Role

MAY_RECTIFY = (Role.case_officer, Role.decision_maker)
REASON_MIN_CHARS = 20

# What may be corrected, per person: field -> (label, kind, longest). Kinds: text, date.
FIELDS: dict[str, dict[str, tuple[str, str, int]]] = {
    "applicant": {
        "full_name": ("Full name", "text", 100), "other_names": ("Other names", "text", 200),
        "date_of_birth": ("Date of birth", "date", 10), "address": ("Address", "text", 500),
        "postcode": ("Postcode", "text", 10), "phone": ("Phone", "text", 30),
        "email": ("Email", "text", 254),
        "safe_contact_times": ("Safe times to contact", "text", 500),
        "contact_notes": ("Contact notes", "text", 1000),
        "relationship_to_subject": ("Relationship to the subject", "text", 200),
    },
    "subject": {
        "full_name": ("Full name", "text", 100), "aliases": ("Other names", "text", 500),
        "date_of_birth": ("Date of birth", "date", 10), "address": ("Address", "text", 500),
        "postcode": ("Postcode", "text", 10),
        "relationship_to_child": ("Relationship to the child", "text", 200),
        "relationship_to_applicant": ("Relationship to the applicant", "text", 200),
    },
    "child": {
        "full_name": ("Full name", "text", 100), "date_of_birth": ("Date of birth", "date", 10),
        "gender": ("Gender", "text", 30), "lives_with": ("Lives with", "text", 500),
        "applicant_relationship": ("Relationship to the applicant", "text", 100),
        "subject_contact": ("Contact with the subject", "text", 1000),
    },
}
PERSON_LABELS = {"applicant": "Applicant", "subject": "Subject", "child": "Child"}


@dataclass(frozen=True)
class Correction:
    target: str  # "applicant", "subject" or "child:<id>", then ".<field>"
    new_value: str
    reason: str


def choices(case: Case) -> list[tuple[str, str]]:
    """(target, label) for every detail of this case that may be corrected."""
    found: list[tuple[str, str]] = []
    people: list[tuple[str, str, Any]] = []
    if case.applicant is not None:
        people.append(("applicant", "Applicant", case.applicant))
    if case.subject is not None:
        people.append(("subject", "Subject", case.subject))
    people += [(f"child:{child.id}", f"Child {n}", child)
               for n, child in enumerate(case.children, start=1)]
    for key, label, _row in people:
        for field, (field_label, _kind, _max) in FIELDS[key.split(":")[0]].items():
            found.append((f"{key}.{field}", f"{label}: {field_label}"))
    return found


def _row(case: Case, target: str) -> tuple[str, Any, str]:
    person_key, _, field = target.partition(".")
    person, _, ident = person_key.partition(":")
    if person not in FIELDS or field not in FIELDS[person]:
        raise InputInvalid({"target": "Choose the detail to correct"})
    if person == "applicant":
        row = case.applicant
    elif person == "subject":
        row = case.subject
    else:
        row = next((c for c in case.children if ident.isdecimal() and c.id == int(ident)), None)
    if row is None:
        raise InputInvalid({"target": "Choose the detail to correct"})
    return person, row, field


def _clean(kind: str, longest: int, raw: str, today: date) -> Any:
    value = normalise_text(raw or "")
    if kind == "date":
        for parse in (date.fromisoformat,
                      lambda v: datetime.strptime(v, "%d/%m/%Y").date(),  # noqa: DTZ007
                      lambda v: datetime.strptime(v, "%d %m %Y").date()):  # noqa: DTZ007
            try:
                day = parse(value)
            except ValueError:
                continue
            if day > today:
                raise InputInvalid({"new_value": "A date of birth must be in the past"})
            return day
        raise InputInvalid({"new_value": "Enter the date as DD/MM/YYYY"})
    problem = text_problem(value, multiline=False) if value else None
    if problem:
        raise InputInvalid({"new_value": problem})
    if len(value) > longest:
        raise InputInvalid({"new_value": f"The new value must be {longest:,} characters or "
                                         "fewer"})
    return value


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


def rectify(session: Session, user: User, case_id: int, correction: Correction, *,
            now: datetime) -> Rectification:
    if user.role not in MAY_RECTIFY:
        raise NotFound()
    with transaction(session):
        case = load_case_in_scope(session, user, case_id, for_update=True)
        if case.personal_data_disposed_at is not None:
            raise StepNotAllowed("This case's personal data has been disposed of: there is "
                                 "nothing left to correct.")
        person, row, field = _row(case, correction.target)
        _label, kind, longest = FIELDS[person][field]
        reason = normalise_text(correction.reason or "")
        problem = text_problem(reason, multiline=True) if reason else None
        if problem or len(reason) < REASON_MIN_CHARS:
            raise InputInvalid({"reason": problem or "Say why the detail was wrong and where "
                                f"the right one comes from (at least {REASON_MIN_CHARS} "
                                "characters)"})
        new = _clean(kind, longest, correction.new_value, now.date())
        old = getattr(row, field)
        if new == old:
            raise InputInvalid({"new_value": "The new value is the same as the one held"})
        if field == "full_name" and not new:
            raise InputInvalid({"new_value": "A name cannot be corrected to nothing"})
        entry = audit.append(
            session, now=now, actor=user.as_actor(), action="personal_data_rectified",
            category=Category.alteration, case_id=case.id,
            details={"person": person, "field": field, "old_sha256": sha256_hex(_shown(old)),
                     "new_sha256": sha256_hex(_shown(new)), "reason_sha256": sha256_hex(reason)})
        setattr(row, field, new)
        record = Rectification(case_id=case.id, person=person, person_row_id=row.id,
                               field=field, old_value=_shown(old), new_value=_shown(new),
                               reason=reason, by_user_id=user.id, at=now, audit_seq=entry.seq)
        session.add(record)
        # The links follow the corrected detail: keys it no longer gives go.
        session.flush()
        wanted = links.keys_for(case)
        held = session.execute(select(CaseLinkKey.kind, CaseLinkKey.key)
                               .where(CaseLinkKey.case_id == case.id)).all()
        stale = [(k, v) for k, v in held if (k, v) not in wanted]
        for kind_, key in stale:
            session.execute(delete(CaseLinkKey).where(CaseLinkKey.case_id == case.id,
                                                      CaseLinkKey.kind == kind_,
                                                      CaseLinkKey.key == key))
        links.write_keys(session, case)
        return record


def history(session: Session, case_id: int) -> list[Rectification]:
    return list(session.scalars(select(Rectification).where(Rectification.case_id == case_id)
                                .order_by(Rectification.id)))
