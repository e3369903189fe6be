"""Unbound extensions, created at import and bound to an app in `create_app`."""

import flask_smorest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
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


class Api(flask_smorest.Api):
    """flask-smorest's Api, without its `X-Pagination` header component: our API blueprint
    documents the header with the fields it really sends (server/api/blueprint.py), and
    flask-smorest's would leave an unused, stricter `PaginationMetadata` in the spec."""

    def _register_pagination_header(self) -> None:
        pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = Api()

# Web forms: CSRF is checked by the web blueprints only (the API uses bearer tokens, which a
# browser never sends on its own, so it needs no CSRF token).
csrf = CSRFProtect()
# Login attempts per client address and username; memory by default, Redis when configured.
limiter = Limiter(key_func=get_remote_address)


def init_limiter(app: Flask) -> None:
    """Flask-Limiter for the views that declare limits, and for no other request.

    Flask-Limiter also checks every request in a `before_request` hook, for application-wide
    and default limits; we set neither, and a decorated view checks its own limits when it is
    called (flask_limiter/_limits.py), so the hook only resolved "no limits" on every API and
    page request: about a tenth of a checklist 304. It is removed here, and refused back if
    someone configures limits that only the hook would enforce.
    """
    for setting in ("RATELIMIT_APPLICATION", "RATELIMIT_DEFAULT"):
        if app.config.get(setting):
            raise RuntimeError(f"{setting} needs Flask-Limiter's before_request check")
    limiter.init_app(app)
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if hook != limiter._check_request_limit]
