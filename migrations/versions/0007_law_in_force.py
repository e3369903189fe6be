"""the law in force: city codes on enterprises and sites, a site's district code, and the
scope (city, day, governing plans) each inspection was judged under

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 05:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# GB/T 2260 codes of the cities the registry held names for before codes existed. A name not
# listed keeps an empty code: such a site is governed by no plan until it is re-imported.
CITY_CODES = {
    '朔州': '140600', '朔州市': '140600',
    '长治': '140400', '长治市': '140400',
    '太原': '140100', '太原市': '140100',
    '高平': '140581', '高平市': '140581',
}


def upgrade():
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city_code', sa.String(length=6), nullable=False, server_default=''))
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city_code', sa.String(length=6), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('district_code', sa.String(length=12), nullable=False, server_default=''))
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('scope', sa.JSON().with_variant(JSONB(), 'postgresql'), nullable=True)
        )
    enterprises = sa.table('enterprises', sa.column('city', sa.String), sa.column('city_code', sa.String))
    for name, code in CITY_CODES.items():
        op.execute(enterprises.update().where(enterprises.c.city == name).values(city_code=code))
    op.execute(
        "UPDATE sites SET city_code = (SELECT enterprises.city_code FROM enterprises "
        "WHERE enterprises.id = sites.enterprise_id)"
    )


def downgrade():
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_column('scope')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('district_code')
        batch_op.drop_column('city_code')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_column('city_code')
