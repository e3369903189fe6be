"""Unbound extensions, created at import and bound to an app in `create_app`."""

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints, so that migrations (SQLite's batch mode above all) can drop them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()

# Login attempts per client address and username; memory by default, Redis when configured.
limiter = Limiter(key_func=get_remote_address)


# Settings whose limits only Flask-Limiter's per-request hook enforces (see init_limiter).
HOOK_ONLY_SETTINGS = (
    "RATELIMIT_APPLICATION",
    "RATELIMIT_DEFAULT",
    "RATELIMIT_META",
    "RATELIMIT_IN_MEMORY_FALLBACK",
)


def init_limiter(app: Flask) -> None:
    """Flask-Limiter for the views that declare limits, and for no other request.

    Flask-Limiter also checks every request in a `before_request` hook, for application-wide,
    default, meta, fallback and blueprint limits; we set none, and a decorated view checks
    its own limits when it is called (flask_limiter/_limits.py), so the hook only resolved
    "no limits" on every API and page request: about a tenth of a checklist 304. It is
    removed here. Settings that only the hook would enforce are refused before they reach
    the shared limiter; limits set in code are refused by `hook_only_limits` at the end of
    `create_app`.
    """
    for setting in HOOK_ONLY_SETTINGS:
        if app.config.get(setting):
            raise RuntimeError(f"{setting} needs Flask-Limiter's before_request check")
    limiter.init_app(app)
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if hook != limiter._check_request_limit]


def hook_only_limits(instance: Limiter) -> list[str]:
    """The kinds of limit `instance` holds that only the removed hook would enforce (limits
    passed to its constructor or put on a whole blueprint); empty is the only safe answer."""
    manager = instance.limit_manager
    held = {
        "default limits": manager.default_limits,
        "application limits": manager.application_limits,
        "blueprint limits": manager._blueprint_limits,
        "meta limits": instance._meta_limits,
        "in-memory fallback limits": instance._in_memory_fallback,
    }
    return [kind for kind, limits in held.items() if limits]
