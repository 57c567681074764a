"""The rationale quality checks with the database (disclosure_app.decisions.rationale_quality):
boilerplate found between two cases through the stored shingle fingerprints, the facts a
decision is checked against, and the one indexed query that finds near-verbatim copies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.db import transaction
from disclosure_app.decisions.rationale_quality import (
    QualitySettings,
    case_facts,
    check,
    quality_settings,
    record_fingerprints,
    similar_query,
    similar_rationales,
)
from disclosure_app.models import Case, RationaleFingerprint
from tests.databases import ENGINE, superuser
from tests.factories import make_case
from tests.integration.test_query_plans import plan, scans_the_whole
from workflows.rationale_quality import LIMB_FIELDS, limb_fingerprints, limb_variants
from workflows.roles import Agency
from workflows.status import Status

# Case A's decision, about the factory's family: Charlie (the child), Zebedee Quartermain (the
# subject, the mother's partner).
CASE_A_LIMBS = {
    "lawful_basis": "The common-law power to protect Charlie from harm applies because the PNC "
    "record shows Zebedee Quartermain was convicted in 2014 of a sexual offence against a child; "
    "DPA 2018 Part 3 and Schedule 8 paragraph 4 cover the sensitive processing involved.",
    "necessity": "Charlie's mother does not know that Zebedee Quartermain was convicted in 2014 "
    "of a sexual offence against a child, and she leaves Charlie alone with him after school "
    "every weekday; MAPPA management and the licence conditions cannot stop that access, so "
    "only she can protect Charlie.",
    "proportionality": "Only the fact and nature of the 2014 conviction are disclosed, to "
    "Charlie's mother alone, under a signed confidentiality undertaking; the risk of vigilante "
    "action against Zebedee Quartermain is low in this village and probation will manage it.",
}
# The same reasons on case B, about another family (Lily, Kevin Doyle), with one word changed.
CASE_B_COPY = {
    limb: value.replace("Charlie", "Lily").replace("Zebedee Quartermain", "Kevin Doyle")
    .replace("weekday", "evening").replace("this village", "this town")
    for limb, value in CASE_A_LIMBS.items()
}
NAMES = frozenset({"lily", "marsh", "kevin", "doyle"})
UNRELATED = {
    "necessity": "Lily's grandmother already supervises every visit and children's social care "
    "hold a child protection plan that names Kevin Doyle, so a disclosure adds nothing the "
    "family do not already know and act on.",
}


def _case_awaiting_decision(app: Any) -> Case:
    case, _ = make_case(app, Status.awaiting_decision)
    return case


def _give_case_other_people(session: Any, case_id: int) -> None:
    """Another family: the factory gives every case the same names."""
    with transaction(session):
        case = session.get(Case, case_id)
        case.children[0].full_name = "Lily Marsh"
        case.subject.full_name = "Kevin Doyle"
        case.applicant.full_name = "Holly Marsh"


def _record(session: Any, case_id: int, data: dict[str, str]) -> int:
    """Fingerprint ``data`` as case ``case_id``'s decision. The decision step itself is written
    by the workflow service; here the case's latest step row stands for it."""
    with transaction(session):
        case = session.get(Case, case_id)
        return record_fingerprints(session, case_id, case.steps[-1].id, data)


@pytest.fixture
def two_cases(app: Any, session: Any) -> tuple[Case, Case]:
    a, b = _case_awaiting_decision(app), _case_awaiting_decision(app)
    _give_case_other_people(session, b.id)
    _record(session, a.id, CASE_A_LIMBS)
    return session.get(Case, a.id), session.get(Case, b.id)


# --- Boilerplate between cases ------------------------------------------------------------------


def test_a_decision_repeating_another_cases_limbs_verbatim_is_flagged_naming_that_case(
    session, two_cases
):
    a, b = two_cases
    found = similar_rationales(session, b.id, CASE_A_LIMBS, threshold=0.8)
    assert set(found) == set(LIMB_FIELDS)
    for limb, match in found.items():
        assert (match.case_reference, match.field, match.overlap) == (a.reference, limb, 1.0)


