"""The parts the step table (``workflows.steps``) is built from: the choice lists, the fields
every decision shares (the three legal limbs, representations, referrals, quality checks) and
the cross-field rules a step applies to what was entered, with the case in hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from workflows.contact import route_problem
from workflows.fields import Field, Kind
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


def lawful_basis() -> Field:
    return Field(
        "lawful_basis",
        "Lawful basis",
        hint="The power relied on (common-law power to protect; DPA 2018 Part 3 and, for "
        "sensitive processing, the Schedule 8 condition) and why no bar applies.",
    )


def necessity() -> Field:
    return Field(
        "necessity",
        "Necessity (pressing need)",
        hint="Why this decision is needed to protect this child, and why other measures are or "
        "are not enough.",
    )


def proportionality() -> Field:
    return Field(
        "proportionality",
        "Proportionality",
        hint="Impact on the subject and their family, the risk of vigilante action or of the "
        "subject going underground, and why the information is the minimum needed.",
    )


def disclosure_fields(*, recipient_choice: bool) -> tuple[Field, ...]:
    fields: list[Field] = [
        Field("information_considered", "Information considered",
              hint="Checks run with dates and results, partner information, what is verified."),
        Field("partners_consulted", "Partners consulted",
              hint="Agency, person, date and the view each gave; whether a meeting was held."),
        Field("risk_assessment_summary", "Risk assessment summary",
              hint="Pattern of offending, current risk to the named child, the child's "
              "vulnerability and the nature of the subject's access."),
        lawful_basis(),
        necessity(),
        proportionality(),
        *representations_fields(),
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
        *referral_fields(),
        *quality_fields(),
    ]
    return tuple(fields)


def representations_fields() -> tuple[Field, ...]:
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


def referral_fields() -> tuple[Field, ...]:
    return (
        Field("referrals_made", "Referrals made", Kind.multichoice, choices=REFERRALS),
        Field("referrals", "Referral details",
              hint="References for each referral, or why none is needed."),
    )


def quality_fields() -> tuple[Field, ...]:
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


def representations_decided(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    sought = data.get("representations")
    if sought == "received" and not getattr(case, "representations_recorded", False):
        return {"representations": "No representations have been recorded on this case; invite "
                "them first, or say why they were not sought"}
    if sought == "not_sought" and not data.get("representations_reason"):
        return {"representations_reason": "Explain why the subject's representations were not "
                "sought"}
    return {}


def information_needs_a_confirmed_subject(data: Mapping[str, Any], case: Any) -> dict:
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


def presumption_rebutted(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    # DOMAIN.md §3.3: the presumption is a prompt, never an automatic disclose. A decision not
    # to disclose where it applies needs an explicit, recorded rebuttal.
    if getattr(case, "child_sexual_offence_flag", False) and not data.get(
        "presumption_rebuttal"
    ):
        return {"presumption_rebuttal": "The subject has a child sexual offence conviction and "
                "was assessed as a risk: explain why the presumption to disclose is rebutted"}
    return {}


def nothing_to_disclose_needs_complete_checks(data: Mapping[str, Any], case: Any) -> dict:
    if data.get("reason_category") == "no_information" and (
        getattr(case, "child_sexual_offence_flag", False)
        or getattr(case, "register_child_sexual_offence", False)  # issue 5: the register's fact
    ):
        return {"reason_category": "The risk assessment recorded a child sexual offence "
                "conviction, so 'no information held' cannot be the reason"}
    return {}


def decision_representations(data: Mapping[str, Any], case: Any) -> dict[str, str]:
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


def referrals_consistent(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    made = set(data.get("referrals_made", []))
    if "none" in made and len(made) > 1:
        return {"referrals_made": "Choose 'None needed' only on its own"}
    return {}


def ncnd_reasoned(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    if data.get("ncnd_stance") == "yes" and not data.get("ncnd_reason"):
        return {"ncnd_reason": "Give the reason for neither confirming nor denying"}
    return {}


def approval_date(case: Any) -> date | None:
    approved = getattr(case, "decision_approved_at", None)
    return approved.date() if isinstance(approved, datetime) else None


def not_before_approval(field: str, label: str) -> Any:
    def rule(data: Mapping[str, Any], case: Any) -> dict[str, str]:
        approved = approval_date(case)
        value = data.get(field)
        if approved and value and date.fromisoformat(value) < approved:
            return {field: f"{label} cannot be before the decision was approved "
                    f"({approved.strftime('%d %B %Y')})"}
        return {}

    rule.__name__ = f"_{field}not_before_approval"
    return rule


def contradiction_countersigned(data: Mapping[str, Any], case: Any) -> dict[str, str]:
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


def not_the_subjects_home(field: str) -> Any:
    def rule(data: Mapping[str, Any], case: Any) -> dict[str, str]:
        place = data.get(field)
        problem = subjects_home_problem(place, subject_addresses(case)) if place else None
        return {field: problem} if problem else {}

    rule.__name__ = f"_{field}not_the_subjects_home"
    return rule


def outcome_route_is_safe(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    """DOMAIN.md §9.3 #21: a letter only if the applicant agreed to letters; and no route their
    safe-contact answers rule out (workflows.contact)."""
    labels = {code: label[0].lower() + label[1:] for code, label in COMMUNICATION_METHOD}
    problem = route_problem(data.get("method"), case, labels)
    return {"method": problem} if problem else {}


def other_recipient_for_right_to_know(data: Mapping[str, Any], case: Any) -> dict[str, str]:
    if data.get("recipient") == "applicant" and str(getattr(case, "route", "")) == "right_to_know":
        return {"recipient": "A Right to Know case has no applicant; choose another person"}
    return {}
