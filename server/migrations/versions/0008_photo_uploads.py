"""photo_uploads: every user who sent a photo's bytes (the proof that lets them cite it)

Backfilled from what the database already proves: each photo's first uploader and every
completed tus upload. A second user who sent the same bytes with a plain PUT before this
revision was not recorded; their client finds the photo missing and sends it again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 04:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photo_uploads',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['photos.sha256'], name=op.f('fk_photo_uploads_sha256_photos')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_photo_uploads_user_id_users')),
    sa.PrimaryKeyConstraint('sha256', 'user_id', name=op.f('pk_photo_uploads'))
    )
    with op.batch_alter_table('photo_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_uploads_user_id'), ['user_id'], unique=False)
    op.execute(
        "INSERT INTO photo_uploads (sha256, user_id, received_at) "
        "SELECT sha256, uploaded_by, received_at FROM photos WHERE uploaded_by IS NOT NULL"
    )
    op.execute(
        "INSERT INTO photo_uploads (sha256, user_id, received_at) "
        "SELECT u.sha256, u.user_id, MIN(u.completed_at) FROM uploads u "
        "JOIN photos p ON p.sha256 = u.sha256 "
        "WHERE u.completed_at IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM photo_uploads pu WHERE pu.sha256 = u.sha256 AND pu.user_id = u.user_id) "
        "GROUP BY u.sha256, u.user_id"
    )


def downgrade():
    with op.batch_alter_table('photo_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_uploads_user_id'))

    op.drop_table('photo_uploads')
