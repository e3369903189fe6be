"""The sync API for inspections: idempotent PUT, 409 on a different body, 422 on bad input,
findings derived by the server's own evaluation."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Answer, Finding, Inspection, InspectionRevision
from tests.helpers import current_version, inspection_body, new_id

PHOTO = "ab" * 32
OTHER_PHOTO = "cd" * 32


@pytest.fixture
def coal_body(client: FlaskClient, headers, registry) -> dict[str, Any]:
    """A boiler-house inspection in Shuozhou with an ash content and a boiler over the limits."""
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    site = registry["sites"]["SZ-boiler_house"]
    return inspection_body(
        site.id,
        "coal-and-boilers",
        version,
        [
            {"item": "CB-04", "value": "yes", "note": "", "photos": []},
            {"item": "CB-05", "value": 18.5, "note": "抽检灰分18.5%", "photos": [PHOTO]},
            {"item": "CB-06", "value": 0.6, "note": "", "photos": []},
            {"item": "CB-09", "value": "yes", "note": "", "photos": []},
            {"item": "CB-10", "value": 20, "note": "铭牌20蒸吨", "photos": [OTHER_PHOTO]},
        ],
    )


def put(client: FlaskClient, headers: dict[str, str], inspection_id: str, body: dict) -> Any:
    return client.put(f"/api/v1/inspections/{inspection_id}", json=body, headers=headers)


def test_new_inspection_is_201_with_server_verdicts(client, headers, coal_body) -> None:
    inspection_id = new_id()
    response = put(client, headers["inspector"], inspection_id, coal_body)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["uuid"] == inspection_id and body["status"] == "submitted"
    verdicts = {answer["item"]: answer["verdict"] for answer in body["answers"]}
    assert verdicts == {
        "CB-04": "compliant",
        "CB-05": "non_compliant",  # 18.5 % ash > 16 %
        "CB-06": "compliant",
        "CB-09": "compliant",
        "CB-10": "non_compliant",  # 20 t/h <= 35 t/h of Shuozhou's 2024 plan
    }
    assert sorted(f["item"] for f in body["findings"]) == ["CB-05", "CB-10"]
    assert all(f["status"] == "open" for f in body["findings"])
    assert sorted(body["missing_photos"]) == sorted([PHOTO, OTHER_PHOTO])
    # The PUT answers from the rows it just wrote; a later GET reads them from the database.
    stored = client.get(f"/api/v1/inspections/{inspection_id}", headers=headers["inspector"])
    assert stored.get_json() == body
    assert [f["id"] for f in body["findings"]] == sorted(f["id"] for f in body["findings"])


def test_the_city_decides_the_limit(client, headers, registry, coal_body) -> None:
    # The same 36 t/h boiler: compliant in Changzhi (below 35 is phased out), and in
    # Shuozhou too, whose 2024 plan phases out 35 t/h and below.
    body = copy.deepcopy(coal_body)
    body["answers"] = [
        {"item": "CB-09", "value": "yes", "note": "", "photos": []},
        {"item": "CB-10", "value": 35, "note": "", "photos": [PHOTO]},
    ]
    body["site_id"] = registry["sites"]["CZ-boiler_house"].id
    changzhi = put(client, headers["inspector"], new_id(), body).get_json()
    body["site_id"] = registry["sites"]["SZ-boiler_house"].id
    shuozhou = put(client, headers["inspector"], new_id(), body).get_json()
    assert changzhi["findings"] == []
    assert [f["item"] for f in shuozhou["findings"]] == ["CB-10"]


def test_replaying_the_same_inspection_ten_times_stores_one(client, headers, coal_body) -> None:
    inspection_id = new_id()
    statuses = [
        put(client, headers["inspector"], inspection_id, coal_body).status_code for _ in range(10)
    ]
    assert statuses == [201] + [200] * 9
    assert db.session.query(Inspection).count() == 1
    assert db.session.query(InspectionRevision).count() == 1
    assert db.session.query(Answer).count() == 5
    assert db.session.query(Finding).count() == 2


def test_identical_resend_with_other_time_notation_is_still_identical(
    client, headers, coal_body
) -> None:
    inspection_id = new_id()
    assert put(client, headers["inspector"], inspection_id, coal_body).status_code == 201
    same = copy.deepcopy(coal_body)
    same["started_at"] = same["started_at"].replace("+00:00", "Z")
    assert put(client, headers["inspector"], inspection_id, same).status_code == 200


def test_different_body_under_a_submitted_id_is_409(client, headers, coal_body) -> None:
    inspection_id = new_id()
    assert put(client, headers["inspector"], inspection_id, coal_body).status_code == 201
    changed = copy.deepcopy(coal_body)
    changed["answers"][1]["value"] = 12.0
    response = put(client, headers["inspector"], inspection_id, changed)
    assert response.status_code == 409
    body = response.get_json()
    assert "never overwritten" in body["message"]
    assert body["errors"]["differences"] == ["answers[CB-05].value"]
    stored = client.get(f"/api/v1/inspections/{inspection_id}", headers=headers["inspector"])
    assert stored.get_json()["answers"][1]["value"] == 18.5


def test_another_inspector_cannot_take_an_id(client, headers, coal_body) -> None:
    inspection_id = new_id()
    assert put(client, headers["inspector"], inspection_id, coal_body).status_code == 201
    response = put(client, headers["inspector2"], inspection_id, coal_body)
    assert response.status_code == 409
    assert "another inspector" in response.get_json()["message"]


def error_fields(response: Any) -> dict:
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    return errors.get("json", errors)


def test_unknown_item_is_422(client, headers, coal_body) -> None:
    coal_body["answers"].append({"item": "CB-99", "value": "compliant", "photos": []})
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "unknown item" in errors["answers"]["5"]["item"][0]


def test_wrong_value_type_is_422(client, headers, coal_body) -> None:
    coal_body["answers"][1]["value"] = "eighteen"
    coal_body["answers"][0]["value"] = "maybe"
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "number" in errors["answers"]["1"]["value"][0]
    assert "must be one of" in errors["answers"]["0"]["value"][0]


def test_unknown_site_is_422(client, headers, coal_body) -> None:
    coal_body["site_id"] = 999_999
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "unknown site" in errors["site_id"][0]


def test_unknown_checklist_version_is_422(client, headers, coal_body) -> None:
    coal_body["checklist_version"] = "0000000000000000"
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "no version" in errors["checklist_version"][0]


def test_checklist_must_fit_the_site_kind(client, headers, registry, coal_body) -> None:
    coal_body["site_id"] = registry["sites"]["SZ-construction"].id
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "does not apply" in errors["checklist_id"][0]


def test_failed_item_without_its_photo_is_422(client, headers, coal_body) -> None:
    coal_body["answers"][1]["photos"] = []
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "photo evidence" in errors["answers"]["1"]["photos"][0]


def test_always_evidence_needs_a_photo_even_when_compliant(client, headers, registry) -> None:
    version = current_version(client, headers["inspector"], "shutdown-verification")
    site = registry["sites"]["SZ-closed_enterprise"]
    body = inspection_body(
        site.id,
        "shutdown-verification",
        version,
        [
            {"item": "SV-01", "value": "compliant", "note": "", "photos": []},
        ],
    )
    errors = error_fields(put(client, headers["inspector"], new_id(), body))
    assert "photo evidence" in errors["answers"]["0"]["photos"][0]
    body["answers"][0]["photos"] = [PHOTO]
    assert put(client, headers["inspector"], new_id(), body).status_code == 201


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("site_id"), "site_id"),
        (lambda b: b.update(started_at="2026-11-20T10:00:00"), "started_at"),  # no time zone
        (lambda b: b.update(device_time="yesterday"), "device_time"),
        (lambda b: b.update(site_id="12"), "site_id"),
        (lambda b: b.update(colour="blue"), "colour"),
        (lambda b: b.update(answers=[]), "answers"),
        (lambda b: b.update(location={"lat": 123, "lon": 0}), "location"),
        (lambda b: b["answers"][0].update(photos=["not-a-hash"]), "answers"),
    ],
)
def test_malformed_bodies_are_422_with_field_errors(
    client, headers, coal_body, mutate, field
) -> None:
    mutate(coal_body)
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert field in errors
    assert db.session.query(Inspection).count() == 0


def test_finish_before_start_is_422(client, headers, coal_body) -> None:
    coal_body["finished_at"] = "2026-11-19T00:00:00+00:00"
    errors = error_fields(put(client, headers["inspector"], new_id(), coal_body))
    assert "finished_at" in errors


def test_malformed_json_is_a_4xx_json_error(client, headers) -> None:
    response = client.put(
        f"/api/v1/inspections/{new_id()}",
        data="{not json",
        headers=headers["inspector"],
        content_type="application/json",
    )
    assert 400 <= response.status_code < 500
    assert response.get_json()["code"] == response.status_code


def test_invalid_uuid_in_path_is_404(client, headers, coal_body) -> None:
    response = client.put(
        "/api/v1/inspections/not-a-uuid", json=coal_body, headers=headers["inspector"]
    )
    assert response.status_code == 404
    assert response.get_json()["code"] == 404


def test_only_inspectors_submit(client, headers, coal_body) -> None:
    for role in ("supervisor", "admin", "enterprise"):
        assert put(client, headers[role], new_id(), coal_body).status_code == 403


def test_who_may_read_an_inspection(client, headers, coal_body) -> None:
    inspection_id = new_id()
    put(client, headers["inspector"], inspection_id, coal_body)
    path = f"/api/v1/inspections/{inspection_id}"
    assert client.get(path, headers=headers["inspector"]).status_code == 200
    assert client.get(path, headers=headers["supervisor"]).status_code == 200
    assert client.get(path, headers=headers["admin"]).status_code == 200
    assert client.get(path, headers=headers["inspector2"]).status_code == 404
    assert client.get(path, headers=headers["enterprise"]).status_code == 403
    assert (
        client.get(f"/api/v1/inspections/{uuid.uuid4()}", headers=headers["inspector"]).status_code
        == 404
    )


def test_missing_photos_shrink_as_photos_arrive(client, headers, coal_body) -> None:
    from tests.helpers import PHOTOS, sha256

    data = (PHOTOS / "no_exif.jpg").read_bytes()
    coal_body["answers"][1]["photos"] = [sha256(data)]
    inspection_id = new_id()
    put(client, headers["inspector"], inspection_id, coal_body)
    path = f"/api/v1/inspections/{inspection_id}"
    before = client.get(path, headers=headers["inspector"]).get_json()["missing_photos"]
    assert sorted(before) == sorted([sha256(data), OTHER_PHOTO])
    client.put(
        f"/api/v1/photos/{sha256(data)}",
        data=data,
        headers=headers["inspector"],
        content_type="image/jpeg",
    )
    after = client.get(path, headers=headers["inspector"]).get_json()["missing_photos"]
    assert after == [OTHER_PHOTO]
