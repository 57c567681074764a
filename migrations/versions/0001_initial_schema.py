"""Initial schema: users, cases and the people in them, step records, partner invitations and
the append-only audit log (with database triggers that refuse UPDATE, DELETE and TRUNCATE).

Revision ID: 0001
Revises:
Create Date: 2026-11-21 04:43:12.280996
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_entries',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('actor_name', sa.String(length=160), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=32), nullable=True),
    sa.Column('to_status', sa.String(length=32), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('format_version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_audit_entries_entry_hash'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entries_action', ['action', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_category', ['category', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_actor', ['actor_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_case', ['case_id', 'seq'], unique=False)
        batch_op.create_index('ix_audit_entries_created', ['created_at', 'seq'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.Enum('applicant', 'case_officer', 'decision_maker', 'partner', 'auditor', 'admin', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('rank', sa.Enum('constable', 'sergeant', 'inspector', 'chief_inspector', 'superintendent', 'chief_superintendent', name='rank', native_enum=False, length=32), nullable=True),
    sa.Column('agency', sa.Enum('probation', 'childrens_social_care', 'health', 'education', 'other', name='agency', native_enum=False, length=32), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('route', sa.Enum('right_to_ask', 'right_to_know', name='route', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('draft', 'received', 'referred', 'initial_checks', 'awaiting_interview', 'interviewed', 'full_risk_assessment', 'representations_pending', 'awaiting_decision', 'disclosure_approved', 'disclosure_not_delivered', 'disclosure_delivered', 'no_disclosure_decided', 'outcome_communicated', 'not_progressed', 'transferred', 'withdrawn', 'identity_unverified', 'closed', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('stage', sa.Enum('intake', 'risk_check', 'decision', 'disclosure', 'closed', name='stage', native_enum=False, length=32), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_label', sa.String(length=120), nullable=False),
    sa.Column('assigned_officer_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('initial_checks_due_at', sa.DateTime(), nullable=False),
    sa.Column('interview_due_at', sa.DateTime(), nullable=True),
    sa.Column('decision_due_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('status_token_hash', sa.String(length=64), nullable=True),
    sa.Column('concern', sa.Text(), nullable=False),
    sa.Column('declared_truthful', sa.Boolean(), nullable=False),
    sa.Column('declared_sharing', sa.Boolean(), nullable=False),
    sa.Column('applicant_identity_verified', sa.Boolean(), nullable=True),
    sa.Column('representations_recorded', sa.Boolean(), nullable=False),
    sa.Column('child_sexual_offence_flag', sa.Boolean(), nullable=False),
    sa.Column('recipient_is_applicant', sa.Boolean(), nullable=True),
    sa.Column('urgent_safeguarding', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_officer_id'], ['users.id'], name=op.f('fk_cases_assigned_officer_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_cases_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('reference', name=op.f('uq_cases_reference')),
    sa.UniqueConstraint('status_token_hash', name=op.f('uq_cases_status_token_hash'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_officer_due', ['assigned_officer_id', 'decision_due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_open_due', ['is_open', 'decision_due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_stage_due', ['stage', 'decision_due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_status_due', ['status', 'decision_due_at', 'id'], unique=False)

    op.create_table('applicants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('other_names', sa.String(length=200), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('phone', sa.String(length=30), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('contact_method', sa.String(length=20), nullable=False),
    sa.Column('safe_contact_times', sa.String(length=500), nullable=False),
    sa.Column('messages_ok', sa.Boolean(), nullable=False),
    sa.Column('contact_notes', sa.String(length=1000), nullable=False),
    sa.Column('relationship_to_subject', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_applicants_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applicants')),
    sa.UniqueConstraint('case_id', name=op.f('uq_applicants_case_id'))
    )
    op.create_table('case_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=False),
    sa.Column('invited_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_invitations_case_id_cases')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_case_invitations_invited_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_invitations_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_invitations')),
    sa.UniqueConstraint('case_id', 'user_id', name=op.f('uq_case_invitations_case_id'))
    )
    with op.batch_alter_table('case_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_case_invitations_user', ['user_id', 'case_id'], unique=False)

    op.create_table('case_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('from_status', sa.Enum('draft', 'received', 'referred', 'initial_checks', 'awaiting_interview', 'interviewed', 'full_risk_assessment', 'representations_pending', 'awaiting_decision', 'disclosure_approved', 'disclosure_not_delivered', 'disclosure_delivered', 'no_disclosure_decided', 'outcome_communicated', 'not_progressed', 'transferred', 'withdrawn', 'identity_unverified', 'closed', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('to_status', sa.Enum('draft', 'received', 'referred', 'initial_checks', 'awaiting_interview', 'interviewed', 'full_risk_assessment', 'representations_pending', 'awaiting_decision', 'disclosure_approved', 'disclosure_not_delivered', 'disclosure_delivered', 'no_disclosure_decided', 'outcome_communicated', 'not_progressed', 'transferred', 'withdrawn', 'identity_unverified', 'closed', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.Enum('applicant', 'case_officer', 'decision_maker', 'partner', 'auditor', 'admin', name='role', native_enum=False, length=32), nullable=False),
    sa.Column('actor_name', sa.String(length=160), nullable=False),
    sa.Column('actor_rank', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_steps_actor_id_users')),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_case_steps_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_steps_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_steps'))
    )
    with op.batch_alter_table('case_steps', schema=None) as batch_op:
        batch_op.create_index('ix_case_steps_case', ['case_id', 'id'], unique=False)

    op.create_table('children',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('age', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=30), nullable=False),
    sa.Column('lives_with', sa.String(length=500), nullable=False),
    sa.Column('applicant_relationship', sa.String(length=100), nullable=False),
    sa.Column('subject_contact', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_children_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_children'))
    )
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_children_case_id'), ['case_id'], unique=False)

    op.create_table('subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('aliases', sa.String(length=500), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('approximate_age', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('postcode', sa.String(length=10), nullable=False),
    sa.Column('relationship_to_child', sa.String(length=200), nullable=False),
    sa.Column('relationship_to_applicant', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_subjects_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects')),
    sa.UniqueConstraint('case_id', name=op.f('uq_subjects_case_id'))
    )
    _install_audit_guards()
    op.execute("INSERT INTO audit_chain_head (id, seq, entry_hash) VALUES (1, 0, '" + "0" * 64 + "')")


def downgrade() -> None:
    _remove_audit_guards()
    op.drop_table('subjects')
    with op.batch_alter_table('children', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_children_case_id'))

    op.drop_table('children')
    with op.batch_alter_table('case_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_case_steps_case')

    op.drop_table('case_steps')
    with op.batch_alter_table('case_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_case_invitations_user')

    op.drop_table('case_invitations')
    op.drop_table('applicants')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_due')
        batch_op.drop_index('ix_cases_stage_due')
        batch_op.drop_index('ix_cases_open_due')
        batch_op.drop_index('ix_cases_officer_due')

    op.drop_table('cases')
    op.drop_table('users')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_created')
        batch_op.drop_index('ix_audit_entries_case')
        batch_op.drop_index('ix_audit_entries_actor')
        batch_op.drop_index('ix_audit_entries_action')
        batch_op.drop_index('ix_audit_entries_category')

    op.drop_table('audit_entries')
    op.drop_table('audit_chain_head')


# The decision log is append-only in the database itself, not just in the ORM: bulk statements
# and other clients bypass the ORM. PostgreSQL also needs a statement trigger for TRUNCATE, which
# row triggers do not see; ENABLE ALWAYS keeps them firing under session_replication_role=replica.
_SQLITE_GUARDS = [
    """CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]
_POSTGRES_GUARDS = [
    """CREATE FUNCTION audit_entries_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$""",
    """CREATE TRIGGER audit_entries_no_update_delete BEFORE UPDATE OR DELETE ON audit_entries
       FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse_change()""",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
       FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse_change()""",
    "ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_update_delete",
    "ALTER TABLE audit_entries ENABLE ALWAYS TRIGGER audit_entries_no_truncate",
]


def _install_audit_guards() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE_GUARDS if dialect == "sqlite" else _POSTGRES_GUARDS:
        op.execute(statement)


def _remove_audit_guards() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update_delete ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_refuse_change()")
