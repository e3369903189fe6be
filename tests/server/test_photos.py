"""Photos by hash: HEAD, upload verified by hash and by decoding, stored once."""

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
from tests.helpers import PHOTOS, sha256

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
