"""audit log in several chains: each entry's chain and its gap-free number there

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 07:40:00

Every existing entry is chain 0 with link = seq (what it was: one chain). On PostgreSQL a
sequence hands out the whole log's `seq` once entries are appended to several chains at
once; it starts after the last entry.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("link", sa.Integer(), nullable=True))
    op.execute("UPDATE audit_log SET link = seq")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("link", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_audit_log_chain_link", ["chain", "link"])
    if op.get_bind().dialect.name == "postgresql":
        # Owned by the column: dropped with it, and restarted by TRUNCATE … RESTART IDENTITY.
        op.execute("CREATE SEQUENCE audit_log_seq OWNED BY audit_log.seq")
        op.execute(
            "SELECT setval('audit_log_seq', (SELECT coalesce(max(seq), 0) + 1 FROM audit_log), "
            "false)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_log_seq")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_chain_link", type_="unique")
        batch_op.drop_column("link")
        batch_op.drop_column("chain")
