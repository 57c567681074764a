"""``flask register import``: JSON Lines, all or nothing, every bad line reported with its number
and reason, re-import updates by person_id, one audit entry per import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from disclosure_app.audit import chain as audit
from disclosure_app.db import get_session
from disclosure_app.models import AuditEntry, RegisterImport, RegisterName, RegisterPerson
from disclosure_app.risk.register.sample import SAMPLE_FILE, generate, scenarios

GOOD = scenarios()[0]  # Mark Ellison


def run(app, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["register", "import", *args])


def write_lines(path: Path, people: list[Any]) -> Path:
    path.write_text("".join((p if isinstance(p, str) else json.dumps(p)) + "\n"
                            for p in people), encoding="utf-8")
    return path


def count(app, model: Any) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(model))


def test_the_shipped_sample_register_imports_cleanly_and_is_obviously_fictional(app):
    result = run(app, str(SAMPLE_FILE))
    assert result.exit_code == 0, result.output + result.stderr
    assert "300 people added" in result.output
    assert count(app, RegisterPerson) == 300
    with app.app_context():
        people = get_session().scalars(select(RegisterPerson)).all()
        assert all(p.person_id.startswith("SAMPLE-") and "fictional" in p.source for p in people)


def test_the_sample_has_namesakes_aliases_juveniles_and_every_disposal():
    people = list(generate())
    disposals = {c["disposal"] for p in people for c in p["convictions"]}
    assert disposals == {"imprisonment", "hospital_restriction", "hospital", "caution",
                         "conditional_discharge", "other"}
    assert any(c["age_at_conviction"] < 18 for p in people for c in p["convictions"])
    assert any(p["aliases"] for p in people)
    names = [(p["forenames"], p["surname"], p["date_of_birth"]) for p in people]
    assert len(names) > len(set(names))  # same name and date of birth, different people
    assert SAMPLE_FILE.read_text(encoding="utf-8").splitlines() == [
        json.dumps(p, ensure_ascii=False, separators=(",", ":")) for p in people]


def test_reimporting_the_same_person_id_updates_them_and_each_import_is_an_audit_entry(
    app, tmp_path
):
    first = write_lines(tmp_path / "a.jsonl", [GOOD])
    assert run(app, str(first)).exit_code == 0
    moved = {**GOOD, "surname": "Ellison-Price", "aliases": [{"surname": "Price",
                                                              "forenames": "Mark"}],
             "risk_level": "very_high"}
    second = write_lines(tmp_path / "b.jsonl", [moved])
    result = run(app, str(second))
    assert result.exit_code == 0
    assert "0 people added, 1 updated" in result.output
    with app.app_context():
        session = get_session()
        person = session.scalars(select(RegisterPerson)).one()
        assert (person.surname, person.risk_level) == ("Ellison-Price", "very_high")
        assert sorted(n.surname for n in person.names) == ["Ellison-Price", "Price"]
        assert session.scalar(select(func.count()).select_from(RegisterName)) == 2
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "register_imported")).all()
        assert [e.category for e in entries] == ["collection", "collection"]
        assert audit.verify_chain(session).ok
    assert count(app, RegisterImport) == 2


def _bad(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


BAD_LINES = {
    "malformed JSON": ('{"person_id": "X1", ', "not valid JSON"),
    "not an object": ("[1, 2]", "one JSON object"),
    "unknown field": (_bad(date_of_brith="1980-01-01"), "unknown field date_of_brith"),
    "unknown gender": (_bad(gender="robot"), "gender 'robot' is not one of"),
    "unknown disposal": (_bad(convictions=[{**GOOD["convictions"][0], "disposal": "fine"}]),
                         "disposal 'fine' is not one of"),
    "unknown offence category": (
        _bad(convictions=[{**GOOD["convictions"][0], "offence_category": "bad"}]),
        "offence_category 'bad'"),
    "unknown civil order": (_bad(civil_orders=[{"type": "ASBO", "from": "2019-01-01"}]),
                            "type 'ASBO'"),
    "impossible date": (_bad(date_of_birth="1981-02-30"), "not a real date"),
    "future date of birth": (_bad(date_of_birth="2999-01-01"), "in the future"),
    "conviction before birth": (
        _bad(convictions=[{**GOOD["convictions"][0], "date": "1970-01-01"}]),
        "before the date of birth"),
    "age that does not fit": (
        _bad(convictions=[{**GOOD["convictions"][0], "age_at_conviction": 40}]),
        "does not match"),
    "imprisonment without a term": (
        _bad(convictions=[{**GOOD["convictions"][0], "custody_months": None}]),
        "custodial term"),
    "bad postcode": (_bad(addresses=[{"line": "1 Road", "postcode": "NOT A CODE"}]),
                     "is not a postcode"),
    "zero-width character in a name": (_bad(surname="Elli\u200bson"), "hidden formatting"),
    "bidi override in an alias": (
        _bad(aliases=[{"surname": "\u202eNOSILLE", "forenames": "Mark"}]), "hidden formatting"),
    "control character in a name": (_bad(forenames="Ma\x07rk"), "control character"),
    "missing person id": (_bad(person_id=""), "person_id is required"),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_a_bad_line_is_reported_with_its_number_and_reason_and_nothing_is_imported(
    app, tmp_path, case
):
    line, reason = BAD_LINES[case]
    good_too = {**GOOD, "person_id": "SAMPLE-999999"}
    path = write_lines(tmp_path / "bad.jsonl", [good_too, line])
    result = run(app, str(path))
    assert result.exit_code == 1
    assert "line 2: " in result.stderr and reason in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr
    assert count(app, RegisterPerson) == 0
    assert count(app, RegisterImport) == 0


def test_duplicate_ids_within_a_file_are_refused_naming_both_lines(app, tmp_path):
    path = write_lines(tmp_path / "dup.jsonl", [GOOD, scenarios()[1], GOOD])
    result = run(app, str(path))
    assert result.exit_code == 1
    assert "line 3: person_id 'SAMPLE-000001' already appears on line 1" in result.stderr
    assert count(app, RegisterPerson) == 0


def test_every_bad_line_is_listed_not_just_the_first(app, tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", ["nope", GOOD, "{}", ""])
    result = run(app, str(path))
    assert "line 1:" in result.stderr and "line 3:" in result.stderr
    assert "2 bad line(s)" in result.stderr


def test_a_large_file_shows_progress(app, tmp_path, monkeypatch):
    monkeypatch.setattr("disclosure_app.cli.PROGRESS_FROM_BYTES", 1)
    path = write_lines(tmp_path / "big.jsonl", list(generate(40)))
    result = run(app, str(path))
    assert result.exit_code == 0
    assert "Checking" in result.stderr and "Importing" in result.stderr
