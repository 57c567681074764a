"""Personal data at rest (issue 14): sealed per case under keys kept apart from the database.

Every personal value of a case is stored as an AES-256-GCM envelope under the case's data key;
the raw database files (and a plain ``pg_dump``) hold none of them in clear; searches that need
personal values go through keyed blind indexes; destroying a key makes its case's values
unreadable; the key-encryption key rotates without downtime.
"""

from __future__ import annotations

import subprocess  # nosec B404 # pg_dump, an argument list
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from disclosure_app import create_app
from disclosure_app.audit.chain import verify_chain
from disclosure_app.cases import applications, links
from disclosure_app.db import get_session
from disclosure_app.models import Applicant, AuditEntry, Case, CaseLinkKey, CaseStep, Subject
from disclosure_app.privacy import envelope
from disclosure_app.privacy.keys import keystore
from disclosure_app.privacy.sealed import UnsealedValue
from disclosure_app.security.production import ProductionRefused
from tests.conftest import BASE_CONFIG, make_app
from tests.databases import TestDatabase, superuser
from tests.factories import application_input
from workflows.steps import STEPS


def _unique_application() -> tuple[Any, list[str]]:
    """An application whose every personal value is unique to this test, so that finding one in
    the raw bytes cannot be a coincidence; returns it and the values to look for."""
    tag = uuid.uuid4().hex[:10]
    base = application_input()
    applicant = replace(base.applicant, full_name=f"Ottoline Vexbridge {tag}",
                        address=f"{tag} Quillon Row, Marrowby", postcode="QX9 9QZ",
                        phone=f"07700 9{tag[:5]}", email=f"ottoline.{tag}@example.org",
                        safe_contact_times=f"After six on weekdays {tag}",
                        relationship_to_subject=f"Former neighbour {tag}",
                        date_of_birth=date(1983, 7, 19))
    subject = replace(base.subject, full_name=f"Bartholomew Stroud {tag}",
                      address=f"{tag} Gannet Close, Marrowby", aliases=f"Bart S {tag}",
                      relationship_to_child=f"Stepfather to be {tag}")
    child = replace(base.children[0], full_name=f"Persephone Vexbridge {tag}",
                    subject_contact=f"Collected from school on Fridays {tag}",
                    lives_with=f"Mother and grandmother {tag}")
    concern = f"Seen alone with my daughter at the lido, says he has a record {tag}."
    data = replace(base, applicant=applicant, subject=subject, children=[child], concern=concern)
    values = [applicant.full_name, applicant.address, applicant.phone, applicant.email,
              applicant.safe_contact_times, applicant.relationship_to_subject, subject.full_name,
              subject.address, subject.aliases, subject.relationship_to_child, child.full_name,
              child.subject_contact, child.lives_with, concern]
    return data, values


def _submit(app: Flask, data: Any) -> int:
    with app.app_context():
        session = get_session()
        done = applications.submit_application(session, data,
                                               policy=app.extensions["case_policy"],
                                               now=datetime.now(UTC))
        return done.case.id


def _raw_bytes(database: TestDatabase) -> bytes:
    """Everything the database holds, as a thief with the files (or a dump) would read it."""
    if database.path is not None:
        return b"".join(Path(f"{database.path}{suffix}").read_bytes()
                        for suffix in ("", "-wal") if Path(f"{database.path}{suffix}").exists())
    from disclosure_app.operations.backup import _libpq_uri, _pg_tool

    result = subprocess.run(  # nosec B603 # fixed argument list
        [_pg_tool("pg_dump", None), "--format=plain", "--no-password", "--data-only",
         _libpq_uri(database.superuser_url)], capture_output=True, check=True, timeout=300)
    return result.stdout


