"""Fixtures shared by the server tests that need a rectification loop already under way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import failing_inspection_body, new_id


@pytest.fixture
def world(client: FlaskClient, headers, registry, app: Flask) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Something stored at every endpoint's target, so a refusal could harm it.

    Inspection A (approved) has findings CB-10 (answered) and CB-18 (notified, on a notice);
    inspection B is submitted and waits for review; inspection C (approved) has findings
    still open, for a notice.
    """
    app.config["CLOCK_TODAY"] = date(2026, 11, 23).isoformat()
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    approved, waiting, spare = new_id(), new_id(), new_id()
    for inspection_id in (approved, waiting, spare):
        response = client.put(
            f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
        )
        assert response.status_code == 201, response.get_json()
    for inspection_id in (approved, spare):
        review = client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            json={"decision": "approve"},
            headers=headers["supervisor"],
        )
        assert review.status_code == 200
    open_finding = client.get(f"/api/v1/inspections/{spare}", headers=headers["supervisor"])
    found = client.get(f"/api/v1/inspections/{approved}", headers=headers["supervisor"])
    finding_ids = {f["item"]: f["id"] for f in found.get_json()["findings"]}
    notice = client.post(
        "/api/v1/notices",
        json={"enterprise_id": registry["shuozhou"].id, "finding_ids": list(finding_ids.values())},
        headers=headers["supervisor"],
    )
    assert notice.status_code == 201, notice.get_json()
    answered = client.post(
        f"/api/v1/findings/{finding_ids['CB-10']}/responses",
        json={"text": "已整改", "photos": []},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()
    yield {
        "inspection_body": body,
        "approved": approved,
        "waiting": waiting,
        "answered": finding_ids["CB-10"],
        "notified": finding_ids["CB-18"],
        "open": open_finding.get_json()["findings"][0]["id"],
        "enterprise_id": registry["shuozhou"].id,
        "headers": headers,
        "username": "insp",
    }
    app.config.pop("CLOCK_TODAY", None)
