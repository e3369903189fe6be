"""each inspector's 执法证号 (law-enforcement certificate number) in the user account, and the
request id that makes declaring an alert idempotent

Revision ID: 0015
Revises: 0009
Create Date: 2026-11-29 07:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('badge_no', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_users_badge_no', ['badge_no'])
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.Uuid(), nullable=True))
        batch_op.create_unique_constraint('uq_alerts_request_id', ['request_id'])


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_alerts_request_id', type_='unique')
        batch_op.drop_column('request_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_badge_no', type_='unique')
        batch_op.drop_column('badge_no')
