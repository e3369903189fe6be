"""findings: index on (status, due_date) for the overdue filter and its count

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 13:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_status_due_date', ['status', 'due_date'], unique=False)


def downgrade():
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_status_due_date')
