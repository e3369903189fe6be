"""A record with every kind of state change, made through the API (for audit and backup tests)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.helpers import PHOTOS, current_version, inspection_body, new_id, sha256

PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
FIX = (PHOTOS / "no_exif.jpg").read_bytes()

# What the API calls below add to the log, in order (after the registry and user fixtures).
HISTORY_ACTIONS = [
    "photo.received",
    "inspection.submitted",
    "inspection.reviewed",
    "inspection.revised",
    "inspection.reviewed",
    "notice.issued",
    "photo.received",
    "finding.answered",
    "finding.verified",
    "finding.answered",
    "finding.verified",
]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def full_history(client: FlaskClient, headers: dict, registry: dict) -> dict[str, Any]:
    """Submit, return, revise and approve a boiler-house inspection with photo evidence;
    issue a notice for its two findings; answer one, reopen it, answer again and close it."""
    inspector, supervisor, enterprise = (
        headers["inspector"],
        headers["supervisor"],
        headers["enterprise"],
    )
    _ok(client.put(f"/api/v1/photos/{sha256(PHOTO)}", data=PHOTO, headers=inspector), 201)
    version = current_version(client, inspector, "coal-and-boilers")
    site = registry["sites"]["SZ-boiler_house"]
    answers = [
        {"item": "CB-09", "value": "yes", "note": "", "photos": []},
        {"item": "CB-10", "value": 20, "note": "20蒸吨", "photos": [sha256(PHOTO)]},
        {"item": "CB-18", "value": "non_compliant", "note": "", "photos": [sha256(PHOTO)]},
    ]
    body = inspection_body(site.id, "coal-and-boilers", version, answers)
    inspection_id = new_id()
    path = f"/api/v1/inspections/{inspection_id}"
    _ok(client.put(path, json=body, headers=inspector), 201)
    review = f"{path}/review"
    _ok(client.post(review, json={"decision": "return", "comment": "补拍铭牌"}, headers=supervisor))
    body["answers"][1]["note"] = "铭牌20蒸吨（补拍）"
    match = {**inspector, "If-Match": f'"{inspection_id}-r1"'}
    _ok(client.put(path, json=body, headers=match))
    _ok(client.post(review, json={"decision": "approve"}, headers=supervisor))
    findings = _ok(client.get("/api/v1/findings?status=open", headers=supervisor))
    ids = sorted(finding["id"] for finding in findings)
    notice = _ok(
        client.post(
            "/api/v1/notices",
            json={"enterprise_id": registry["shuozhou"].id, "finding_ids": ids},
            headers=supervisor,
        ),
        201,
    )
    _ok(client.put(f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=enterprise), 201)
    finding = f"/api/v1/findings/{ids[0]}"
    answer = {"text": "已停用该锅炉", "photos": [sha256(FIX)]}
    _ok(client.post(f"{finding}/responses", json=answer, headers=enterprise), 201)
    reject = {"accepted": False, "comment": "照片看不到铭牌"}
    _ok(client.post(f"{finding}/verify", json=reject, headers=supervisor))
    answer = {"text": "补拍铭牌与拆除现场", "photos": [sha256(FIX)]}
    _ok(client.post(f"{finding}/responses", json=answer, headers=enterprise), 201)
    accept = {"accepted": True, "comment": "同意销号"}
    _ok(client.post(f"{finding}/verify", json=accept, headers=supervisor))
    return {
        "inspection": inspection_id,
        "findings": ids,
        "notice": notice["id"],
        "photos": [sha256(PHOTO), sha256(FIX)],
    }
