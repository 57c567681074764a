"""The rationale quality checks on a decision (workflows.rationale_quality), without a database:
limbs too short or not about this case, shingles, boilerplate, contradictions, and what blocks a
decision until it is fixed, acknowledged or explained."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import replace

import pytest

from workflows.checks import DEFAULT_CHECK_SOURCES as CHECK_SOURCES
from workflows.rationale_quality import (
    AGENCY_TERMS,
    CHECK_TERMS,
    LIMB_FIELDS,
    CaseFacts,
    Finding,
    QualityReport,
    Severity,
    Similar,
    assess,
    case_terms,
    limb_fingerprints,
    limb_shingles,
    limb_variants,
    mentions,
    required_matches,
    shingles,
)
from workflows.roles import Agency

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

FACTS = CaseFacts(
    terms=case_terms(
        names=["Amy Rowntree", "Gareth Pell", "Gaz"],
        descriptions=["Stepfather", "Babysits her on Friday evenings"],
        checks=["pnc", "visor", "probation_mappa"],
        agencies=["childrens_social_care"],
    ),
    risk_level="medium",
    information_found="child_sexual_offences",
    subject_identity="confirmed",
    representations="received",
    representations_reason_given=False,
    agency_views=("supports_disclosure", "no_view"),
    names=frozenset({"amy", "rowntree", "gareth", "pell", "gaz"}),
    examples=("Amy", "stepfather", "PNC"),
)

LIMBS = {
    "lawful_basis": "Common-law power to protect Amy from harm; DPA 2018 Part 3 applies because "
    "the PNC record shows a conviction relevant to her safety.",
    "necessity": "Her mother does not know that the stepfather babysits Amy on Friday evenings "
    "with a 2012 conviction; MAPPA management cannot stop that access.",
    "proportionality": "Only the conviction is disclosed, to the mother alone, under an "
    "undertaking; the risk of vigilante action against Gareth is low and managed by probation.",
}
DISCLOSE = {**LIMBS, "representations": "received",
            "representations_considered": "He said he has changed; weighed against the risk."}
EVENT = "approve_disclosure_to_applicant"


def report(data=None, facts=FACTS, *, event=EVENT, similar=None, min_chars=80) -> QualityReport:
    return assess(event, DISCLOSE if data is None else data, facts, similar=similar or {},
                  min_chars=min_chars)


def codes(rep: QualityReport) -> list[tuple[str, str]]:
    return [(f.code, f.field) for f in rep.findings]


# --- Limbs ------------------------------------------------------------------------------------


def test_a_case_specific_decision_has_no_findings():
    rep = report()
    assert rep.findings == ()
    assert rep.blocking(DISCLOSE) == {}
    assert not rep.needs_countersign


@pytest.mark.parametrize("limb", LIMB_FIELDS)
def test_a_limb_shorter_than_the_minimum_must_be_fixed(limb):
    rep = report({**DISCLOSE, limb: "Amy is at risk."})
    assert codes(rep) == [("limb_too_short", limb)]
    assert rep.findings[0].severity is Severity.fix
    assert "at least 80 characters" in rep.findings[0].message
    assert "it has 15" in rep.findings[0].message


def test_the_minimum_length_is_configurable():
    text = "Amy is at risk from the stepfather, who babysits her."
    assert codes(report({**DISCLOSE, "necessity": text})) == [("limb_too_short", "necessity")]
    assert report({**DISCLOSE, "necessity": text}, min_chars=40).findings == ()


@pytest.mark.parametrize("limb", LIMB_FIELDS)
def test_a_generic_limb_that_mentions_nothing_from_this_case_must_be_fixed(limb):
    generic = ("Disclosure is necessary and proportionate to protect the child from the risk "
               "of harm posed by the subject, and no lesser measure would be sufficient here.")
    rep = report({**DISCLOSE, limb: generic})
    assert codes(rep) == [("limb_not_case_specific", limb)]
    finding = rep.findings[0]
    assert finding.severity is Severity.fix
    # The author is told what would count, with this case's own words as examples.
    assert finding.text.endswith("(for example: Amy, stepfather, PNC)")
    assert rep.blocking(DISCLOSE | {limb: generic}) == {limb: finding.text}


@pytest.mark.parametrize("mention", [
    "Amy", "AMY'S", "Gaz", "Rowntree", "stepfather", "babysits", "Friday", "PNC",
    "the Police National Computer", "ViSOR", "MAPPA", "the offender manager",
    "children's social care", "the social worker",
])
def test_a_limb_is_case_specific_when_it_names_something_from_the_case(mention):
    text = (f"Disclosure is necessary and proportionate to protect the child from the risk of "
            f"harm posed by the subject; see {mention} for the detail that makes it so.")
    assert report({**DISCLOSE, "necessity": text}).findings == ()


@pytest.mark.parametrize("near_miss", ["Amylase", "stepfathers-in-law-ish", "PNCs", "Fridays"])
def test_a_term_counts_only_as_a_whole_word(near_miss):
    assert not mentions(f"The record mentions {near_miss} only.", FACTS.terms)


def test_the_recipient_named_in_the_decision_counts_as_a_case_term():
    text = ("Disclosure is necessary and proportionate to protect the child from the risk of harm "
            "posed by the subject, and Laura is best placed to act on it.")
    data = {**DISCLOSE, "necessity": text}
    assert codes(report(data)) == [("limb_not_case_specific", "necessity")]
    assert report({**data, "recipient_name": "Laura Bennett"}).findings == ()


def test_a_case_with_no_known_terms_is_not_blocked_for_want_of_them():
    facts = CaseFacts(representations="received")
    generic = {limb: "Disclosure is necessary and proportionate to protect the child from "
               "harm; no lesser measure would be sufficient here." for limb in LIMB_FIELDS}
    assert report({**DISCLOSE, **generic}, facts).findings == ()


def test_common_words_and_the_schemes_own_words_are_never_case_terms():
    terms = case_terms(names=["May Will"], descriptions=["Mother's partner, lives in the house"],
                       checks=[], agencies=[])
    assert terms == frozenset({"mother"})


def test_every_check_and_agency_has_words_a_rationale_would_use():
    assert set(CHECK_TERMS) == {code for code, _ in CHECK_SOURCES}
    assert set(AGENCY_TERMS) == {a.value for a in Agency}
    assert all(len(CHECK_TERMS[code]) >= 2 for code in CHECK_TERMS)


# --- Shingles ---------------------------------------------------------------------------------

TEXT = "The stepfather babysits Amy on Friday evenings while her mother works nights."


def test_shingles_are_five_word_runs_hashed_to_signed_64_bit_integers():
    found = shingles(TEXT)
    assert len(found) == 12 - 5 + 1  # twelve words
    assert all(-(2**63) <= s < 2**63 for s in found)
    assert any(s < 0 for s in shingles(TEXT * 3))  # signed: about half are negative


def test_shingle_hashes_are_stable_across_runs_and_versions():
    # A stored fingerprint must keep matching: the hash is blake2b, not Python's salted hash().
    assert shingles("one two three four five") == frozenset({4475916206259131367})


@pytest.mark.parametrize("variant", [
    "the STEPFATHER babysits amy, on Friday evenings; while her mother works nights!",
    "  The stepfather\n\tbabysits   Amy on Friday evenings while her mother works nights  ",
    unicodedata.normalize("NFKD", "The stepfather babysits Amy on Friday evenings while her "
                          "mother works nights."),
    "Ｔｈｅ stepfather babysits Amy on Friday evenings while her mother works nights.",
])
def test_shingles_ignore_case_punctuation_spacing_and_unicode_form(variant):
    assert shingles(variant) == shingles(TEXT)


def test_a_text_of_fewer_than_five_words_is_one_shingle_and_empty_text_none():
    assert len(shingles("Amy is at risk")) == 1
    assert shingles("Amy is at risk") != shingles("Amy is not at risk")
    assert shingles("  ...  ") == frozenset()


def test_masked_names_make_a_template_match_whatever_names_fill_it():
    a = "Gareth babysits Amy on Friday evenings and the mother does not know."
    b = "Kevin babysits Lily on Friday evenings and the mother does not know."
    assert shingles(a) != shingles(b)
    assert shingles(a, masked=frozenset({"gareth", "amy"})) == shingles(
        b, masked=frozenset({"kevin", "lily"}))


def test_a_limb_is_compared_as_written_and_with_the_names_masked():
    data = {"necessity": "Gareth babysits Amy on Friday evenings and the mother does not know.",
            "proportionality": "Only the conviction is disclosed, to the mother alone."}
    names = frozenset({"gareth", "amy"})
    variants = limb_variants(data, names)
    assert variants["necessity"] == (shingles(data["necessity"]),
                                     shingles(data["necessity"], masked=names))
    assert variants["proportionality"] == (shingles(data["proportionality"]),)  # names nobody
    assert limb_fingerprints(data, names)["necessity"] == set().union(*variants["necessity"])


def test_limb_shingles_covers_only_the_limbs_written():
    found = limb_shingles({"necessity": TEXT, "proportionality": "", "other": TEXT})
    assert set(found) == {"necessity"}


@pytest.mark.parametrize(("count", "threshold", "needed"),
                         [(10, 0.8, 8), (36, 0.8, 29), (1, 0.8, 1), (5, 1.0, 5), (3, 0.5, 2)])
def test_required_matches_rounds_the_threshold_up(count, threshold, needed):
    assert required_matches(count, threshold) == needed


# --- Boilerplate ------------------------------------------------------------------------------


def test_a_limb_repeating_another_case_must_be_acknowledged_with_a_reason():
    similar = {"necessity": Similar("CSDS-2026-00042", "necessity", 0.93)}
    rep = report(similar=similar)
    assert codes(rep) == [("limb_repeats_other_case", "necessity")]
    finding = rep.findings[0]
    assert finding.severity is Severity.acknowledge
    assert "93% of this text repeats the necessity recorded on case CSDS-2026-00042" in (
        finding.message)
    blocked = rep.blocking(DISCLOSE)
    assert set(blocked) == {"necessity", "boilerplate_acknowledgement"}
    assert rep.blocking({**DISCLOSE, "boilerplate_acknowledgement": "   "}) == blocked
    assert rep.blocking({**DISCLOSE, "boilerplate_acknowledgement":
                         "Standard wording agreed with the force solicitor for MAPPA cases."}) == {}
    assert not rep.needs_countersign


def test_a_match_below_the_threshold_is_not_boilerplate():
    similar = {"necessity": Similar("CSDS-2026-00042", "necessity", 0.79)}
    assert report(similar=similar).findings == ()
    assert codes(assess(EVENT, DISCLOSE, FACTS, similar=similar, threshold=0.75)) == [
        ("limb_repeats_other_case", "necessity")]


def test_a_limb_copied_from_another_limb_names_the_limb_it_came_from():
    similar = {"lawful_basis": Similar("CSDS-2026-00007", "proportionality", 1.0)}
    (finding,) = report(similar=similar).findings
    assert finding.field == "lawful_basis"
    assert "repeats the proportionality recorded on case CSDS-2026-00007" in finding.message


# --- Representations --------------------------------------------------------------------------


def test_representations_not_sought_without_a_reason_must_be_fixed():
    data = {**LIMBS, "representations": "not_sought"}
    rep = report(data)
    assert codes(rep) == [("representations_not_sought_no_reason",
                           "representations_not_sought_reason")]
    assert rep.findings[0].severity is Severity.fix
    given = {**data, "representations_not_sought_reason": "urgency",
             "representations_considered": "Amy is alone with him every Friday: no time to ask."}
    assert report(given).findings == ()


def test_without_an_answer_on_the_decision_the_assessments_answer_counts():
    unreasoned = CaseFacts(terms=FACTS.terms, representations="not_sought")
    reasoned = CaseFacts(terms=FACTS.terms, representations="not_sought",
                         representations_reason_given=True)
    assert codes(report(LIMBS, unreasoned)) == [("representations_not_sought_no_reason",
                                                 "representations_not_sought_reason")]
    assert report(LIMBS, reasoned).findings == ()
    assert codes(report(LIMBS, CaseFacts(terms=FACTS.terms))) == [
        ("representations_not_decided", "representations")]


def test_representations_are_not_required_for_a_decision_not_to_disclose():
    facts = CaseFacts(terms=FACTS.terms, representations="not_sought")
    assert report(LIMBS, facts, event="decide_no_disclosure").findings == ()


# --- Contradictions ---------------------------------------------------------------------------

CONTRADICTIONS = {
    "high risk, no disclosure": ("decide_no_disclosure", {"risk_level": "high"},
                                 "high_risk_no_disclosure"),
    "very high risk, no disclosure": ("decide_no_disclosure", {"risk_level": "very_high"},
                                      "high_risk_no_disclosure"),
    "nothing held, disclosure": ("approve_disclosure_to_applicant",
                                 {"information_found": "none_held", "risk_level": "low"},
                                 "no_information_but_disclosure"),
    "no risk, disclosure": ("approve_disclosure_to_other", {"risk_level": "none"},
                            "no_risk_but_disclosure"),
    "every agency against, disclosure": (
        "approve_other_information",
        {"agency_views": ("does_not_support", "no_view", "does_not_support")},
        "agencies_against_disclosure"),
    "every agency for, no disclosure": (
        "decide_no_disclosure", {"agency_views": ("supports_disclosure", "supports_disclosure")},
        "agencies_support_disclosure"),
}


@pytest.mark.parametrize("name", list(CONTRADICTIONS))
def test_a_contradiction_needs_an_explanation_and_a_countersignature(name):
    event, overrides, code = CONTRADICTIONS[name]
    facts = replace(FACTS, **{"risk_level": "medium", "agency_views": (), **overrides})
    rep = report(event=event, facts=facts)
    assert codes(rep) == [(code, "contradiction_explanation")]
    assert rep.findings[0].severity is Severity.countersign
    assert rep.needs_countersign
    assert "countersign" in rep.findings[0].message
    assert set(rep.blocking(DISCLOSE)) == {"contradiction_explanation"}
    explained = {**DISCLOSE, "contradiction_explanation": "Amy has moved abroad with her father."}
    assert rep.blocking(explained) == {}
    assert rep.needs_countersign  # explained, but still for the approver to countersign


@pytest.mark.parametrize(("event", "overrides"), [
    ("approve_disclosure_to_applicant", {"risk_level": "high"}),
    ("decide_no_disclosure", {"risk_level": "low"}),
    ("decide_no_disclosure", {"information_found": "none_held", "risk_level": "none"}),
    ("approve_disclosure_to_applicant", {"agency_views": ("does_not_support", "supports_"
                                                          "disclosure")}),
    ("approve_disclosure_to_applicant", {"agency_views": ("no_view", "no_view")}),
    ("decide_no_disclosure", {"agency_views": ("supports_disclosure", "does_not_support")}),
    ("decide_no_disclosure", {"agency_views": ("does_not_support",)}),
])
def test_a_decision_consistent_with_the_assessment_is_no_contradiction(event, overrides):
    facts = replace(FACTS, **{"agency_views": (), **overrides})
    assert report(event=event, facts=facts).findings == ()


def test_several_contradictions_are_explained_in_one_place():
    facts = replace(FACTS, risk_level="none", information_found="none_held",
                    agency_views=("does_not_support",))
    rep = report(facts=facts)
    assert [f.code for f in rep.findings] == [
        "no_information_but_disclosure", "no_risk_but_disclosure", "agencies_against_disclosure"]
    message = rep.blocking(DISCLOSE)["contradiction_explanation"]
    assert "no relevant information" in message
    assert "no risk" in message
    assert "Every partner agency" in message


# --- Blocking and the record ------------------------------------------------------------------


def test_a_fix_finding_blocks_whatever_is_acknowledged_or_explained():
    data = {**DISCLOSE, "necessity": "Too short.",
            "boilerplate_acknowledgement": "Agreed template.",
            "contradiction_explanation": "Explained."}
    assert set(report(data).blocking(data)) == {"necessity"}


def test_each_kind_of_finding_is_resolved_only_by_its_own_answer():
    rep = QualityReport((
        Finding("limb_repeats_other_case", "proportionality", "m1", Severity.acknowledge),
        Finding("high_risk_no_disclosure", "contradiction_explanation", "m2",
                Severity.countersign),
    ))
    assert set(rep.blocking({})) == {"proportionality", "boilerplate_acknowledgement",
                                     "contradiction_explanation"}
    assert set(rep.blocking({"boilerplate_acknowledgement": "Why."})) == {
        "contradiction_explanation"}
    assert set(rep.blocking({"contradiction_explanation": "Why."})) == {
        "proportionality", "boilerplate_acknowledgement"}
    assert rep.blocking({"boilerplate_acknowledgement": "Why.",
                         "contradiction_explanation": "Why."}) == {}


def test_the_record_holds_codes_and_generic_messages_but_none_of_the_cases_words():
    facts = replace(FACTS, risk_level="high", agency_views=())
    data = {**DISCLOSE, "necessity": "Nothing specific is said in this limb at all, only general "
            "words about the need to act and the lack of any alternative.",
            "proportionality": "Amy."}
    similar = {"lawful_basis": Similar("CSDS-2026-00042", "lawful_basis", 0.9)}
    rep = report(data, facts, event="decide_no_disclosure", similar=similar)
    record = rep.to_record()
    assert json.loads(json.dumps(record)) == record
    assert [f["code"] for f in record["findings"]] == [
        "limb_not_case_specific", "limb_too_short", "limb_repeats_other_case",
        "high_risk_no_disclosure"]
    assert {f["severity"] for f in record["findings"]} == {"fix", "acknowledge", "countersign"}
    assert record["needs_countersign"] is True
    flat = json.dumps(record).lower()
    for personal in ["amy", "rowntree", "gareth", "pell", "gaz", "stepfather", "babysits",
                     "friday", "nothing specific is said"]:
        assert personal not in flat, personal
    # ...while the author, on screen, is shown this case's words to use.
    assert "Amy" in rep.findings[0].text
