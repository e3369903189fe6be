"""Limits on failed logins, shared by the token endpoint and the login pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import Response, current_app, make_response, request
from flask_limiter.util import get_remote_address

from server.extensions import limiter
from server.services.accounts import normalise_username

F = TypeVar("F", bound=Callable[..., Any])
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


# One shared allowance for the token endpoint and both login pages: a guesser gains nothing
# by switching. Only POSTs count. Every attempt is charged BEFORE the password is checked
# (Flask-Limiter's `hit`, atomic in memory and Redis): charging after the check, as
# `deduct_when` does, let simultaneous guesses all pass the test before any was charged.
_charge_login = limiter.shared_limit(
    login_limit,
    "login",
    key_func=login_attempt_key,
    error_message=TOO_MANY_FAILED_LOGINS,
    methods=["POST"],
)


def _forgive_this_login() -> None:
    """A successful login clears its address and username's count, so that only failed
    logins use up the allowance (the right password had to be known to get here)."""
    for charged in limiter.current_limits:
        charged.limiter.clear(charged.limit, *charged.request_args)


def login_throttle(view: F) -> F:
    """Decorates a login view (or a MethodView's `decorators`) with the login allowance."""
    charged = _charge_login(view)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        response = make_response(charged(*args, **kwargs))
        if request.method == "POST" and response.status_code < 400:
            _forgive_this_login()
        return response

    return wrapper  # type: ignore[return-value]
