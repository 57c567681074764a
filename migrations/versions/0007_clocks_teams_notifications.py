"""Working-day clocks, teams and allocation, staff notifications (issue 13).

Existing cases join one default team (administrators add the others and their postcode
districts); `flask --app disclosure_app clocks rebuild` then builds every open case's clocks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:42:19.270679
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('forecast_fits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fitted_at', sa.DateTime(), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('model_json', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecast_fits'))
    )
    op.create_table('historical_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('source_reference', sa.String(length=60), nullable=False),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('checks_done_on', sa.Date(), nullable=True),
    sa.Column('interviewed_on', sa.Date(), nullable=True),
    sa.Column('assessed_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_historical_cases')),
    sa.UniqueConstraint('source_reference', name=op.f('uq_historical_cases_source_reference'))
    )
    with op.batch_alter_table('historical_cases', schema=None) as batch_op:
        batch_op.create_index('ix_historical_cases_closed', ['closed_on', 'id'], unique=False)

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    op.create_table('teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('postcode_districts', sa.String(length=1000), nullable=False),
    sa.Column('is_default', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('code', name=op.f('uq_teams_code')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('closure_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_closure_days_added_by_id_users')),
    sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], name=op.f('fk_closure_days_removed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closure_days')),
    sa.UniqueConstraint('day', name=op.f('uq_closure_days_day'))
    )
    op.create_table('officer_covers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('absent_user_id', sa.Integer(), nullable=False),
    sa.Column('cover_user_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['absent_user_id'], ['users.id'], name=op.f('fk_officer_covers_absent_user_id_users')),
    sa.ForeignKeyConstraint(['cover_user_id'], ['users.id'], name=op.f('fk_officer_covers_cover_user_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_officer_covers_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_covers'))
    )
    with op.batch_alter_table('officer_covers', schema=None) as batch_op:
        batch_op.create_index('ix_officer_covers_absent', ['absent_user_id', 'ends_on'], unique=False)
        batch_op.create_index('ix_officer_covers_cover', ['cover_user_id', 'ends_on'], unique=False)

    op.create_table('team_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_team_members_added_by_id_users')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_members')),
    sa.UniqueConstraint('team_id', 'user_id', name=op.f('uq_team_members_team_id'))
    )
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.create_index('ix_team_members_user', ['user_id', 'team_id'], unique=False)

    op.create_table('case_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('from_team_id', sa.Integer(), nullable=True),
    sa.Column('to_team_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_case_allocations_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_case_allocations_by_user_id_users')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_allocations_case_id_cases')),
    sa.ForeignKeyConstraint(['from_team_id'], ['teams.id'], name=op.f('fk_case_allocations_from_team_id_teams')),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_case_allocations_from_user_id_users')),
    sa.ForeignKeyConstraint(['to_team_id'], ['teams.id'], name=op.f('fk_case_allocations_to_team_id_teams')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_case_allocations_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_allocations'))
    )
    with op.batch_alter_table('case_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_case_allocations_case', ['case_id', 'id'], unique=False)

    op.create_table('case_clocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=20), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('near_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('next_at', sa.DateTime(), nullable=True),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.Column('likely_breach', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_clocks_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_clocks')),
    sa.UniqueConstraint('case_id', 'clock', name=op.f('uq_case_clocks_case_id'))
    )
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.create_index('ix_case_clocks_next_at', ['next_at'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('case_reference', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('email_state', sa.String(length=10), server_default='none', nullable=False),
    sa.Column('emailed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_notifications_dedupe_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_email', ['email_state', 'id'], unique=False)
        batch_op.create_index('ix_notifications_user', ['user_id', 'read_at', 'id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assessment_due_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('checks_done_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('interview_done_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('assessment_done_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('extension_request', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('extension_requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('overall_breach_reason', sa.String(length=32), nullable=True))
        batch_op.drop_index('ix_cases_officer_due')
        batch_op.create_index('ix_cases_officer_due', ['assigned_officer_id', 'is_open', 'decision_due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_team_officer_due', ['team_id', 'assigned_officer_id', 'is_open', 'decision_due_at', 'id'], unique=False)
        batch_op.create_index('ix_cases_team_open_due', ['team_id', 'is_open', 'decision_due_at', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_team_id_teams'), 'teams', ['team_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_extension_requested_by_id_users'), 'users', ['extension_requested_by_id'], ['id'])

    # Cases made before teams existed belong to the default team until someone moves them.
    teams = sa.table('teams', sa.column('id', sa.Integer), sa.column('code', sa.String),
                     sa.column('name', sa.String), sa.column('postcode_districts', sa.String),
                     sa.column('is_default', sa.Boolean), sa.column('active', sa.Boolean),
                     sa.column('created_at', sa.DateTime))
    bind = op.get_bind()
    if bind.execute(sa.text('SELECT COUNT(*) FROM cases')).scalar():
        op.bulk_insert(teams, [{'id': 1, 'code': 'unit', 'name': 'Disclosure unit',
                                'postcode_districts': '', 'is_default': True, 'active': True,
                                'created_at': datetime.now(UTC).replace(tzinfo=None)}])
        op.execute('UPDATE cases SET team_id = 1')



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_extension_requested_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_team_id_teams'), type_='foreignkey')
        batch_op.drop_index('ix_cases_team_open_due')
        batch_op.drop_index('ix_cases_team_officer_due')
        batch_op.drop_index('ix_cases_officer_due')
        batch_op.create_index('ix_cases_officer_due', ['assigned_officer_id', 'decision_due_at', 'id'], unique=False)
        batch_op.drop_column('overall_breach_reason')
        batch_op.drop_column('extension_requested_by_id')
        batch_op.drop_column('extension_request')
        batch_op.drop_column('assessment_done_at')
        batch_op.drop_column('interview_done_at')
        batch_op.drop_column('checks_done_at')
        batch_op.drop_column('assessment_due_at')
        batch_op.drop_column('team_id')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user')
        batch_op.drop_index('ix_notifications_email')

    op.drop_table('notifications')
    with op.batch_alter_table('case_clocks', schema=None) as batch_op:
        batch_op.drop_index('ix_case_clocks_next_at')

    op.drop_table('case_clocks')
    with op.batch_alter_table('case_allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_case_allocations_case')

    op.drop_table('case_allocations')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_index('ix_team_members_user')

    op.drop_table('team_members')
    with op.batch_alter_table('officer_covers', schema=None) as batch_op:
        batch_op.drop_index('ix_officer_covers_cover')
        batch_op.drop_index('ix_officer_covers_absent')

    op.drop_table('officer_covers')
    op.drop_table('closure_days')
    op.drop_table('teams')
    op.drop_table('scheduler_leases')
    with op.batch_alter_table('historical_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_historical_cases_closed')

    op.drop_table('historical_cases')
    op.drop_table('forecast_fits')
