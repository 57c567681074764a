"""MoPI review, retention and disposal (issue 14): each closed case's retention group, next
review date, disposal approval and disposal time; the reviews; the legal holds; corrections of
personal details (DPA 2018 s.46).

Cases closed before this migration get their group and first review date from the configured
schedule (the app's, when run by `flask db upgrade`; the defaults otherwise), counted from the
day they closed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 20:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.add_column(sa.Column('retention_group', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('review_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('disposal_approved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('personal_data_disposed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_cases_review_due', ['review_due_on', 'id'], unique=False)
        batch_op.create_index('ix_cases_disposal', ['disposal_approved_at',
                                                    'personal_data_disposed_at', 'id'],
                              unique=False)
    op.create_table(
        'retention_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('next_review_on', sa.Date(), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=False),
        sa.Column('reviewed_at', sa.DateTime(), nullable=False),
        sa.Column('audit_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'],
                                name=op.f('fk_retention_reviews_audit_seq_audit_entries')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_retention_reviews_case_id_cases')),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'],
                                name=op.f('fk_retention_reviews_reviewed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_reviews')),
    )
    op.create_index('ix_retention_reviews_case', 'retention_reviews', ['case_id', 'id'])
    op.create_table(
        'legal_holds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.Column('set_audit_seq', sa.Integer(), nullable=False),
        sa.Column('lifted_by_id', sa.Integer(), nullable=True),
        sa.Column('lifted_at', sa.DateTime(), nullable=True),
        sa.Column('lift_reason', sa.Text(), nullable=False),
        sa.Column('lifted_audit_seq', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_legal_holds_case_id_cases')),
        sa.ForeignKeyConstraint(['lifted_audit_seq'], ['audit_entries.seq'],
                                name=op.f('fk_legal_holds_lifted_audit_seq_audit_entries')),
        sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'],
                                name=op.f('fk_legal_holds_lifted_by_id_users')),
        sa.ForeignKeyConstraint(['set_audit_seq'], ['audit_entries.seq'],
                                name=op.f('fk_legal_holds_set_audit_seq_audit_entries')),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'],
                                name=op.f('fk_legal_holds_set_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds')),
    )
    op.create_index('ix_legal_holds_case', 'legal_holds', ['case_id', 'lifted_at'])
    op.create_table(
        'rectifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=16), nullable=False),
        sa.Column('person_row_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('old_value', sa.LargeBinary(), nullable=False),
        sa.Column('new_value', sa.LargeBinary(), nullable=False),
        sa.Column('reason', sa.LargeBinary(), nullable=False),
        sa.Column('by_user_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('audit_seq', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'],
                                name=op.f('fk_rectifications_audit_seq_audit_entries')),
        sa.ForeignKeyConstraint(['by_user_id'], ['users.id'],
                                name=op.f('fk_rectifications_by_user_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_rectifications_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rectifications')),
    )
    op.create_index('ix_rectifications_case', 'rectifications', ['case_id', 'id'])
    _backfill(op.get_bind())


def _schedule():  # type: ignore[no-untyped-def]
    from flask import current_app, has_app_context

    from workflows.retention import DEFAULT_SCHEDULE

    if has_app_context() and "case_policy" in current_app.extensions:
        return current_app.extensions["case_policy"].retention
    return DEFAULT_SCHEDULE


def _backfill(bind: sa.Connection) -> None:
    from workflows.retention import add_years, outcome_of, rule_for

    schedule = _schedule()
    rows = bind.execute(sa.text(
        "SELECT id, decision_outcome, closed_at, updated_at FROM cases WHERE is_open = :f"),
        {"f": False}).all()
    for case_id, decision_outcome, closed_at, updated_at in rows:
        rule = rule_for(schedule, outcome_of(decision_outcome))
        ended = closed_at or updated_at
        day = ended.date() if hasattr(ended, "date") else sa.Date().python_type.fromisoformat(
            str(ended)[:10])
        bind.execute(sa.text("UPDATE cases SET retention_group = :g, review_due_on = :d "
                             "WHERE id = :i"),
                     {"g": rule.outcome.value, "d": add_years(day, rule.review_years),
                      "i": case_id})


def downgrade() -> None:
    op.drop_index('ix_rectifications_case', table_name='rectifications')
    op.drop_table('rectifications')
    op.drop_index('ix_legal_holds_case', table_name='legal_holds')
    op.drop_table('legal_holds')
    op.drop_index('ix_retention_reviews_case', table_name='retention_reviews')
    op.drop_table('retention_reviews')
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_index('ix_cases_disposal')
        batch_op.drop_index('ix_cases_review_due')
        batch_op.drop_column('personal_data_disposed_at')
        batch_op.drop_column('disposal_approved_at')
        batch_op.drop_column('review_due_on')
        batch_op.drop_column('retention_group')
