"""Four eyes on disclosure decisions, the face-to-face disclosure, stored documents, rationale
fingerprints and dip sampling (issue 4).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 08:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposed_outcome', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('decision_author_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_needs_countersign', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('decision_approver_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decision_approved_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('disclosure_meeting_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('undertaking_recorded', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_foreign_key(batch_op.f('fk_cases_decision_author_id_users'), 'users', ['decision_author_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_decision_approver_id_users'), 'users', ['decision_approver_id'], ['id'])
        batch_op.create_index('ix_cases_outcome_closed', ['decision_outcome', 'closed_at', 'id'], unique=False)

    with op.batch_alter_table('case_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quality', sa.JSON(), nullable=True))

    op.create_table('stored_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_stored_documents_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_stored_documents_case_id_cases')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_stored_documents_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_documents'))
    )
    with op.batch_alter_table('stored_documents', schema=None) as batch_op:
        batch_op.create_index('ix_stored_documents_case', ['case_id', 'id'], unique=False)

    op.create_table('rationale_fingerprints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('shingle', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_rationale_fingerprints_case_id_cases')),
    sa.ForeignKeyConstraint(['step_id'], ['case_steps.id'], name=op.f('fk_rationale_fingerprints_step_id_case_steps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rationale_fingerprints'))
    )
    with op.batch_alter_table('rationale_fingerprints', schema=None) as batch_op:
        batch_op.create_index('ix_rationale_fingerprints_case', ['case_id'], unique=False)
        batch_op.create_index('ix_rationale_fingerprints_shingle', ['shingle', 'case_id'], unique=False)

    op.create_table('dip_sample_draws',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drawn_at', sa.DateTime(), nullable=False),
    sa.Column('drawn_by_id', sa.Integer(), nullable=True),
    sa.Column('drawn_by_label', sa.String(length=160), nullable=False),
    sa.Column('share_percent', sa.Integer(), nullable=False),
    sa.Column('closed_from', sa.Date(), nullable=False),
    sa.Column('closed_to', sa.Date(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('selected', sa.Integer(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_dip_sample_draws_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['drawn_by_id'], ['users.id'], name=op.f('fk_dip_sample_draws_drawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dip_sample_draws'))
    )
    op.create_table('dip_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('result', sa.String(length=40), nullable=True),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('follow_up', sa.Text(), nullable=False),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_seq'], ['audit_entries.seq'], name=op.f('fk_dip_samples_audit_seq_audit_entries')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_dip_samples_case_id_cases')),
    sa.ForeignKeyConstraint(['draw_id'], ['dip_sample_draws.id'], name=op.f('fk_dip_samples_draw_id_dip_sample_draws')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_dip_samples_reviewer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dip_samples')),
    sa.UniqueConstraint('case_id', name=op.f('uq_dip_samples_case_id'))
    )
    with op.batch_alter_table('dip_samples', schema=None) as batch_op:
        batch_op.create_index('ix_dip_samples_pending', ['reviewed_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dip_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_dip_samples_pending')
    op.drop_table('dip_samples')
    op.drop_table('dip_sample_draws')
    with op.batch_alter_table('rationale_fingerprints', schema=None) as batch_op:
        batch_op.drop_index('ix_rationale_fingerprints_shingle')
        batch_op.drop_index('ix_rationale_fingerprints_case')
    op.drop_table('rationale_fingerprints')
    with op.batch_alter_table('stored_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_stored_documents_case')
    op.drop_table('stored_documents')
    with op.batch_alter_table('case_steps', schema=None) as batch_op:
        batch_op.drop_column('quality')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_outcome_closed')
        batch_op.drop_constraint(batch_op.f('fk_cases_decision_approver_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_decision_author_id_users'), type_='foreignkey')
        batch_op.drop_column('undertaking_recorded')
        batch_op.drop_column('disclosure_meeting_on')
        batch_op.drop_column('decision_outcome')
        batch_op.drop_column('decision_approved_at')
        batch_op.drop_column('decision_approver_id')
        batch_op.drop_column('decision_needs_countersign')
        batch_op.drop_column('decision_author_id')
        batch_op.drop_column('proposed_outcome')
