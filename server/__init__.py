"""Lantian Inspect server: `create_app()` builds the Flask app from configuration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.exc import SQLAlchemyError

from server.config import load_config
from server.extensions import db, hook_only_limits, init_limiter, limiter, migrate
from server.http_common.extensions import csrf

# Inside the package, so an installed wheel carries its migrations (`db upgrade` from it).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, foreign keys on, and a wait instead of 'database is locked'."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides the environment (tests pass their database here)."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, config))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # readable Chinese in JSON

    import server.models  # noqa: F401  (registers the tables)
    from server.api import init_api
    from server.services import jobs, outbox
    from server.services.audit import register_hooks
    from server.storage import init_store
    from server.web import init_web

    db.init_app(app)
    register_hooks()
    outbox.register_hooks()
    jobs.init_jobs(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), compare_type=True)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
    csrf.init_app(app)
    init_limiter(app)
    init_store(app)
    init_api(app)
    init_web(app)
    if unchecked := hook_only_limits(limiter):
        raise RuntimeError(f"{', '.join(unchecked)} need Flask-Limiter's before_request check")
    from server.services.decode_budget import give_pixels_back

    give_pixels_back()
    if app.config["UPLOAD_EXPIRY_ON_START"]:
        _expire_uploads(app)
    return app


def _expire_uploads(app: Flask) -> None:
    """Drop unfinished uploads past their age when the server starts (every worker may; the
    work is idempotent). A database not yet migrated, or not reachable, is left for later:
    starting must not depend on it."""
    from server.services import uploads
    from server.storage import photo_store

    with app.app_context():
        try:
            if not inspect(db.engine).has_table("uploads"):
                return
            hours = app.config["UPLOAD_EXPIRY_HOURS"]
            dropped = uploads.expire(photo_store(), timedelta(hours=hours))
        except SQLAlchemyError as error:
            db.session.rollback()
            app.logger.warning("could not expire unfinished uploads at start-up: %s", error)
            return
        finally:
            db.session.remove()
    if dropped:
        app.logger.info("expired %d unfinished upload(s) older than %s h", dropped, hours)
