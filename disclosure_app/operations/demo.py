"""Demo data for `make run`: one account per role, the sample offender register, and a dozen
cases in every stage, created through the real services and workflow so that every audit chain
entry is genuine. The risk check of each case that has passed it was done as an officer would:
every check recorded, the subject's register record proposed by one officer and confirmed by
another (or "no trace"). The "full risk assessment" case is left for you to try.

All people here are fictional. Refused under a production configuration (``DEMO_ALLOWED``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from disclosure_app.audit.chain import SystemActor
from disclosure_app.cases import applications
from disclosure_app.cases.applications import (
    ApplicantDetails,
    ApplicationInput,
    ChildDetails,
    ReferralInput,
    SubjectDetails,
)
from disclosure_app.cases.workflow import StepRequest, take_step
from disclosure_app.clocks import forecasting, history
from disclosure_app.clocks.calendar import load_calendar
from disclosure_app.clocks.tick import tick
from disclosure_app.db import transaction
from disclosure_app.documents import case_documents as documents
from disclosure_app.models import Case, User
from disclosure_app.notifications import mail
from disclosure_app.operations.demo_history import history_csv
from disclosure_app.risk import risk_check
from disclosure_app.risk.register.importer import import_file
from disclosure_app.risk.register.sample import SAMPLE_FILE
from disclosure_app.security import accounts as users
from disclosure_app.security import mfa
from disclosure_app.security.mfa import SecretCipher
from disclosure_app.teams import registry
from workflows.policy import CasePolicy
from workflows.roles import Agency, Rank, Role
from workflows.working_calendar import WorkingCalendar

DEMO_DOMAIN = "demo.northshire.police.example"

DEMO_USERS = [
    ("officer", "Priya Shah", Role.case_officer, Rank.constable, None),
    ("officer2", "Tom Aldridge", Role.case_officer, Rank.sergeant, None),
    ("inspector", "Helen Okafor", Role.decision_maker, Rank.inspector, None),
    ("chief.inspector", "Martin Reyes", Role.decision_maker, Rank.chief_inspector, None),
    # A third decision-maker: dip-sample reviews are by someone who took no part in the decision.
    ("superintendent", "Grace Adeyemi", Role.decision_maker, Rank.superintendent, None),
    ("probation", "Sian Lloyd", Role.partner, None, Agency.probation),
    ("socialcare", "Daniel Byrne", Role.partner, None, Agency.childrens_social_care),
    ("auditor", "Grace Whitfield", Role.auditor, None, None),
    ("admin", "Omar Haddad", Role.admin, None, None),
    ("records", "Nadia Brennan", Role.records_manager, None, None),
]

# --- Canned step data -------------------------------------------------------------------------

ACCEPT = {"initial_checks_summary": "PNC, ViSOR and local systems checked within 24 hours; "
          "no immediate risk identified.", "immediate_risk": "no"}
INTERVIEW = {
    "interview_mode": "in_person",
    "identity_documents": "UK passport (ends 4821) and council tax bill",
    "identity_verified": "yes",
    "relationship_evidence": "Child's birth certificate seen",
    "subject_identifiers": "Full name, date of birth and current address confirmed by applicant",
    "account_of_concern": "The subject has recently moved in with the child's mother and is "
    "left alone with the child after school.",
    "advice_given": "Keeping children safe leaflet given; told how to report concerns.",
}
ASSESS = {
    "information_found": "child_sexual_offences",
    "child_sexual_offence_conviction": "yes",
    "risk_level": "high",
    "risk_assessment_summary": "Subject has a 2014 conviction for sexual assault of a child under "
    "13 and has unsupervised access to the named child after school.",
    "representations": "not_sought",
    "representations_reason": "Inviting representations would alert the subject while he has "
    "unsupervised access to the child; the risk to the child is immediate.",
}
ASSESS_NOTHING = {
    **ASSESS,
    "information_found": "none_held",
    "child_sexual_offence_conviction": "no",
    "risk_level": "none",
    "risk_assessment_summary": "No convictions, cautions or intelligence held on any system for "
    "the positively identified subject.",
    "representations_reason": "There is no information to disclose, so representations are not "
    "needed.",
}
DISCLOSE = {
    "information_considered": "PNC conviction record (2014), ViSOR entry, probation view.",
    "partners_consulted": "Probation (Sian Lloyd) and children's social care (Daniel Byrne), "
    "consulted by phone; both support disclosure.",
    "risk_assessment_summary": "High risk to the named child given access after school.",
    "lawful_basis": "Common-law power to disclose to protect a child from harm, engaged because "
    "the PNC and ViSOR records show a conviction for a sexual offence against a child and the "
    "subject now has access to the child through the mother; DPA 2018 Part 3, sensitive "
    "processing under Schedule 8 paragraph 4 (safeguarding of children).",
    "necessity": "The mother is unaware of the conviction and leaves the child with the subject "
    "after school; MAPPA management alone cannot prevent that access.",
    "proportionality": "Only the conviction and its nature are disclosed, to the mother alone, "
    "under a confidentiality undertaking; the vigilante risk is managed by a safety plan.",
    "representations": "not_sought",
    "representations_not_sought_reason": "risk_to_child",
    "representations_considered": "Not sought: inviting them would alert the subject while he "
    "has access to the child.",
    "recipient_name": "Laura Bennett",
    "recipient_relationship": "Mother",
    "best_placed_reason": "She has parental responsibility and controls who cares for the child.",
    "disclosure_wording": "Mark Ellison has a conviction from 2014 for a sexual offence against "
    "a child. You must not share this information with anyone else.",
    "subject_told": "after",
    "subject_told_reason": "The offender manager will tell him after the disclosure, to manage "
    "the risk of reprisal.",
    "safety_plan": "No unsupervised contact; social worker to visit within 48 hours.",
    "referrals_made": ["childrens_social_care", "mappa"],
    "referrals": "Children's social care referral CSC-2291; MAPPA review requested.",
}
NO_DISCLOSURE = {
    "reason_category": "no_information",
    "information_considered": "PNC, PND, ViSOR, local intelligence, children's social care and "
    "probation checks: nothing held.",
    "partners_consulted": "Children's social care and probation checked their records: nothing "
    "held on the subject.",
    "risk_assessment_summary": "No convictions, cautions or intelligence held on any system.",
    "ncnd_stance": "no",
    "lawful_basis": "PNC, PND, ViSOR and the local systems hold nothing on the subject, so no "
    "power to disclose is engaged and no information may be shared about him.",
    "necessity": "With nothing held on PNC, ViSOR or by probation there is no pressing need for a "
    "disclosure to protect the child; safeguarding advice meets the mother's concern.",
    "proportionality": "With PNC and ViSOR holding nothing, saying so could be misread as an "
    "assurance about the subject; the neutral letter and safety advice avoid that and intrude "
    "on no one.",
    "other_safeguarding_actions": "Safeguarding advice given to the applicant.",
}
# Each demo decision is worded for its own case: the rationale checks flag wording repeated from
# another case as boilerplate.
DISCLOSE_TO_JOANNE = {
    **DISCLOSE,
    "information_considered": "PNC record of a 2011 conviction, ViSOR entry and the offender "
    "manager's view; identity confirmed by date of birth and address.",
    "lawful_basis": "The common-law power to protect Ella from harm applies: PNC shows Wayne "
    "Fletcher's conviction for a sexual offence against a child, and he now lives with Ella's "
    "mother; DPA 2018 Schedule 8 paragraph 4 covers the sensitive processing.",
    "necessity": "Ella's mother leaves her with the subject after school; she cannot protect "
    "Ella from a risk she does not know about, and his licence has ended so no order limits "
    "his contact.",
    "proportionality": "Ella's mother is told only of the conviction and its nature, in person "
    "and under an undertaking; the subject is told afterwards by the police, who have assessed "
    "the risk of reprisal as low.",
    "recipient_name": "Joanne Price",
    "disclosure_wording": "Wayne Fletcher has a conviction for a sexual offence against a child. "
    "You must not share this.",
}
DISCLOSE_TO_KAREN = {
    **DISCLOSE,
    "information_considered": "PNC and ViSOR: a 2016 conviction for sexual activity with a "
    "child; probation confirm he is managed at MAPPA level 1.",
    "lawful_basis": "The common-law power to protect Finn applies because PNC and ViSOR confirm "
    "Barry Sutton's conviction for sexual activity with a child and he has moved in with Finn's "
    "mother; Schedule 8 paragraph 4 DPA 2018 applies.",
    "necessity": "Finn is alone with the subject most evenings; MAPPA level 1 management gives "
    "no one the power to stop that contact, so only his mother can.",
    "proportionality": "Finn's mother is told only the conviction and the age group of the "
    "victim; nothing about the victim or other history. She will sign an undertaking, and "
    "probation will tell the subject the same day.",
    "recipient_name": "Karen Lowe",
    "disclosure_wording": "Barry Sutton has a conviction for a sexual offence against a child. "
    "You must not share this information with anyone else.",
}
# The late case (closed after its whole-process target, with the reason): its own wording.
NO_DISCLOSURE_FOR_OSCAR = {
    **NO_DISCLOSURE,
    "information_considered": "PNC, PND and ViSOR searched by name, date of birth and both "
    "addresses the applicant gave; probation and children's social care replied late.",
    "lawful_basis": "Nothing on PNC, PND, ViSOR or with probation concerns Craig Dunn, so the "
    "common-law power to disclose to protect Oscar has nothing it could be used for.",
    "necessity": "Oscar's father has no recorded information to act on: advice about the "
    "warning signs meets his worry about Craig Dunn's weekend visits better than any disclosure.",
    "proportionality": "Telling Oscar's father that nothing is held could read as a clean bill "
    "of health for Craig Dunn; the neutral letter with safety advice intrudes on no one.",
}
EXTENSION = {"clock": "overall", "new_date": "D+60", "reason_code": "partner_information_awaited"}
COUNTERSIGN = {"record_reviewed": "yes", "agrees_with_decision": "yes"}
SCHEDULE_MEETING = {
    "meeting_time": "10:30",
    "meeting_place": "Northshire Central police station, interview room 2",
    "attendees": [
        {"name": "DC Priya Shah", "agency": "police", "role": "Disclosing officer"},
        {"name": "Daniel Byrne", "agency": "childrens_social_care", "role": "Social worker"},
    ],
    "subject_excluded": "yes",
    "support_arrangements": "The social worker will stay after the disclosure to agree the "
    "safety plan with the recipient.",
}
UNDERTAKING = {"signed_by": "Laura Bennett"}
DECISION_MEETING = {
    "meeting_format": "video",
    "attendees": [
        {"name": "DI Helen Carter", "agency": "police", "role": "Chair, decision-maker"},
        {"name": "Sian Lloyd", "agency": "probation", "role": "Offender manager"},
        {"name": "Daniel Byrne", "agency": "childrens_social_care", "role": "Social worker"},
    ],
    "information_shared": "Police: conviction record and ViSOR entry. Probation: licence "
    "conditions and recent compliance. Children's social care: the family is not known.",
    "agency_views": "Probation supports disclosure to the mother. Children's social care "
    "supports disclosure and will visit within 48 hours.",
    "minutes": "Agreed that the mother is best placed to protect the child; wording drafted "
    "together; social worker to attend the disclosure meeting.",
}
DELIVERED = {
    "meeting_place": "Northshire Central police station, interview room 2",
    "officers_present": "DC Priya Shah, PS Tom Aldridge",
    "others_present": "Social worker Daniel Byrne",
    "recipient_identity_verified": "yes",
    "wording_followed": "exactly",
    "information_disclosed": "The approved wording was read out word for word.",
    "recipient_understanding": "Understood the information and how to use it.",
    "safety_plan_agreed": "No unsupervised contact; social worker visit booked.",
    "support_referrals": "Referred to local family support service.",
}


URGENT = {
    "risk_identified": "Registered child sex offender living with the named child.",
    "action_taken": "strategy_discussion",
    "referral_reference": "CSC-3107",
    "who_was_informed": "Duty inspector and children's social care duty team",
}
# Risk check work done through the risk check services, not the workflow machine.
RISK_CHECKS = "risk:every_check"
RISK_CONFIRM = "risk:confirm_identity"
RISK_NO_TRACE = "risk:no_trace"
IDENTIFIERS = ["date_of_birth", "address_history"]


@dataclass
class DemoCase:
    """A case, and its steps as (days before now, event, user key, data, rationale)."""

    label: str
    start_days_ago: float
    application: ApplicationInput | None = None
    referral: ReferralInput | None = None
    steps: list[tuple[float, str, str, dict[str, Any], str]] = field(default_factory=list)
    case_id: int | None = None
    status_token: str | None = None


def _application(n: int, applicant: str, subject: str, child: str) -> ApplicationInput:
    return ApplicationInput(
        applicant=ApplicantDetails(
            full_name=applicant,
            address=f"{10 + n} Demo Terrace, Northshire",
            postcode="NS1 4DM",
            contact_method="phone",
            phone="01632 960" + f"{100 + n}",
            safe_contact_times="Weekdays 9am to 2pm",
            messages_ok=False,
            relationship_to_subject="Ex-partner's new boyfriend" if n % 2 else "Neighbour",
        ),
        subject=SubjectDetails(
            full_name=subject,
            relationship_to_child="Mother's partner",
            date_of_birth=date(1980 + n, 3, 14),
            address=f"{20 + n} Example Road, Northshire",
            postcode="NS2 7EX",
        ),
        children=[
            ChildDetails(full_name=child, age=6 + n % 8,
                         subject_contact="Lives in the same house; alone with the child after "
                         "school")
        ],
        concern="He has been heard talking about a previous conviction and is often alone "
        "with my child.",
        declared_truthful=True,
        declared_sharing=True,
    )


def _cases(near_breach_days_ago: float = 38.0) -> list[DemoCase]:
    rtk = ReferralInput(
        subject=SubjectDetails(full_name="Keith Marlow", relationship_to_child="Family friend",
                               date_of_birth=date(1969, 11, 2)),
        children=[ChildDetails(full_name="Amy Carter", age=9,
                               subject_contact="Babysits at weekends")],
        step={"referral_source": "mappa", "referral_source_detail": "MAPPA level 2 meeting",
              "risk_summary": "Registered offender reported babysitting a 9-year-old."},
        rationale="MAPPA learned that a registered sex offender is babysitting a child whose "
        "mother may not know his history.",
    )
    return [
        DemoCase("disclosure completed", 41, _application(1, "Laura Bennett", "Mark Ellison",
                                                          "Sophie Bennett"), steps=[
            (40.9, "start_checks", "officer", {}, "Checks started on receipt."),
            (40.5, "accept_for_interview", "officer", ACCEPT, "Named child, named subject with "
             "unsupervised access: in scope."),
            (36, "record_interview", "officer", {**INTERVIEW, "interview_date": "D-36"},
             "Interview held at the station at the applicant's chosen time."),
            (35.5, "verify_applicant", "officer", {}, "Identity and relationship verified."),
            (34, "invite_partner", "officer", {"partner_user_id": "probation",
             "information_requested": "Current risk assessment and supervision status."},
             "Probation manage the subject under MAPPA."),
            (33.5, "invite_partner", "officer", {"partner_user_id": "socialcare",
             "information_requested": "Any involvement with the family and a social worker for "
             "the disclosure."}, "The child may need a social worker's support."),
            (30, "record_agency_view", "probation", {"information_held": "Subject on licence "
             "until 2027; assessed high risk to children.", "agency_view": "supports_disclosure"},
             "Disclosure is the only way the mother can protect the child."),
            (29.5, "record_agency_view", "socialcare", {"information_held": "The family is not "
             "known to children's social care.", "agency_view": "supports_disclosure"},
             "The mother cannot protect her son from a risk she does not know about."),
            (29, RISK_CHECKS, "officer", {}, ""),
            (28.5, RISK_CONFIRM, "officer", {"person_id": "SAMPLE-000001", "by": "officer2"}, ""),
            (28, "complete_assessment", "officer", ASSESS, "All checks complete; high risk."),
            (27, "record_decision_meeting", "officer", {**DECISION_MEETING,
             "meeting_date": "D-27"}, "The meeting recommends disclosure to the mother."),
            (25, "approve_disclosure_to_applicant", "inspector", DISCLOSE,
             "Lawful, necessary and proportionate to disclose to the mother."),
            (24.5, "countersign_decision", "chief.inspector", COUNTERSIGN,
             "I have read the record; each limb engages with this child's circumstances."),
            (24, "schedule_disclosure_meeting", "officer", {**SCHEDULE_MEETING,
             "meeting_date": "D+4"}, "A private room at the station; the social worker attends."),
            (20, "record_undertaking", "officer", {**UNDERTAKING, "signed_on": "D-0"},
             "Signed at the start of the meeting, before anything was disclosed."),
            (20, "record_disclosure_delivered", "officer", {**DELIVERED, "meeting_date": "D-0"},
             "Disclosure delivered in person."),
            (18, "close_case", "officer", {"referrals_complete": "yes", "review_date": "D+2190"},
             "All actions complete; MoPI review set."),
        ]),
        DemoCase("no disclosure", 38, _application(2, "Kevin Doyle", "Stuart Price",
                                                   "Liam Doyle"), steps=[
            (37.9, "start_checks", "officer2", {}, "Checks started on receipt."),
            (37, "accept_for_interview", "officer2", ACCEPT, "In scope."),
            (33, "record_interview", "officer2", {**INTERVIEW, "interview_date": "D-33"},
             "Interview by phone at the agreed time."),
            (32, "verify_applicant", "officer2", {}, "Verified."),
            (27, RISK_CHECKS, "officer2", {}, ""),
            (26.5, RISK_NO_TRACE, "officer2", {}, ""),
            (26, "complete_assessment", "officer2", ASSESS_NOTHING, "No trace of concern."),
            (24, "decide_no_disclosure", "chief.inspector", NO_DISCLOSURE,
             "No information held; no disclosure."),
            (23.5, "countersign_decision", "inspector", COUNTERSIGN,
             "Every check is recorded and none holds anything on the subject."),
            (22, "communicate_outcome", "officer2", {"method": "phone", "communicated_on":
             "D-22"}, "Told by phone at the agreed safe time; no message left."),
            (21, "close_case", "officer2", {"referrals_complete": "yes", "review_date": "D+2190"},
             "Closed."),
        ]),
        DemoCase("awaiting decision", 20, _application(3, "Rachel Green", "Darren Holt",
                                                       "Mia Green"), steps=[
            (19.9, "start_checks", "officer", {}, "Checks started."),
            (19.5, "accept_for_interview", "officer", ACCEPT, "In scope."),
            (15, "record_interview", "officer", {**INTERVIEW, "interview_date": "D-15"},
             "Interview held."),
            (14.8, "verify_applicant", "officer", {}, "Verified."),
            (10, "invite_partner", "officer", {"partner_user_id": "socialcare",
             "information_requested": "Any open involvement with the family."},
             "Children's social care may hold relevant information."),
            (9.5, "invite_partner", "officer", {"partner_user_id": "probation",
             "information_requested": "Supervision status and current risk assessment."},
             "Probation may manage the subject."),
            (8, "record_agency_view", "socialcare", {"information_held": "An open child in "
             "need plan for Mia; the mother engages well.", "agency_view": "supports_disclosure"},
             "The mother is protective and would act on the information."),
            (7, RISK_CHECKS, "officer", {}, ""),
            (6.5, RISK_CONFIRM, "officer", {"person_id": "SAMPLE-000007", "by": "officer2"}, ""),
            (6, "complete_assessment", "officer", ASSESS, "Assessment complete; high risk."),
            (4, "request_extension", "officer", EXTENSION, "Probation's updated risk assessment "
             "is due after the whole-process target; the decision needs it."),
            (3.5, "extend_deadline", "officer2", {"exceptional_confirmed": "yes"},
             "Waiting for probation is outside the unit's control and the child is safeguarded "
             "meanwhile."),
        ]),
        DemoCase("disclosure approved", 16, _application(4, "Joanne Price", "Wayne Fletcher",
                                                         "Ella Price"), steps=[
            (15.9, "start_checks", "officer2", {}, "Checks started."),
            (15, "accept_for_interview", "officer2", ACCEPT, "In scope."),
            (12, "record_interview", "officer2", {**INTERVIEW, "interview_date": "D-12"},
             "Interview held."),
            (11.9, "verify_applicant", "officer2", {}, "Verified."),
            (8, RISK_CHECKS, "officer2", {}, ""),
            (7.5, RISK_CONFIRM, "officer2", {"person_id": "SAMPLE-000008", "by": "officer"}, ""),
            (7.2, "raise_urgent_safeguarding", "officer2", URGENT, "Register confirms a child "
             "sexual offence conviction and the subject lives with the child."),
            (7, "complete_assessment", "officer2", ASSESS, "High risk."),
            (3, "approve_disclosure_to_applicant", "inspector", DISCLOSE_TO_JOANNE,
             "Disclosure to the mother is necessary and proportionate."),
            (2.5, "countersign_decision", "chief.inspector", COUNTERSIGN,
             "Agreed: the limbs are specific to Ella's contact with the subject."),
        ]),
        DemoCase("decision awaiting approval", 18, _application(12, "Karen Lowe", "Barry Sutton",
                                                                "Finn Lowe"), steps=[
            (17.9, "start_checks", "officer2", {}, "Checks started."),
            (17.5, "accept_for_interview", "officer2", ACCEPT, "In scope."),
            (14, "record_interview", "officer2", {**INTERVIEW, "interview_date": "D-14"},
             "Interview held."),
            (13.9, "verify_applicant", "officer2", {}, "Verified."),
            (6, RISK_CHECKS, "officer2", {}, ""),
            (5.5, RISK_CONFIRM, "officer2", {"person_id": "SAMPLE-000019", "by": "officer"}, ""),
            (5, "complete_assessment", "officer2", ASSESS, "High risk."),
            (1, "approve_disclosure_to_applicant", "inspector", DISCLOSE_TO_KAREN,
             "Disclosure to the mother is necessary and proportionate."),
        ]),
        DemoCase("representations pending", 14, _application(5, "Chris Walsh", "Neil Barker",
                                                             "Jack Walsh"), steps=[
            (13.9, "start_checks", "officer", {}, "Checks started."),
            (13.5, "accept_for_interview", "officer", ACCEPT, "In scope."),
            (10, "record_interview", "officer", {**INTERVIEW, "interview_date": "D-10"},
             "Interview held."),
            (9.8, "verify_applicant", "officer", {}, "Verified."),
            (4, "invite_representations", "officer", {"invitation_method": "offender_manager",
             "deadline": "D+10", "safety_assessment": "Subject is managed reactively; the "
             "offender manager sees no risk in asking."}, "Fairness requires asking him."),
        ]),
        DemoCase("full risk assessment", 9, _application(6, "Nadia Khan", "Paul Rigby",
                                                         "Zara Khan"), steps=[
            (8.9, "start_checks", "officer2", {}, "Checks started."),
            (8.5, "accept_for_interview", "officer2", ACCEPT, "In scope."),
            (5, "record_interview", "officer2", {**INTERVIEW, "interview_date": "D-5"},
             "Interview held."),
            (4.9, "verify_applicant", "officer2", {}, "Verified."),
        ]),
        DemoCase("awaiting interview", 4, _application(7, "Emma Hughes", "Ryan Cole",
                                                       "Noah Hughes"), steps=[
            (3.9, "start_checks", "officer", {}, "Checks started."),
            (3.5, "accept_for_interview", "officer", ACCEPT, "In scope."),
        ]),
        DemoCase("initial checks", 1.5, _application(8, "Sam Patel", "Gary Nolan", "Ava Patel"),
                 steps=[(1.4, "start_checks", "officer2", {}, "Checks started.")]),
        DemoCase("not progressed", 12, _application(9, "Ian Moss", "Lee Turner", "Unknown"),
                 steps=[
            (11.9, "start_checks", "officer", {}, "Checks started."),
            (11, "reject_out_of_scope", "officer", {"reason_code": "employment_vetting",
             "alternative_action": "Advised to use a DBS check through the employer.",
             "safeguarding_assessment": "none_identified"},
             "The applicant is an employer vetting a new member of staff."),
        ]),
        DemoCase("withdrawn", 6, _application(10, "Beth Young", "Colin Shaw", "Ruby Young"),
                 steps=[
            (5.9, "start_checks", "officer2", {}, "Checks started."),
            (5, "withdraw", "officer2", {"withdrawal_channel": "phone",
             "safeguarding_assessment": "none_identified"},
             "Applicant phoned to withdraw: the subject has moved abroad."),
        ]),
        DemoCase("right to know", 7, referral=rtk, steps=[
            (6.9, "start_checks", "officer", {}, "Checks started on the MAPPA referral."),
            (6.5, "accept_for_assessment", "officer", ACCEPT, "Registered offender with "
             "access to a child: in scope."),
        ]),
        DemoCase("new application", 0.2, _application(11, "Holly Marsh", "Dean Foster",
                                                       "Leo Marsh")),
        # Closed after its whole-process target: the closure says why (DOMAIN.md §9.3 #23).
        DemoCase("closed late", 95, _application(13, "Ryan Dunn", "Craig Dunn", "Oscar Dunn"),
                 steps=[
            (94.9, "start_checks", "officer", {}, "Checks started on receipt."),
            (94, "accept_for_interview", "officer", ACCEPT, "In scope."),
            (85, "record_interview", "officer", {**INTERVIEW, "interview_date": "D-85"},
             "Interview by phone at the agreed time."),
            (84, "verify_applicant", "officer", {}, "Verified."),
            (40, RISK_CHECKS, "officer", {}, ""),
            (39.5, RISK_NO_TRACE, "officer", {}, ""),
            (39, "complete_assessment", "officer", ASSESS_NOTHING, "Partners replied after six "
             "weeks; nothing held anywhere."),
            (30, "decide_no_disclosure", "inspector", NO_DISCLOSURE_FOR_OSCAR,
             "No information held about Craig Dunn; no disclosure."),
            (29.5, "countersign_decision", "chief.inspector", COUNTERSIGN,
             "Every check is recorded; nothing is held on the subject."),
            (12, "communicate_outcome", "officer", {"method": "phone", "communicated_on":
             "D-12"}, "Told by phone at the agreed safe time."),
            (8, "close_case", "officer", {"referrals_complete": "yes", "review_date": "D+2190",
             "breach_reason_code": "partner_delay", "breach_explanation": "Probation and "
             "children's social care took six weeks to answer the record checks."},
             "Closed late: the partner checks took six weeks."),
        ]),
        # Near breach: its full risk assessment target is a working day away (see seed()).
        DemoCase("near breach", near_breach_days_ago, _application(14, "Lucy Ward", "Shaun Pike",
                                                                   "Evie Ward"), steps=[
            (near_breach_days_ago - 0.1, "start_checks", "officer", {}, "Checks started."),
            (near_breach_days_ago - 0.5, "accept_for_interview", "officer", ACCEPT, "In scope."),
            (near_breach_days_ago - 8, "record_interview", "officer",
             {**INTERVIEW, "interview_date": f"D-{int(near_breach_days_ago - 8)}"},
             "Interview held at the station."),
            (near_breach_days_ago - 8.2, "verify_applicant", "officer", {}, "Verified."),
        ]),
        # About the subject of the first case, who was disclosed about: linked and flagged.
        DemoCase("repeat application", 1, _application(1, "Gemma Stone", "Mark Ellison",
                                                       "Tyler Stone"),
                 steps=[(0.9, "start_checks", "officer", {}, "Checks started.")]),
    ]


# Two units: applications from NS1/NS2 land in North; the rest (the Right to Know referral, whose
# subject's address is unknown) in South, the default.
# The default team comes first: there is always exactly one.
DEMO_TEAMS = [
    (registry.TeamInput("south", "South unit", "NS3 NS4 NS5", is_default=True),
     ["officer2", "chief.inspector"]),
    (registry.TeamInput("north", "North unit", "NS1 NS2", is_default=False),
     ["officer", "officer2", "inspector"]),
]


def _teams(session: Session, people: dict[str, User], at: datetime) -> None:
    for data, members in DEMO_TEAMS:
        team = registry.create_team(session, people["admin"], data, now=at)
        for key in members:
            registry.add_member(session, people["admin"], team.id, people[key].id, now=at)


def _clocks_and_forecast(session: Session, policy: CasePolicy, now: datetime) -> None:
    """Closed cases "from the previous system" for the forecast, the forecast fitted, and the
    clocks ticked once, as the five-minute schedule would have done."""
    calendar = load_calendar(session, policy, now.date())
    history.import_history(session, history_csv(calendar, now.date()),
                           source="demo: the force's previous system", now=now,
                           actor=SystemActor(name="seed-demo"))
    forecasting.refit(session, calendar, policy.clocks, now=now, min_sample=30, limit=5000)
    tick(session, now=now, supervisor_rank=Rank.sergeant, email=mail.enabled_for_current_app())


def _near_breach_start(calendar: WorkingCalendar, policy: CasePolicy, now: datetime) -> float:
    """Days ago to receive a case whose full risk assessment target is one working day away:
    two working days left, the default near-breach point."""
    received_on = calendar.subtract_working_days(calendar.local_date(now),
                                                 policy.clocks.assessment_days - 1)
    received = calendar.start_of_local_day(received_on) + timedelta(hours=10)
    return max(0.5, (now - received).total_seconds() / 86400)


def _resolve(data: dict[str, Any], now: datetime, people: dict[str, User]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str) and value[:2] in ("D-", "D+"):
            days = int(value[2:]) * (-1 if value[1] == "-" else 1)
            value = (now + timedelta(days=days)).date().isoformat()
        elif key == "partner_user_id":
            value = str(people[value].id)
        out[key] = value
    return out




def _sign_undertaking(
    session: Session, case_id: int, version: int, officer: User, data: dict[str, Any],
    rationale: str, *, policy: CasePolicy, letterhead: documents.Letterhead, now: datetime,
) -> None:
    """The officer prints the undertaking, the recipient signs it and the officer uploads the
    signed copy. The demo has no scanner: the printed PDF itself stands in for the scan."""
    printed = documents.generate(session, officer, case_id, "undertaking", now=now,
                                 letterhead=letterhead)
    documents.record_signed_undertaking(
        session, officer,
        documents.SignedUndertaking(case_id, version, "signed-undertaking.pdf", printed.content,
                                    signed_on=now.date(), signed_by=data["signed_by"],
                                    rationale=rationale),
        policy=policy, now=now,
    )


def _risk_step(session: Session, case_id: int, event: str, user: User, data: dict[str, Any],
               people: dict[str, User], policy: CasePolicy, at: datetime) -> None:
    if event == RISK_CHECKS:
        risk_check.record_every_check(session, user, case_id, policy=policy, now=at)
    elif event == RISK_CONFIRM:
        risk_check.confirm_identity(session, user, people[data["by"]], case_id,
                                    person_id=data["person_id"], identifiers=IDENTIFIERS,
                                    references={}, now=at)
    else:
        risk_check.record_no_trace(session, user, case_id, now=at, note=(
            "Searched by name, date of birth and address: only namesakes with other dates of "
            "birth and addresses. No record is the subject."))


def _demo_step(
    session: Session, case_id: int, step: tuple[float, str, str, dict[str, Any], str],
    people: dict[str, User], *, policy: CasePolicy, letterhead: documents.Letterhead,
    at: datetime,
) -> None:
    """One step of a demo case, through the service a person would use for it."""
    from disclosure_app.models import Case

    _, event, who, data, rationale = step
    if event.startswith("risk:"):
        _risk_step(session, case_id, event, people[who], data, people, policy, at)
        return
    version = session.get(Case, case_id).version  # type: ignore[union-attr]
    if event == "record_undertaking":
        _sign_undertaking(session, case_id, version, people[who], data, rationale,
                          policy=policy, letterhead=letterhead, now=at)
        return
    take_step(
        session,
        StepRequest(case_id, event, version, _resolve(data, at, people), rationale),
        user=people[who], policy=policy, now=at,
    )


def _reviews_due(session: Session, now: datetime) -> None:
    """The demo's cases closed weeks ago, so their first MoPI review is years away. Two of them
    are given review dates as if they had closed years ago (one overdue, one due in 12 days), so
    that the records manager's queue has work to show."""
    closed = list(session.scalars(select(Case).where(Case.is_open.is_(False),
                                                     Case.retention_group.is_not(None))
                                  .order_by(Case.id).limit(2)))
    with transaction(session):
        for case, days in zip(closed, (-3, 12), strict=False):
            session.get(Case, case.id).review_due_on = (now + timedelta(days=days)).date()


