"""Who is the subject? Comparing what a case says about them with a records-source candidate.

Disclosing about the wrong person is the failure this guards against (DOMAIN.md §7.2, §13): two
people with the same name and date of birth, a misspelt name, an alias. So a candidate is never
"the subject" because of a name. Each identifier is compared on its own and shown as agreeing,
partly agreeing or disagreeing; the score only orders the list; and the classification says
"near miss" when the name and date of birth agree but the address history does not.

Names in mixed scripts, or with characters that only look like Latin letters (Cyrillic "а",
fullwidth forms), are flagged and never classed as a probable match: they are a known way to
make two different names look the same, or one name look different.

Pure Python (jellyfish gives the phonetic keys and string similarity): no Flask, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import jellyfish


class IdentityStatus(StrEnum):
    """The case's subject-identity fact, read by the workflow's identity gate."""

    unresolved = "unresolved"
    proposed = "proposed"  # a match is proposed and waits for a second person
    confirmed = "confirmed"  # two independent identifiers and a second person
    no_trace = "no_trace"  # searched; no record can be attributed to the subject

    @property
    def label(self) -> str:
        return {
            "unresolved": "Not yet resolved",
            "proposed": "Match proposed, awaiting a second person's confirmation",
            "confirmed": "Confirmed",
            "no_trace": "No trace",
        }[self.value]


class Identifier(StrEnum):
    """Independent identifiers that can support a match. A name is deliberately not one:
    namesakes are the problem being solved."""

    date_of_birth = "date_of_birth"
    address_history = "address_history"
    register_id = "register_id"  # the register's id quoted by a partner agency or PNC
    photograph = "photograph"  # identified from a custody photograph by someone who knows them

    @property
    def label(self) -> str:
        return {
            "date_of_birth": "Date of birth",
            "address_history": "Address history",
            "register_id": "Register id quoted by a partner agency or PNC",
            "photograph": "Identified from a photograph",
        }[self.value]

    @property
    def needs_reference(self) -> bool:
        """Identifiers the case itself cannot show: the proposer must say where they came from."""
        return self in (Identifier.register_id, Identifier.photograph)


MIN_IDENTIFIERS = 2


class Verdict(StrEnum):
    agrees = "agrees"
    partial = "partial"
    disagrees = "disagrees"
    unknown = "unknown"


class Classification(StrEnum):
    probable_match = "probable_match"
    near_miss = "near_miss"
    namesake = "namesake"
    possible = "possible"
    unlikely = "unlikely"

    @property
    def label(self) -> str:
        return {
            "probable_match": "Probable match (still needs two identifiers and a second person)",
            "near_miss": "Near miss: some identifiers agree, others do not",
            "namesake": "Namesake: same or similar name, different person",
            "possible": "Possible: some agreement",
            "unlikely": "Unlikely",
        }[self.value]


# --- Text: refusing hidden characters, flagging look-alikes, normalising ----------------------

_HIDDEN = set(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u200c\u200d\u200e\u200f"
    "\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u034f\u180e"
)


def hidden_character_problem(value: str) -> str | None:
    """Why a name cannot be accepted at all: control, bidi or zero-width characters."""
    for ch in value:
        if ch in _HIDDEN or unicodedata.category(ch) == "Cf":
            return "contains a hidden formatting character (direction or zero-width mark)"
        if unicodedata.category(ch) == "Cc":
            return "contains a control character"
    return None


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    return name.split(" ")[0] if name else "UNKNOWN"


def script_flags(value: str) -> list[str]:
    """Reasons a name must be checked by eye and never auto-matched (empty: none)."""
    flags = []
    scripts = {s for s in (_script(ch) for ch in value) if s}
    if len(scripts) > 1:
        flags.append("mixed scripts (" + ", ".join(sorted(s.title() for s in scripts)) + ")")
    if unicodedata.normalize("NFKC", value) != unicodedata.normalize("NFC", value):
        flags.append("look-alike characters (compatibility forms such as fullwidth letters)")
    elif scripts - {"LATIN"} and any(ch in _LATIN_LOOKALIKES for ch in value):
        flags.append("letters that look like Latin letters but are not")
    return flags


# Cyrillic and Greek letters that are drawn like Latin ones.
_LATIN_LOOKALIKES = set(
    "АВЕЅІЈКМНОРСТХУаеіјорсхуѕԁԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοικνρτυχ"
)


def fold(value: str) -> str:
    """Lower case, accents removed, letters only: 'O’Brien-Smith' → 'obriensmith'."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(ch for ch in decomposed if ch.isalpha() and not unicodedata.combining(ch))