def test_a_near_verbatim_copy_with_other_names_and_a_word_changed_is_flagged(session, two_cases):
    a, b = two_cases
    report = check(session, b, "approve_disclosure_to_applicant",
                   {**CASE_B_COPY, "representations": "received",
                    "representations_considered": "Weighed."},
                   min_chars=80, threshold=0.8)
    repeats = [f for f in report.findings if f.code == "limb_repeats_other_case"]
    assert [f.field for f in repeats] == list(LIMB_FIELDS)
    assert all(a.reference in f.message for f in repeats)
    # Not a word-for-word copy, but near enough: the changed word costs a few shingles.
    necessity = similar_rationales(session, b.id, CASE_B_COPY, threshold=0.8)
    assert 0.8 <= necessity["necessity"].overlap < 1.0
    # Acknowledged with a reason, the copy no longer blocks the decision.
    data = {**CASE_B_COPY, "boilerplate_acknowledgement": "Same family pattern as case A."}
    assert not {"boilerplate_acknowledgement", *LIMB_FIELDS} & set(report.blocking(data))


def test_the_case_terms_of_the_copy_are_its_own_so_only_the_copying_is_flagged(
    session, two_cases
):
    _, b = two_cases
    report = check(session, b, "approve_disclosure_to_applicant",
                   {**CASE_B_COPY, "representations": "received",
                    "representations_considered": "Weighed."})
    assert {f.code for f in report.findings} == {"limb_repeats_other_case"}


def test_an_unrelated_rationale_is_not_flagged(session, two_cases):
    _, b = two_cases
    assert similar_rationales(session, b.id, UNRELATED, threshold=0.8) == {}


def test_a_case_never_matches_its_own_earlier_decision(session, two_cases):
    a, _ = two_cases
    assert similar_rationales(session, a.id, CASE_A_LIMBS, threshold=0.8) == {}


def test_a_lower_threshold_catches_a_looser_copy(session, two_cases):
    _, b = two_cases
    half = {"necessity": CASE_A_LIMBS["necessity"].split(";")[0] + "; her grandmother cannot "
            "supervise and the school has no concerns to report about the family at present."}
    assert similar_rationales(session, b.id, half, threshold=0.8) == {}
    assert set(similar_rationales(session, b.id, half, threshold=0.4)) == {"necessity"}


def test_finding_copies_is_one_query(app, session, two_cases):
    _, b = two_cases
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        similar_rationales(session, b.id, CASE_A_LIMBS, threshold=0.8, masked=frozenset())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert "rationale_fingerprints" in statements[0]


def test_fingerprints_are_hashes_of_the_limbs_and_fit_a_bigint(session, two_cases):
    a, _ = two_cases
    stored = session.execute(
        select(RationaleFingerprint.field, RationaleFingerprint.shingle)
        .where(RationaleFingerprint.case_id == a.id)).all()
    masked = case_facts(a).names
    expected = {(limb, s) for limb, found in limb_fingerprints(CASE_A_LIMBS, masked).items()
                for s in found}
    assert set(stored) == expected
    assert all(-(2**63) <= s < 2**63 for _, s in stored)
    assert not any("Charlie" in str(value) for row in stored for value in row)


# --- Case facts ---------------------------------------------------------------------------------


def test_case_facts_gather_the_people_access_checks_and_agency_views(app, session, staff):
    officer, partner = staff["case_officer"], staff["partner"]
    assert partner.agency is Agency.probation
    case, _ = make_case(app, Status.awaiting_decision, officer=officer)
    now = datetime.now(UTC)
    policy = app.extensions["case_policy"]
    steps = [
        ("invite_partner", officer, {"partner_user_id": str(partner.id),
                                     "information_requested": "Supervision and risk."}),
        ("record_agency_view", partner,
         {"information_held": "On licence until 2027.", "agency_view": "does_not_support"}),
        ("record_agency_view", partner,  # a member may revise their view: the latest counts
         {"information_held": "On licence until 2027; breached.",
          "agency_view": "supports_disclosure"}),
    ]
    for event_name, user, data in steps:
        version = session.get(Case, case.id).version
        take_step(session, StepRequest(case.id, event_name, version, data, "Reasons given."),
                  user=user, policy=policy, now=now)
    facts = case_facts(session.get(Case, case.id))
    # The child and subject by name; the subject's relationship and access as described.
    assert {"charlie", "zebedee", "quartermain", "mother", "alone", "school"} <= facts.terms
    # The checks completed and the agency consulted, as a rationale would name them.
    assert {"pnc", "police national computer", "visor", "probation", "mappa",
            "offender manager"} <= facts.terms
    assert not {"child", "partner", "lives", "the", "same"} & facts.terms
    assert facts.agency_views == ("supports_disclosure",)
    assert (facts.risk_level, facts.information_found, facts.subject_identity) == (
        "high", "child_sexual_offences", "confirmed")
    assert (facts.representations, facts.representations_reason_given) == ("not_sought", True)
    assert facts.examples == ("Charlie", "mother's partner", "PNC")
    assert {"charlie", "zebedee", "quartermain", "alice"} <= facts.names


