"""Rationale quality checks on a disclosure decision, at the moment it is made.

Courts and inspectors test whether a decision's reasons engage with *this* case (R (A) v SSHD
[2021] UKSC 37). Three kinds of finding, each with its own way to be resolved:

- ``fix``: a legal limb is too short, or mentions nothing from this case (the child, the
  subject's access, the checks, the agencies consulted, the recipient), or the subject's
  representations were not sought and no reason is recorded. The author must correct it.
- ``acknowledge``: a limb repeats another case's rationale verbatim or near-verbatim. Allowed
  only with a written reason in the decision's ``boilerplate_acknowledgement`` field.
- ``countersign``: the decision contradicts the assessment (high risk but no disclosure; nothing
  held, or no risk, but disclosure; every agency's view the other way). Allowed only with a
  written ``contradiction_explanation``, which the approving decision-maker must countersign.

Pure Python: the web app gathers the case facts and the near-matches (``similar``) from the
database and this module judges them, so every rule can be tested without a database.

Near-matches are found through word shingles (runs of five words) hashed to 64 bits: what is
stored and compared is hashes, never the words. Each limb is shingled as written and with the
case's people's names masked, so that both a word-for-word copy (names and all) and a template
re-used with other names are found.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

LIMB_FIELDS = ("lawful_basis", "necessity", "proportionality")
LIMB_LABELS = {
    "lawful_basis": "Lawful basis",
    "necessity": "Necessity",
    "proportionality": "Proportionality",
}

DISCLOSURE_EVENTS = frozenset(
    {"approve_disclosure_to_applicant", "approve_disclosure_to_other", "approve_other_information"}
)
NO_DISCLOSURE_EVENT = "decide_no_disclosure"

ACKNOWLEDGEMENT_FIELD = "boilerplate_acknowledgement"
EXPLANATION_FIELD = "contradiction_explanation"
REPRESENTATIONS_REASON_FIELD = "representations_not_sought_reason"

DEFAULT_MIN_CHARS = 80
DEFAULT_OVERLAP = 0.8
SHINGLE_WORDS = 5
HIGH_RISK = frozenset({"high", "very_high"})

# A masked name becomes this token; it cannot collide with a word because punctuation never
# survives normalisation.
_NAME_PLACEHOLDER = "#"
_WORD = re.compile(r"[^\W_]+")

# Words that say nothing about one case in particular: English function words, and the words of
# the scheme itself, which every rationale uses ("the child", "the subject", "risk", "partner
# agencies"). A relationship or contact description made only of these gives no case term.
STOP_WORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each either etc every few for
from further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours out
over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up upon very was we were what when where which while
who whom why will with would yes you your yours s t mr mrs ms miss dr
may might must shall often usually sometimes always never still around across
child children childs kid kids subject subjects applicant applicants person people someone
risk risks harm protect protection safeguarding safety disclosure disclose disclosed disclosing
information police officer officers case cases decision scheme law lawful power necessary
necessity proportionate proportionality partner partners agency agencies conviction convictions
offence offences offender offenders sexual sex registered register concern concerns
lives live living lived life home house family contact access time times regularly
new old former current recent recently
""".split())

# The checks of the full risk assessment (workflows.steps.CHECK_SOURCES), as the words a
# rationale uses for them: (how a message names it, *phrases that count as a mention).
CHECK_TERMS: dict[str, tuple[str, ...]] = {
    "pnc": ("PNC", "pnc", "police national computer"),
    "pnd": ("PND", "pnd", "police national database"),
    "visor": ("ViSOR", "visor", "sex offender register", "sex offenders register"),
    "local_intelligence": ("local intelligence", "local intelligence"),
    "childrens_social_care": ("children's social care", "social care", "social services",
                              "social worker", "csc"),
    "probation_mappa": ("probation", "probation", "mappa", "offender manager"),
    "previous_forces": ("previous forces", "previous force", "previous forces", "other force",
                        "other forces"),
}
# Partner agencies consulted (workflows.roles.Agency values).
AGENCY_TERMS: dict[str, tuple[str, ...]] = {
    "probation": ("probation", "probation", "offender manager", "mappa"),
    "childrens_social_care": ("children's social care", "social care", "social services",
                              "social worker", "csc"),
    "health": ("health", "health", "health visitor", "gp", "nhs"),
    "education": ("education", "education", "school", "teacher", "nursery", "college"),
    "other": (),
}


