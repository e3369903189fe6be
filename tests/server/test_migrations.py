"""Migrations: an empty database upgrades to head, and models and migrations agree."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from psycopg import sql
from sqlalchemy import inspect

from server import create_app
from server.extensions import db


def _scratch(database_url: str, create: bool) -> str:
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    name = f"{info['dbname']}_migrations"
    admin = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        if create:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(database_url, dbname=name)


def scratch_postgres(database_url: str) -> str:
    """A separate, empty database beside the test database (whose schema others use)."""
    return _scratch(database_url, create=True)


def drop_scratch_postgres(database_url: str) -> None:
    """Leave no scratch database behind."""
    _scratch(database_url, create=False)


def fresh_app(engine_name: str, database_url: str, tmp_path: Path):
    if engine_name == "postgresql":
        info = psycopg.conninfo.conninfo_to_dict(scratch_postgres(database_url))
        url = (
            f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
            f"{info.get('port', 5432)}/{info['dbname']}"
        )
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    return create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp_path)})


def test_empty_database_upgrades_to_head_with_no_autogenerate_diff(
    engine_name: str, database_url: str, tmp_path: Path
) -> None:
    app = fresh_app(engine_name, database_url, tmp_path)
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {
            "inspections",
            "findings",
            "photos",
            "sites",
            "enterprises",
            "users",
            "checklist_versions",
            "alembic_version",
        } <= tables
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], diff
        # Down and up again: every migration can be undone.
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        db.engine.dispose()
    if engine_name == "postgresql":
        drop_scratch_postgres(database_url)
