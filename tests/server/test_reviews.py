"""Review decisions, the outcomes feed, and revising a returned inspection with If-Match."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Answer, Finding, InspectionRevision
from tests.helpers import current_version, inspection_body, new_id

PHOTO = "ef" * 32


@pytest.fixture
def submitted(client: FlaskClient, headers, registry) -> tuple[str, dict[str, Any]]:
    version = current_version(client, headers["inspector"], "construction-dust")
    body = inspection_body(
        registry["sites"]["SZ-construction"].id,
        "construction-dust",
        version,
        [
            {"item": "CD-01", "value": 6000, "note": "", "photos": []},
            {"item": "CD-03", "value": "non_compliant", "note": "围挡缺口", "photos": [PHOTO]},
            {"item": "CD-04", "value": "non_compliant", "note": "未覆盖", "photos": [PHOTO]},
        ],
    )
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    assert response.status_code == 201
    return inspection_id, body


def review(
    client: FlaskClient, headers: dict, inspection_id: str, decision: str, comment: str = ""
) -> Any:
    return client.post(
        f"/api/v1/inspections/{inspection_id}/review",
        json={"decision": decision, "comment": comment},
        headers=headers,
    )


def test_approve(client, headers, submitted) -> None:
    inspection_id, _ = submitted
    response = review(client, headers["supervisor"], inspection_id, "approve")
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved"
    again = review(client, headers["supervisor"], inspection_id, "return", "late")
    assert again.status_code == 409 and "already reviewed" in again.get_json()["message"]


def test_return_needs_a_comment_and_a_supervisor(client, headers, submitted) -> None:
    inspection_id, _ = submitted
    response = review(client, headers["supervisor"], inspection_id, "return", "  ")
    assert response.status_code == 422 and "comment" in response.get_json()["errors"]
    assert review(client, headers["inspector"], inspection_id, "approve").status_code == 403
    assert review(client, headers["enterprise"], inspection_id, "approve").status_code == 403
    bad = review(client, headers["supervisor"], inspection_id, "maybe")
    assert bad.status_code == 422


def test_outcomes_feed_brings_the_decision_to_the_inspector(client, headers, submitted) -> None:
    inspection_id, _ = submitted
    empty = client.get("/api/v1/inspections/outcomes", headers=headers["inspector"]).get_json()
    assert empty["items"] == []
    review(client, headers["supervisor"], inspection_id, "return", "CD-04 照片看不清，请补拍")
    feed = client.get(
        f"/api/v1/inspections/outcomes?since={empty['cursor']}", headers=headers["inspector"]
    ).get_json()
    assert [item["uuid"] for item in feed["items"]] == [inspection_id]
    outcome = feed["items"][0]
    assert outcome["status"] == "returned" and outcome["decision"] == "return"
    assert "补拍" in outcome["comment"] and outcome["etag"] == f"{inspection_id}-r1"
    later = client.get(
        f"/api/v1/inspections/outcomes?since={feed['cursor']}", headers=headers["inspector"]
    ).get_json()
    assert later["items"] == []
    other = client.get("/api/v1/inspections/outcomes", headers=headers["inspector2"]).get_json()
    assert other["items"] == []


def test_a_returned_inspection_is_revised_with_if_match(client, headers, submitted) -> None:
    inspection_id, body = submitted
    path = f"/api/v1/inspections/{inspection_id}"
    review(client, headers["supervisor"], inspection_id, "return", "CD-04 复核")
    revised = copy.deepcopy(body)
    revised["answers"][2] = {"item": "CD-04", "value": "compliant", "note": "已覆盖", "photos": []}
    revised["answers"].append(
        {"item": "CD-05", "value": "non_compliant", "note": "干法作业", "photos": [PHOTO]}
    )

    without = client.put(path, json=revised, headers=headers["inspector"])
    assert without.status_code == 409 and "If-Match" in without.get_json()["message"]
    stale = client.put(
        path, json=revised, headers={**headers["inspector"], "If-Match": f'"{inspection_id}-r0"'}
    )
    assert stale.status_code == 412

    match = {**headers["inspector"], "If-Match": f'"{inspection_id}-r1"'}
    response = client.put(path, json=revised, headers=match)
    assert response.status_code == 200, response.get_json()
    record = response.get_json()
    assert record["revision"] == 2 and record["status"] == "submitted"
    assert response.headers["ETag"] == f'"{inspection_id}-r2"'
    statuses = {f["item"]: f["status"] for f in record["findings"]}
    assert statuses == {"CD-03": "open", "CD-04": "withdrawn", "CD-05": "open"}
    assert {a["item"]: a["verdict"] for a in record["answers"]}["CD-04"] == "compliant"

    # The device did not hear the answer and sends revision 2 again: stored once.
    again = client.put(path, json=revised, headers=match)
    assert again.status_code == 200 and again.get_json()["revision"] == 2
    # Every revision is kept, with its own answers.
    assert db.session.query(InspectionRevision).count() == 2
    assert db.session.query(Answer).count() == 3 + 4
    assert db.session.query(Finding).count() == 3
    # A submitted (not returned) inspection cannot be revised.
    changed = copy.deepcopy(revised)
    changed["answers"][0]["value"] = 7000
    late = client.put(
        path, json=changed, headers={**headers["inspector"], "If-Match": f'"{inspection_id}-r2"'}
    )
    assert late.status_code == 412


def test_if_match_on_an_unknown_inspection_is_412(client, headers, submitted) -> None:
    _, body = submitted
    response = client.put(
        f"/api/v1/inspections/{new_id()}",
        json=body,
        headers={**headers["inspector"], "If-Match": '"x-r1"'},
    )
    assert response.status_code == 412


def test_a_revision_keeps_site_and_checklist(client, headers, registry, submitted) -> None:
    inspection_id, body = submitted
    review(client, headers["supervisor"], inspection_id, "return", "wrong site?")
    moved = copy.deepcopy(body)
    moved["site_id"] = registry["sites"]["CZ-construction"].id
    response = client.put(
        f"/api/v1/inspections/{inspection_id}",
        json=moved,
        headers={**headers["inspector"], "If-Match": f'"{inspection_id}-r1"'},
    )
    assert response.status_code == 422
