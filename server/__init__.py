"""Lantian Inspect server: `create_app()` builds the Flask app from configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event

from server.config import load_config
from server.extensions import csrf, db, hook_only_limits, init_limiter, limiter, migrate

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


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
    from server.services.audit import register_hooks
    from server.storage import init_store
    from server.web import init_web

    db.init_app(app)
    register_hooks()
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
    return app
