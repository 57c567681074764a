"""Signed checkpoints of the decision log, verification runs, the security event log and the
reasons given for opening a case's sensitive sections (issue 6). The first three are
append-only in the database, as the decision log is.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ('audit_checkpoints', 'audit_verifications', 'security_events')


def upgrade() -> None:
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_size', sa.Integer(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('key_name', sa.String(length=200), nullable=False),
    sa.Column('key_id', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('tree_size', name=op.f('uq_audit_checkpoints_tree_size'))
    )
    op.create_table('audit_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('by', sa.String(length=160), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('entries_checked', sa.Integer(), nullable=False),
    sa.Column('head_seq', sa.Integer(), nullable=False),
    sa.Column('first_bad_seq', sa.Integer(), nullable=True),
    sa.Column('problem', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verifications'))
    )
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_audit_verifications_at', ['verified_at', 'id'], unique=False)
    op.create_table('security_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('client_ip', sa.String(length=45), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_events'))
    )
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.create_index('ix_security_events_at', ['occurred_at', 'id'], unique=False)
        batch_op.create_index('ix_security_events_user', ['user_id', 'kind', 'occurred_at'],
                              unique=False)
    op.create_table('access_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_access_reasons_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_access_reasons_case_id_cases')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_reasons_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_reasons')),
    sa.UniqueConstraint('audit_seq', name=op.f('uq_access_reasons_audit_seq'))
    )
    with op.batch_alter_table('access_reasons', schema=None) as batch_op:
        batch_op.create_index('ix_access_reasons_case', ['case_id', 'id'], unique=False)
    for table in APPEND_ONLY:
        _install_guards(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        _remove_guards(table)
    with op.batch_alter_table('access_reasons', schema=None) as batch_op:
        batch_op.drop_index('ix_access_reasons_case')
    op.drop_table('access_reasons')
    with op.batch_alter_table('security_events', schema=None) as batch_op:
        batch_op.drop_index('ix_security_events_user')
        batch_op.drop_index('ix_security_events_at')
    op.drop_table('security_events')
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_verifications_at')
    op.drop_table('audit_verifications')
    op.drop_table('audit_checkpoints')


# As for audit_entries (0001): the database itself refuses changes, whoever connects; on
# PostgreSQL TRUNCATE too, and ENABLE ALWAYS keeps the triggers firing under replication role.
def _install_guards(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""")
        return
    op.execute(f"""CREATE FUNCTION {table}_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{table} is append-only'; END $$""")
    op.execute(f"""CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_refuse_change()""")
    op.execute(f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change()""")
    op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_update_delete")
    op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_no_truncate")


def _remove_guards(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        return
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {table}_refuse_change()")