def test_personal_values_round_trip_through_the_database(app, database):
    data, _ = _unique_application()
    case_id = _submit(app, data)
    with app.app_context():
        session = get_session()
        case = session.get(Case, case_id)
        assert case.applicant.full_name == data.applicant.full_name
        assert case.applicant.date_of_birth == date(1983, 7, 19)
        assert case.subject.aliases == data.subject.aliases
        assert case.children[0].age == data.children[0].age
        assert case.concern == data.concern
        assert case.data_key_id and len(case.data_key_id) == 32
    with superuser(database) as conn:
        stored = conn.execute(text("SELECT full_name, date_of_birth FROM applicants "
                                   "WHERE case_id = :c"), {"c": case_id}).one()
    for value in stored:
        assert envelope.is_sealed(bytes(value))
        assert envelope.key_id_of(bytes(value)) == case.data_key_id


def test_no_personal_value_is_in_clear_in_the_database_files_or_a_dump(app, database):
    data, values = _unique_application()
    case_id = _submit(app, data)
    with app.app_context():
        rationales = [s.rationale for s in get_session().scalars(
            select(CaseStep).where(CaseStep.case_id == case_id))]
    raw = _raw_bytes(database)
    assert raw, "nothing was read"
    found = [v for v in values + rationales if v.encode("utf-8") in raw]
    assert found == []


def test_a_filter_on_a_sealed_column_is_refused_rather_than_sent_in_clear(app):
    with app.app_context(), pytest.raises(StatementError, match="blind index") as refused:
        get_session().execute(select(Applicant).where(Applicant.full_name == "Anyone")).all()
    assert isinstance(refused.value.orig, UnsealedValue)


def test_linked_cases_are_still_found_and_link_keys_are_blind_digests(app):
    data, _ = _unique_application()
    first, second = _submit(app, data), _submit(app, data)
    with app.app_context():
        session = get_session()
        found = {lc.case.id for lc in links.linked_cases(session, session.get(Case, second))}
        assert first in found
        keys = session.scalars(select(CaseLinkKey.key)
                               .where(CaseLinkKey.case_id == second)).all()
        assert keys and all(len(k) == 64 and int(k, 16) >= 0 for k in keys)
        assert not any(data.subject.full_name.split()[-1] in k for k in keys)
        # The auditors' subject search reads the subject's blind index, not every name.
        from disclosure_app.audit.reports import cases_for_subject

        assert cases_for_subject(session, "  " + data.subject.full_name.upper()) == sorted(
            [first, second])
        index = session.scalar(select(Subject.name_index).where(Subject.case_id == first))
        assert index and data.subject.full_name not in index


def test_a_destroyed_key_leaves_its_case_unreadable_and_other_cases_as_they_were(app):
    gone_data, _ = _unique_application()
    kept_data, _ = _unique_application()
    gone, kept = _submit(app, gone_data), _submit(app, kept_data)
    with app.app_context():
        session = get_session()
        key_id = session.get(Case, gone).data_key_id
        assert keystore().destroy([key_id], "test") == 1
        assert keystore().state(key_id).destroyed_at is not None
        session.expire_all()
        case = session.get(Case, gone)
        assert case.applicant.full_name == "" and case.concern == ""
        assert case.subject.date_of_birth is None
        assert all(step.data == {} and step.rationale == "" for step in case.steps)
        assert session.get(Case, kept).applicant.full_name == kept_data.applicant.full_name
        # The log holds only hashes of what was destroyed: it still verifies.
        assert verify_chain(session).ok


def test_the_kek_rotates_while_another_host_keeps_reading_and_the_old_one_then_retires(
        app, database, tmp_path):
    data, _ = _unique_application()
    case_id = _submit(app, data)
    # A second "host": the same database, key store and KEK directory, its own caches.
    other = make_app(database)
    with app.app_context():
        old_kek = keystore().kek_ring.current_id(create=False)
    with other.app_context():
        assert get_session().get(Case, case_id).applicant.full_name == data.applicant.full_name
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate-kek", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "data keys rewrapped" in result.output
    with app.app_context():
        store = keystore()
        new_kek = store.kek_ring.current_id(create=False)
        assert new_kek != old_kek
        assert store.kek_usage().get(old_kek, 0) == 0
        session = get_session()
        assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.seq.desc())
                              .limit(1)) == "keys_rotated"
    refused = runner.invoke(args=["keys", "retire-kek", new_kek])
    assert refused.exit_code != 0 and "current" in refused.output
    retired = runner.invoke(args=["keys", "retire-kek", old_kek])
    assert retired.exit_code == 0, retired.output
    assert not (Path(app.config["KEK_DIR"]) / f"{old_kek}.kek").exists()
    # Both hosts, caches cold, open every value under the new KEK only.
    for host in (app, other):
        with host.app_context():
            keystore().forget_cached()
            session = get_session()
            session.expire_all()
            assert session.get(Case, case_id).applicant.full_name == data.applicant.full_name
            assert verify_chain(session).ok
    status = runner.invoke(args=["keys", "status"])
    assert f"KEK {new_kek} (current)" in status.output