class Severity(StrEnum):
    fix = "fix"
    acknowledge = "acknowledge"
    countersign = "countersign"


@dataclass(frozen=True)
class CaseFacts:
    """What the checks know about the case, gathered by the web app (see
    ``disclosure_app.decisions.rationale_quality.case_facts``)."""

    # Case-specific words and phrases, normalised (see ``normalise``), stop words removed.
    terms: frozenset[str] = frozenset()
    risk_level: str | None = None  # complete_assessment: none/low/medium/high/very_high
    information_found: str | None = None
    subject_identity: str | None = None
    representations: str | None = None  # received / not_sought (complete_assessment)
    representations_reason_given: bool = False
    agency_views: tuple[str, ...] = ()  # supports_disclosure / does_not_support / no_view
    # Words of the people's names, masked before shingling (see ``shingles``).
    names: frozenset[str] = frozenset()
    # A few of the terms as the author would write them, for the messages ("Amy", "PNC").
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Similar:
    """The best near-match for one limb: another case's rationale sharing ``overlap`` of it."""

    case_reference: str
    field: str
    overlap: float


@dataclass(frozen=True)
class Finding:
    code: str
    field: str
    message: str  # what to do; never quotes the case's personal details (it is recorded)
    severity: Severity
    # Case terms to suggest ("Amy", "stepfather", "PNC"): shown to the author, never recorded.
    examples: tuple[str, ...] = field(default=())

    @property
    def text(self) -> str:
        """The message as shown to the author, with the suggested case terms."""
        if not self.examples:
            return self.message
        return f"{self.message} (for example: {', '.join(self.examples)})"


