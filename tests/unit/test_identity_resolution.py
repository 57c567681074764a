"""Comparing a subject with register candidates: namesakes and near misses are never matches,
spelling and phonetic variants and aliases are found, look-alike names are flagged, and a match
can only be claimed on identifiers the records really share."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.identity import (
    Address,
    CandidateRecord,
    Classification,
    Identifier,
    PersonName,
    SubjectDescription,
    Verdict,
    assess,
    hidden_character_problem,
    identifier_problems,
    indicates_unsupervised_access,
    link_keys,
    names_from_case,
    phonetic_key,
    rank,
    script_flags,
)

# Pure: no database, so the PostgreSQL pass of `make test` leaves it out.
pytestmark = pytest.mark.engine_independent

TODAY = date(2026, 6, 1)
DOB = date(1981, 3, 14)
HOME = Address("21 Example Road, Northshire", "NS2 7EX")
SUBJECT = SubjectDescription(names=names_from_case("Mark Ellison", ""), date_of_birth=DOB,
                             addresses=[HOME])


def record(pid: str, forenames: str = "Mark", surname: str = "Ellison", dob: date | None = DOB,
           addresses: list[Address] | None = None, aliases: list[PersonName] = ()
           ) -> CandidateRecord:
    return CandidateRecord(pid, [PersonName(forenames, surname), *aliases], dob,
                           [HOME] if addresses is None else addresses)


def test_same_name_dob_and_address_is_a_probable_match():
    a = assess(SUBJECT, record("R1"), TODAY)
    assert a.classification is Classification.probable_match
    assert {c.identifier for c in a.agreeing} == {"name", "date_of_birth", "address_history"}


def test_a_same_name_same_dob_person_at_another_address_is_a_near_miss_not_a_match():
    elsewhere = record("R2", addresses=[Address("7 Harbour View, Eastport", "ES3 9LW")])
    a = assess(SUBJECT, elsewhere, TODAY)
    assert a.classification is Classification.near_miss
    assert a.verdict("address_history") is Verdict.disagrees
    assert [c.identifier for c in a.disagreeing] == ["address_history"]


def test_namesakes_and_near_misses_are_ranked_below_the_match_and_shown_beside_it():
    candidates = [
        record("R2", addresses=[Address("7 Harbour View, Eastport", "ES3 9LW")]),
        record("R3", dob=date(1979, 8, 2), addresses=[Address("1 Notional Way", "WM5 1AB")]),
        record("R1"),
    ]
    ranked = rank(SUBJECT, candidates, TODAY)
    assert [a.candidate.person_id for a in ranked] == ["R1", "R2", "R3"]
    assert [a.classification for a in ranked] == [
        Classification.probable_match, Classification.near_miss, Classification.namesake]


def test_a_previous_address_still_agrees_and_says_so():
    moved = record("R1", addresses=[Address("9 New Street", "ES1 1AA"),
                                    Address(HOME.line, HOME.postcode, None, date(2019, 4, 30))])
    comparison = assess(SUBJECT, moved, TODAY).comparisons[2]
    assert comparison.verdict is Verdict.agrees
    assert "until 2019-04-30" in comparison.detail


def test_same_postcode_different_house_only_partly_agrees():
    neighbour = record("R1", addresses=[Address("23 Example Road, Northshire", "NS2 7EX")])
    assert assess(SUBJECT, neighbour, TODAY).verdict("address_history") is Verdict.partial


@pytest.mark.parametrize(("forenames", "surname"), [
    ("Mark", "Elison"), ("Marc", "Ellison"), ("Mark", "Allison"),
])
def test_spelling_and_phonetic_variants_are_found(forenames, surname):
    a = assess(SUBJECT, record("R1", forenames, surname), TODAY)
    assert a.verdict("name") is Verdict.partial
    assert "variant" in a.comparisons[0].detail


def test_the_indexed_key_is_shared_by_phonetic_variants():
    assert phonetic_key("Ellison") == phonetic_key("Elison") == phonetic_key("ELLISON")
    assert phonetic_key("Pryce") == phonetic_key("Price")
    assert phonetic_key("Rigby") == phonetic_key("Rigbey")


def test_an_alias_on_the_record_matches_the_subjects_name():
    other = record("R5", "Percy", "Quillfield", aliases=[PersonName("Mark", "Ellison", "alias")])
    comparison = assess(SUBJECT, other, TODAY).comparisons[0]
    assert comparison.verdict is Verdict.agrees
    assert "alias" in comparison.detail


def test_an_alias_given_on_the_case_matches_the_records_name():
    subject = SubjectDescription(names=names_from_case("Marcus Stone", "Mark Ellison"),
                                 date_of_birth=DOB, addresses=[HOME])
    comparison = assess(subject, record("R1"), TODAY).comparisons[0]
    assert comparison.verdict is Verdict.agrees
    assert "matching the alias Mark Ellison" in comparison.detail


def test_day_and_month_swapped_is_flagged_as_a_partial_date_of_birth():
    subject = SubjectDescription(names=SUBJECT.names, date_of_birth=date(1981, 3, 4),
                                 addresses=[HOME])
    swapped = record("R1", dob=date(1981, 4, 3))
    assert assess(subject, swapped, TODAY).verdict("date_of_birth") is Verdict.partial


def test_an_approximate_age_is_compared_with_the_records_date_of_birth():
    subject = SubjectDescription(names=SUBJECT.names, approximate_age=45)
    assert assess(subject, record("R1"), TODAY).verdict("date_of_birth") is Verdict.partial
    young = SubjectDescription(names=SUBJECT.names, approximate_age=25)
    assert assess(young, record("R1"), TODAY).verdict("date_of_birth") is Verdict.disagrees


@pytest.mark.parametrize("name", ["M\u0430rk Ellison", "Mark \u0415llison", "Ｍark Ellison"],
                         ids=["cyrillic a", "cyrillic E", "fullwidth M"])
def test_look_alike_and_mixed_script_names_are_flagged_and_never_a_probable_match(name):
    assert script_flags(name)
    spoof = CandidateRecord("R9", [PersonName(*name.split(" ", 1))], DOB, [HOME])
    a = assess(SUBJECT, spoof, TODAY)
    assert a.flags
    assert a.classification is not Classification.probable_match


def test_a_name_wholly_in_one_other_script_is_not_flagged_as_mixed():
    assert not any("mixed" in f for f in script_flags("Иван Петров"))
    assert script_flags("Mark Ellison") == []


@pytest.mark.parametrize("name", ["Mark\u200bEllison", "Mark\u202eEllison", "Mark\x07"])
def test_names_with_hidden_or_control_characters_are_refused(name):
    assert hidden_character_problem(name)


def test_a_match_needs_two_independent_identifiers_that_really_agree():
    match = assess(SUBJECT, record("R1"), TODAY)
    assert identifier_problems([Identifier.date_of_birth, Identifier.address_history], match,
                               {}) == {}
    one = identifier_problems([Identifier.date_of_birth], match, {})
    assert "at least two" in one["identifiers"]


def test_an_identifier_the_records_contradict_cannot_be_claimed():
    near_miss = assess(SUBJECT, record("R2", addresses=[Address("7 Harbour View", "ES3 9LW")]),
                       TODAY)
    problems = identifier_problems([Identifier.date_of_birth, Identifier.address_history],
                                   near_miss, {})
    assert "Address history does not agree" in problems["identifiers"]


def test_an_external_identifier_must_say_where_it_came_from():
    near_miss = assess(SUBJECT, record("R2", addresses=[]), TODAY)
    claimed = [Identifier.date_of_birth, Identifier.register_id]
    assert "register_id_reference" in identifier_problems(claimed, near_miss, {})
    assert identifier_problems(claimed, near_miss,
                               {Identifier.register_id: "Probation, OM J. Bloggs"}) == {}


@pytest.mark.parametrize(("text", "expected"), [
    ("Lives in the same house; alone with the child after school", True),
    ("Babysits at weekends", True),
    ("Mother's partner, stays over most nights", True),
    ("Sees the child at supervised contact centre visits", False),
    ("Coaches the football team the child plays in", False),
])
def test_the_urgent_prompt_reads_living_with_or_unsupervised_access(text, expected):
    assert indicates_unsupervised_access(text) is expected


def test_link_keys_need_more_than_a_name():
    assert link_keys("Mark Ellison") == set()
    keys = link_keys("Mark  ELLISON", date_of_birth=DOB, postcode="ns2 7ex",
                     register_id="SAMPLE-1")
    assert keys == {"name-dob:markellison|1981-03-14", "name-postcode:markellison|NS27EX",
                    "register:SAMPLE-1"}
