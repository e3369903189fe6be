"""mail notifications, the event outbox, webhook endpoints, deliveries and attempts; users'
email addresses

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 07:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), 'postgresql')
TIME = sa.DateTime(timezone=True)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table(
        'outbox_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.Column('dispatched_at', TIME, nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events')),
        sa.UniqueConstraint('event_id', name=op.f('uq_outbox_events_event_id')),
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_events_kind'), ['kind'], unique=False)
        batch_op.create_index(
            batch_op.f('ix_outbox_events_dispatched_at'), ['dispatched_at'], unique=False
        )
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dedup_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('subject_key', sa.String(length=80), nullable=False),
        sa.Column('recipient', sa.String(length=254), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('attach_notice_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', TIME, nullable=True),
        sa.Column('sent_at', TIME, nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['attach_notice_id'],
            ['notices.id'],
            name=op.f('fk_notifications_attach_notice_id_notices'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
        sa.UniqueConstraint('dedup_key', name=op.f('uq_notifications_dedup_key')),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_status'), ['status'], unique=False)
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('events', JSON, nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_webhook_endpoints_created_by_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('endpoint_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', TIME, nullable=True),
        sa.Column('delivered_at', TIME, nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['event_id'],
            ['outbox_events.event_id'],
            name=op.f('fk_webhook_deliveries_event_id_outbox_events'),
        ),
        sa.ForeignKeyConstraint(
            ['endpoint_id'],
            ['webhook_endpoints.id'],
            name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        sa.UniqueConstraint(
            'event_id', 'endpoint_id', name=op.f('uq_webhook_deliveries_event_id_endpoint_id')
        ),
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_webhook_deliveries_event_id'), ['event_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_webhook_deliveries_endpoint_id'), ['endpoint_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_webhook_deliveries_status'), ['status'], unique=False
        )
    op.create_table(
        'webhook_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('delivery_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('created_at', TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ['delivery_id'],
            ['webhook_deliveries.id'],
            name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts')),
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_webhook_attempts_delivery_id'), ['delivery_id'], unique=False
        )


def downgrade():
    op.drop_table('webhook_attempts')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
    op.drop_table('notifications')
    op.drop_table('outbox_events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
