"""each inspector's 执法证号 (law-enforcement certificate number) in the user account, and the
request id that makes declaring an alert idempotent

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-29 07:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN and a unique index: a unique constraint would make SQLite's batch mode
    # rebuild `users`, which the foreign keys of every table that names a user forbid.
    op.add_column('users', sa.Column('badge_no', sa.String(length=40), nullable=True))
    op.create_index('ix_users_badge_no', 'users', ['badge_no'], unique=True)
    op.add_column('alerts', sa.Column('request_id', sa.Uuid(), nullable=True))
    op.create_index('ix_alerts_request_id', 'alerts', ['request_id'], unique=True)


def downgrade():
    op.drop_index('ix_alerts_request_id', table_name='alerts')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('request_id')
    op.drop_index('ix_users_badge_no', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('badge_no')
