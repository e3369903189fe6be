"""Unbound extensions, created at import and bound to an app in `create_app`."""

from collections.abc import Mapping

from flask import Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = Api()

# Web forms: CSRF is checked by the web blueprints only (the API uses bearer tokens, which a
# browser never sends on its own, so it needs no CSRF token).
csrf = CSRFProtect()
# Login attempts per client address and username; memory by default, Redis when configured.
limiter = Limiter(key_func=get_remote_address)

TOO_MANY_FAILED_LOGINS = "登录失败次数过多，请稍后再试 / too many failed logins, try again later"


def login_limit() -> str:
    """The configured allowance of failed logins (per address and username)."""
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def login_attempt_key() -> str:
    """Failed logins count per client address and username, so one user's typos do not lock
    out an office behind one address, and a guesser cannot rotate names unboundedly."""
    body = request.get_json(silent=True) if request.is_json else request.form
    username = body.get("username", "") if isinstance(body, Mapping) else ""
    return f"{get_remote_address()}|{str(username)[:80]}"


def failed_login(response: Response) -> bool:
    """Only refused logins use up the allowance."""
    return response.status_code == 401
