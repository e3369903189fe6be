"""rectification: notices, finding history, enterprise responses with photos

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 21:23:23.917992

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('city', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('portal_token', sa.String(length=43), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_notices_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], name=op.f('fk_notices_issued_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    sa.UniqueConstraint('city', 'year', 'seq', name=op.f('uq_notices_city_year_seq')),
    sa.UniqueConstraint('number', name=op.f('uq_notices_number')),
    sa.UniqueConstraint('portal_token', name=op.f('uq_notices_portal_token'))
    )
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notices_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('finding_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=False),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_finding_events_actor_id_users')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_events_finding_id_findings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_events'))
    )
    with op.batch_alter_table('finding_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_events_finding_id'), ['finding_id'], unique=False)

    op.create_table('finding_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_responses_finding_id_findings')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_finding_responses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_responses'))
    )
    with op.batch_alter_table('finding_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_responses_finding_id'), ['finding_id'], unique=False)

    op.create_table('response_photos',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['finding_responses.id'], name=op.f('fk_response_photos_response_id_finding_responses')),
    sa.PrimaryKeyConstraint('response_id', 'photo_sha256', name=op.f('pk_response_photos'))
    )
    with op.batch_alter_table('response_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_photos_photo_sha256'), ['photo_sha256'], unique=False)

    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_by', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_findings_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_notice_id'), ['notice_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_findings_notice_id_notices'), 'notices', ['notice_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_findings_closed_by_users'), 'users', ['closed_by'], ['id'])



def downgrade():
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_findings_closed_by_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_findings_notice_id_notices'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_findings_notice_id'))
        batch_op.drop_index(batch_op.f('ix_findings_due_date'))
        batch_op.drop_column('closed_by')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('due_date')
        batch_op.drop_column('notice_id')

    with op.batch_alter_table('response_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_photos_photo_sha256'))

    op.drop_table('response_photos')
    with op.batch_alter_table('finding_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_responses_finding_id'))

    op.drop_table('finding_responses')
    with op.batch_alter_table('finding_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_events_finding_id'))

    op.drop_table('finding_events')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notices_enterprise_id'))

    op.drop_table('notices')
