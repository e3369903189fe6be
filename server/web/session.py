"""Who is signed in to the web pages.

A browser session holds an API token in Flask's signed cookie. Reusing the token store means
one notion of a session: token expiry, `lantian-server users revoke` and deactivating a user
end web sessions exactly as they end API and device sessions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Request, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin

from server.models import Role, User
from server.services import accounts
from server.services.errors import Unauthorized

F = TypeVar("F", bound=Callable[..., Any])
STAFF = (Role.SUPERVISOR, Role.ADMIN)
TOKEN_KEY = "api_token"
API_PREFIX = "/api/"


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session for the pages; API requests get an empty, unusable one.

    The API authenticates by bearer token alone and never reads the session, yet Flask opens
    it on every request: cookies parsed and a signing serializer built, a few per cent of a
    checklist 304. Skipping it also keeps API code from coming to depend on a page's cookie.
    """

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def sign_in(username: str, password: str) -> User:
    """Check the password and start a browser session; Unauthorized when wrong."""
    hours = current_app.config["WEB_SESSION_HOURS"]
    token, user, _expires = accounts.issue_token(username, password, timedelta(hours=hours))
    session.clear()  # a new session id on every login: no session fixation
    session[TOKEN_KEY] = token
    session.permanent = True
    return user


def sign_out() -> None:
    token = session.get(TOKEN_KEY)
    if token:
        accounts.revoke_token(token)
    session.clear()


def signed_in_user() -> User | None:
    """The user of this browser session, or None (expired, revoked or never signed in)."""
    token = session.get(TOKEN_KEY)
    if not token:
        return None
    try:
        return accounts.user_for_token(token)
    except Unauthorized:
        session.clear()
        return None


def web_user() -> User:
    return g.web_user


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: a login link must not forward anyone elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None  # control characters (CR/LF) cannot go into a Location header
    return target


def home_of(user: User) -> str:
    return url_for("portal.home") if user.role == Role.ENTERPRISE else url_for("review.dashboard")


def landing(user: User, wanted: str | None) -> str:
    """Where to go after logging in: the page asked for when it is one of the user's own
    (a notice's QR link is, for staff too), otherwise the user's start page."""
    if wanted is not None:
        portal = wanted.startswith("/portal/")
        if user.role == Role.ENTERPRISE and portal:
            return wanted
        if user.role in STAFF and (not portal or wanted.startswith("/portal/notices/")):
            return wanted
    return home_of(user)


def require(*roles: Role, login_endpoint: str) -> Callable[[F], F]:
    """Send anonymous visitors to the login page (and back afterwards); 403 for other roles."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = signed_in_user()
            if user is None:
                return redirect(url_for(login_endpoint, next=request.full_path.rstrip("?")))
            g.web_user = user  # also on the 403 page, which then offers to sign out
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
