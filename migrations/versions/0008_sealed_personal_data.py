"""Personal data sealed per case (issue 14): every personal column becomes a sealed envelope
(AES-256-GCM under the case's data key, kept in the key store apart from this database); link
keys become keyed blind indexes; subjects get a blind index of their name.

Existing rows are sealed in place: this migration needs the app (``flask db upgrade``), because
the keys live in the app's key store. Downgrading opens every value again (while the keys exist).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 20:30:00
"""
import json
import re
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, kind, the column's type before sealing, nullable)
SEALED = [
    ('cases', 'concern', 'text', sa.Text(), False),
    ('applicants', 'full_name', 'text', sa.String(100), False),
    ('applicants', 'other_names', 'text', sa.String(200), False),
    ('applicants', 'date_of_birth', 'date', sa.Date(), True),
    ('applicants', 'address', 'text', sa.String(500), False),
    ('applicants', 'postcode', 'text', sa.String(10), False),
    ('applicants', 'phone', 'text', sa.String(30), False),
    ('applicants', 'email', 'text', sa.String(254), False),
    ('applicants', 'safe_contact_times', 'text', sa.String(500), False),
    ('applicants', 'contact_notes', 'text', sa.String(1000), False),
    ('applicants', 'relationship_to_subject', 'text', sa.String(200), False),
    ('children', 'full_name', 'text', sa.String(100), False),
    ('children', 'date_of_birth', 'date', sa.Date(), True),
    ('children', 'age', 'int', sa.Integer(), True),
    ('children', 'gender', 'text', sa.String(30), False),
    ('children', 'lives_with', 'text', sa.String(500), False),
    ('children', 'applicant_relationship', 'text', sa.String(100), False),
    ('children', 'subject_contact', 'text', sa.String(1000), False),
    ('subjects', 'full_name', 'text', sa.String(100), False),
    ('subjects', 'aliases', 'text', sa.String(500), False),
    ('subjects', 'date_of_birth', 'date', sa.Date(), True),
    ('subjects', 'approximate_age', 'int', sa.Integer(), True),
    ('subjects', 'address', 'text', sa.String(500), False),
    ('subjects', 'postcode', 'text', sa.String(10), False),
    ('subjects', 'relationship_to_child', 'text', sa.String(200), False),
    ('subjects', 'relationship_to_applicant', 'text', sa.String(200), False),
    ('case_steps', 'data', 'json', sa.JSON(), False),
    ('case_steps', 'rationale', 'text', sa.Text(), False),
    ('stored_documents', 'filename', 'text', sa.String(200), False),
    ('case_checks', 'result_summary', 'text', sa.Text(), False),
    ('case_checks', 'reason', 'text', sa.Text(), False),
    ('identity_decisions', 'references', 'json', sa.JSON(), False),
    ('identity_decisions', 'note', 'text', sa.Text(), False),
    ('identity_decisions', 'review_note', 'text', sa.Text(), False),
    ('case_links', 'reason', 'text', sa.Text(), False),
    ('stored_documents', 'content', 'bytes', sa.LargeBinary(), False),
]
TABLES = sorted({t for t, *_ in SEALED})


def _keystore():  # type: ignore[no-untyped-def]
    from flask import has_app_context

    if not has_app_context():
        raise RuntimeError("0008 seals personal data with the app's key store: run it with "
                           "`flask --app disclosure_app db upgrade`")
    from disclosure_app.privacy.keys import keystore

    return keystore()


