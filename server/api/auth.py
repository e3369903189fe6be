"""Bearer authentication for /api/v1 and role checks for each view.

Authentication happens before every /api/v1 request except the token endpoint and the
spec, so a new route is protected by default; views then declare the roles they admit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask.views import MethodView

from server.api.blueprint import Blueprint
from server.api.schemas import TokenIn, TokenOut
from server.http_common.throttle import TOO_MANY_FAILED_LOGINS, login_throttle
from server.models import Role, User
from server.services import accounts
from server.services.errors import ErrorCode, Forbidden, Unauthorized

PUBLIC_PATHS = ("/api/v1/auth/token", "/api/v1/openapi.json")
F = TypeVar("F", bound=Callable[..., Any])

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录 / Tokens")


def _authenticate() -> None:
    if not request.path.startswith("/api/v1/") or request.path in PUBLIC_PATHS:
        return
    if request.method == "OPTIONS":  # discovery (tus, CORS) carries no data
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            ErrorCode.AUTH_REQUIRED, "需要登录 / Authorization: Bearer <token> required"
        )
    g.user = accounts.user_for_token(token.strip())


def current_user() -> User:
    """The authenticated user of this request."""
    return g.user


def roles(*allowed: Role) -> Callable[[F], F]:
    """Admit only users with one of these roles (403 for the others)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user().role not in allowed:
                names = ", ".join(role.value for role in allowed)
                raise Forbidden(
                    ErrorCode.AUTH_FORBIDDEN, f"无权访问 / this needs one of the roles: {names}"
                )
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def init_auth(app: Flask) -> None:
    app.before_request(_authenticate)


@blp.route("/token")
class Token(MethodView):
    decorators = (login_throttle,)

    @blp.doc(security=[])  # the one way in: no token needed
    @blp.arguments(TokenIn)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, description="用户名或密码错误 / wrong username or password")
    @blp.alt_response(429, description=TOO_MANY_FAILED_LOGINS)
    def post(self, credentials: dict[str, str]) -> dict[str, Any]:
        """Exchange username and password for a bearer token."""
        ttl = timedelta(hours=current_app.config["TOKEN_TTL_HOURS"])
        token, user, expires_at = accounts.issue_token(
            credentials["username"], credentials["password"], ttl
        )
        return {
            "token": token,
            "role": user.role,
            "expires_at": expires_at,
            "user": user,
        }
