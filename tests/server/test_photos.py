"""Photos by hash: HEAD or one batch question, upload verified by hash and by decoding,
stored once."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from server.extensions import db
from server.models import Photo
from server.storage import photo_store
from tests.helpers import FIX, PHOTOS, approve, failing_inspection_body, issue, new_id, sha256

GPS_PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, format="PNG")
    return buffer.getvalue()


def upload(client: FlaskClient, headers: dict[str, str], data: bytes, name: str | None = None):
    return client.put(
        f"/api/v1/photos/{name or sha256(data)}",
        data=data,
        headers=headers,
        content_type="application/octet-stream",
    )


def test_ask_upload_ask_again(client, headers) -> None:
    name = sha256(GPS_PHOTO)
    path = f"/api/v1/photos/{name}"
    assert client.head(path, headers=headers["inspector"]).status_code == 404
    first = upload(client, headers["inspector"], GPS_PHOTO)
    assert first.status_code == 201
    assert client.head(path, headers=headers["inspector"]).status_code == 200
    again = upload(client, headers["inspector"], GPS_PHOTO)
    assert again.status_code == 200
    assert db.session.query(Photo).count() == 1
    fetched = client.get(path, headers=headers["supervisor"])
    assert fetched.status_code == 200 and fetched.data == GPS_PHOTO
    assert fetched.mimetype == "image/jpeg"
    assert photo_store().get(name) == GPS_PHOTO


def test_capture_time_and_gps_are_read_from_exif(client, headers) -> None:
    body = upload(client, headers["inspector"], GPS_PHOTO).get_json()
    assert body["width"] == 640 and body["height"] == 480
    assert body["lat"] == pytest.approx(43.4674, abs=1e-3)
    assert body["lon"] == pytest.approx(11.8851, abs=1e-3)
    # 2008:10:22 16:28:39 on the camera clock, read as China time (UTC+8).
    taken = datetime.fromisoformat(body["taken_at"])
    assert taken == datetime(2008, 10, 22, 8, 28, 39, tzinfo=UTC)


def test_png_is_accepted(client, headers) -> None:
    response = upload(client, headers["inspector"], png_bytes())
    assert response.status_code == 201
    assert response.get_json()["content_type"] == "image/png"


def test_bytes_that_do_not_match_the_name_are_400(client, headers) -> None:
    response = upload(client, headers["inspector"], GPS_PHOTO, name="0" * 64)
    assert response.status_code == 400
    assert "do not hash" in response.get_json()["message"]
    assert db.session.query(Photo).count() == 0
    assert not photo_store().exists("0" * 64)


def test_name_must_be_a_sha256(client, headers) -> None:
    response = upload(client, headers["inspector"], GPS_PHOTO, name="../../etc/passwd")
    assert response.status_code in (400, 404)
    response = upload(client, headers["inspector"], GPS_PHOTO, name="A" * 64)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"this is not a photo at all", 415, id="text-as-jpeg"),
        pytest.param(GPS_PHOTO[: len(GPS_PHOTO) // 2], 415, id="truncated-jpeg"),
        pytest.param(b"GIF89a" + b"\x00" * 100, 415, id="gif-header"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', 415, id="svg"),
    ],
)
def test_not_a_readable_jpeg_or_png_is_415(client, headers, data, expected) -> None:
    response = upload(client, headers["inspector"], data)
    assert response.status_code == expected, response.get_json()
    assert response.get_json()["code"] == expected
    assert db.session.query(Photo).count() == 0
    assert list(photo_store().iter_hashes()) == []


def test_gif_is_415_even_when_valid(client, headers) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, format="GIF")
    response = upload(client, headers["inspector"], buffer.getvalue())
    assert response.status_code == 415
    assert "GIF" in response.get_json()["message"]


def test_decompression_bomb_is_413(client, headers) -> None:
    bomb = png_bytes((10_000, 10_000))  # 100 megapixels of one colour: a tiny file
    assert len(bomb) < 1_000_000
    response = upload(client, headers["inspector"], bomb)
    assert response.status_code == 413
    assert db.session.query(Photo).count() == 0


def test_over_the_size_limit_is_413(app: Flask, client, headers) -> None:
    limit = app.config["MAX_PHOTO_BYTES"]
    app.config["MAX_PHOTO_BYTES"] = 10_000
    try:
        response = upload(client, headers["inspector"], GPS_PHOTO)
    finally:
        app.config["MAX_PHOTO_BYTES"] = limit
    assert response.status_code == 413
    assert response.get_json()["code"] == 413
    assert db.session.query(Photo).count() == 0


def test_empty_upload_is_400(client, headers) -> None:
    response = upload(client, headers["inspector"], b"")
    assert response.status_code == 400


def test_inspectors_and_enterprises_upload_supervisors_do_not(client, headers) -> None:
    assert upload(client, headers["supervisor"], GPS_PHOTO).status_code == 403
    assert upload(client, headers["admin"], GPS_PHOTO).status_code == 403
    assert upload(client, headers["enterprise"], GPS_PHOTO).status_code == 201  # rectification


def test_an_enterprise_cannot_read_photos_not_of_its_findings(client, headers) -> None:
    assert upload(client, headers["inspector"], GPS_PHOTO).status_code == 201
    path = f"/api/v1/photos/{sha256(GPS_PHOTO)}"
    assert client.get(path, headers=headers["enterprise"]).status_code == 404
    assert client.head(path, headers=headers["enterprise"]).status_code == 404
    assert client.get(path, headers=headers["supervisor"]).status_code == 200


# ---- POST /api/v1/photos/missing: one question for many photos


def ask(client: FlaskClient, headers: dict[str, str], hashes: list[str]):
    return client.post("/api/v1/photos/missing", json={"sha256": hashes}, headers=headers)


def test_missing_names_what_the_server_lacks_once_each_in_order(client, headers) -> None:
    assert upload(client, headers["inspector"], GPS_PHOTO).status_code == 201
    have, lack, other = sha256(GPS_PHOTO), sha256(b"never sent"), sha256(b"nor this")
    response = ask(client, headers["inspector"], [other, have, lack, other, have])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"missing": [other, lack]}
    assert ask(client, headers["inspector"], []).get_json() == {"missing": []}


def test_missing_agrees_with_head_for_every_uploader(client, headers, registry) -> None:
    """A photo is present to a caller exactly when HEAD answers that caller 200: what they
    sent, what their findings and answers show; nothing else. Citing a photo someone else
    sent (`cited`, inspector2's) opens it to nobody (issue 16 item 4)."""
    sent, cited, answer_photo, stray = GPS_PHOTO, FIX, png_bytes(), png_bytes((32, 32))
    assert upload(client, headers["inspector"], sent).status_code == 201
    assert upload(client, headers["inspector2"], cited).status_code == 201
    assert upload(client, headers["inspector2"], stray).status_code == 201
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["answers"][2]["photos"] = [sha256(cited)]  # CB-18 cites inspector2's photo
    inspection_id = new_id()
    stored = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    assert stored.status_code == 201, stored.get_json()
    approve(client, headers, inspection_id)
    finding_ids = [
        f["id"]
        for f in client.get(
            f"/api/v1/inspections/{inspection_id}", headers=headers["supervisor"]
        ).get_json()["findings"]
    ]
    assert issue(client, headers, registry["shuozhou"].id, finding_ids).status_code == 201
    assert upload(client, headers["enterprise"], answer_photo).status_code == 201
    answered = client.post(
        f"/api/v1/findings/{finding_ids[0]}/responses",
        json={"text": "已整改", "photos": [sha256(answer_photo)]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()

    hashes = [sha256(data) for data in (sent, cited, answer_photo, stray, b"unknown")]
    visible = {
        "inspector": {sha256(sent)},
        "inspector2": {sha256(cited), sha256(stray)},
        "enterprise": {sha256(sent), sha256(answer_photo)},
        "enterprise2": set(),
    }
    for role, expected in visible.items():
        heads = {sha for sha in hashes if head(client, headers[role], sha) == 200}
        assert heads == expected, role
        missing = ask(client, headers[role], hashes).get_json()["missing"]
        assert missing == [sha for sha in hashes if sha not in expected], role


def head(client: FlaskClient, headers: dict[str, str], sha: str) -> int:
    return client.head(f"/api/v1/photos/{sha}", headers=headers).status_code


def test_a_photo_whose_bytes_are_gone_is_missing_and_can_be_sent_again(client, headers) -> None:
    name = sha256(GPS_PHOTO)
    assert upload(client, headers["inspector"], GPS_PHOTO).status_code == 201
    assert ask(client, headers["inspector"], [name]).get_json() == {"missing": []}
    photo_store().delete(name)  # the row stays, the blob is lost
    assert ask(client, headers["inspector"], [name]).get_json() == {"missing": [name]}
    assert upload(client, headers["inspector"], GPS_PHOTO).status_code in (200, 201)
    assert ask(client, headers["inspector"], [name]).get_json() == {"missing": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "sha256", id="no-list"),
        pytest.param({"sha256": "a" * 64}, "sha256", id="not-a-list"),
        pytest.param({"sha256": ["A" * 64]}, "sha256", id="uppercase"),
        pytest.param({"sha256": ["a" * 63]}, "sha256", id="too-short"),
        pytest.param({"sha256": ["../../etc/passwd"]}, "sha256", id="path"),
        pytest.param({"sha256": ["a" * 64] * 1001}, "sha256", id="over-1000"),
        pytest.param({"sha256": [], "extra": 1}, "extra", id="unknown-field"),
    ],
)
def test_a_bad_question_is_422_with_field_errors(client, headers, body, field) -> None:
    response = client.post("/api/v1/photos/missing", json=body, headers=headers["inspector"])
    assert response.status_code == 422
    error = response.get_json()
    assert error["code"] == 422 and field in error["errors"]["json"], error


def test_a_thousand_hashes_is_one_question(client, headers) -> None:
    hashes = [sha256(str(n).encode()) for n in range(1000)]
    response = ask(client, headers["inspector"], hashes)
    assert response.status_code == 200
    assert response.get_json()["missing"] == hashes


def test_only_uploaders_ask(client, headers) -> None:
    hashes = [sha256(GPS_PHOTO)]
    assert ask(client, headers["supervisor"], hashes).status_code == 403
    assert ask(client, headers["admin"], hashes).status_code == 403
    assert client.post("/api/v1/photos/missing", json={"sha256": hashes}).status_code == 401
