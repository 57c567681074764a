"""The PDF decision record: complete, deterministic, marked on every page, and immune to markup in
anything a user typed (SECURITY.md SEC-22)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from disclosure_app.documents.pdf import records
from disclosure_app.documents.pdf.records import DocumentTooLong, build_case_record
from disclosure_app.models import Case, CaseStep
from disclosure_app.operations import demo
from workflows.roles import Role
from workflows.status import Route, Status

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
FORCE = "Northshire Police"
HOSTILE = (
    '<b>unclosed <img src="/etc/passwd"> <a href="javascript:alert(1)">x</a> '
    '<font color="red">red</font> <link href="file:///etc/hosts">y</link> &amp; &#65; <para>'
)

# The steps of a Right to Ask case that ends in a disclosure: (event, from, to, role, data).
JOURNEY = [
    ("submit_application", Status.draft, Status.received, Role.applicant, {}),
    ("start_checks", Status.received, Status.initial_checks, Role.case_officer, {}),
    ("accept_for_interview", Status.initial_checks, Status.awaiting_interview,
     Role.case_officer, demo.ACCEPT),
    ("complete_assessment", Status.full_risk_assessment, Status.awaiting_decision,
     Role.case_officer, demo.ASSESS),
    ("approve_disclosure_to_applicant", Status.awaiting_decision, Status.disclosure_approved,
     Role.decision_maker, demo.DISCLOSE),
    ("close_case", Status.disclosure_delivered, Status.closed, Role.case_officer,
     {"referrals_complete": "yes", "review_date": "2032-03-01"}),
]


def _case(status: Status = Status.closed) -> Case:
    return Case(
        id=7, reference="CSD-7K2M-9QXD", route=Route.right_to_ask, status=status,
        received_at=T0, initial_checks_due_at=T0 + timedelta(hours=24),
        interview_due_at=T0 + timedelta(days=10), decision_due_at=T0 + timedelta(days=45),
        closed_at=T0 + timedelta(days=30) if status is Status.closed else None,
    )


def _step(n: int, event: str, source: Status, target: Status, role: Role, data: dict,
          *, rationale: str | None = None, actor_name: str | None = None) -> CaseStep:
    names = {Role.applicant: "Applicant (public)", Role.case_officer: "Constable Olive Officer",
             Role.decision_maker: "Inspector Diane Decider"}
    return CaseStep(
        id=n, case_id=7, event=event, from_status=source, to_status=target, actor_id=None,
        actor_role=role, actor_name=actor_name or names[role],
        actor_rank={Role.case_officer: "constable", Role.decision_maker: "inspector"}.get(role),
        created_at=T0 + timedelta(days=n), data=dict(data),
        rationale=rationale if rationale is not None else f"Rationale {n} for {event}.\nLine 2.",
        audit_seq=100 + n,
    )


def _steps(**overrides: object) -> list[CaseStep]:
    return [_step(n, *spec, **overrides) for n, spec in enumerate(JOURNEY, start=1)]


def _build(case: Case | None = None, steps: list[CaseStep] | None = None, **kw: object) -> bytes:
    args = {"force_name": FORCE, "generated_at": T0 + timedelta(days=40),
            "generated_by": "Audrey Auditor (Auditor)"}
    return build_case_record(case or _case(), _steps() if steps is None else steps,
                             **{**args, **kw})


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def test_the_record_holds_every_step_rationale_and_the_three_limbs():
    text = _flat(_text(_build()))
    assert "Decision record CSD-7K2M-9QXD" in text
    for n, (event, *_rest) in enumerate(JOURNEY, start=1):
        assert f"Rationale {n} for {event}. Line 2." in text
    for label in ("Lawful basis", "Necessity (pressing need)", "Proportionality"):
        assert label in text
    for limb in ("lawful_basis", "necessity", "proportionality"):
        assert _flat(demo.DISCLOSE[limb]) in text
    assert "Decide: disclose to the applicant (decision)" in text
    assert "Who Inspector Diane Decider Role Decision-maker Rank Inspector" in text
    assert "Awaiting multi-agency decision → Disclosure approved" in text


def test_the_case_summary_and_human_values_are_shown():
    text = _flat(_text(_build()))
    for expected in ("Right to Ask", "Current state Closed", "Received 02 March 2026 09:30 UTC",
                     "Decision due 16 April 2026 09:30 UTC", "Yes, after the disclosure",
                     "Earlier MoPI review date (optional) 1 March 2032",
                     "Convictions for child sexual offences"):
        assert expected in text


def test_every_page_carries_the_marking_force_reference_and_page_numbers():
    steps = _steps(rationale="A long rationale. " * 600)
    reader = PdfReader(io.BytesIO(_build(steps=steps)))
    total = len(reader.pages)
    assert total > 2
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert text.count("OFFICIAL-SENSITIVE") >= 2  # top and bottom
        assert FORCE in text
        assert "CSD-7K2M-9QXD" in text
        assert f"Page {number} of {total}" in text


def test_hostile_markup_is_printed_literally_and_creates_no_links_or_actions():
    steps = _steps(rationale=HOSTILE, actor_name=f"Mallory {HOSTILE}")
    steps[4].data["necessity"] = HOSTILE
    pdf = _build(steps=steps)
    text = _flat(_text(pdf))
    assert _flat(HOSTILE) in text
    assert text.count(_flat(HOSTILE)) >= len(JOURNEY) + 1
    for marker in (b"/URI", b"/JavaScript", b"/Launch", b"/Annot", b"/XObject", b"/JS"):
        assert marker not in pdf


@pytest.mark.parametrize("value", ["<b>", "</para>", "<br/>&", "<<>>", "&nbsp;", "\x00".strip(),
                                   "Zoë 漢字 😀", "a" * 5000])
def test_any_text_builds(value):
    pdf = _build(steps=_steps(rationale=value))
    assert pdf.startswith(b"%PDF")


def test_line_breaks_in_user_text_are_kept():
    reader = PdfReader(io.BytesIO(_build(steps=_steps(rationale="first line\nsecond line"))))
    lines = "\n".join(p.extract_text() for p in reader.pages).splitlines()
    assert "first line" in lines and "second line" in lines


def test_the_same_input_gives_the_same_bytes():
    assert _build() == _build()
    assert _build() != _build(generated_at=T0 + timedelta(days=41))


def test_metadata_is_fixed_and_names_no_person():
    reader = PdfReader(io.BytesIO(_build()))
    meta = reader.metadata
    assert meta.title == "Decision record CSD-7K2M-9QXD"
    assert meta.author == FORCE
    values = " ".join(str(v) for v in meta.values())
    for person in ("Olive", "Diane", "Audrey", "Laura Bennett"):
        assert person not in values
    assert len(reader.pages[0].mediabox) == 4
    assert round(float(reader.pages[0].mediabox.width)) == 595  # A4


def test_a_case_without_steps_still_builds():
    assert "No steps have been recorded" in _text(_build(case=_case(Status.received), steps=[]))


def test_a_record_longer_than_the_cap_is_refused(monkeypatch):
    steps = _steps(rationale="Padding text. " * 400)
    pages = len(PdfReader(io.BytesIO(_build(steps=steps))).pages)
    monkeypatch.setattr(records, "MAX_PAGES", pages)
    assert _build(steps=steps)  # exactly at the cap is fine
    monkeypatch.setattr(records, "MAX_PAGES", pages - 1)
    with pytest.raises(DocumentTooLong, match=f"longer than {pages - 1} pages"):
        _build(steps=steps)


def test_the_default_cap_is_200_pages():
    assert records.MAX_PAGES == 200


def test_an_invited_partner_is_named_not_numbered():
    step = _step(9, "invite_partner", Status.awaiting_decision, Status.awaiting_decision,
                 Role.case_officer, {"partner_user_id": 5, "information_requested": "Views."})
    text = _flat(_text(_build(steps=[step], people={5: "Pat Partner (Probation)"})))
    assert "Partner agency member Pat Partner (Probation)" in text
    assert "Staff account 6" in _flat(_text(_build(steps=[
        _step(9, "invite_partner", Status.awaiting_decision, Status.awaiting_decision,
              Role.case_officer, {"partner_user_id": 6, "information_requested": "x"})])))
