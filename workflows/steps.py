"""What each step of the scheme must record (DOMAIN.md §3.4 and §9.3).

One ``StepSpec`` per event. The three legal limbs of a decision (lawful basis, necessity and
proportionality) are separate mandatory fields on every decision event, never folded into one
rationale box, so that a court or inspector can see each was considered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from workflows.contact import route_problem
from workflows.fields import Field, Kind, StepSpec
from workflows.places import KnownAddress, subjects_home_problem

YES_NO = Kind.yesno

SAFEGUARDING_ASSESSMENT = (
    ("none_identified", "No safeguarding concern identified"),
    ("referred_csc", "Referred to children's social care"),
    ("right_to_know", "Continue as a Right to Know case"),
    ("other_action", "Other safeguarding action (explain in the rationale)"),
)
COMMUNICATION_METHOD = (
    ("in_person", "In person"),
    ("letter", "Letter (applicant agreed to letters)"),
    ("phone", "Telephone (at the agreed safe time)"),
)
MEETING_AGENCIES = (
    ("police", "Police"),
    ("probation", "Probation"),
    ("childrens_social_care", "Children's social care"),
    ("health", "Health"),
    ("education", "Education"),
    ("mappa", "MAPPA lead"),
    ("support_service", "Support service"),
    ("other", "Other"),
)
REPRESENTATIONS_NOT_SOUGHT = (
    ("risk_to_child", "Telling the subject would put the child at risk"),
    ("risk_to_applicant", "Telling the subject would put the applicant at risk"),
    ("urgency", "Too urgent to wait for representations"),
    ("absconding", "Risk that the subject would abscond or go underground"),
    ("other", "Other (explain below)"),
)
REFERRALS = (
    ("childrens_social_care", "Children's social care"),
    ("mappa", "MAPPA"),
    ("crime_report", "Crime report"),
    ("other", "Other (give details below)"),
    ("none", "None needed"),
)


def _lawful_basis() -> Field:
    return Field(
        "lawful_basis",
        "Lawful basis",
        hint="The power relied on (common-law power to protect; DPA 2018 Part 3 and, for "
        "sensitive processing, the Schedule 8 condition) and why no bar applies.",
    )


def _necessity() -> Field:
    return Field(
        "necessity",
        "Necessity (pressing need)",
        hint="Why this decision is needed to protect this child, and why other measures are or "
        "are not enough.",
    )


def _proportionality() -> Field:
    return Field(
        "proportionality",
        "Proportionality",
        hint="Impact on the subject and their family, the risk of vigilante action or of the "
        "subject going underground, and why the information is the minimum needed.",
    )


def _disclosure_fields(*, recipient_choice: bool) -> tuple[Field, ...]:
    fields: list[Field] = [
        Field("information_considered", "Information considered",
              hint="Checks run with dates and results, partner information, what is verified."),
        Field("partners_consulted", "Partners consulted",
              hint="Agency, person, date and the view each gave; whether a meeting was held."),
        Field("risk_assessment_summary", "Risk assessment summary",
              hint="Pattern of offending, current risk to the named child, the child's "
              "vulnerability and the nature of the subject's access."),
        _lawful_basis(),
        _necessity(),
        _proportionality(),
        *_representations_fields(),
    ]
    if recipient_choice:
        fields.append(Field("recipient", "Who will receive the disclosure", Kind.choice,
                            choices=(("applicant", "The applicant"),
                                     ("other_person", "Another person best placed to protect "
                                      "the child"))))
    fields += [
        Field("recipient_name", "Recipient's name", Kind.text),
        Field("recipient_relationship", "Recipient's relationship to the child", Kind.text),
        Field("best_placed_reason", "Why the recipient is best placed to protect the child"),
        Field("disclosure_wording", "Exact disclosure wording",
              hint="Word for word what will be said, and what will not be disclosed."),
        Field("subject_told", "Will the subject be told?", Kind.choice,
              choices=(("before", "Yes, before the disclosure"),
                       ("after", "Yes, after the disclosure"), ("no", "No"))),
        Field("subject_told_reason", "Reason for telling or not telling the subject"),
        Field("safety_plan", "Safety plan for the child, the recipient and the subject"),
        *_referral_fields(),
        *_quality_fields(),
    ]
    return tuple(fields)


def _representations_fields() -> tuple[Field, ...]:
    return (
        Field("representations", "Subject representations", Kind.choice, choices=(
            ("received", "Sought and received"),
            ("none_received", "Sought, none received by the deadline"),
            ("not_sought", "Not sought"))),
        Field("representations_not_sought_reason", "Why representations were not sought",
              Kind.choice, choices=REPRESENTATIONS_NOT_SOUGHT, required=False),
        Field("representations_considered", "Summary of the representations and how they were "
              "weighed", required=False,
              hint="Required when representations were received or not sought: summarise them "
              "and say how they were weighed, or explain why they were not sought."),
    )


def _referral_fields() -> tuple[Field, ...]:
    return (
        Field("referrals_made", "Referrals made", Kind.multichoice, choices=REFERRALS),
        Field("referrals", "Referral details",
              hint="References for each referral, or why none is needed."),
    )


def _quality_fields() -> tuple[Field, ...]:
    """Answers to the rationale quality checks (workflows.rationale_quality): needed only when a
    check flags the reasons, and then recorded with the decision."""
    return (
        Field("boilerplate_acknowledgement", "If your reasons repeat another case: why",
              required=False,
              hint="Only if the checks flag text that repeats another case's rationale: say why "
              "the same words are right for this case."),
        Field("contradiction_explanation", "If the checks flag a contradiction: your "
              "explanation", required=False,
              hint="Only if the checks flag a contradiction (for example high risk but no "
              "disclosure). The approving decision-maker must countersign it."),
    )


# --- Cross-field rules -----------------------------------------------------------------------


def _representations_decided(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    sought = data.get("representations")
    if sought == "received" and not getattr(case, "representations_recorded", False):
        return {"representations": "No representations have been recorded on this case; invite "
                "them first, or say why they were not sought"}
    if sought == "not_sought" and not data.get("representations_reason"):
        return {"representations_reason": "Explain why the subject's representations were not "
                "sought"}
    return {}


def _information_needs_a_confirmed_subject(data: Mapping[str, Any], case: Any) -> dict:
    # Issue 5: the identity is resolved on the identity page (two identifiers, a second person),
    # never by a tick here; information can only be attributed to a confirmed subject.
    identity = str(getattr(case, "subject_identity", "unresolved"))
    if identity not in ("confirmed", "no_trace"):
        return {"subject_identity": "Resolve the subject's identity first: confirm a match with "
                "a colleague, or record 'no trace'"}
    if identity == "no_trace" and data.get("information_found") not in (None, "none_held"):
        return {"information_found": "Information cannot be attributed to a subject who could "
                "not be traced; confirm the subject's identity first"}
    if getattr(case, "register_child_sexual_offence", False) and data.get(
        "information_found"
    ) == "none_held":
        return {"information_found": "The register holds a child sexual offence conviction for "
                "the confirmed subject, so 'no relevant information held' cannot be right"}
    return {}


def _presumption_rebutted(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    # DOMAIN.md §3.3: the presumption is a prompt, never an automatic disclose. A decision not
    # to disclose where it applies needs an explicit, recorded rebuttal.
    if getattr(case, "child_sexual_offence_flag", False) and not data.get(
        "presumption_rebuttal"
    ):
        return {"presumption_rebuttal": "The subject has a child sexual offence conviction and "
                "was assessed as a risk: explain why the presumption to disclose is rebutted"}
    return {}


def _nothing_to_disclose_needs_complete_checks(data: Mapping[str, Any], case: Any) -> dict:
    if data.get("reason_category") == "no_information" and (
        getattr(case, "child_sexual_offence_flag", False)
        or getattr(case, "register_child_sexual_offence", False)  # issue 5: the register's fact
    ):
        return {"reason_category": "The risk assessment recorded a child sexual offence "
                "conviction, so 'no information held' cannot be the reason"}
    return {}


def _decision_representations(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    # DOMAIN.md §3.4: representations are sought, or the reason they were not is recorded.
    sought = data.get("representations")
    if sought == "received" and not getattr(case, "representations_recorded", False):
        return {"representations": "No representations have been recorded on this case; "
                "record them first, or say why they were not sought"}
    if sought == "not_sought" and not data.get("representations_not_sought_reason"):
        return {"representations_not_sought_reason": "Say why the subject's representations "
                "were not sought"}
    if sought in ("received", "not_sought") and not data.get("representations_considered"):
        return {"representations_considered": "Summarise the representations and how they were "
                "weighed" if sought == "received" else "Explain why representations were not "
                "sought in this case"}
    return {}


def _referrals_consistent(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    made = set(data.get("referrals_made", []))
    if "none" in made and len(made) > 1:
        return {"referrals_made": "Choose 'None needed' only on its own"}
    return {}


def _ncnd_reasoned(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    if data.get("ncnd_stance") == "yes" and not data.get("ncnd_reason"):
        return {"ncnd_reason": "Give the reason for neither confirming nor denying"}
    return {}


def _approval_date(case: Any) -> date | None:
    approved = getattr(case, "decision_approved_at", None)
    return approved.date() if isinstance(approved, datetime) else None


def _not_before_approval(field: str, label: str) -> Any:
    def rule(data: Mapping[str, Any], case: Any) -> dict[str, str]:
        approved = _approval_date(case)
        value = data.get(field)
        if approved and value and date.fromisoformat(value) < approved:
            return {field: f"{label} cannot be before the decision was approved "
                    f"({approved.strftime('%d %B %Y')})"}
        return {}

    rule.__name__ = f"_{field}_not_before_approval"
    return rule


def _contradiction_countersigned(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    if getattr(case, "decision_needs_countersign", False) and data.get(
        "contradiction_countersigned"
    ) != "yes":
        return {"contradiction_countersigned": "The decision's reasons were flagged with a "
                "contradiction: countersign the author's explanation, or send the decision "
                "back"}
    return {}


def subject_addresses(case: Any) -> list[KnownAddress]:
    """Where the subject lives, as the case records it (and the confirmed register record's
    addresses, if any)."""
    known = []
    subject = getattr(case, "subject", None)
    if subject is not None and (getattr(subject, "address", "") or
                                getattr(subject, "postcode", "")):
        known.append(KnownAddress(subject.address or "", subject.postcode or ""))
    person = getattr(case, "subject_person", None)
    for address in getattr(person, "addresses", None) or ():
        known.append(KnownAddress(address.line or "", address.postcode or ""))
    return known


def _not_the_subjects_home(field: str) -> Any:
    def rule(data: Mapping[str, Any], case: Any) -> dict[str, str]:
        place = data.get(field)
        problem = subjects_home_problem(place, subject_addresses(case)) if place else None
        return {field: problem} if problem else {}

    rule.__name__ = f"_{field}_not_the_subjects_home"
    return rule


OUTCOME_EVENTS = frozenset({"communicate_outcome", "notify_applicant"})


def _outcome_route_is_safe(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    """DOMAIN.md §9.3 #21: a letter only if the applicant agreed to letters; and no route their
    safe-contact answers rule out (workflows.contact)."""
    labels = {code: label[0].lower() + label[1:] for code, label in COMMUNICATION_METHOD}
    problem = route_problem(data.get("method"), case, labels)
    return {"method": problem} if problem else {}


def _other_recipient_for_right_to_know(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    if data.get("recipient") == "applicant" and str(getattr(case, "route", "")) == "right_to_know":
        return {"recipient": "A Right to Know case has no applicant; choose another person"}
    return {}


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
    rules=(_representations_decided, _information_needs_a_confirmed_subject),
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
_DISCLOSURE_RULES = (_decision_representations, _referrals_consistent)
_add(StepSpec(
    "approve_disclosure_to_applicant",
    "Decide: disclose to the applicant",
    fields=_disclosure_fields(recipient_choice=False),
    rationale_label="Decision summary",
    rationale_hint=_DECISION_HINT,
    rules=_DISCLOSURE_RULES,
    is_decision=True,
))
_add(StepSpec(
    "approve_disclosure_to_other",
    "Decide: disclose to another person best placed to protect the child",
    fields=_disclosure_fields(recipient_choice=False),
    rationale_label="Decision summary",
    rationale_hint=_DECISION_HINT,
    rules=_DISCLOSURE_RULES,
    is_decision=True,
))
_add(StepSpec(
    "approve_other_information",
    "Decide: disclose other relevant information",
    fields=_disclosure_fields(recipient_choice=True),
    rationale_label="Decision summary",
    rationale_hint="There is no presumption for other information: explain why the full test "
    "is met.",
    rules=(_other_recipient_for_right_to_know, *_DISCLOSURE_RULES),
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
        _lawful_basis(),
        _necessity(),
        _proportionality(),
        Field("presumption_rebuttal", "Why the presumption to disclose is rebutted",
              required=False,
              hint="Required when the subject has a child sexual offence conviction and poses "
              "a risk."),
        Field("ncnd_stance", "Will police neither confirm nor deny whether information is "
              "held?", YES_NO),
        Field("ncnd_reason", "Reason for neither confirming nor denying", required=False),
        Field("other_safeguarding_actions", "Other safeguarding actions taken",
              hint="Referrals, MAPPA changes, advice to the applicant, or 'none'."),
        *_quality_fields(),
    ),
    rationale_label="Decision summary",
    rationale_hint=_DECISION_HINT,
    rules=(_presumption_rebutted, _nothing_to_disclose_needs_complete_checks, _ncnd_reasoned),
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
    rules=(_contradiction_countersigned,),
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
    rules=(_not_before_approval("meeting_date", "The meeting"),),
    field_rules=(_not_the_subjects_home("meeting_place"),),
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
    rules=(_not_before_approval("signed_on", "The undertaking"),),
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
    rules=(_not_before_approval("meeting_date", "The meeting"),),
    field_rules=(_not_the_subjects_home("meeting_place"),),
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
              field_rules=(_outcome_route_is_safe,)))
_add(StepSpec("notify_applicant", "Send the applicant the neutral closure message",
              fields=_OUTCOME_FIELDS,
              rationale_hint="The applicant is not the recipient: they were told only that their "
              "application was considered and appropriate action taken where necessary.",
              field_rules=(_outcome_route_is_safe,)))
_add(StepSpec(
    "close_case",
    "Close the case",
    fields=(
        Field("referrals_complete", "Does every referral have a reference or 'none'?", YES_NO,
              must_be="yes", must_be_message="Complete every referral before closing the case"),
        Field("review_date", "MoPI review date", Kind.date, date_rule="future"),
    ),
    rationale_label="Closing summary",
))

DECISION_STEP_EVENTS = frozenset(e for e, spec in STEPS.items() if spec.is_decision)


def step_for(event: str) -> StepSpec:
    return STEPS[event]
