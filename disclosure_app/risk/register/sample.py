"""A synthetic, obviously fictional offender register, generated deterministically.

``python -m disclosure_app.risk.register.sample FILE [--count N] [--seed S]`` writes JSON Lines
in the import format. The shipped ``sample_register.jsonl`` (300 people) is this script's output
with the defaults; the benchmark uses it for 100,000. Every person is fictional: ids start
``SAMPLE-``, the source says so, and the places (Northshire, Eastport, Westmoor) and postcodes
do not exist.

The first people are scenarios for the demo and the tests: the subjects of the demo cases, each
with namesakes (the same name and date of birth at another address: a near miss), spelling
variants, aliases and a look-alike-character name; juveniles; and every disposal type.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from workflows.notification import Disposal, OffenceCategory

REFERENCE_DATE = date(2025, 12, 31)  # every date is before this, so the file never ages badly
SOURCE = "SAMPLE DATA: fictional people (Northshire ViSOR extract)"
DEFAULT_COUNT = 300
DEFAULT_SEED = 20260101

FORENAMES = ["Adrian", "Barry", "Callum", "Dominic", "Edwin", "Floyd", "Gareth", "Hector",
             "Ivor", "Jasper", "Kenneth", "Lionel", "Morris", "Neville", "Oswald", "Percy",
             "Quentin", "Rupert", "Silas", "Terence", "Ulric", "Victor", "Wilfred", "Xavier",
             "Yorick", "Zachary", "Alma", "Beryl", "Cora", "Delia", "Edna", "Freda", "Gwen",
             "Hilda", "Ida", "Joan", "Kay", "Lorna", "Mabel", "Nell"]
SURNAME_ROOTS = ["Bramble", "Quill", "Thistle", "Marrow", "Fennel", "Gorse", "Hollow", "Juniper",
                 "Kestrel", "Larch", "Moss", "Nettle", "Osier", "Pebble", "Rook", "Sorrel",
                 "Tansy", "Umber", "Vetch", "Willow", "Yarrow", "Ashby", "Birch", "Clover",
                 "Dunnock", "Elder", "Furze", "Gannet", "Heron", "Ivy", "Jay", "Knot", "Linnet",
                 "Merlin", "Nightjar", "Ouzel", "Plover", "Redshank", "Siskin", "Teal"]
SURNAME_ENDINGS = ["", "wick", "worth", "ley", "ford", "shaw", "by", "ton", "field", "more",
                   "dale", "combe"]
STREETS = ["Example Road", "Sample Street", "Fiction Lane", "Placeholder Avenue",
           "Imaginary Close", "Notional Way", "Pretend Terrace", "Makebelieve Row"]
TOWNS = [("Northshire", "NS"), ("Eastport", "ES"), ("Westmoor", "WM")]
OFFENCES = {
    OffenceCategory.child_sexual: ["Sexual assault of a child under 13",
                                   "Causing a child to watch a sexual act",
                                   "Making indecent photographs of a child",
                                   "Sexual communication with a child"],
    OffenceCategory.sexual: ["Sexual assault", "Exposure", "Voyeurism"],
    OffenceCategory.violent: ["Assault occasioning actual bodily harm", "Wounding",
                              "Controlling or coercive behaviour"],
    OffenceCategory.other: ["Burglary", "Theft", "Criminal damage"],
}


def _address(n: int, street: str, town: int, district: int, inward: str, start: date,
             end: date | None = None) -> dict[str, Any]:
    name, area = TOWNS[town]
    return {"line": f"{n} {street}, {name}", "postcode": f"{area}{district} {inward}",
            "from": start.isoformat(), "to": end.isoformat() if end else None}


def _age(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def conviction(dob: date, day: date, category: OffenceCategory, disposal: Disposal,
               offence: str | None = None, *, custody: int | None = None,
               discharge: int | None = None) -> dict[str, Any]:
    return {"offence": offence or OFFENCES[category][0], "offence_category": category.value,
            "date": day.isoformat(), "disposal": disposal.value, "custody_months": custody,
            "discharge_months": discharge, "age_at_conviction": _age(dob, day)}


def _person(pid: str, forenames: str, surname: str, dob: date, **extra: Any) -> dict[str, Any]:
    person: dict[str, Any] = {
        "person_id": pid, "surname": surname, "forenames": forenames, "aliases": [],
        "date_of_birth": dob.isoformat(), "gender": "male", "addresses": [], "convictions": [],
        "civil_orders": [], "mappa_category": None, "mappa_level": None, "risk_level": None,
        "management": None, "source": SOURCE,
    }
    person.update(extra)
    return person


def scenarios() -> list[dict[str, Any]]:
    """The people the demo and the tests rely on (see the module docstring)."""
    cso, sexual = OffenceCategory.child_sexual, OffenceCategory.sexual
    d = date
    people = [
        # Demo "disclosure completed": Mark Ellison, his namesakes and a look-alike name.
        _person("SAMPLE-000001", "Mark", "Ellison", d(1981, 3, 14), addresses=[
            _address(21, "Example Road", 0, 2, "7EX", d(2019, 5, 1)),
            _address(4, "Fiction Lane", 0, 4, "2QP", d(2008, 1, 1), d(2019, 4, 30))],
            convictions=[conviction(d(1981, 3, 14), d(2014, 6, 10), cso, Disposal.imprisonment,
                                    custody=36)],
            civil_orders=[{"type": "SHPO", "from": "2017-06-09", "to": None}],
            mappa_category=1, mappa_level=2, risk_level="high", management="active"),
        _person("SAMPLE-000002", "Mark", "Ellison", d(1981, 3, 14), addresses=[
            _address(7, "Harbour View", 1, 3, "9LW", d(2010, 2, 1))],
            convictions=[conviction(d(1981, 3, 14), d(2009, 9, 1), sexual, Disposal.caution,
                                    "Exposure")],
            risk_level="low", management="reactive"),
        _person("SAMPLE-000003", "Mark", "Elison", d(1979, 8, 2), addresses=[
            _address(12, "Notional Way", 2, 5, "1AB", d(2015, 1, 1))],
            convictions=[conviction(d(1979, 8, 2), d(2016, 3, 3), sexual,
                                    Disposal.conditional_discharge, "Voyeurism", discharge=24)],
            risk_level="low", management="reactive"),
        _person("SAMPLE-000004", "M\u0430rk", "Ellison", d(1984, 10, 30), addresses=[
            _address(3, "Pretend Terrace", 1, 1, "4RT", d(2012, 1, 1))],
            convictions=[conviction(d(1984, 10, 30), d(2011, 1, 20), OffenceCategory.violent,
                                    Disposal.other, "Wounding")]),
        # Demo "no disclosure": only namesakes of Stuart Price, so the subject is "no trace".
        _person("SAMPLE-000005", "Stuart", "Price", d(1966, 1, 20), addresses=[
            _address(40, "Sample Street", 1, 2, "6PP", d(2001, 1, 1))],
            convictions=[conviction(d(1966, 1, 20), d(1999, 5, 5), sexual,
                                    Disposal.imprisonment, custody=4)]),
        _person("SAMPLE-000006", "Stuart", "Pryce", d(1990, 7, 7), addresses=[
            _address(9, "Imaginary Close", 2, 1, "2SP", d(2018, 1, 1))],
            convictions=[conviction(d(1990, 7, 7), d(2006, 7, 1), sexual, Disposal.other)]),
        # Demo "awaiting decision" and "disclosure approved".
        _person("SAMPLE-000007", "Darren", "Holt", d(1983, 3, 14),
                aliases=[{"surname": "Holte", "forenames": "Daz"}], addresses=[
                _address(23, "Example Road", 0, 2, "7EX", d(2020, 8, 1))],
                convictions=[conviction(d(1983, 3, 14), d(2012, 11, 12), cso,
                                        Disposal.imprisonment, custody=18)],
                mappa_category=1, mappa_level=1, risk_level="medium", management="active"),
        _person("SAMPLE-000008", "Wayne", "Fletcher", d(1984, 3, 14), addresses=[
            _address(24, "Example Road", 0, 2, "7EX", d(2018, 2, 1))],
            convictions=[conviction(d(1984, 3, 14), d(2015, 2, 2), cso,
                                    Disposal.hospital_restriction)],
            civil_orders=[{"type": "SHPO", "from": "2021-01-04", "to": "2031-01-03"}],
            mappa_category=2, mappa_level=2, risk_level="very_high", management="active"),
        # Demo "representations pending".
        _person("SAMPLE-000009", "Neil", "Barker", d(1985, 3, 14), addresses=[
            _address(25, "Example Road", 0, 2, "7EX", d(2016, 1, 1))],
            convictions=[conviction(d(1985, 3, 14), d(2002, 4, 4), sexual, Disposal.hospital)],
            risk_level="low", management="reactive"),
        # Demo "full risk assessment": the walk-through. Paul Rigby among his namesakes.
        _person("SAMPLE-000010", "Paul", "Rigby", d(1986, 3, 14), addresses=[
            _address(26, "Example Road", 0, 2, "7EX", d(2021, 3, 1)),
            _address(11, "Makebelieve Row", 1, 4, "8PR", d(2012, 6, 1), d(2021, 2, 28))],
            convictions=[
                conviction(d(1986, 3, 14), d(2003, 9, 1), sexual, Disposal.caution, "Exposure"),
                conviction(d(1986, 3, 14), d(2018, 5, 2), cso, Disposal.imprisonment,
                           "Sexual communication with a child", custody=20)],
            civil_orders=[{"type": "SHPO", "from": "2019-10-01", "to": "2029-09-30"}],
            mappa_category=1, mappa_level=1, risk_level="medium", management="reactive"),
        _person("SAMPLE-000011", "Paul", "Rigby", d(1986, 3, 14), addresses=[
            _address(3, "Quarry Close", 2, 5, "1QC", d(2009, 1, 1))],
            convictions=[conviction(d(1986, 3, 14), d(2010, 10, 10), OffenceCategory.other,
                                    Disposal.other, "Theft")]),
        _person("SAMPLE-000012", "Paul", "Rigbey", d(1986, 4, 14), addresses=[
            _address(8, "Placeholder Avenue", 1, 2, "5PA", d(2014, 1, 1))],
            convictions=[conviction(d(1986, 4, 14), d(2013, 1, 15), sexual,
                                    Disposal.imprisonment, custody=6)]),
        _person("SAMPLE-000013", "Paul", "Rigby", d(1958, 12, 1), addresses=[
            _address(60, "Sample Street", 0, 9, "9ZZ", d(1990, 1, 1))],
            convictions=[conviction(d(1958, 12, 1), d(1995, 6, 6), sexual,
                                    Disposal.imprisonment, custody=120)],
            mappa_category=1, mappa_level=1, risk_level="low", management="reactive"),
        _person("SAMPLE-000014", "Percy", "Quillfield", d(1990, 2, 2),
                aliases=[{"surname": "Rigby", "forenames": "Paul"}], addresses=[
                _address(2, "Fiction Lane", 2, 3, "3FL", d(2019, 1, 1))],
                convictions=[conviction(d(1990, 2, 2), d(2007, 8, 8), cso,
                                        Disposal.conditional_discharge, discharge=12)]),
        # Demo Right to Know: Keith Marlow (no address on the case), with a namesake.
        _person("SAMPLE-000015", "Keith", "Marlow", d(1969, 11, 2),
                aliases=[{"surname": "Marlowe", "forenames": "Keith"}], addresses=[
                _address(14, "Pretend Terrace", 0, 3, "3KM", d(2017, 1, 1))],
                convictions=[conviction(d(1969, 11, 2), d(2005, 2, 14), cso,
                                        Disposal.imprisonment, custody=48)],
                civil_orders=[{"type": "SRO", "from": "2023-05-01", "to": "2025-04-30"}],
                mappa_category=1, mappa_level=2, risk_level="high", management="active"),
        _person("SAMPLE-000016", "Keith", "Marlow", d(1975, 6, 30), addresses=[
            _address(5, "Notional Way", 1, 6, "6NW", d(2000, 1, 1))]),
        # Juveniles (halved periods; 8-year review for indefinite).
        _person("SAMPLE-000017", "Jasper", "Knotley", d(2004, 5, 5), addresses=[
            _address(17, "Imaginary Close", 0, 7, "7IC", d(2020, 1, 1))],
            convictions=[conviction(d(2004, 5, 5), d(2020, 6, 1), cso, Disposal.imprisonment,
                                    custody=30)],
            mappa_category=1, mappa_level=1, risk_level="medium", management="active"),
        _person("SAMPLE-000018", "Cora", "Linnetdale", d(2006, 9, 9), gender="female",
                addresses=[_address(6, "Sample Street", 2, 2, "2CL", d(2015, 1, 1))],
                convictions=[conviction(d(2006, 9, 9), d(2022, 3, 3), sexual,
                                        Disposal.caution)]),
        # Demo "decision awaiting approval": Barry Sutton.
        _person("SAMPLE-000019", "Barry", "Sutton", d(1992, 3, 14), addresses=[
            _address(32, "Example Road", 0, 2, "7EX", d(2021, 6, 1))],
            convictions=[conviction(d(1992, 3, 14), d(2016, 9, 9), cso, Disposal.imprisonment,
                                    custody=20)],
            mappa_category=1, mappa_level=1, risk_level="high", management="active"),
    ]
    return people


def _random_person(rng: random.Random, n: int) -> dict[str, Any]:
    dob = REFERENCE_DATE - timedelta(days=rng.randint(19 * 365, 80 * 365))
    surname = rng.choice(SURNAME_ROOTS) + rng.choice(SURNAME_ENDINGS)
    forenames = rng.choice(FORENAMES)
    town = rng.randrange(len(TOWNS))
    start = dob + timedelta(days=18 * 365 + rng.randint(0, 3000))
    addresses = [_address(rng.randint(1, 200), rng.choice(STREETS), town, rng.randint(1, 9),
                          f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                          f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}", min(start, REFERENCE_DATE))]
    convictions = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        category = rng.choice(list(OffenceCategory))
        disposal = list(Disposal)[(n + len(convictions)) % len(Disposal)]
        earliest = dob + timedelta(days=12 * 365)
        day = earliest + timedelta(days=rng.randint(0, max(1, (REFERENCE_DATE - earliest).days)))
        day = min(day, REFERENCE_DATE)
        convictions.append(conviction(
            dob, day, category, disposal, rng.choice(OFFENCES[category]),
            custody=rng.choice((3, 6, 9, 18, 29, 30, 48)) if disposal is Disposal.imprisonment
            else None,
            discharge=rng.choice((6, 12, 24, 36))
            if disposal is Disposal.conditional_discharge else None))
    aliases = []
    if rng.random() < 0.15:
        aliases.append({"surname": rng.choice(SURNAME_ROOTS), "forenames": forenames})
    managed = any(c["offence_category"] in ("child_sexual", "sexual") for c in convictions)
    return _person(
        f"SAMPLE-{n:06d}", forenames, surname, dob, aliases=aliases, addresses=addresses,
        gender="female" if forenames in FORENAMES[26:] else "male", convictions=convictions,
        civil_orders=[{"type": "SHPO", "from": convictions[0]["date"], "to": None}]
        if managed and rng.random() < 0.2 else [],
        mappa_category=1 if managed else None,
        mappa_level=rng.choice((1, 1, 2, 3)) if managed else None,
        risk_level=rng.choice(("low", "medium", "high", "very_high")) if managed else None,
        management=rng.choice(("active", "reactive")) if managed else None,
    )


def generate(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> Iterator[dict[str, Any]]:
    fixed = scenarios()
    yield from fixed[:count]
    rng = random.Random(seed)  # noqa: S311  # nosec B311 - fictional test data, not security
    for n in range(len(fixed) + 1, count + 1):
        yield _random_person(rng, n)


def write(path: Path, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED) -> None:
    with path.open("w", encoding="utf-8") as out:
        for person in generate(count, seed):
            out.write(json.dumps(person, ensure_ascii=False, separators=(",", ":")) + "\n")


SAMPLE_FILE = Path(__file__).with_name("sample_register.jsonl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    write(args.file, args.count, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
