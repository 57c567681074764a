"""Staff sign-in security (issue 7): TOTP second factor, forced password change, per-account
lockout, two-administrator MFA resets and the shared rate-limit counters.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 08:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret_encrypted', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_pending_encrypted', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('mfa_enrolled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('mfa_challenge_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('mfa_challenge_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('mfa_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failure_window_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lockouts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('lock_notice_at', sa.DateTime(), nullable=True))

    op.create_table('mfa_reset_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mfa_reset_requests_user_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_mfa_reset_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_mfa_reset_requests_approved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mfa_reset_requests'))
    )
    op.create_index('ix_mfa_reset_requests_open', 'mfa_reset_requests', ['approved_at', 'id'], unique=False)

    op.create_table('rate_limit_counters',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counters'))
    )
    op.create_index('ix_rate_limit_counters_expires_at', 'rate_limit_counters', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_limit_counters_expires_at', table_name='rate_limit_counters')
    op.drop_table('rate_limit_counters')
    op.drop_index('ix_mfa_reset_requests_open', table_name='mfa_reset_requests')
    op.drop_table('mfa_reset_requests')
    with op.batch_alter_table('users', schema=None) as batch_op:
        for column in ('lock_notice_at', 'lockouts', 'locked_until', 'failure_window_at',
                       'failed_logins', 'password_changed_at', 'must_change_password',
                       'mfa_failures', 'mfa_challenge_at', 'mfa_challenge_hash',
                       'mfa_enrolled_at', 'totp_last_step', 'totp_pending_encrypted',
                       'totp_secret_encrypted'):
            batch_op.drop_column(column)