def seed(
    session: Session,
    *,
    echo: Callable[[str], None] = print,
    policy: CasePolicy | None = None,
    now: datetime | None = None,
    letterhead: documents.Letterhead | None = None,
    cipher: SecretCipher | None = None,
) -> dict[str, str]:
    """Create the demo. Returns {email: password}; refuses if any account already exists.
    Every demo account gets an authenticator secret (printed once with its password), so the
    demo signs in with two factors like the real service."""
    letterhead = letterhead or documents.Letterhead("Northshire Police")
    policy = policy or CasePolicy()
    now = now or datetime.now(UTC)
    if session.scalar(select(func.count()).select_from(User)):
        echo("Demo data is already present (the logins were printed when it was first seeded). "
             "Run `make reset-demo` to start again with new passwords.")
        return {}
    first = now - timedelta(days=60)
    people: dict[str, User] = {}
    logins: dict[str, str] = {}
    secrets_: dict[str, str] = {}
    for i, (key, name, role, rank, agency) in enumerate(DEMO_USERS):
        password = users.generate_password()
        email = f"{key}@{DEMO_DOMAIN}"
        people[key] = users.create_user(
            session, users.NewUser(email, name, role, rank, agency), password,
            by=SystemActor(name="seed-demo"), now=first + timedelta(minutes=i),
            must_change_password=False,
        )
        if cipher is not None:
            secrets_[email] = mfa.new_secret()
            users.provision_mfa(session, people[key].id, secrets_[email], cipher=cipher,
                                by=SystemActor(name="seed-demo"), now=first)
        logins[email] = password

    import_file(session, SAMPLE_FILE, now=first, actor=SystemActor(name="seed-demo"))
    _teams(session, people, first)
    calendar = load_calendar(session, policy, now.date())
    cases = _cases(_near_breach_start(calendar, policy, now))
    timeline: list[tuple[float, int, int]] = []  # (days ago, case index, step index or -1)
    for ci, demo in enumerate(cases):
        timeline.append((demo.start_days_ago, ci, -1))
        timeline += [(step[0], ci, si) for si, step in enumerate(demo.steps)]
    for days_ago, ci, si in sorted(timeline, key=lambda t: (-t[0], t[1], t[2])):
        at = now - timedelta(days=days_ago)
        demo = cases[ci]
        if si < 0:
            if demo.application is not None:
                done = applications.submit_application(
                    session, demo.application, policy=policy, now=at)
                demo.case_id, demo.status_token = done.case.id, done.status_token
            else:
                assert demo.referral is not None
                case = applications.open_right_to_know(
                    session, demo.referral, user=people["officer"], policy=policy,
                    now=at)
                demo.case_id = case.id
            continue
        assert demo.case_id is not None
        _demo_step(session, demo.case_id, demo.steps[si], people, policy=policy,
                   letterhead=letterhead, at=at)
    _clocks_and_forecast(session, policy, now)
    _reviews_due(session, now)

    echo("DEMO accounts: password, then the authenticator secret to add to an authenticator "
         "app (shown this once; demo use only, never in production):")
    for (_key, name, role, rank, agency), (email, password) in zip(
        DEMO_USERS, logins.items(), strict=True
    ):
        extra = rank.label if rank else (agency.label if agency else "")
        echo(f"  {role.label:<16} {name:<16} {extra:<24} {email:<48} {password:<22} "
             f"{secrets_.get(email, '')}".rstrip())
    echo(f"Seeded {len(cases)} demo cases across every stage, and the sample offender register "
         "(300 fictional people).")
    for demo in cases:
        if demo.status_token and demo.label == "new application":
            echo(f"Status link for the newest application: /status/{demo.status_token}")
    return logins
