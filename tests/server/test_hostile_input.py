"""Hostile values that once gave 500s: each is now a 4xx in the one error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.services.registry import save_site
from tests.helpers import PASSWORD, new_id
from tests.web.pages import csrf_from


def _put(client: FlaskClient, world: dict[str, Any], **times: str) -> Any:
    body = {**world["inspection_body"], **times}
    return client.put(
        f"/api/v1/inspections/{new_id()}", json=body, headers=world["headers"]["inspector"]
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("started_at", "9999-12-31T23:59:59-12:00"),  # past datetime.max in UTC
        ("finished_at", "9999-12-31T23:59:59-12:00"),
        ("device_time", "9999-12-31T23:59:59-12:00"),
        ("started_at", "0001-01-01T00:00:00+14:00"),  # before datetime.min in UTC
        ("device_time", "0001-01-01T00:00:00+14:00"),
    ],
)
def test_times_that_overflow_utc_are_422(
    client: FlaskClient, world: dict[str, Any], field: str, value: str
) -> None:
    response = _put(client, world, **{field: value})
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["code"] == 422 and field in body["errors"]["json"], body


@pytest.mark.parametrize(
    "started",
    [
        "0001-01-02T00:00:00Z",
        "1999-12-31T15:59:59Z",  # 1999-12-31 23:59:59 in China
        "__FUTURE__",
    ],
)
def test_implausible_inspection_dates_are_422(
    client: FlaskClient, world: dict[str, Any], started: str
) -> None:
    """An inspection starts after 2000-01-01 (China time) and at most a day ahead of the
    server's clock; it ends after it started and within the same bounds."""
    if started == "__FUTURE__":
        started = (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat()
    response = _put(client, world, started_at=started, finished_at=started)
    assert response.status_code == 422, response.get_json()
    assert "started_at" in response.get_json()["errors"], response.get_json()


def test_a_plausible_edge_date_is_accepted(client: FlaskClient, world: dict[str, Any]) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    response = _put(client, world, started_at=soon, finished_at=soon)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "target", ["/review/queue%0d%0aSet-Cookie:%20x=1", "/review/queue%0a", "/review/%0dx"]
)
def test_login_next_with_a_line_break_is_ignored(client: FlaskClient, users, target: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get(f"/review/login?next={target}")
    assert page.status_code == 200
    token = csrf_from(page.text)
    data = {"username": "sup", "password": PASSWORD, "csrf_token": token}
    response = client.post(f"/review/login?next={target}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/review/"
    again = client.get(f"/review/login?next={target}")  # signed in: a redirect
    assert again.status_code == 302 and again.headers["Location"] == "/review/"


def test_a_site_code_with_quotes_and_line_breaks_names_its_label(
    client: FlaskClient, registry, headers
) -> None:  # type: ignore[no-untyped-def]
    """The label's Content-Disposition carries the code RFC 6266-encoded (filename*), with
    a plain ASCII fallback, whatever the registry put in the code."""
    code = 'SZ-"evil"\r\nX-Injected: 1;站点'
    site = save_site(
        registry["shuozhou"],
        {
            "code": code,
            "name": "怪名场所",
            "kind": "construction",
            "address": "测试路2号",
            "lat": 39.33,
            "lon": 112.43,
            "radius_m": 300.0,
            "active": True,
        },
    )
    db.session.commit()
    response = client.get(f"/api/v1/sites/{site.id}/label.png", headers=headers["inspector"])
    assert response.status_code == 200
    assert "X-Injected" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    from werkzeug.http import parse_options_header

    kind, options = parse_options_header(disposition)
    assert kind == "inline"
    assert options["filename"] == f"site-{code}.png"  # werkzeug decodes filename*
