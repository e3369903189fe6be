"""双随机 draws (commitment, draw-time value, result, revealed secret), inspectors'
law-enforcement certificates (执法证号) and their declared conflicts with enterprises

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 07:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'draws',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('city', sa.String(length=40), nullable=False),
        sa.Column('criteria', JSON, nullable=False),
        sa.Column('sample_count', sa.Integer(), nullable=True),
        sa.Column('sample_percent', sa.Integer(), nullable=True),
        sa.Column('checklist_id', sa.String(length=60), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('candidates', sa.Text(), nullable=False),
        sa.Column('candidate_hash', sa.String(length=64), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('draw_value', sa.String(length=64), nullable=True),
        sa.Column('witness', sa.String(length=200), nullable=False),
        sa.Column('seed', sa.String(length=64), nullable=True),
        sa.Column('result', JSON, nullable=True),
        sa.Column('drawn_by', sa.Integer(), nullable=True),
        sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('issued_by', sa.Integer(), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('task_ids', JSON, nullable=True),
        sa.Column('abandoned_by', sa.Integer(), nullable=True),
        sa.Column('abandoned_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('abandon_reason', sa.Text(), nullable=False, server_default=''),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.ForeignKeyConstraint(['drawn_by'], ['users.id']),
        sa.ForeignKeyConstraint(['issued_by'], ['users.id']),
        sa.ForeignKeyConstraint(['abandoned_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draws_city'), ['city'], unique=False)
    op.create_table(
        'inspector_conflicts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(
            'user_id', 'enterprise_id', name=op.f('uq_inspector_conflicts_user_id_enterprise_id')
        ),
    )
    with op.batch_alter_table('inspector_conflicts', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_inspector_conflicts_user_id'), ['user_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('inspector_conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspector_conflicts_user_id'))
    op.drop_table('inspector_conflicts')
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draws_city'))
    op.drop_table('draws')
