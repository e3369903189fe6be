"""Knowing a photo's hash is not enough to read it (issue 16 item 4).

Citing a photo counts only when the citer uploaded those bytes itself (or may already read
them); for a photo the caller may not read, every answer (HEAD, GET, the batch question,
`missing_photos` of an inspection PUT, 422 versus 201 on an answer, 200 versus 201 on an
upload) is exactly the answer for a photo that does not exist.
"""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from server.extensions import db
from server.models import PhotoUpload
from server.services import accounts
from tests.helpers import (
    PASSWORD,
    approve,
    failing_inspection_body,
    issue,
    login,
    new_id,
    sha256,
    submit_failing_inspection,
)


def png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (shade, 90, 120)).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client: FlaskClient, headers: dict[str, str], data: bytes):
    return client.put(
        f"/api/v1/photos/{sha256(data)}",
        data=data,
        headers=headers,
        content_type="application/octet-stream",
    )


def status(client: FlaskClient, headers: dict[str, str], sha: str) -> tuple[int, int, list[str]]:
    """What the three read-side questions answer this caller about one hash."""
    head = client.head(f"/api/v1/photos/{sha}", headers=headers).status_code
    get = client.get(f"/api/v1/photos/{sha}", headers=headers).status_code
    missing = client.post(
        "/api/v1/photos/missing", json={"sha256": [sha]}, headers=headers
    ).get_json()["missing"]
    return head, get, missing


def notified(client: FlaskClient, headers, registry) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """An approved Shuozhou inspection whose two findings are in a notice."""
    inspection_id, findings = submit_failing_inspection(
        client, headers, registry["sites"]["SZ-boiler_house"]
    )
    approve(client, headers, inspection_id)
    ids = [findings["CB-10"]["id"], findings["CB-18"]["id"]]
    assert issue(client, headers, registry["shuozhou"].id, ids).status_code == 201
    return {"inspection": inspection_id, "findings": ids}


def cite_in_new_inspection(client: FlaskClient, headers, registry, sha: str):  # type: ignore[no-untyped-def]
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["answers"][1]["photos"] = [sha]
    return client.put(f"/api/v1/inspections/{new_id()}", json=body, headers=headers["inspector"])


def test_citing_an_enterprise_photo_seen_in_findings_does_not_open_it(
    client, headers, registry
) -> None:
    case = notified(client, headers, registry)
    secret = png(1)
    assert upload(client, headers["enterprise"], secret).status_code == 201
    answered = client.post(
        f"/api/v1/findings/{case['findings'][0]}/responses",
        json={"text": "已整改", "photos": [sha256(secret)]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()
    listed = client.get("/api/v1/findings", headers=headers["inspector"]).get_json()
    assert sha256(secret) in str(listed)  # the inspector does see the hash

    stored = cite_in_new_inspection(client, headers, registry, sha256(secret))
    assert stored.status_code == 201, stored.get_json()
    assert sha256(secret) in stored.get_json()["missing_photos"]
    assert status(client, headers["inspector"], sha256(secret)) == (404, 404, [sha256(secret)])

    # Uploading the bytes proves possession: only then is the photo theirs to read.
    assert upload(client, headers["inspector"], secret).status_code == 201
    assert status(client, headers["inspector"], sha256(secret)) == (200, 200, [])


def test_an_enterprise_cannot_cite_another_enterprises_photo(client, headers, registry) -> None:
    case = notified(client, headers, registry)
    theirs, never_sent = png(2), png(3)
    assert upload(client, headers["enterprise2"], theirs).status_code == 201
    path = f"/api/v1/findings/{case['findings'][0]}/responses"

    def answer(sha: str):  # type: ignore[no-untyped-def]
        return client.post(
            path, json={"text": "已整改", "photos": [sha]}, headers=headers["enterprise"]
        )

    cited, unknown = answer(sha256(theirs)), answer(sha256(never_sent))
    assert cited.status_code == unknown.status_code == 422
    assert cited.get_json()["message"] == unknown.get_json()["message"]
    assert cited.get_json()["errors"] == {"photos": [sha256(theirs)]}
    assert status(client, headers["enterprise"], sha256(theirs)) == (404, 404, [sha256(theirs)])

    assert upload(client, headers["enterprise"], theirs).status_code == 201  # as if new
    assert answer(sha256(theirs)).status_code == 201
    assert status(client, headers["enterprise"], sha256(theirs)) == (200, 200, [])


def test_an_enterprise_may_cite_the_inspectors_photo_of_its_finding(
    client, headers, registry
) -> None:
    """Already part of something the enterprise may read: citing it needs no upload."""
    case = notified(client, headers, registry)
    inspection = client.get(
        f"/api/v1/inspections/{case['inspection']}", headers=headers["supervisor"]
    ).get_json()
    inspectors = inspection["answers"][1]["photos"][0]
    assert status(client, headers["enterprise"], inspectors)[:2] == (200, 200)
    answered = client.post(
        f"/api/v1/findings/{case['findings'][0]}/responses",
        json={"text": "见检查照片", "photos": [inspectors]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()


def test_another_users_photo_answers_as_if_it_did_not_exist(client, headers, registry) -> None:
    theirs, never_sent = png(4), png(5)
    first = upload(client, headers["inspector2"], theirs)
    assert first.status_code == 201
    for sha in (sha256(theirs), sha256(never_sent)):
        assert status(client, headers["inspector"], sha) == (404, 404, [sha])
        stored = cite_in_new_inspection(client, headers, registry, sha)
        assert stored.status_code == 201 and sha in stored.get_json()["missing_photos"]
    again = upload(client, headers["inspector"], theirs)
    assert again.status_code == 201  # not 200 'already stored': that would tell
    assert again.get_json()["received_at"] != first.get_json()["received_at"]
    assert upload(client, headers["inspector"], theirs).status_code == 200  # now theirs too


def test_a_photo_sent_by_two_users_keeps_both_uploaders(client, headers) -> None:
    data = png(6)
    assert upload(client, headers["inspector"], data).status_code == 201
    assert upload(client, headers["enterprise"], data).status_code == 201
    uploaders = set(
        db.session.scalars(select(PhotoUpload.user_id).where(PhotoUpload.sha256 == sha256(data)))
    )
    assert len(uploaders) == 2
    for role in ("inspector", "enterprise"):
        assert status(client, headers[role], sha256(data)) == (200, 200, [])


def test_a_city_supervisor_does_not_see_a_photo_an_inspection_merely_cites(
    client, headers, registry
) -> None:
    """The supervisor of the cited inspection's city sees only what its inspector sent."""
    theirs = png(7)
    assert upload(client, headers["enterprise2"], theirs).status_code == 201
    stored = cite_in_new_inspection(client, headers, registry, sha256(theirs))
    assert stored.status_code == 201
    accounts.add_user("sup-sz", "supervisor", PASSWORD, city="朔州")
    db.session.commit()
    city_supervisor = login(client, "sup-sz")
    assert (
        client.get(f"/api/v1/photos/{sha256(theirs)}", headers=city_supervisor).status_code == 404
    )
