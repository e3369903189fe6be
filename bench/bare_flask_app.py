"""The same-framework ceiling: a bare Flask + Flask-SQLAlchemy app doing the least possible.

`PUT /records/<uuid>` stores the request body as one JSON row and answers 201; a second
PUT of the same id answers 200 (idempotent, like ours). `GET /checklists/<id>` reads the
stored version and answers 304 when `If-None-Match` names it. No authentication, no
validation, no evaluation: whatever our server does beyond this is what our features cost.

Served by gunicorn with the same settings as ours (bench/gunicorn_bench.py); the database
comes from BENCH_BARE_DATABASE_URL (SQLite with our pragmas, or PostgreSQL via psycopg 3).
Run `python bench/bare_flask_app.py init` once to create the tables and the checklist row.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, String, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Record(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Checklist(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "checklists"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    version: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """The pragmas our server sets, so the ceiling is measured on the same SQLite setup."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "busy_timeout=10000",
        "synchronous=NORMAL",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def database_url() -> str:
    url = os.environ["BENCH_BARE_DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}  # as ours
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)

    @app.put("/records/<uuid:record_id>")
    def put_record(record_id: Any) -> tuple[dict[str, str], int]:
        body = request.get_json()
        db.session.add(Record(id=str(record_id), body=body, received_at=datetime.now(UTC)))
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return {"id": str(record_id)}, 200
        return {"id": str(record_id)}, 201

    @app.get("/checklists/<checklist_id>")
    def get_checklist(checklist_id: str) -> Response:
        version = db.session.scalar(
            db.select(Checklist.version).where(Checklist.id == checklist_id)
        )
        if version is None:
            return Response(status=404)
        etag = f'"{version}"'
        if etag in request.headers.get("If-None-Match", ""):
            return Response(status=304, headers={"ETag": etag})
        row = db.session.get(Checklist, checklist_id)
        return Response(
            json.dumps(row.body, ensure_ascii=False),
            mimetype="application/json",
            headers={"ETag": etag},
        )

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def init(checklist_id: str, version: str, body: dict[str, Any]) -> None:
    """Create the tables and store one checklist version (before any worker starts)."""
    app = create_app()
    with app.app_context():
        db.create_all()
        db.session.merge(Checklist(id=checklist_id, version=version, body=body))
        db.session.commit()
        db.engine.dispose()


if __name__ == "__main__":
    if sys.argv[1:2] != ["init"]:
        raise SystemExit("usage: BENCH_BARE_DATABASE_URL=... bare_flask_app.py init")
    document = json.load(sys.stdin)
    init(document["id"], document["version"], document)
