"""What each step of the scheme must record (DOMAIN.md §3.4 and §9.3).

One ``StepSpec`` per event. The three legal limbs of a decision (lawful basis, necessity and
proportionality) are separate mandatory fields on every decision event, never folded into one
rationale box, so that a court or inspector can see each was considered. The fields and
rules the steps share are in ``workflows.step_rules``.
"""

from __future__ import annotations

from workflows.extensions import BREACH_REASONS, EXTENDABLE_CLOCKS, EXTENSION_REASONS
from workflows.fields import Field, Kind, StepSpec
from workflows.step_rules import (
    COMMUNICATION_METHOD,
    MEETING_AGENCIES,
    SAFEGUARDING_ASSESSMENT,
    YES_NO,
    contradiction_countersigned,
    decision_representations,
    disclosure_fields,
    information_needs_a_confirmed_subject,
    lawful_basis,
    ncnd_reasoned,
    necessity,
    not_before_approval,
    not_the_subjects_home,
    nothing_to_disclose_needs_complete_checks,
    other_recipient_for_right_to_know,
    outcome_route_is_safe,
    presumption_rebutted,
    proportionality,
    quality_fields,
    referrals_consistent,
    representations_decided,
)

# The steps that tell the applicant the outcome (their route must be safe for the applicant).
OUTCOME_EVENTS = frozenset({"communicate_outcome", "notify_applicant"})

# --- The steps ---------------------------------------------------------------------------------

STEPS: dict[str, StepSpec] = {}


def _add(spec: StepSpec) -> None:
    STEPS[spec.event] = spec


_add(StepSpec("submit_application", "Submit an application"))
_add(StepSpec(
    "open_right_to_know",
    "Open a Right to Know case",
    fields=(
        Field("referral_source", "Source of the information", Kind.choice, choices=(
            ("police_intelligence", "Police intelligence"),
            ("partner_agency", "Partner agency"),
            ("mappa", "MAPPA"),
            ("other_force", "Another police force"),
            ("other", "Other"))),
        Field("referral_source_detail", "Who provided the information", Kind.text),
        Field("risk_summary", "Summary of the risk to the child"),
    ),
    rationale_label="Why a proactive disclosure may be needed",
))
_add(StepSpec(
    "start_checks",
    "Start initial checks",
    rationale_label="Initial assessment",
    rationale_hint="What you know so far and the checks you will run within 24 hours.",
))
_add(StepSpec(
    "raise_urgent_safeguarding",
    "Raise urgent safeguarding",
    fields=(
        Field("risk_identified", "Risk identified"),
        Field("action_taken", "Action taken", Kind.choice, choices=(
            ("emergency_response", "Emergency response deployed"),
            ("strategy_discussion", "Strategy discussion convened"),
            ("csc_referral", "Referral to children's social care"),
            ("mappa_referral", "Referral to MAPPA"),
            ("crime_report", "Crime recorded for investigation"),
            ("other", "Other"))),
        Field("referral_reference", "Referral or crime reference", Kind.text, required=False,
              personal=False),
        Field("who_was_informed", "Who was informed", Kind.text),
    ),
    rationale_label="Why urgent action is needed",
))
_add(StepSpec(
    "reject_out_of_scope",
    "Do not progress (out of scope)",
    fields=(
        Field("reason_code", "Reason", Kind.choice, choices=(
            ("no_specific_child", "No specific child identified"),
            ("no_contact_with_child", "The person has no contact with the child"),
            ("general_enquiry", "General enquiry"),
            ("employment_vetting", "Employment or volunteer vetting (use DBS)"),
            ("malicious_or_vexatious", "Malicious or vexatious"),
            ("duplicate", "Duplicate of another application"),
            ("other", "Other"))),
        Field("alternative_action", "What else will happen instead",
              hint="What the applicant will be told and any alternative route offered."),
        Field("safeguarding_assessment", "Safeguarding assessment", Kind.choice,
              choices=SAFEGUARDING_ASSESSMENT),
    ),
))
_add(StepSpec(
    "transfer",
    "Transfer to another force",
    fields=(
        Field("receiving_force", "Receiving force", Kind.text, personal=False),
        Field("date_sent", "Date sent", Kind.date, date_rule="past_or_today"),
    ),
    rationale_label="Why the case is transferred",
))
_ACCEPT_FIELDS = (
    Field("initial_checks_summary", "Initial checks summary",
          hint="Checks run in the first 24 hours and what they showed."),
    Field("immediate_risk", "Is a child at immediate risk?", YES_NO,
          hint="If yes, also raise urgent safeguarding."),
)
_add(StepSpec("accept_for_interview", "Accept: arrange the interview", fields=_ACCEPT_FIELDS,
              rationale_label="Why the application is in scope"))
