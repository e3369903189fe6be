"""Helpers for driving the server-rendered pages with Flask's test client, as a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.helpers import PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, area: str = "review") -> None:
    """Log in through the login form (a session cookie, not a bearer token)."""
    page = client.get(f"/{area}/login")
    response = client.post(
        f"/{area}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302, response.text


def post_form(client: FlaskClient, page_path: str, action: str, data: dict, **kwargs):  # type: ignore[no-untyped-def]
    """Submit a form the way a browser does: with the CSRF token of the page it is on."""
    token = csrf_from(client.get(page_path).text)
    return client.post(action, data={**data, "csrf_token": token}, **kwargs)