def test_an_unknown_kek_is_a_clear_error_naming_the_key_store(app, tmp_path):
    data, _ = _unique_application()
    case_id = _submit(app, data)
    lost = make_app(app.config["DATABASE_URL"], KEK_DIR=str(tmp_path / "empty-kek-dir"))
    from disclosure_app.privacy.keystore import KeyStoreError

    with lost.app_context(), pytest.raises(KeyStoreError, match="key-encryption key"):
        get_session().get(Case, case_id).applicant.full_name  # noqa: B018
    # Nor does it quietly start a new KEK for new cases: the store already holds keys.
    with lost.app_context(), pytest.raises(KeyStoreError, match="Key loss"):
        keystore().create_data_key()
    assert not (tmp_path / "empty-kek-dir").exists()


def test_migration_0008_seals_rows_written_before_it_and_its_downgrade_opens_them(app, database):
    from alembic import command

    from disclosure_app.cli import alembic_config
    from disclosure_app.db import get_engine

    data, _ = _unique_application()
    first, second = _submit(app, data), _submit(app, data)
    with app.app_context():
        get_engine().dispose()
        command.downgrade(alembic_config(), "0007")
    with superuser(database) as conn:
        name, dob = conn.execute(text("SELECT full_name, date_of_birth FROM applicants "
                                      "WHERE case_id = :c"), {"c": first}).one()
        concern = conn.execute(text("SELECT concern FROM cases WHERE id = :c"),
                               {"c": first}).scalar()
    assert name == data.applicant.full_name and str(dob) == "1983-07-19"
    assert concern == data.concern
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        get_engine().dispose()
    with superuser(database) as conn:
        sealed = conn.execute(text("SELECT full_name FROM applicants WHERE case_id = :c"),
                              {"c": first}).scalar()
    assert envelope.is_sealed(bytes(sealed))
    with app.app_context():
        session = get_session()
        case = session.get(Case, first)
        assert case.applicant.full_name == data.applicant.full_name
        assert case.applicant.date_of_birth == date(1983, 7, 19)
        assert {lc.case.id for lc in links.linked_cases(session, session.get(Case, second))} == {
            first}
        assert verify_chain(session).ok


def test_a_page_that_cannot_reach_its_keys_answers_503_not_a_server_error(app, staff, clients,
                                                                          tmp_path):
    case_id = _submit(app, _unique_application()[0])
    lost = make_app(app.config["DATABASE_URL"], KEK_DIR=str(tmp_path / "unmounted"))
    from tests.conftest import sign_in

    officer = sign_in(lost, staff["case_officer"].email)
    response = officer.get(f"/staff/cases/{case_id}")
    assert response.status_code == 503
    assert "key store is unavailable" in response.get_data(as_text=True)


@pytest.mark.engine_independent
def test_production_refuses_a_key_store_inside_the_main_database():
    from cryptography.fernet import Fernet

    url = "sqlite:////srv/disclosure/disclosure.sqlite"
    config = {**BASE_CONFIG, "PRODUCTION": True, "TESTING": False, "WTF_CSRF_ENABLED": True,
              "SECRET_KEY": Fernet.generate_key().decode(),
              "TOTP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
              "TRUSTED_HOSTS": ["localhost"], "DATABASE_URL": url, "KEYSTORE_URL": url}
    with pytest.raises(ProductionRefused, match="KEYSTORE_URL must not be the main database"):
        create_app(config)
    config |= {"DATABASE_URL": "postgresql+psycopg://app@/disclosure?host=/run/pg",
               "KEYSTORE_URL": None}
    with pytest.raises(ProductionRefused, match="KEYSTORE_URL must name"):
        create_app(config)