def name_tokens(value: str) -> list[str]:
    return [t for t in (fold(part) for part in re.split(r"[\s,/]+", value)) if t]


def phonetic_key(token: str) -> str:
    """The indexed search key for one surname token (Metaphone; a folded prefix if empty)."""
    folded = fold(token)
    if not folded:
        return ""
    key = jellyfish.metaphone(folded).upper()
    return (key or folded.upper())[:16]


PREFIX_LENGTH = 3


def surname_prefix(token: str) -> str:
    """The second indexed search key: the first letters of the folded surname."""
    return fold(token)[:PREFIX_LENGTH].upper()


def postcode_key(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def outward_code(key: str) -> str:
    """The district part of a spaceless postcode: everything but the last three characters."""
    return key[:-3] if len(key) > 4 else key


@dataclass(frozen=True)
class PersonName:
    forenames: str
    surname: str
    kind: str = "name"  # "name" or "alias"

    @property
    def full(self) -> str:
        return f"{self.forenames} {self.surname}".strip()


def split_full_name(full_name: str, kind: str = "name") -> PersonName:
    parts = full_name.split()
    if len(parts) <= 1:
        return PersonName("", full_name.strip(), kind)
    return PersonName(" ".join(parts[:-1]), parts[-1], kind)


def names_from_case(full_name: str, aliases_text: str) -> list[PersonName]:
    names = [split_full_name(full_name)]
    for alias in re.split(r"[;,\n]+", aliases_text or ""):
        if alias.strip():
            names.append(split_full_name(alias, "alias"))
    return names


# --- Comparing a subject with a candidate -----------------------------------------------------


@dataclass(frozen=True)
class Address:
    line: str
    postcode: str
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class SubjectDescription:
    """What the case says about the subject."""

    names: Sequence[PersonName]
    date_of_birth: date | None = None
    approximate_age: int | None = None
    addresses: Sequence[Address] = ()


@dataclass(frozen=True)
class CandidateRecord:
    """What a records source says about one person."""

    person_id: str
    names: Sequence[PersonName]
    date_of_birth: date | None
    addresses: Sequence[Address] = ()


@dataclass(frozen=True)
class Comparison:
    identifier: str  # "name", "date_of_birth", "address_history"
    label: str
    verdict: Verdict
    detail: str


@dataclass
class Assessment:
    candidate: CandidateRecord
    comparisons: list[Comparison]
    score: int
    classification: Classification
    flags: list[str] = field(default_factory=list)

    def verdict(self, identifier: str) -> Verdict:
        for c in self.comparisons:
            if c.identifier == identifier:
                return c.verdict
        return Verdict.unknown

    @property
    def agreeing(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict is Verdict.agrees]

    @property
    def disagreeing(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict is Verdict.disagrees]


def _name_pair(a: PersonName, b: PersonName) -> tuple[int, str]:
    """(strength 0-3, how) for two names: 3 exact, 2 spelling or phonetic variant, 1 surname
    only or initials, 0 no likeness."""
    sa, sb, fa, fb = fold(a.surname), fold(b.surname), fold(a.forenames), fold(b.forenames)
    if not sa or not sb:
        return 0, ""
    if sa == sb and fa == fb:
        return 3, "same name"
    surname_like = sa == sb or phonetic_key(sa) == phonetic_key(sb) or (
        jellyfish.jaro_winkler_similarity(sa, sb) >= 0.9
    )
    if not surname_like:
        # Forename and surname written the other way round.
        if fa and fb and sa == fb and sb == fa:
            return 2, "forename and surname transposed"
        return 0, ""
    forename_like = bool(fa and fb) and (
        fa == fb or phonetic_key(fa) == phonetic_key(fb)
        or jellyfish.jaro_winkler_similarity(fa, fb) >= 0.88
    )
    if forename_like:
        return 2, "spelling or phonetic variant"
    if fa and fb and fa[0] == fb[0]:
        return 1, "same surname, forename initial only"
    return 1, "same or similar surname only"


def compare_names(subject: SubjectDescription, candidate: CandidateRecord) -> Comparison:
    best, how, via = 0, "", None
    for sn in subject.names:
        for cn in candidate.names:
            strength, why = _name_pair(sn, cn)
            if strength > best:
                best, how, via = strength, why, (sn, cn)
    if best == 0 or via is None:
        return Comparison("name", "Name", Verdict.disagrees, "No name or alias is alike")
    sn, cn = via
    where = f"{cn.full}" + (" (alias on the record)" if cn.kind == "alias" else "")
    if sn.kind == "alias":
        where += f", matching the alias {sn.full}"
    verdict = Verdict.agrees if best == 3 else Verdict.partial
    return Comparison("name", "Name", verdict, f"{how}: {where}")


def compare_dob(subject: SubjectDescription, candidate: CandidateRecord, today: date
                ) -> Comparison:
    label = "Date of birth"
    dob = candidate.date_of_birth
    if dob is None:
        return Comparison("date_of_birth", label, Verdict.unknown, "Not on the record")
    if subject.date_of_birth is not None:
        sd = subject.date_of_birth
        if sd == dob:
            return Comparison("date_of_birth", label, Verdict.agrees, "Same date of birth")
        if sd.year == dob.year and sd.month == dob.day and sd.day == dob.month:
            return Comparison("date_of_birth", label, Verdict.partial,
                              "Day and month swapped: check the source")
        same = sum((sd.year == dob.year, sd.month == dob.month, sd.day == dob.day))
        if same == 2:
            return Comparison("date_of_birth", label, Verdict.partial,
                              "One part of the date differs: check the source")
        return Comparison("date_of_birth", label, Verdict.disagrees,
                          f"Record says {dob.isoformat()}")
    if subject.approximate_age is not None:
        age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
        if abs(age - subject.approximate_age) <= 2:
            return Comparison("date_of_birth", label, Verdict.partial,
                              f"Age {age} is consistent with the approximate age given")
        return Comparison("date_of_birth", label, Verdict.disagrees,
                          f"Age {age} is not consistent with the approximate age given")
    return Comparison("date_of_birth", label, Verdict.unknown, "The case has no date of birth")


def _house(line: str) -> str:
    match = re.match(r"\s*(\d+[a-z]?)\b", line.casefold())
    return match.group(1) if match else fold(line)[:12]


def compare_addresses(subject: SubjectDescription, candidate: CandidateRecord) -> Comparison:
    label = "Address history"
    known = [a for a in subject.addresses if postcode_key(a.postcode)]
    if not known:
        return Comparison("address_history", label, Verdict.unknown, "The case has no address")
    if not candidate.addresses:
        return Comparison("address_history", label, Verdict.unknown, "No addresses on the record")
    district = False
    for ours in known:
        pk = postcode_key(ours.postcode)
        for theirs in candidate.addresses:
            tk = postcode_key(theirs.postcode)
            when = "current address" if theirs.end is None else (
                f"address until {theirs.end.isoformat()}")
            if tk == pk and _house(theirs.line) == _house(ours.line):
                return Comparison("address_history", label, Verdict.agrees,
                                  f"Same address ({when})")
            if tk == pk:
                return Comparison("address_history", label, Verdict.partial,
                                  f"Same postcode, different house ({when})")
            district = district or outward_code(tk) == outward_code(pk)
    if district:
        return Comparison("address_history", label, Verdict.disagrees,
                          "Different address in the same postcode district")
    return Comparison("address_history", label, Verdict.disagrees, "No address in common")


_WEIGHTS = {
    "name": {Verdict.agrees: 30, Verdict.partial: 20, Verdict.disagrees: 0, Verdict.unknown: 0},
    "date_of_birth": {Verdict.agrees: 40, Verdict.partial: 15, Verdict.disagrees: -30,
                      Verdict.unknown: 0},
    "address_history": {Verdict.agrees: 30, Verdict.partial: 10, Verdict.disagrees: -5,
                        Verdict.unknown: 0},
}


def classify(comparisons: Iterable[Comparison], flags: Sequence[str]) -> Classification:
    v = {c.identifier: c.verdict for c in comparisons}
    name_like = v.get("name") in (Verdict.agrees, Verdict.partial)
    dob, address = v.get("date_of_birth"), v.get("address_history")
    if name_like and dob is Verdict.agrees and address is Verdict.agrees and not flags:
        return Classification.probable_match
    if name_like and dob is Verdict.disagrees:
        return Classification.namesake
    if name_like and (dob in (Verdict.agrees, Verdict.partial)
                      or address in (Verdict.agrees, Verdict.partial)):
        return Classification.near_miss
    if name_like or dob is Verdict.agrees or address is Verdict.agrees:
        return Classification.possible
    return Classification.unlikely


def assess(subject: SubjectDescription, candidate: CandidateRecord, today: date) -> Assessment:
    comparisons = [
        compare_names(subject, candidate),
        compare_dob(subject, candidate, today),
        compare_addresses(subject, candidate),
    ]
    flags = []
    for n in subject.names:
        flags += [f"The case's name '{n.full}': {f}" for f in script_flags(n.full)]
    for n in candidate.names:
        flags += [f"The record's name '{n.full}': {f}" for f in script_flags(n.full)]
    score = sum(_WEIGHTS[c.identifier][c.verdict] for c in comparisons)
    return Assessment(candidate, comparisons, score, classify(comparisons, flags), flags)


def rank(subject: SubjectDescription, candidates: Iterable[CandidateRecord], today: date,
         *, limit: int | None = None) -> list[Assessment]:
    """Every candidate worth showing, flagged names first, then best first; ties broken by
    person id so the order never depends on the query plan.

    A record whose name is flagged (mixed scripts, look-alike letters) is never dropped, not even
    as "unlikely", and is listed before the rest: it is the record most easily mistaken for, or
    hidden behind, the subject, so it must be on the first page an officer reads. ``limit`` is
    for callers that want only the top few; the identity page pages through all of them."""
    assessed = [assess(subject, c, today) for c in candidates]
    assessed = [a for a in assessed
                if a.flags or a.classification is not Classification.unlikely]
    assessed.sort(key=lambda a: (not a.flags, -a.score, a.candidate.person_id))
    return assessed if limit is None else assessed[:limit]


# --- Which identifiers a proposer may claim ----------------------------------------------------


def identifier_problems(claimed: Iterable[Identifier], assessment: Assessment,
                        references: dict[Identifier, str]) -> dict[str, str]:
    """Refuse a claim the records contradict: DOB and address must actually agree; an external
    identifier must say where it came from; and there must be at least two."""
    claimed = list(dict.fromkeys(claimed))
    errors: dict[str, str] = {}
    if len(claimed) < MIN_IDENTIFIERS:
        errors["identifiers"] = ("Confirming a match needs at least two independent identifiers "
                                 "(a name alone is never enough)")
    for ident in claimed:
        if ident in (Identifier.date_of_birth, Identifier.address_history):
            if assessment.verdict(ident.value) is not Verdict.agrees:
                errors["identifiers"] = (f"{ident.label} does not agree between the case and "
                                         "the record, so it cannot support the match")
        elif not references.get(ident, "").strip():
            errors[f"{ident.value}_reference"] = (f"Say where the {ident.label.lower()} came "
                                                  "from (agency, person, reference)")
    return errors


# --- The urgent prompt -----------------------------------------------------------------------

# Words in the recorded contact with the child that mean the subject lives with the child or is
# alone with them. The list errs towards prompting: a needless prompt costs a minute, a missed
# one could cost a child.
_ACCESS_WORDS = re.compile(
    r"\b(live[sd]?|living|same (house|home|household|address)|household|moved in|stays?|"
    r"staying|overnight|sleeps? over|alone|unsupervised|babysit\w*|childmind\w*|looks? after|"
    r"cares? for|collects?|picks? (him|her|them) up|bath\w*|bedtime)\b",
    re.IGNORECASE,
)


def indicates_unsupervised_access(*descriptions: str) -> bool:
    return any(_ACCESS_WORDS.search(d or "") for d in descriptions)


# --- Keys that link cases about the same person ----------------------------------------------


def link_keys(
    full_name: str,
    *,
    date_of_birth: date | None = None,
    postcode: str = "",
    register_id: str | None = None,
) -> set[str]:
    """Keys under which two cases are about the same person: the folded name with the date of
    birth, the folded name with the postcode, or a confirmed register id. A name alone never
    links (namesakes again)."""
    keys = set()
    name = "".join(name_tokens(full_name))
    if name and date_of_birth is not None:
        keys.add(f"name-dob:{name}|{date_of_birth.isoformat()}")
    pk = postcode_key(postcode)
    if name and pk:
        keys.add(f"name-postcode:{name}|{pk}")
    if register_id:
        keys.add(f"register:{register_id}")
    return keys
