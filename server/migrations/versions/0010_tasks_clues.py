"""tasks (sites, inspectors, reason, due date, lifecycle) and clues matched to sites

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 07:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'tasks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('checklist_id', sa.String(length=60), nullable=False),
        sa.Column('city', sa.String(length=40), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('source_ref', sa.String(length=80), nullable=True),
        sa.Column('open_key', sa.String(length=80), nullable=True),
        sa.Column('finding_id', sa.Integer(), nullable=True),
        sa.Column('compare_inspection_uuid', sa.Uuid(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by', sa.Integer(), nullable=True),
        sa.Column('cancel_reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['finding_id'], ['findings.id']),
        sa.ForeignKeyConstraint(['compare_inspection_uuid'], ['inspections.uuid']),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.ForeignKeyConstraint(['cancelled_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('open_key'),
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_reason'), ['reason'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_city'), ['city'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_source_ref'), ['source_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_tasks_finding_id'), ['finding_id'], unique=False)
    op.create_table(
        'task_sites',
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('inspection_uuid', sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id']),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id']),
        sa.ForeignKeyConstraint(['inspection_uuid'], ['inspections.uuid']),
        sa.PrimaryKeyConstraint('task_id', 'site_id'),
    )
    with op.batch_alter_table('task_sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_sites_site_id'), ['site_id'], unique=False)
    op.create_table(
        'task_inspectors',
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('task_id', 'user_id'),
    )
    with op.batch_alter_table('task_inspectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_inspectors_user_id'), ['user_id'], unique=False)
    op.create_table(
        'clues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('external_ref', sa.String(length=80), nullable=False),
        sa.Column('city', sa.String(length=40), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('respond_by', sa.DateTime(timezone=True), nullable=False),
        sa.Column('matches', JSON, nullable=False),
        sa.Column('radius_m', sa.Float(), nullable=False),
        sa.Column('reported_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('responded_by', sa.Integer(), nullable=True),
        sa.Column('dismiss_reason', sa.Text(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['reported_by'], ['users.id']),
        sa.ForeignKeyConstraint(['responded_by'], ['users.id']),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('clues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clues_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_clues_respond_by'), ['respond_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_clues_task_id'), ['task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('clues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clues_task_id'))
        batch_op.drop_index(batch_op.f('ix_clues_respond_by'))
        batch_op.drop_index(batch_op.f('ix_clues_status'))
    op.drop_table('clues')
    with op.batch_alter_table('task_inspectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_inspectors_user_id'))
    op.drop_table('task_inspectors')
    with op.batch_alter_table('task_sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_sites_site_id'))
    op.drop_table('task_sites')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_finding_id'))
        batch_op.drop_index(batch_op.f('ix_tasks_source_ref'))
        batch_op.drop_index(batch_op.f('ix_tasks_due_on'))
        batch_op.drop_index(batch_op.f('ix_tasks_city'))
        batch_op.drop_index(batch_op.f('ix_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_tasks_reason'))
    op.drop_table('tasks')