_add(StepSpec("accept_for_assessment", "Accept: start the full risk assessment",
              fields=_ACCEPT_FIELDS, rationale_label="Why the case is in scope"))
_add(StepSpec(
    "record_interview",
    "Record the applicant interview",
    fields=(
        Field("interview_date", "Interview date", Kind.date, date_rule="past_or_today"),
        Field("interview_mode", "How the interview was held", Kind.choice, choices=(
            ("in_person", "In person"), ("phone", "Telephone"), ("video", "Video call"))),
        Field("identity_documents", "Identity documents seen", Kind.text,
              hint="Type and issuer, and only the last 4 characters of any number."),
        Field("identity_verified", "Was the applicant's identity verified?", YES_NO),
        Field("relationship_evidence", "Evidence of relationship to the child", Kind.text),
        Field("subject_identifiers", "Identifiers for the subject",
              hint="Anything that helps identify the subject positively."),
        Field("account_of_concern", "The applicant's account of the concern"),
        Field("advice_given", "Safety advice given"),
    ),
))
_add(StepSpec("verify_applicant", "Applicant verified: start the full risk assessment",
              rationale_label="Why the application proceeds to the full risk assessment"))
_add(StepSpec(
    "close_unverified",
    "Close: applicant identity not verified",
    fields=(
        Field("verification_failure", "What could not be verified"),
        Field("safeguarding_assessment", "Safeguarding assessment", Kind.choice,
              choices=SAFEGUARDING_ASSESSMENT),
    ),
))
_add(StepSpec(
    "withdraw",
    "Record a withdrawal",
    fields=(
        Field("withdrawal_channel", "How the applicant withdrew", Kind.choice, choices=(
            ("status_page", "Online, using their status link"),
            ("phone", "By telephone"),
            ("in_person", "In person"),
            ("email", "By email"))),
        Field("safeguarding_assessment", "Safeguarding assessment", Kind.choice,
              choices=(("to_be_assessed", "To be assessed by the case officer"),
                       *SAFEGUARDING_ASSESSMENT)),
    ),
    rationale_label="Reason for withdrawal",
))
_add(StepSpec(
    "invite_representations",
    "Invite the subject's representations",
    fields=(
        Field("invitation_method", "How the subject is invited", Kind.choice, choices=(
            ("letter", "Letter"), ("in_person", "In person"), ("phone", "Telephone"),
            ("solicitor", "Through their solicitor"), ("offender_manager", "Through their "
                                                       "offender manager"))),
        Field("deadline", "Deadline for representations", Kind.date, date_rule="future"),
        Field("safety_assessment", "Safety assessment of inviting representations",
              hint="Risk to the child, the applicant and any investigation from telling the "
              "subject."),
    ),
))
_add(StepSpec(
    "record_representations",
    "Record the subject's representations",
    fields=(
        Field("representations_received", "Were representations received?", YES_NO),
        Field("representations_summary", "Summary of the representations",
              hint="Or a note that none were received by the deadline."),
    ),
))
_add(StepSpec(
    "complete_assessment",
    "Complete the full risk assessment",
    fields=(
        Field("information_found", "Information found", Kind.choice, choices=(
            ("none_held", "No relevant information held"),
            ("child_sexual_offences", "Convictions for child sexual offences"),
            ("other_convictions", "Other relevant convictions"),
            ("intelligence", "Non-conviction intelligence indicating risk"))),
        Field("child_sexual_offence_conviction",
              "Does the subject have a child sexual offence conviction and pose a risk to the "
              "child?", YES_NO,
              hint="If yes, the presumption-to-disclose prompt applies at the decision."),
        Field("risk_level", "Risk to the child", Kind.choice, choices=(
            ("none", "No risk identified"), ("low", "Low"), ("medium", "Medium"),
            ("high", "High"), ("very_high", "Very high"))),
        Field("risk_assessment_summary", "Risk assessment summary"),
        Field("representations", "Subject representations", Kind.choice, choices=(
            ("received", "Sought and recorded on this case"),
            ("not_sought", "Not sought"))),
        Field("representations_reason", "Why representations were not sought", required=False,
              hint="For example risk to the child or applicant, urgency, risk of absconding."),
    ),
    # Every check resolved: enforced by the workflow's ``checks_resolved`` validator.
    rules=(representations_decided, information_needs_a_confirmed_subject),
))
_add(StepSpec(
    "invite_partner",
    "Invite a partner agency",
    fields=(
        Field("partner_user_id", "Partner agency member", Kind.partner),
        Field("information_requested", "Information requested from the agency"),
    ),
    rationale_label="Why this agency needs to take part",
))
_add(StepSpec(
    "record_agency_view",
    "Record your agency's view",
    fields=(
        Field("information_held", "Information your agency holds",
              hint="Only what is relevant to the risk to the named child."),
        Field("agency_view", "Your agency's view", Kind.choice, choices=(
            ("supports_disclosure", "Supports disclosure"),
            ("does_not_support", "Does not support disclosure"),
            ("no_view", "No view"))),
    ),
    rationale_label="Reasons for your agency's view",
))
_DECISION_HINT = "Summarise the decision in your own words, tying the three limbs together."
_DISCLOSURE_RULES = (decision_representations, referrals_consistent)
_add(StepSpec(
    "approve_disclosure_to_applicant",
    "Decide: disclose to the applicant",
    fields=disclosure_fields(recipient_choice=False),
    rationale_label="Decision summary",
    rationale_hint=_DECISION_HINT,
    rules=_DISCLOSURE_RULES,
    is_decision=True,
))
_add(StepSpec(
    "approve_disclosure_to_other",
    "Decide: disclose to another person best placed to protect the child",
    fields=disclosure_fields(recipient_choice=False),
    rationale_label="Decision summary",
    rationale_hint=_DECISION_HINT,
    rules=_DISCLOSURE_RULES,
    is_decision=True,
))
_add(StepSpec(
    "approve_other_information",
    "Decide: disclose other relevant information",
    fields=disclosure_fields(recipient_choice=True),
    rationale_label="Decision summary",
    rationale_hint="There is no presumption for other information: explain why the full test "
    "is met.",
    rules=(other_recipient_for_right_to_know, *_DISCLOSURE_RULES),
    is_decision=True,
))
_add(StepSpec(
    "decide_no_disclosure",
    "Decide: no disclosure",
    fields=(
        Field("reason_category", "Reason for not disclosing", Kind.choice, choices=(
            ("no_information", "No relevant information held"),
            ("not_necessary", "Disclosure not necessary"),
            ("not_proportionate", "Disclosure not proportionate"),
            ("already_known", "Already known to the person best placed to protect"),
            ("shared_with_partners", "Already shared with partner agencies who are acting"),
            ("other", "Other"))),
        Field("information_considered", "Information considered",
              hint="Checks run with dates and results, partner information, what is verified."),
        Field("partners_consulted", "Partners consulted",
              hint="Agency, person, date and the view each gave; whether a meeting was held."),
        Field("risk_assessment_summary", "Risk assessment summary"),
        lawful_basis(),
        necessity(),
        proportionality(),
        Field("presumption_rebuttal", "Why the presumption to disclose is rebutted",
              required=False,
              hint="Required when the subject has a child sexual offence conviction and poses "
              "a risk."),
        Field("ncnd_stance", "Will police neither confirm nor deny whether information is "
              "held?", YES_NO),
        Field("ncnd_reason", "Reason for neither confirming nor denying", required=False),
        Field("other_safeguarding_actions", "Other safeguarding actions taken",
              hint="Referrals, MAPPA changes, advice to the applicant, or 'none'."),
        *quality_fields(),
    ),
    rationale_label="Decision summary",
    rationale_hint=_DECISION_HINT,
    rules=(presumption_rebutted, nothing_to_disclose_needs_complete_checks, ncnd_reasoned),
    is_decision=True,
))
_add(StepSpec(
    "countersign_decision",
    "Approve the decision (second decision-maker)",
    fields=(
        Field("record_reviewed", "Have you read the whole decision record, including each legal "
              "limb and the information considered?", YES_NO, must_be="yes",
              must_be_message="Read the whole decision record before approving it"),
        Field("agrees_with_decision", "Do you agree that the decision is lawful, necessary and "
              "proportionate?", YES_NO, must_be="yes",
              must_be_message="If you do not agree, send the decision back with your reasons"),
        Field("contradiction_countersigned", "I countersign the explanation of the flagged "
              "contradiction", Kind.choice, choices=(("yes", "Yes, I countersign it"),),
              required=False,
              hint="Only when the decision's reasons were flagged with a contradiction."),
    ),
    rationale_label="Reasons for approving",
    rationale_hint="Why you agree, in your own words, including anything you checked.",
    rules=(contradiction_countersigned,),
))
_add(StepSpec(
    "return_decision",
    "Send the decision back",
    fields=(
        Field("what_needs_changing", "What needs to change",
              hint="Which limb or information is missing, wrong or not specific to this case."),
    ),
    rationale_label="Why the decision is sent back",
))
_add(StepSpec(
    "record_decision_meeting",
    "Record the multi-agency decision meeting",
    fields=(
        Field("meeting_date", "Date of the meeting", Kind.date, date_rule="past_or_today"),
        Field("meeting_format", "Format", Kind.choice, choices=(
            ("in_person", "In person"), ("video", "Video call"), ("phone", "Telephone"),
            ("written", "Written exchange"))),
        Field("attendees", "Attendees", Kind.attendees, choices=MEETING_AGENCIES,
              hint="Name, agency and role of everyone who took part."),
        Field("information_shared", "Information shared",
              hint="What each agency brought to the meeting, and what was shared between them."),
        Field("agency_views", "Each agency's view",
              hint="Agency by agency: their view on disclosure and their reasons."),
        Field("minutes", "Minutes", hint="Discussion, agreed actions and who owns each."),
    ),
    rationale_label="The meeting's recommendation",
))
_add(StepSpec(
    "schedule_disclosure_meeting",
    "Schedule the face-to-face disclosure",
    fields=(
        Field("meeting_date", "Date of the meeting", Kind.date, date_rule="today_or_future"),
        Field("meeting_time", "Time of the meeting", Kind.text, personal=False, max_length=20,
              text_format="time", hint="On the 24-hour clock, for example 09:30 or 14:00."),
        Field("meeting_place", "Place", Kind.text,
              hint="Somewhere private and safe for the recipient; never the subject's home."),
        Field("attendees", "Who will attend", Kind.attendees, choices=MEETING_AGENCIES,
              hint="Officers, and a social worker or support worker where appropriate."),
        Field("subject_excluded", "Confirm the subject will not be present", YES_NO,
              must_be="yes", must_be_message="The subject must never attend a disclosure "
              "meeting"),
        Field("support_arrangements", "Support for the recipient",
              hint="Who will support the recipient, or why no support worker is needed."),
    ),
    rationale_label="Why this arrangement is safe and appropriate",
    rules=(not_before_approval("meeting_date", "The meeting"),),
    field_rules=(not_the_subjects_home("meeting_place"),),
))
_add(StepSpec(
    "record_undertaking",
    "Record the signed confidentiality undertaking",
    fields=(
        Field("signed_on", "Date signed", Kind.date, date_rule="past_or_today"),
        Field("signed_by", "Signed by (the recipient's name as signed)", Kind.text),
        Field("document_sha256", "SHA-256 of the signed copy", Kind.text, personal=False,
              max_length=64),
        Field("document_name", "File name of the signed copy", Kind.text),
    ),
    rationale_label="Notes on the undertaking",
    rules=(not_before_approval("signed_on", "The undertaking"),),
))
_add(StepSpec(
    "record_disclosure_delivered",
    "Record the face-to-face disclosure",
    fields=(
        Field("meeting_date", "Date of the meeting", Kind.date, date_rule="past_or_today"),
        Field("meeting_place", "Place", Kind.text),
        Field("officers_present", "Officers present", Kind.text),
        Field("others_present", "Others present (never the subject)", Kind.text, required=False),
        Field("recipient_identity_verified", "Was the recipient's identity verified?", YES_NO,
              must_be="yes",
              must_be_message="A disclosure cannot be recorded as delivered unless the "
              "recipient's identity was verified; record it as not delivered instead"),
        Field("wording_followed", "Was the approved wording used?", Kind.choice, choices=(
            ("exactly", "Yes, word for word"),
            ("with_differences", "With differences (explain below)"))),
        Field("information_disclosed", "What was said",
              hint="Compare with the approved wording; note any difference and why."),
        Field("recipient_understanding", "The recipient's understanding"),
        Field("safety_plan_agreed", "Safety plan agreed"),
        Field("support_referrals", "Support referrals made", hint="Or 'none'."),
    ),
    rationale_label="Notes on the meeting",
    rules=(not_before_approval("meeting_date", "The meeting"),),
    field_rules=(not_the_subjects_home("meeting_place"),),
))
_add(StepSpec(
    "record_not_delivered",
    "Record that the disclosure was not delivered",
    fields=(
        Field("reason", "Reason", Kind.choice, choices=(
            ("refused_undertaking", "Recipient refused to sign the undertaking"),
            ("not_contactable", "Recipient could not be contacted"),
            ("circumstances_changed", "Circumstances changed"),
            ("other", "Other"))),
        Field("details", "What happened"),
    ),
))
_add(StepSpec(
    "reconsider",
    "Reconsider the decision",
    fields=(Field("what_changed", "What has changed since the decision"),),
    rationale_label="Why the decision is being reconsidered",
))
_OUTCOME_FIELDS = (
    Field("method", "How the applicant was told", Kind.choice, choices=COMMUNICATION_METHOD),
    Field("communicated_on", "Date", Kind.date, date_rule="past_or_today"),
)
_add(StepSpec("communicate_outcome", "Tell the applicant the outcome (no disclosure)",
              fields=_OUTCOME_FIELDS,
              rationale_hint="The outcome was given without any information about the subject.",
              field_rules=(outcome_route_is_safe,)))
