"""The policy table: who may send each event."""

from workflows.disclosure import EVENT_IDS
from workflows.policy import DECISION_EVENTS, MAY_SEND
from workflows.roles import Role
from workflows.steps import STEPS


def test_every_machine_event_has_a_policy_row_and_a_step_spec():
    assert set(MAY_SEND) == EVENT_IDS == set(STEPS)


def test_every_event_can_be_sent_by_someone():
    assert all(MAY_SEND[event] for event in MAY_SEND)


def test_disclosure_decisions_are_for_decision_makers_only():
    assert DECISION_EVENTS == {"approve_disclosure_to_applicant", "approve_disclosure_to_other",
                               "approve_other_information", "decide_no_disclosure"}
    for event in DECISION_EVENTS:
        assert MAY_SEND[event] == {Role.decision_maker}


def test_decision_steps_record_the_three_legal_limbs_separately():
    for event in DECISION_EVENTS:
        names = {f.name for f in STEPS[event].fields}
        assert {"lawful_basis", "necessity", "proportionality"} <= names


def test_the_public_can_only_apply_and_withdraw():
    assert {e for e, roles in MAY_SEND.items() if Role.applicant in roles} == {
        "submit_application", "withdraw"}


def test_partners_only_record_their_agency_view():
    assert {e for e, roles in MAY_SEND.items() if Role.partner in roles} == {"record_agency_view"}
