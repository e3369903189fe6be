"""Limits on failed logins, shared by the token endpoint and the login pages."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, current_app, request
from flask_limiter.util import get_remote_address

from server.extensions import limiter
from server.services.accounts import normalise_username

TOO_MANY_FAILED_LOGINS = "登录失败次数过多，请稍后再试 / too many failed logins, try again later"


def login_limit() -> str:
    """The configured allowance of failed logins (per address and username)."""
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def login_attempt_key() -> str:
    """Failed logins count per client address and username, so one user's typos do not lock
    out an office behind one address, and a guesser cannot rotate names unboundedly."""
    body: object = None
    if request.path.startswith("/api/"):
        # Only JSON is read here; anything else is the view's to refuse (415), so the body
        # is left for it, and hostile nesting is its 400 to give.
        try:
            body = request.get_json(silent=True) if request.is_json else None
        except RecursionError:
            body = None
    else:
        body = request.form  # the login pages post forms
    username = body.get("username", "") if isinstance(body, Mapping) else ""
    # The spelling the lookup uses, so ' name' and 'name\u3000' share name's allowance. A
    # lone surrogate (refused later by the view) is escaped: a Redis key must be UTF-8.
    name = normalise_username(str(username))[:80].encode("utf-8", "backslashreplace")
    return f"{get_remote_address()}|{name.decode('utf-8')}"


def failed_login(response: Response) -> bool:
    """Only refused logins use up the allowance."""
    return response.status_code == 401


# Decorates a login view (or a MethodView's `decorators`); only POSTs are counted. One shared
# allowance for the token endpoint and both login pages: a guesser gains nothing by switching.
login_throttle = limiter.shared_limit(
    login_limit,
    "login",
    key_func=login_attempt_key,
    deduct_when=failed_login,
    error_message=TOO_MANY_FAILED_LOGINS,
    methods=["POST"],
)