def _plain_bytes(kind: str, raw: object) -> bytes:
    """A stored value, as it was before sealing, in the sealed encoding of its kind."""
    if kind == 'bytes':
        return bytes(raw)  # type: ignore[arg-type]
    if isinstance(raw, bytes | memoryview):
        raw = bytes(raw).decode('utf-8')
    if kind == 'json':
        value = json.loads(raw) if isinstance(raw, str) else raw
        return json.dumps(value, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
    if kind == 'date' and isinstance(raw, date):
        return raw.isoformat().encode('ascii')
    return str(raw).encode('utf-8')


def _case_of(table: str) -> str:
    return 'id' if table == 'cases' else 'case_id'


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    with op.batch_alter_table('cases') as batch_op:
        batch_op.add_column(sa.Column('data_key_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('subjects') as batch_op:
        batch_op.add_column(sa.Column('name_index', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_subjects_name_index', ['name_index'], unique=False)
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            for t, column, kind, _old, nullable in SEALED:
                if t != table or kind == 'bytes':
                    continue
                using = f"""convert_to("{column}"::text, 'UTF8')""" if postgres else None
                batch_op.alter_column(column, type_=sa.LargeBinary(), nullable=nullable,
                                      postgresql_using=using)
    _seal_existing(bind)


def _sealed_row(store, key_id: str, columns: list[tuple[str, str]],  # type: ignore[no-untyped-def]
                raws: Sequence[object]) -> dict[str, object]:
    from disclosure_app.privacy import envelope

    cipher = store.cipher(key_id)
    values: dict[str, object] = {}
    for (column, kind), raw in zip(columns, raws, strict=True):
        if raw is None:
            values[column] = None
        elif not raw and kind != 'bytes':
            values[column] = b''
        else:
            values[column] = envelope.seal(cipher, key_id, _plain_bytes(kind, raw), kind)
    return values


def _seal_existing(bind: sa.Connection) -> None:
    from disclosure_app.privacy import envelope
    from disclosure_app.privacy.blind_index import digest, subject_name_digest

    has_data = bind.execute(sa.text(
        "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM case_link_keys)")).scalar()
    if not has_data:
        return  # a new database: nothing to seal, and no key store needed
    store = _keystore()
    keys: dict[int, str] = {}

    def key_for(case_id: int) -> str:
        if case_id not in keys:
            key_id = store.create_data_key()
            bind.execute(sa.text("UPDATE cases SET data_key_id = :k WHERE id = :c"),
                         {"k": key_id, "c": case_id})
            keys[case_id] = key_id
        return keys[case_id]

    for table in TABLES:
        columns = [(c, kind) for t, c, kind, *_ in SEALED if t == table]
        names = ", ".join(f'"{c}"' for c, _ in columns)
        query = f"SELECT id, {_case_of(table)}, {names} FROM {table}"  # noqa: S608 # nosec B608
        rows = bind.execute(sa.text(query)).all()
        for row in rows:
            values = _sealed_row(store, key_for(row[1]), columns, row[2:])
            sets = ", ".join(f'"{c}" = :{c}' for c in values)
            bind.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :row_id"),  # noqa: S608 # nosec B608
                         {**values, "row_id": row[0]})
    for row_id, kind, key in bind.execute(sa.text(
            "SELECT id, kind, key FROM case_link_keys")).all():
        if re.fullmatch(r"[0-9a-f]{64}", key):
            continue  # already a digest (upgraded before, downgraded, upgraded again)
        bind.execute(sa.text("UPDATE case_link_keys SET key = :k WHERE id = :i"),
                     {"k": digest(f"link:{kind}", key), "i": row_id})
    # Names were sealed above: take them from the plain copy still in the key's reach.
    for row_id, sealed in bind.execute(sa.text("SELECT id, full_name FROM subjects")).all():
        sealed = bytes(sealed)
        if not sealed:
            continue
        plain = envelope.open_sealed(store.cipher(envelope.key_id_of(sealed)), sealed, 'text')
        bind.execute(sa.text("UPDATE subjects SET name_index = :d WHERE id = :i"),
                     {"d": subject_name_digest(plain.decode('utf-8')), "i": row_id})


def downgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    opened = _opened_values(bind, postgres)
    if postgres:
        _write(bind, opened)  # plain bytes first: ALTER … USING converts them back
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            for t, column, kind, old_type, nullable in SEALED:
                if t != table or kind == 'bytes':
                    continue
                cast = {'json': 'json', 'date': 'date', 'int': 'integer'}.get(kind, 'text')
                using = f"""convert_from("{column}", 'UTF8')::{cast}""" if postgres else None
                batch_op.alter_column(column, type_=old_type, nullable=nullable,
                                      postgresql_using=using)
    if not postgres:
        _write(bind, opened)  # SQLite's batch copy CASTs each value: write the plain ones after
    with op.batch_alter_table('subjects') as batch_op:
        batch_op.drop_index('ix_subjects_name_index')
        batch_op.drop_column('name_index')
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('data_key_id')


Opened = dict[tuple[str, int], dict[str, object]]


def _opened_values(bind: sa.Connection, postgres: bool) -> Opened:
    """Every sealed value opened back into its plain encoding. Link keys cannot be: they stay
    digests, which the older code does not match, so automatic links need rebuilding by hand
    after a downgrade."""
    from disclosure_app.privacy import envelope

    opened: Opened = {}
    if not bind.execute(sa.text("SELECT count(*) FROM cases")).scalar():
        return opened
    store = _keystore()
    for table in TABLES:
        columns = [(c, kind) for t, c, kind, *_ in SEALED if t == table]
        names = ", ".join(f'"{c}"' for c, _ in columns)
        for row in bind.execute(sa.text(f"SELECT id, {names} FROM {table}")).all():  # noqa: S608 # nosec B608
            values: dict[str, object] = {}
            for (column, kind), raw in zip(columns, row[1:], strict=True):
                if raw is None or not envelope.is_sealed(bytes(raw)):
                    values[column] = None if raw is None else (
                        b'' if kind == 'bytes' or postgres else '')
                    continue
                sealed = bytes(raw)
                plain = envelope.open_sealed(store.cipher(envelope.key_id_of(sealed)), sealed,
                                             kind)
                # PostgreSQL converts bytes back in ALTER … USING; SQLite keeps what it is given.
                values[column] = plain if kind == 'bytes' or postgres else plain.decode('utf-8')
            opened[(table, row[0])] = values
    return opened


def _write(bind: sa.Connection, opened: Opened) -> None:
    for (table, row_id), values in opened.items():
        sets = ", ".join(f'"{c}" = :{c}' for c in values)
        bind.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :row_id"),  # noqa: S608 # nosec B608
                     {**values, "row_id": row_id})
