"""Is a meeting place the subject's home? A disclosure meeting must be somewhere private and safe
for the recipient, never where the subject lives (issue 11: the subject's own address was
accepted as the place of a face-to-face disclosure).

Addresses are typed freely, so both sides are normalised (case, accents, punctuation and the
usual street abbreviations) before they are compared: the place is refused when it contains the
subject's house and street ("99 Nonesuch Lane"), or names the subject's postcode with the same
house number ("99, NS2 7EX"). Pure Python: no Flask, no database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_ABBREVIATIONS = {
    "road": "rd", "street": "st", "lane": "ln", "avenue": "ave", "drive": "dr", "close": "cl",
    "court": "ct", "crescent": "cres", "place": "pl", "terrace": "ter", "gardens": "gdns",
    "square": "sq", "grove": "gr", "park": "pk", "mount": "mt", "house": "ho", "flat": "flat",
    "apartment": "flat", "apt": "flat",
}
_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?) ?(\d[A-Z]{2})\b")


@dataclass(frozen=True)
class KnownAddress:
    line: str
    postcode: str = ""


def normalise_address(value: str) -> str:
    """'99, Nonesuch LANE.' -> '99 nonesuch ln': lower case, no accents or punctuation, the
    usual abbreviations, single spaces."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.sub(r"[^a-z0-9]+", " ", plain).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


def postcode_key(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def postcodes_in(value: str) -> set[str]:
    return {a + b for a, b in _POSTCODE.findall(value.upper())}


def _house_line(address: str) -> str:
    """The part of an address that names the building: the first comma- or line-separated part
    with a number and a street word ('99 Nonesuch Lane'), else a first part of two words or more
    ('Rose Cottage'). Empty if there is nothing that specific."""
    parts = [normalise_address(p) for p in re.split(r"[,\n;]+", address)]
    parts = [p for p in parts if p]
    numbered = [p for p in parts if any(w.isalpha() and len(w) > 1 for w in p.split())
                and any(w[0].isdigit() for w in p.split())]
    # "14 Mill Lane" rather than "Flat 2": the part that starts with its number.
    if numbered:
        return sorted(numbered, key=lambda p: not p[0].isdigit())[0]
    if parts and len(parts[0].split()) >= 2:
        return parts[0]
    return ""


def _house_number(text: str) -> str:
    match = re.search(r"\b(\d+[a-z]?)\b", normalise_address(text))
    return match.group(1) if match else ""


def subjects_home_problem(place: str, addresses: Iterable[KnownAddress]) -> str | None:
    """Why ``place`` looks like one of the subject's addresses, or None."""
    where = f" {normalise_address(place)} "
    place_codes = postcodes_in(place)
    for address in addresses:
        line = _house_line(address.line)
        if line and f" {line} " in where:
            return ("This is the subject's recorded address. Hold the meeting somewhere private "
                    "and safe for the recipient that is not where the subject lives")
        code = postcode_key(address.postcode)
        if code and code in place_codes:
            number = _house_number(_POSTCODE.sub(" ", place.upper()))
            if number and number == _house_number(address.line):
                return ("This is at the subject's recorded address (the same postcode and "
                        "house). Hold the meeting somewhere that is not where the subject lives")
    return None
