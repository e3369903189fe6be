"""/review/alerts: a supervisor declares a heavy-pollution alert on a page and sees it listed."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import Alert
from server.services.timeutil import LOCAL_ZONE
from tests.web.pages import post_form, sign_in


def _local(hours: float) -> str:
    return (datetime.now(LOCAL_ZONE) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def test_a_supervisor_declares_an_orange_alert_on_the_page(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    response = post_form(
        client,
        "/review/alerts",
        "/review/alerts",
        {
            "level": "orange",
            "cities": "朔州",
            "starts_at": _local(-1),
            "ends_at": _local(36),
            "reason": "市气防办橙色预警",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "橙色 / Orange" in response.text and "生效中 / in force" in response.text
    alert = db.session.scalar(select(Alert))
    assert alert is not None and alert.city_codes == ["140600"]


def test_a_bad_form_is_a_422_page_and_stores_nothing(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    for data in (
        {"level": "purple", "cities": "朔州", "ends_at": _local(5), "reason": "x"},
        {"level": "red", "ends_at": _local(5), "reason": "x"},
        {"level": "red", "cities": "朔州", "ends_at": "soon", "reason": "x"},
        {"level": "red", "cities": "朔州", "ends_at": _local(5), "reason": ""},
    ):
        response = post_form(client, "/review/alerts", "/review/alerts", data)
        assert response.status_code == 422, data
    assert db.session.scalar(select(db.func.count()).select_from(Alert)) == 0


def test_inspectors_cannot_open_the_alerts_page(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "insp")
    assert client.get("/review/alerts").status_code == 403