def test_the_checks_on_a_real_case_flag_a_generic_limb_and_pass_a_specific_one(app, session):
    case, _ = make_case(app, Status.awaiting_decision)
    case = session.get(Case, case.id)
    generic = ("Disclosure is necessary and proportionate to protect the child from the risk "
               "of harm posed by the subject, and no lesser measure would be sufficient.")
    data = {**CASE_A_LIMBS, "necessity": generic, "representations": "not_sought",
            "representations_not_sought_reason": "risk_to_child",
            "representations_considered": "Asking him would warn him while he has access."}
    report = check(session, case, "approve_disclosure_to_applicant", data)
    assert [(f.code, f.field) for f in report.findings] == [
        ("limb_not_case_specific", "necessity")]
    assert report.findings[0].text.endswith("(for example: Charlie, mother's partner, PNC)")
    assert check(session, case, "approve_disclosure_to_applicant",
                 {**data, "necessity": CASE_A_LIMBS["necessity"]}).findings == ()


def test_high_risk_assessed_but_no_disclosure_is_a_contradiction_on_a_real_case(app, session):
    case, _ = make_case(app, Status.awaiting_decision)  # the factory assesses the risk as high
    report = check(session, session.get(Case, case.id), "decide_no_disclosure", CASE_A_LIMBS)
    assert [f.code for f in report.findings] == ["high_risk_no_disclosure"]
    assert report.needs_countersign


# --- Configuration ------------------------------------------------------------------------------


def test_settings_come_from_the_config_with_defaults():
    assert quality_settings({}) == QualitySettings(min_chars=80, threshold=0.8)
    assert quality_settings({"RATIONALE_MIN_CHARS": "120", "BOILERPLATE_OVERLAP": "0.9"}) == (
        QualitySettings(min_chars=120, threshold=0.9))


@pytest.mark.parametrize("config", [{"RATIONALE_MIN_CHARS": 0}, {"BOILERPLATE_OVERLAP": 0},
                                    {"BOILERPLATE_OVERLAP": 1.5}, {"RATIONALE_MIN_CHARS": "x"}])
def test_a_setting_that_would_weaken_the_checks_is_refused(config):
    with pytest.raises(ValueError, match="RATIONALE_MIN_CHARS|BOILERPLATE_OVERLAP|invalid"):
        quality_settings(config)


# --- The query plan -----------------------------------------------------------------------------


def _reads_the_shingle_index(plan_text: str) -> bool:
    return "ix_rationale_fingerprints_shingle" in plan_text


def test_finding_copies_reads_through_the_shingle_index(session, two_cases):
    _, b = two_cases
    query = similar_query(b.id, limb_variants(CASE_A_LIMBS, NAMES), 0.8)
    plan_text = plan(session, query)
    assert _reads_the_shingle_index(plan_text), plan_text
    assert not scans_the_whole("rationale_fingerprints", plan_text), plan_text


FINGERPRINTS = 50_000


def test_with_many_decisions_on_file_the_planner_itself_chooses_the_shingle_index(
    database, session, two_cases
):
    """No planner switches: with tens of thousands of fingerprints and their statistics, each
    engine's own plan looks the draft's shingles up in the index rather than scanning."""
    a, b = two_cases
    with transaction(session):
        step_id = session.get(Case, a.id).steps[-1].id
        session.execute(text("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :size)
            INSERT INTO rationale_fingerprints (case_id, step_id, field, shingle)
            SELECT :case_id, :step_id,
                   CASE i % 3 WHEN 0 THEN 'lawful_basis' WHEN 1 THEN 'necessity'
                              ELSE 'proportionality' END,
                   (i * 2654435761) % 9000000000000000000 - 4500000000000000000
            FROM n"""), {"size": FINGERPRINTS, "case_id": a.id, "step_id": step_id})
    with superuser(database) as conn:  # only the table's owner may gather its statistics
        conn.execute(text("ANALYZE rationale_fingerprints" if ENGINE == "postgresql"
                          else "ANALYZE"))
    assert session.scalar(select(func.count()).select_from(RationaleFingerprint)) > FINGERPRINTS
    query = similar_query(b.id, limb_variants(CASE_B_COPY, NAMES), 0.8)
    plan_text = plan(session, query, planner_defaults=True)
    assert _reads_the_shingle_index(plan_text), plan_text
    assert not scans_the_whole("rationale_fingerprints", plan_text), plan_text
    # And the copy is still found among them.
    found = similar_rationales(session, b.id, CASE_A_LIMBS, threshold=0.8)
    assert {m.case_reference for m in found.values()} == {a.reference}
