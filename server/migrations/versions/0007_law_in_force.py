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
    _fill_scopes()


def _fill_scopes():
    """Give each existing inspection the scope it is judged under from now on: its site's city
    on its local start date, under the declaration in force at upgrade time (stored, so a later
    edit of the declaration does not change what its findings cite)."""
    import json
    import os
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from checklists.governance import load_governance
    from checklists.scope import Scope

    path = os.environ.get('LANTIAN_GOVERNANCE_FILE')
    governance = load_governance(Path(path)) if path else load_governance()
    china = ZoneInfo('Asia/Shanghai')
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT inspections.uuid, inspections.started_at, sites.city_code FROM inspections "
        "JOIN sites ON sites.id = inspections.site_id WHERE inspections.scope IS NULL"
    )).all()
    inspections = sa.table(
        'inspections',
        sa.column('uuid', sa.Uuid()),
        sa.column('scope', sa.JSON().with_variant(JSONB(), 'postgresql')),
    )
    for uuid, started_at, city_code in rows:
        started = started_at if not isinstance(started_at, str) else _parse(started_at)
        if started.tzinfo is None:
            started = started.replace(tzinfo=ZoneInfo('UTC'))
        scope = Scope.of(governance, city_code or None, started.astimezone(china).date())
        connection.execute(
            inspections.update()
            .where(inspections.c.uuid == (uuid if not isinstance(uuid, str) else _uuid(uuid)))
            .values(scope=json.loads(json.dumps(scope.to_dict())))
        )


def _parse(text):
    from datetime import datetime

    return datetime.fromisoformat(text)


def _uuid(text):
    import uuid

    return uuid.UUID(text)


def downgrade():
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_column('scope')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_column('district_code')
        batch_op.drop_column('city_code')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_column('city_code')
