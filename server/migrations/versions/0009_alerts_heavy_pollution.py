"""heavy-pollution alerts, and each enterprise's performance grade and emergency reduction
list (一厂一策)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 05:15:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('city_codes', JSON, nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('declared_by', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['declared_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_ends_at'), ['ends_at'], unique=False)
    op.create_table(
        'reduction_lists',
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('performance_grade', sa.String(length=1), nullable=False),
        sa.Column('lines', JSON, nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id']),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id']),
        sa.PrimaryKeyConstraint('enterprise_id'),
    )


def downgrade():
    op.drop_table('reduction_lists')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_ends_at'))
        batch_op.drop_index(batch_op.f('ix_alerts_starts_at'))
    op.drop_table('alerts')
