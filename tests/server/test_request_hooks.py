"""What every request pays for: the hooks the API and the pages run before each view.

A checklist 304 is mostly these hooks, so two of them were narrowed (bench/profile_notes.md):
Flask-Limiter checks only in the views that declare limits, and API requests do not open
the pages' cookie session. These tests hold both decisions to what they promise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask, session
from flask.sessions import NullSession
from flask.testing import FlaskClient
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from server import create_app
from server.extensions import HOOK_ONLY_SETTINGS, hook_only_limits, limiter
from tests.web.pages import sign_in


def test_limits_are_checked_in_the_limited_views_only(app: Flask) -> None:
    """The per-request hook is gone; the login views' own check still refuses guessers
    (tests/web/test_review_pages.py::test_failed_logins_are_limited_on_pages_and_api)."""
    hooks = app.before_request_funcs.get(None, [])
    assert limiter._check_request_limit not in hooks
    assert app.after_request_funcs.get(None), "the limiter still counts refused logins"


@pytest.mark.parametrize("setting", HOOK_ONLY_SETTINGS)
def test_settings_that_need_the_hook_are_refused(setting: str, tmp_path: Path) -> None:
    """Default, application-wide, meta and fallback limits would silently not apply."""
    with pytest.raises(RuntimeError, match=setting):
        create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                "DATA_DIR": str(tmp_path),
                setting: "100 per minute",
            }
        )


def test_limits_set_in_code_that_need_the_hook_are_found(app: Flask) -> None:
    """What `create_app` checks last: limits given to a limiter's constructor or put on a
    whole blueprint (fresh limiters here, so the app's shared one stays as it is)."""
    assert hook_only_limits(limiter) == []
    by_default = Limiter(key_func=get_remote_address, default_limits=["1 per second"])
    assert hook_only_limits(by_default) == ["default limits"]
    everywhere = Limiter(key_func=get_remote_address, application_limits=["1 per second"])
    assert hook_only_limits(everywhere) == ["application limits"]
    on_blueprint = Limiter(key_func=get_remote_address)
    on_blueprint.limit("1 per second")(Blueprint("pages", __name__))
    assert hook_only_limits(on_blueprint) == ["blueprint limits"]


def test_api_requests_get_no_cookie_session(app: Flask) -> None:
    with app.test_request_context("/api/v1/sites"):
        assert isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]
    with app.test_request_context("/review/login"):
        assert not isinstance(session._get_current_object(), NullSession)  # type: ignore[attr-defined]


def test_a_page_session_neither_reaches_nor_survives_the_api(
    client: FlaskClient, users, headers: dict[str, dict[str, str]]
) -> None:  # type: ignore[no-untyped-def]
    """Signed in on the pages, the browser's cookie is no API credential, an API call leaves
    the page session as it was, and the API sets no session cookie of its own."""
    sign_in(client, "sup")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert client.get("/api/v1/sites").status_code == 401
    answered = client.get("/api/v1/sites", headers=headers["supervisor"])
    assert answered.status_code == 200
    assert "Set-Cookie" not in answered.headers
    assert client.get_cookie("session").value == cookie.value
    assert client.get("/review/").status_code == 200
