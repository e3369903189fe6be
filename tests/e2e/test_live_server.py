"""The real server process on loopback: token, checklists, concurrent resends, photos."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from server.extensions import db
from server.models import Finding, Inspection, InspectionRevision
from tests.e2e.conftest import ServerProcess
from tests.helpers import PASSWORD, PHOTOS, inspection_body, new_id, sha256


def token(server: ServerProcess, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_concurrent_identical_submissions_store_one(
    live_server: ServerProcess, users, registry
) -> None:
    headers = token(live_server, "insp")
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as client:
        checklist = client.get("/api/v1/checklists/construction-dust")
        assert checklist.status_code == 200
        etag = checklist.headers["ETag"]
        assert (
            client.get(
                "/api/v1/checklists/construction-dust", headers={"If-None-Match": etag}
            ).status_code
            == 304
        )
        version = checklist.json()["version"]
        photo = (PHOTOS / "DSCN0010.jpg").read_bytes()
        body = inspection_body(
            registry["sites"]["CZ-construction"].id,
            "construction-dust",
            version,
            [
                {
                    "item": "CD-03",
                    "value": "non_compliant",
                    "note": "围挡缺口",
                    "photos": [sha256(photo)],
                },
            ],
        )
        inspection_id = new_id()

        def send(_: int) -> int:
            with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as own:
                return own.put(f"/api/v1/inspections/{inspection_id}", json=body).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = sorted(pool.map(send, range(10)))
        assert statuses == [200] * 9 + [201]

        record = client.get(f"/api/v1/inspections/{inspection_id}").json()
        assert record["missing_photos"] == [sha256(photo)]
        assert client.head(f"/api/v1/photos/{sha256(photo)}").status_code == 404
        uploaded = client.put(
            f"/api/v1/photos/{sha256(photo)}", content=photo, headers={"Content-Type": "image/jpeg"}
        )
        assert uploaded.status_code == 201
        assert client.head(f"/api/v1/photos/{sha256(photo)}").status_code == 200
        record = client.get(f"/api/v1/inspections/{inspection_id}").json()
        assert record["missing_photos"] == []
        assert [f["item"] for f in record["findings"]] == ["CD-03"]

    db.session.expire_all()
    assert db.session.query(Inspection).count() == 1
    assert db.session.query(InspectionRevision).count() == 1
    assert db.session.query(Finding).count() == 1


def test_openapi_and_docs_are_served(live_server: ServerProcess) -> None:
    spec = httpx.get(f"{live_server.url}/api/v1/openapi.json")
    assert spec.status_code == 200 and "/api/v1/inspections/{inspection_id}" in spec.json()["paths"]
    assert httpx.get(f"{live_server.url}/api/docs").status_code == 200
    assert httpx.get(f"{live_server.url}/api/v1/sites").status_code == 401
