"""Candidate search and case links read through indexes on both engines: no scan of the
register, its names, its addresses or the link keys (the approach of test_query_plans.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from disclosure_app.models import CaseLinkKey, RegisterPerson
from disclosure_app.risk.register.source import dob_query, name_query, postcode_query
from tests.integration.test_query_plans import plan, reads_through_an_index_on, scans_the_whole

WINDOW = (date(1975, 1, 1), date(1979, 12, 31))

SEARCHES = {
    "phonetic name key": (name_query(["KRTRMN", "SBT"], None), "register_names",
                          "ix_register_names_key"),
    "phonetic key within the years of birth": (
        name_query(["KRTRMN"], WINDOW), "register_names", "ix_register_names_key"),
    "surname prefix within the years of birth": (
        name_query(["QUA"], WINDOW, prefix=True), "register_names", "ix_register_names_prefix"),
    "date of birth": (dob_query(date(1977, 4, 23)), "register_people", "ix_register_people_dob"),
    "postcodes": (postcode_query(["NS27EX", "OT41AA"]), "register_addresses",
                  "ix_register_addresses_postcode"),
}


@pytest.mark.parametrize("name", list(SEARCHES))
def test_each_candidate_lookup_reads_its_index_and_never_scans(session, name):
    query, table, index = SEARCHES[name]
    plan_text = plan(session, query)
    assert index in plan_text, plan_text
    for whole in ("register_names", "register_people", "register_addresses"):
        assert not scans_the_whole(whole, plan_text), plan_text


def test_the_window_is_applied_to_people_found_by_primary_key(session):
    plan_text = plan(session, name_query(["KRTRMN"], WINDOW))
    assert not scans_the_whole("register_people", plan_text), plan_text


def test_loading_the_candidates_reads_people_by_primary_key(session):
    plan_text = plan(session, select(RegisterPerson).where(RegisterPerson.id.in_([1, 2, 3])))
    assert not scans_the_whole("register_people", plan_text), plan_text


def test_linked_cases_are_found_through_the_link_key_index(session):
    mine, theirs = aliased(CaseLinkKey), aliased(CaseLinkKey)
    query = (select(theirs.case_id, theirs.kind)
             .join(mine, (mine.kind == theirs.kind) & (mine.key == theirs.key))
             .where(mine.case_id == 7, theirs.case_id != 7).distinct())
    plan_text = plan(session, query)
    assert not scans_the_whole("case_link_keys", plan_text), plan_text
    assert reads_through_an_index_on("case_link_keys", plan_text) or (
        "ix_case_link_keys_key" in plan_text), plan_text