@pytest.mark.engine_independent
def test_the_default_key_store_is_a_file_of_its_own_beside_the_sqlite_database():
    from disclosure_app.privacy.keys import default_keystore_url

    assert default_keystore_url("sqlite:////srv/x/disclosure.sqlite", "/srv/x") == (
        "sqlite:////srv/x/disclosure.keys.sqlite")
    assert default_keystore_url("postgresql+psycopg://app@db/disclosure", "/srv/i") == (
        "sqlite:////srv/i/keystore.sqlite")


def test_no_personal_value_of_the_demo_is_in_clear_in_any_case_table(app, database):
    """The whole demo (every stage, steps, checks, identity decisions, an uploaded undertaking):
    every personal value the ORM reads back is absent from every table's raw contents, except
    the offender register extract (police data about registered offenders, not case data)."""
    from disclosure_app.models import CaseCheck, Child, IdentityDecision, StoredDocument
    from tests.integration.test_fault_injection import dump

    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    values: set[str] = set()
    with app.app_context():
        session = get_session()
        for model, fields in ((Applicant, ("full_name", "address", "phone", "email",
                                           "safe_contact_times", "relationship_to_subject")),
                              (Subject, ("address", "relationship_to_child", "aliases")),
                              (Child, ("full_name", "subject_contact", "lives_with")),
                              (Case, ("concern",)), (CaseStep, ("rationale",)),
                              (CaseCheck, ("result_summary",)), (IdentityDecision, ("note",)),
                              (StoredDocument, ("filename",))):
            for row in session.scalars(select(model)):
                values |= {str(getattr(row, f)) for f in fields}
        for step in session.scalars(select(CaseStep)):
            personal = {f.name for f in STEPS[step.event].fields if f.holds_personal_data} \
                if step.event in STEPS else set()
            values |= {v for k, v in step.data.items() if k in personal and isinstance(v, str)}
    values = {v for v in values if len(v) >= 12 and not v[:4].isdigit()}  # not dates or codes
    assert len(values) > 100
    tables = {name: rows for name, rows in dump(database, counters=True).items()
              if not name.startswith("register_")}
    raw = repr(tables)
    assert sorted(v for v in values if v in raw) == []


@pytest.mark.engine("postgresql")
def test_a_key_store_in_its_own_postgresql_database_seals_destroys_and_rotates(database,
                                                                              tmp_path):
    """The deployment shape for several hosts: KEYSTORE_URL names a separate PostgreSQL
    database. Keys are made there, a destroyed key is vacuumed away, and the KEK rotates."""
    from tests.databases import create_pg_database, drop_pg_database, pg_database

    name = f"k_{uuid.uuid4().hex[:16]}"
    create_pg_database(name)
    try:
        store_url = pg_database(name).owner_url
        app = make_app(database, KEYSTORE_URL=store_url, KEK_DIR=str(tmp_path / "kek"))
        data, _ = _unique_application()
        case_id = _submit(app, data)
        with app.app_context():
            store = keystore()
            assert store.engine.dialect.name == "postgresql"
            key_id = get_session().get(Case, case_id).data_key_id
            assert store.state(key_id).destroyed_at is None
        result = app.test_cli_runner().invoke(args=["keys", "rotate-kek"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            keystore().forget_cached()
            session = get_session()
            assert session.get(Case, case_id).applicant.full_name == data.applicant.full_name
            assert keystore().destroy([key_id], "test") == 1
            session.expire_all()
            assert session.get(Case, case_id).applicant.full_name == ""
        app.extensions["db_engine"].dispose()
        with app.app_context():
            keystore().dispose()
    finally:
        drop_pg_database(name)