_add(StepSpec("notify_applicant", "Send the applicant the neutral closure message",
              fields=_OUTCOME_FIELDS,
              rationale_hint="The applicant is not the recipient: they were told only that their "
              "application was considered and appropriate action taken where necessary.",
              field_rules=(outcome_route_is_safe,)))
_add(StepSpec(
    "close_case",
    "Close the case",
    fields=(
        Field("referrals_complete", "Does every referral have a reference or 'none'?", YES_NO,
              must_be="yes", must_be_message="Complete every referral before closing the case"),
        # The retention schedule gives the first MoPI review date (workflows.retention); an
        # officer who knows a reason to review sooner may bring it forward, never push it back.
        Field("review_date", "Earlier MoPI review date (optional)", Kind.date,
              date_rule="future", required=False,
              hint="Leave blank to use the retention schedule's date for this outcome."),
        # Asked for (and then required by the machine) only when the whole-process target has
        # passed: DOMAIN.md §9.3 #23.
        Field("breach_reason_code", "Why the whole-process target was missed", Kind.choice,
              choices=BREACH_REASONS, required=False,
              hint="Only if the case is closing after its whole-process target date."),
        Field("breach_explanation", "Explain the delay", required=False,
              hint="Only if the target was missed: what held the case up."),
    ),
    rationale_label="Closing summary",
))
_add(StepSpec(
    "request_extension",
    "Ask for a target date extension",
    fields=(
        Field("clock", "Which target", Kind.choice, choices=EXTENDABLE_CLOCKS),
        Field("new_date", "New target date", Kind.date, date_rule="future"),
        Field("reason_code", "Exceptional circumstances", Kind.choice,
              choices=EXTENSION_REASONS),
    ),
    rationale_label="Why the extension is needed",
    rationale_hint="The exceptional circumstances, and what will be done by the new date. "
                   "A supervisor who did not ask for it must authorise it.",
))
_add(StepSpec(
    "extend_deadline",
    "Authorise the target date extension",
    fields=(
        Field("exceptional_confirmed", "Are the circumstances exceptional?", YES_NO,
              must_be="yes", must_be_message="Only exceptional circumstances justify an "
              "extension: refuse the request instead"),
    ),
    rationale_label="Why you authorise it",
))
_add(StepSpec(
    "refuse_extension",
    "Refuse the target date extension",
    rationale_label="Why you refuse it",
))

DECISION_STEP_EVENTS = frozenset(e for e, spec in STEPS.items() if spec.is_decision)


def step_for(event: str) -> StepSpec:
    return STEPS[event]