@dataclass(frozen=True)
class QualityReport:
    findings: tuple[Finding, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def needs_countersign(self) -> bool:
        """A contradiction was found: the approving decision-maker must countersign the
        author's explanation."""
        return any(f.severity is Severity.countersign for f in self.findings)

    def blocking(self, data: Mapping[str, Any]) -> dict[str, str]:
        """What stops the decision being saved, by form field: every ``fix`` finding; each
        ``acknowledge`` finding unless ``boilerplate_acknowledgement`` is written; each
        ``countersign`` finding unless ``contradiction_explanation`` is written."""
        acknowledged = _written(data.get(ACKNOWLEDGEMENT_FIELD))
        explained = _written(data.get(EXPLANATION_FIELD))
        errors: dict[str, str] = {}
        for f in self.findings:
            if f.severity is Severity.fix:
                errors.setdefault(f.field, f.text)
            elif f.severity is Severity.acknowledge and not acknowledged:
                errors.setdefault(f.field, f.text)
                errors.setdefault(ACKNOWLEDGEMENT_FIELD, "Rewrite the repeated text for this "
                                  "case, or say here why the same words are right for it")
        contradictions = [f.text for f in self.findings if f.severity is Severity.countersign]
        if contradictions and not explained:
            errors[EXPLANATION_FIELD] = " ".join(contradictions)
        return errors

    def to_record(self) -> dict[str, Any]:
        """What is stored with the decision (``CaseStep.quality``) and in its audit entry: codes,
        fields, severities and the generic messages, never the case's own words."""
        return {
            "findings": [
                {"code": f.code, "field": f.field, "severity": f.severity.value,
                 "message": f.message}
                for f in self.findings
            ],
            "needs_countersign": self.needs_countersign,
        }


def _written(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# --- Text ------------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """The words of ``text``: NFKC case-folded, punctuation dropped (so "Mother's" is
    "mother s"), whitespace collapsed."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def normalise(text: str) -> str:
    return " ".join(words(text))


def shingles(text: str, *, masked: frozenset[str] = frozenset()) -> frozenset[int]:
    """The text's overlapping runs of five words, each hashed to a signed 64-bit integer (it fits
    a PostgreSQL BIGINT). A text of fewer than five words is one shingle. Words in ``masked``
    (people's names) are replaced by one placeholder first."""
    tokens = [_NAME_PLACEHOLDER if w in masked else w for w in words(text)]
    if not tokens:
        return frozenset()
    if len(tokens) < SHINGLE_WORDS:
        return frozenset({_hash(tokens)})
    return frozenset(
        _hash(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)
    )


def _hash(tokens: list[str]) -> int:
    digest = hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def limb_shingles(
    data: Mapping[str, Any], masked: frozenset[str] = frozenset()
) -> dict[str, frozenset[int]]:
    """The shingles of each limb written in ``data`` (limbs left empty are left out)."""
    out = {}
    for name in LIMB_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            found = shingles(value, masked=masked)
            if found:
                out[name] = found
    return out


def limb_variants(
    data: Mapping[str, Any], masked: frozenset[str] = frozenset()
) -> dict[str, tuple[frozenset[int], ...]]:
    """Each limb's shingles as written and with the case's names masked (one set if the limb
    names nobody). A copy is compared both ways: word for word, another case's text with its
    names still in matches as written; a template re-filled with this case's names matches
    masked."""
    raw, named = limb_shingles(data), limb_shingles(data, masked)
    return {
        limb: (found,) if named[limb] == found else (found, named[limb])
        for limb, found in raw.items()
    }


def limb_fingerprints(
    data: Mapping[str, Any], masked: frozenset[str] = frozenset()
) -> dict[str, frozenset[int]]:
    """What is stored for a decision's limbs: both variants' shingles (see ``limb_variants``)."""
    return {limb: frozenset().union(*sets) for limb, sets in limb_variants(data, masked).items()}


def required_matches(count: int, threshold: float) -> int:
    """How many of ``count`` shingles another text must share to reach ``threshold``."""
    return max(1, math.ceil(count * threshold - 1e-9))


# --- Case terms ------------------------------------------------------------------------------


def name_words(names: Iterable[str | None]) -> frozenset[str]:
    """The words of people's names and aliases that identify them (not "May" or "Will": a
    name that is also a common word would make every text look case-specific)."""
    return frozenset(
        w for name in names if name for w in words(name)
        if len(w) >= 2 and w not in STOP_WORDS and not w.isdigit()
    )


def description_words(texts: Iterable[str | None]) -> frozenset[str]:
    """The telling words of relationship and access descriptions ("stepfather", "babysits")."""
    return frozenset(
        w for text in texts if text for w in words(text)
        if len(w) >= 3 and w not in STOP_WORDS and not w.isdigit()
    )


def phrases(table: Mapping[str, tuple[str, ...]], codes: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(p) for code in codes for p in table.get(code, ())[1:])


def case_terms(
    *,
    names: Iterable[str | None] = (),
    descriptions: Iterable[str | None] = (),
    checks: Iterable[str] = (),
    agencies: Iterable[str] = (),
) -> frozenset[str]:
    """Every term that makes a limb case-specific: people's names, relationship and access
    descriptions, the checks completed and the agencies consulted."""
    return (name_words(names) | description_words(descriptions)
            | phrases(CHECK_TERMS, checks) | phrases(AGENCY_TERMS, agencies))


def decision_terms(data: Mapping[str, Any]) -> frozenset[str]:
    """Case terms the decision itself introduces: the recipient and their relationship."""
    return name_words([data.get("recipient_name")]) | description_words(
        [data.get("recipient_relationship")]
    )


def mentions(text: str, terms: Iterable[str]) -> bool:
    """Whether ``text`` contains any term as a whole word or phrase, ignoring case."""
    padded = f" {normalise(text)} "
    return any(f" {term} " in padded for term in terms if term)


# --- The checks ------------------------------------------------------------------------------

_SPECIFIC_PROMPTS = {
    "lawful_basis": "Lawful basis: say why the power relied on applies to this case, not only "
    "which power it is",
    "necessity": "Necessity: say why this decision is needed to protect this child, and why "
    "other measures are or are not enough",
    "proportionality": "Proportionality: weigh the impact on this subject and family, and why "
    "this is the minimum needed",
}
_MENTION = " — mention the child, the subject's access, the checks or the agencies consulted"


def assess(
    event: str,
    data: Mapping[str, Any],
    facts: CaseFacts,
    *,
    similar: Mapping[str, Similar],
    min_chars: int = DEFAULT_MIN_CHARS,
    threshold: float = DEFAULT_OVERLAP,
) -> QualityReport:
    """Every finding on a decision's (cleaned) step data. ``similar`` holds, by limb, the best
    near-match in another case's rationale; matches below ``threshold`` are ignored."""
    terms = facts.terms | decision_terms(data)
    findings: list[Finding] = []
    for name in LIMB_FIELDS:
        findings += _limb_findings(name, data.get(name), terms, facts.examples, min_chars)
    for name in LIMB_FIELDS:
        match = similar.get(name)
        if match is not None and match.overlap >= threshold:
            findings.append(_boilerplate(name, match))
    findings += _representations_findings(event, data, facts)
    findings += _contradictions(event, facts)
    return QualityReport(tuple(findings))


def _limb_findings(
    name: str, value: Any, terms: frozenset[str], examples: tuple[str, ...], min_chars: int
) -> list[Finding]:
    text = value.strip() if isinstance(value, str) else ""
    label = LIMB_LABELS[name]
    if len(text) < min_chars:
        return [Finding("limb_too_short", name, f"{label} is too short to show the reasoning: "
                        f"write at least {min_chars} characters about this case (it has "
                        f"{len(text)})", Severity.fix)]
    # With no terms known there is nothing to test against: never block on that.
    if terms and not mentions(text, terms):
        return [Finding("limb_not_case_specific", name, _SPECIFIC_PROMPTS[name] + _MENTION,
                        Severity.fix, examples)]
    return []


def _boilerplate(name: str, match: Similar) -> Finding:
    label = LIMB_LABELS[name]
    theirs = LIMB_LABELS.get(match.field, match.field).lower()
    share = math.floor(match.overlap * 100)
    return Finding(
        "limb_repeats_other_case", name,
        f"{label}: {share}% of this text repeats the {theirs} recorded on case "
        f"{match.case_reference}. Rewrite it for this case, or record why the same words are "
        "right for this case",
        Severity.acknowledge,
    )


def _representations_findings(
    event: str, data: Mapping[str, Any], facts: CaseFacts
) -> list[Finding]:
    # A disclosure interferes with the subject's private life, so their representations are
    # sought or the reason they were not is recorded (R (A) v SSHD). The decision's own answer
    # counts; without one, the risk assessment's.
    if event not in DISCLOSURE_EVENTS:
        return []
    if "representations" in data:
        sought = data.get("representations")
        reason_given = _written(data.get(REPRESENTATIONS_REASON_FIELD)) and _written(
            data.get("representations_considered"))
    else:
        sought = facts.representations
        reason_given = facts.representations_reason_given
    if sought is None:
        return [Finding("representations_not_decided", "representations", "Subject "
                        "representations: say whether they were sought, and if not, why not",
                        Severity.fix)]
    if sought == "not_sought" and not reason_given:
        return [Finding("representations_not_sought_no_reason", REPRESENTATIONS_REASON_FIELD,
                        "Subject representations were not sought and no reason is recorded: "
                        "give the reason (risk to the child or the applicant, urgency, risk of "
                        "absconding) and explain it for this case", Severity.fix)]
    return []


def _contradictions(event: str, facts: CaseFacts) -> list[Finding]:
    disclose = event in DISCLOSURE_EVENTS
    no_disclosure = event == NO_DISCLOSURE_EVENT
    # Agencies with no view take no side: "every agency" means every agency that gave one.
    views = [v for v in facts.agency_views if v != "no_view"]
    found: list[tuple[bool, str, str]] = [
        (no_disclosure and facts.risk_level in HIGH_RISK, "high_risk_no_disclosure",
         "The risk assessment rated the risk to the child as high, but this decision is not to "
         "disclose"),
        (disclose and facts.information_found == "none_held", "no_information_but_disclosure",
         "The risk assessment found no relevant information held, but this decision is to "
         "disclose"),
        (disclose and facts.risk_level == "none", "no_risk_but_disclosure",
         "The risk assessment identified no risk to the child, but this decision is to "
         "disclose"),
        (disclose and bool(views) and all(v == "does_not_support" for v in views),
         "agencies_against_disclosure",
         "Every partner agency that gave a view does not support disclosure, but this decision "
         "is to disclose"),
        (no_disclosure and bool(views) and all(v == "supports_disclosure" for v in views),
         "agencies_support_disclosure",
         "Every partner agency that gave a view supports disclosure, but this decision is not "
         "to disclose"),
    ]
    return [
        Finding(code, EXPLANATION_FIELD, message + ". Explain why; the decision-maker who "
                "approves the decision must countersign your explanation",
                Severity.countersign)
        for applies, code, message in found if applies
    ]
