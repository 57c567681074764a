"""The risk check: the local offender register (people, names and aliases, addresses, imports),
the checks checklist, identity decisions, and case links (automatic keys and manual links).
Existing cases get their link keys here, so they link with new ones at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from workflows.identity import link_keys

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('register_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_register_imports_audit_seq_audit_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_imports'))
    )
    op.create_table('register_people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('forenames', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('gender', sa.String(length=16), nullable=False),
    sa.Column('convictions', sa.JSON(), nullable=False),
    sa.Column('civil_orders', sa.JSON(), nullable=False),
    sa.Column('mappa_category', sa.Integer(), nullable=True),
    sa.Column('mappa_level', sa.Integer(), nullable=True),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('management', sa.String(length=16), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['register_imports.id'], name=op.f('fk_register_people_import_id_register_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_people')),
    sa.UniqueConstraint('person_id', name=op.f('uq_register_people_person_id'))
    )
    with op.batch_alter_table('register_people', schema=None) as batch_op:
        batch_op.create_index('ix_register_people_dob', ['date_of_birth', 'id'], unique=False)

    op.create_table('register_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_pk', sa.Integer(), nullable=False),
    sa.Column('line', sa.String(length=200), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('postcode_key', sa.String(length=10), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['person_pk'], ['register_people.id'], name=op.f('fk_register_addresses_person_pk_register_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_addresses'))
    )
    with op.batch_alter_table('register_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_addresses_person_pk'), ['person_pk'], unique=False)
        batch_op.create_index('ix_register_addresses_postcode', ['postcode_key', 'person_pk'], unique=False)

    op.create_table('register_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.Column('forenames', sa.String(length=100), nullable=False),
    sa.Column('surname_key', sa.String(length=16), nullable=False),
    sa.Column('surname_prefix', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['person_pk'], ['register_people.id'], name=op.f('fk_register_names_person_pk_register_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_register_names'))
    )
    with op.batch_alter_table('register_names', schema=None) as batch_op:
        batch_op.create_index('ix_register_names_key', ['surname_key', 'person_pk'], unique=False)
        batch_op.create_index('ix_register_names_prefix', ['surname_prefix', 'person_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_register_names_person_pk'), ['person_pk'], unique=False)

    op.create_table('case_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=True),
    sa.Column('checked_by', sa.String(length=160), nullable=False),
    sa.Column('result_summary', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_case_checks_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_checks_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_case_checks_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_checks'))
    )
    with op.batch_alter_table('case_checks', schema=None) as batch_op:
        batch_op.create_index('ix_case_checks_case', ['case_id', 'source', 'id'], unique=False)

    op.create_table('case_link_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_link_keys_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_link_keys')),
    sa.UniqueConstraint('case_id', 'kind', 'key', name='uq_case_link_keys_case_kind_key')
    )
    with op.batch_alter_table('case_link_keys', schema=None) as batch_op:
        batch_op.create_index('ix_case_link_keys_key', ['kind', 'key', 'case_id'], unique=False)

    op.create_table('case_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('linked_case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_case_links_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_links_case_id_cases')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_case_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['linked_case_id'], ['cases.id'], name=op.f('fk_case_links_linked_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_links')),
    sa.UniqueConstraint('case_id', 'linked_case_id', name='uq_case_links_pair')
    )
    with op.batch_alter_table('case_links', schema=None) as batch_op:
        batch_op.create_index('ix_case_links_linked', ['linked_case_id'], unique=False)

    op.create_table('identity_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person_pk', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('identifiers', sa.JSON(), nullable=False),
    sa.Column('references', sa.JSON(), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_identity_decisions_case_id_cases')),
    sa.ForeignKeyConstraint(['person_pk'], ['register_people.id'], name=op.f('fk_identity_decisions_person_pk_register_people')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_identity_decisions_proposed_by_id_users')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_identity_decisions_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_decisions'))
    )
    with op.batch_alter_table('identity_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_identity_decisions_case', ['case_id', 'id'], unique=False)

    # Plain ADD COLUMN (no batch): on SQLite a batch would rebuild "cases", and the rebuild
    # writes its constraints in no fixed order. The server defaults fill the existing rows.
    op.add_column('cases', sa.Column('subject_identity', sa.String(length=16), nullable=False,
                                     server_default='unresolved'))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot add a constraint to a table, but a new column may carry one.
        op.execute("ALTER TABLE cases ADD COLUMN subject_person_pk INTEGER "
                   "CONSTRAINT fk_cases_subject_person_pk_register_people "
                   "REFERENCES register_people (id)")
    else:
        op.add_column('cases', sa.Column('subject_person_pk', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_cases_subject_person_pk_register_people', 'cases',
                              'register_people', ['subject_person_pk'], ['id'])
    op.add_column('cases', sa.Column('register_child_sexual_offence', sa.Boolean(),
                                     nullable=False, server_default=sa.false()))
    _backfill_link_keys()


def _backfill_link_keys() -> None:
    bind = op.get_bind()
    unique = {}
    for kind, name in (("subject", "subjects"), ("applicant", "applicants"),
                       ("child", "children")):
        columns = [sa.column("case_id", sa.Integer), sa.column("full_name", sa.String),
                   sa.column("date_of_birth", sa.Date)]
        if kind != "child":
            columns.append(sa.column("postcode", sa.String))
        table = sa.table(name, *columns)
        for row in bind.execute(sa.select(table)).mappings():
            keys = link_keys(row["full_name"], date_of_birth=row["date_of_birth"],
                             postcode=row.get("postcode") or "")
            for key in keys:
                unique[(row["case_id"], kind, key)] = {"case_id": row["case_id"], "kind": kind,
                                                       "key": key}
    if unique:
        keys_table = sa.table("case_link_keys", sa.column("case_id"), sa.column("kind"),
                              sa.column("key"))
        op.bulk_insert(keys_table, [unique[k] for k in sorted(unique)])


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":  # SQLite's goes with the rebuilt table
            batch_op.drop_constraint('fk_cases_subject_person_pk_register_people',
                                     type_='foreignkey')
        batch_op.drop_column('register_child_sexual_offence')
        batch_op.drop_column('subject_person_pk')
        batch_op.drop_column('subject_identity')

    with op.batch_alter_table('identity_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_decisions_case')

    op.drop_table('identity_decisions')
    with op.batch_alter_table('case_links', schema=None) as batch_op:
        batch_op.drop_index('ix_case_links_linked')

    op.drop_table('case_links')
    with op.batch_alter_table('case_link_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_case_link_keys_key')

    op.drop_table('case_link_keys')
    with op.batch_alter_table('case_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_checks_case')

    op.drop_table('case_checks')
    with op.batch_alter_table('register_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_names_person_pk'))
        batch_op.drop_index('ix_register_names_prefix')
        batch_op.drop_index('ix_register_names_key')

    op.drop_table('register_names')
    with op.batch_alter_table('register_addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_register_addresses_postcode')
        batch_op.drop_index(batch_op.f('ix_register_addresses_person_pk'))

    op.drop_table('register_addresses')
    with op.batch_alter_table('register_people', schema=None) as batch_op:
        batch_op.drop_index('ix_register_people_dob')

    op.drop_table('register_people')
    op.drop_table('register_imports')
