"""Clues: recorded with a place, matched to the registered sites nearby, turned into a task
or dismissed once; the dashboard's response and closure rates count them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import Clue
from server.services import clues
from tests.helpers import TODAY

pytestmark = pytest.mark.usefixtures("clock")

NEAR = {"lat": 39.331, "lon": 112.431}  # about 120 m from the test sites (39.33, 112.43)


def post_clue(client, headers, role: str = "supervisor", **extra):  # type: ignore[no-untyped-def]
    body = {"kind": "complaint", "description": "夜间露天焚烧，烟味大", **NEAR, **extra}
    return client.post("/api/v1/clues", json=body, headers=headers[role])


def test_distance_is_the_great_circle_distance() -> None:
    # One degree of latitude is about 111.2 km everywhere.
    assert clues.distance_m(39.0, 112.0, 40.0, 112.0) == pytest.approx(111_195, rel=1e-3)
    assert clues.distance_m(39.33, 112.43, 39.33, 112.43) == 0


def test_a_clue_is_matched_to_the_sites_within_the_radius(
    client, headers, registry, app, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    response = post_clue(client, headers, external_ref="12369-0001")
    assert response.status_code == 201, response.get_json()
    clue = response.get_json()
    assert clue["status"] == "new" and clue["actions"] == ["to_task", "dismiss"]
    assert clue["radius_m"] == 500
    # Every test site stands at the same point: all matched, all ~120 m away.
    assert len(clue["matches"]) == len(registry["sites"])
    assert all(100 < m["distance_m"] < 150 for m in clue["matches"])
    far = post_clue(client, headers, lat=39.40, lon=112.43).get_json()
    assert far["matches"] == [] and far["city"] == ""
    monkeypatch.setitem(app.config, "CLUE_RADIUS_M", 100.0)  # the app outlives the test
    assert post_clue(client, headers).get_json()["matches"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"lat": 91}, "lat"),
        ({"lon": "east"}, "lon"),
        ({"lat": float("nan")}, "lat"),
        ({"description": ""}, "description"),
        ({"description": "  "}, "description"),
        ({"received_at": "2999-01-01T00:00:00+08:00"}, "received_at"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_clue_is_a_422_with_its_field(client, headers, registry, body, field) -> None:  # type: ignore[no-untyped-def]
    if body.get("lat") != body.get("lat"):  # NaN is not JSON: send the literal
        response = client.post(
            "/api/v1/clues",
            data='{"kind":"complaint","description":"x","lat":NaN,"lon":112.4}',
            headers={**headers["supervisor"], "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422)
        assert response.get_json()["error"] in ("request.malformed", "request.invalid")
        return
    response = post_clue(client, headers, **body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"] in ("clue.invalid", "request.invalid")
    assert field in str(response.get_json()["errors"])
    assert db.session.scalar(select(Clue)) is None


def test_an_inspector_reports_only_their_own_clues(client, headers, registry) -> None:  # type: ignore[no-untyped-def]
    assert post_clue(client, headers, "inspector").status_code == 403
    own = post_clue(client, headers, "inspector", kind="inspector_report")
    assert own.status_code == 201
    assert client.get("/api/v1/clues", headers=headers["inspector"]).status_code == 403
    assert post_clue(client, headers, "enterprise").status_code == 403


def test_a_clue_becomes_one_task_and_the_rates_count_it(
    client, headers, users, registry, app
) -> None:  # type: ignore[no-untyped-def]
    clue = post_clue(client, headers).get_json()
    site = registry["sites"]["SZ-construction"]
    body = {
        "site_ids": [site.id],
        "checklist_id": "construction-dust",
        "due_on": (TODAY + timedelta(days=2)).isoformat(),
        "inspector_ids": [users["inspector"].id, users["inspector2"].id],
    }
    made = client.post(f"/api/v1/clues/{clue['id']}/task", json=body, headers=headers["supervisor"])
    assert made.status_code == 201, made.get_json()
    task = made.get_json()
    assert task["reason"] == "clue" and task["source_ref"] == f"clue:{clue['id']}"
    again = client.post(
        f"/api/v1/clues/{clue['id']}/task", json=body, headers=headers["supervisor"]
    )
    assert again.status_code == 409 and again.get_json()["error"] == "clue.not_open"
    dismissed = client.post(
        f"/api/v1/clues/{clue['id']}/dismiss",
        json={"reason": "重复"},
        headers=headers["supervisor"],
    )
    assert dismissed.status_code == 409
    second = post_clue(client, headers).get_json()
    bad = client.post(
        f"/api/v1/clues/{second['id']}/task",
        json={**body, "inspector_ids": [users["inspector"].id, users["inspector"].id]},
        headers=headers["supervisor"],
    )
    assert bad.status_code == 422 and bad.get_json()["error"] == "task.invalid"
    assert (
        client.get(f"/api/v1/clues/{second['id']}", headers=headers["supervisor"]).get_json()[
            "status"
        ]
        == "new"
    )
    # An old clue nobody answered: late, counted against the response rate.
    late = post_clue(
        client, headers, received_at=(datetime.now(UTC) - timedelta(days=5)).isoformat()
    ).get_json()
    blank = client.post(  # zero-width spaces and a bidi mark are no reason
        f"/api/v1/clues/{second['id']}/dismiss",
        json={"reason": "\u200b\u202e\u200b"},
        headers=headers["supervisor"],
    )
    assert blank.status_code == 422 and blank.get_json()["error"] == "clue.invalid"
    ok = client.post(
        f"/api/v1/clues/{second['id']}/dismiss",
        json={"reason": "非本辖区"},
        headers=headers["supervisor"],
    )
    assert ok.status_code == 200 and ok.get_json()["status"] == "dismissed"
    rates = clues.rates(users["supervisor"])
    assert (rates.total, rates.answerable, rates.answered_in_time) == (3, 3, 2)
    assert rates.late_waiting == 1 and late["status"] == "new"
    assert rates.response_rate == pytest.approx(2 / 3)
    assert (rates.tasked, rates.closed, rates.closure_rate) == (1, 0, 0.0)
