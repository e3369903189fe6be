"""tus 1.0 resumable uploads (core + creation): the protocol, and its refusals."""

from __future__ import annotations

import base64

import pytest

from server.extensions import db
from server.models import Photo
from server.storage import photo_store
from tests.helpers import PHOTOS, sha256

PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client, headers, data: bytes = PHOTO, name: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(sha256=name or sha256(data), filename="DSCN0010.jpg"),
        },
    )


def patch(
    client,
    headers,
    location: str,
    offset: int,
    chunk: bytes,  # type: ignore[no-untyped-def]
    content_type: str = "application/offset+octet-stream",
):
    return client.patch(
        location,
        data=chunk,
        content_type=content_type,
        headers={**headers, **TUS, "Upload-Offset": str(offset)},
    )


def test_options_tells_the_version_and_extensions(client) -> None:  # type: ignore[no-untyped-def]
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert "creation" in response.headers["Tus-Extension"]
    assert int(response.headers["Tus-Max-Size"]) > 1_000_000


def test_create_head_patch_resume_complete(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    created = create(client, inspector)
    assert created.status_code == 201 and created.headers["Tus-Resumable"] == "1.0.0"
    location = created.headers["Location"]
    assert location.startswith("/api/v1/uploads/")
    head = client.head(location, headers={**inspector, **TUS})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(PHOTO))
    assert head.headers["Cache-Control"] == "no-store"

    first = patch(client, inspector, location, 0, PHOTO[:60_000])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "60000"
    # The connection broke; the client asks where the server stands and resumes there.
    assert client.head(location, headers={**inspector, **TUS}).headers["Upload-Offset"] == "60000"
    wrong = patch(client, inspector, location, 10_000, PHOTO[10_000:20_000])
    assert wrong.status_code == 409 and wrong.headers["Upload-Offset"] == "60000"
    last = patch(client, inspector, location, 60_000, PHOTO[60_000:])
    assert last.status_code == 204, last.get_json()
    assert last.headers["Upload-Offset"] == str(len(PHOTO))
    assert photo_store().get(sha256(PHOTO)) == PHOTO
    assert client.head(f"/api/v1/photos/{sha256(PHOTO)}", headers=inspector).status_code == 200
    assert client.head(location, headers={**inspector, **TUS}).headers["Upload-Offset"] == str(
        len(PHOTO)
    )


def test_completed_bytes_are_verified(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    bogus = b"not a photo at all " * 500
    location = create(client, inspector, bogus, name=sha256(PHOTO)).headers["Location"]
    response = patch(client, inspector, location, 0, bogus)
    assert response.status_code == 400 and "do not hash" in response.get_json()["message"]
    location = create(client, inspector, bogus).headers["Location"]
    assert patch(client, inspector, location, 0, bogus).status_code == 415
    assert db.session.query(Photo).count() == 0
    assert list(photo_store().iter_hashes()) == []


def test_requests_without_tus_resumable_are_412(client, headers) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/uploads",
        headers={
            **headers["inspector"],
            "Upload-Length": "10",
            "Upload-Metadata": metadata(sha256="a" * 64),
        },
    )
    assert response.status_code == 412 and response.headers["Tus-Version"] == "1.0.0"


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        pytest.param({"Upload-Length": "abc"}, 400, id="length-not-a-number"),
        pytest.param({"Upload-Length": str(10**9)}, 413, id="too-large"),
        pytest.param({"Upload-Metadata": metadata(filename="x.jpg")}, 400, id="no-sha256"),
        pytest.param({"Upload-Metadata": "sha256 !!!notbase64"}, 400, id="bad-metadata"),
        pytest.param({"Upload-Metadata": metadata(sha256="not-a-hash")}, 400, id="bad-hash"),
    ],
)
def test_bad_creations_are_refused(client, headers, extra, status) -> None:  # type: ignore[no-untyped-def]
    base = {"Upload-Length": "1000", "Upload-Metadata": metadata(sha256="a" * 64)}
    response = client.post(
        "/api/v1/uploads", headers={**headers["inspector"], **TUS, **base, **extra}
    )
    assert response.status_code == status
    assert response.get_json()["code"] == status


def test_bad_chunks_are_refused(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    location = create(client, inspector).headers["Location"]
    assert patch(client, inspector, location, 0, b"").status_code == 400  # zero-byte chunk
    assert patch(client, inspector, location, 0, PHOTO + b"x").status_code == 400  # too long
    assert (
        patch(
            client, inspector, location, 0, PHOTO[:10], content_type="application/octet-stream"
        ).status_code
        == 415
    )
    assert client.head(location, headers={**inspector, **TUS}).headers["Upload-Offset"] == "0"


def test_uploads_belong_to_their_creator(client, headers) -> None:  # type: ignore[no-untyped-def]
    location = create(client, headers["inspector"]).headers["Location"]
    assert client.head(location, headers={**headers["inspector2"], **TUS}).status_code == 404
    assert patch(client, headers["inspector2"], location, 0, PHOTO[:10]).status_code == 404
    assert create(client, headers["supervisor"]).status_code == 403
    assert (
        client.head(
            "/api/v1/uploads/unknown-upload-id-123", headers={**headers["inspector"], **TUS}
        ).status_code
        == 404
    )


def _held_but_not_finalised(client, inspector) -> str:  # type: ignore[no-untyped-def]
    """An upload whose every byte is held but that was never turned into a photo: what a
    server that died between writing the last chunk and finalising leaves behind."""
    location = create(client, inspector).headers["Location"]
    assert patch(client, inspector, location, 0, PHOTO[:60_000]).status_code == 204
    photo_store().append_partial(location.rsplit("/", 1)[-1], 60_000, PHOTO[60_000:])
    assert client.head(f"/api/v1/photos/{sha256(PHOTO)}", headers=inspector).status_code == 404
    return location


def test_head_finalises_a_complete_upload(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    location = _held_but_not_finalised(client, inspector)
    head = client.head(location, headers={**inspector, **TUS})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(len(PHOTO))
    assert client.head(f"/api/v1/photos/{sha256(PHOTO)}", headers=inspector).status_code == 200
    assert photo_store().get(sha256(PHOTO)) == PHOTO


def test_empty_patch_at_the_end_finalises_a_complete_upload(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    location = _held_but_not_finalised(client, inspector)
    response = patch(client, inspector, location, len(PHOTO), b"")
    assert response.status_code == 204, response.get_json()
    assert response.headers["Upload-Offset"] == str(len(PHOTO))
    assert client.head(f"/api/v1/photos/{sha256(PHOTO)}", headers=inspector).status_code == 200
    again = patch(client, inspector, location, len(PHOTO), b"")  # idempotent
    assert again.status_code == 204


def test_head_of_a_complete_upload_with_wrong_bytes_starts_it_over(client, headers) -> None:  # type: ignore[no-untyped-def]
    """Finalising held bytes that fail the checks drops them: the client starts from 0."""
    inspector = headers["inspector"]
    bogus = b"not a photo at all " * 500
    location = create(client, inspector, bogus, name=sha256(PHOTO)).headers["Location"]
    photo_store().append_partial(location.rsplit("/", 1)[-1], 0, bogus)
    head = client.head(location, headers={**inspector, **TUS})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    assert db.session.query(Photo).count() == 0


def create_with(client, headers, body: bytes, resume: bool = False, data: bytes = PHOTO):  # type: ignore[no-untyped-def]
    """A creation that carries bytes (tus creation-with-upload), optionally asking for the
    caller's existing upload of the same photo (Lantian-Resume)."""
    return client.post(
        "/api/v1/uploads",
        data=body,
        content_type="application/offset+octet-stream",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(sha256=sha256(data)),
            **({"Lantian-Resume": "1"} if resume else {}),
        },
    )


def test_options_announce_creation_with_upload(client) -> None:  # type: ignore[no-untyped-def]
    extensions = client.options("/api/v1/uploads").headers["Tus-Extension"].split(",")
    assert "creation-with-upload" in extensions


def test_a_creation_carrying_every_byte_stores_the_photo(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    created = create_with(client, inspector, PHOTO)
    assert created.status_code == 201 and created.headers["Upload-Offset"] == str(len(PHOTO))
    assert photo_store().get(sha256(PHOTO)) == PHOTO
    assert client.head(f"/api/v1/photos/{sha256(PHOTO)}", headers=inspector).status_code == 200


def test_a_creation_carrying_some_bytes_is_continued_by_patch(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    created = create_with(client, inspector, PHOTO[:50_000])
    assert created.status_code == 201 and created.headers["Upload-Offset"] == "50000"
    last = patch(client, inspector, created.headers["Location"], 50_000, PHOTO[50_000:])
    assert last.status_code == 204 and last.headers["Upload-Offset"] == str(len(PHOTO))
    assert photo_store().get(sha256(PHOTO)) == PHOTO


def test_resume_finds_the_callers_unfinished_upload(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    first = create_with(client, inspector, PHOTO[:70_000])
    resumed = create_with(client, inspector, b"", resume=True)
    assert resumed.status_code == 201
    assert resumed.headers["Location"] == first.headers["Location"]
    assert resumed.headers["Upload-Offset"] == "70000"
    # Another user asking the same gets an upload of their own, from 0.
    other = create_with(client, headers["inspector2"], b"", resume=True)
    assert other.status_code == 201, other.get_json()
    assert other.headers["Location"] != first.headers["Location"]
    assert other.headers["Upload-Offset"] == "0"
    # Without the header a creation is always new (plain tus).
    fresh = create(client, inspector)
    assert fresh.headers["Location"] != first.headers["Location"]


def test_resume_of_a_photo_already_held_answers_200(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    stored = client.put(
        f"/api/v1/photos/{sha256(PHOTO)}", data=PHOTO, content_type="image/jpeg", headers=inspector
    )
    assert stored.status_code == 201
    resumed = create_with(client, inspector, b"", resume=True)
    assert resumed.status_code == 200 and resumed.headers["Upload-Offset"] == str(len(PHOTO))
    assert "Location" not in resumed.headers


def test_resume_finalises_an_upload_whose_bytes_are_all_held(client, headers) -> None:  # type: ignore[no-untyped-def]
    inspector = headers["inspector"]
    location = _held_but_not_finalised(client, inspector)
    resumed = create_with(client, inspector, b"", resume=True)
    assert resumed.status_code == 201 and resumed.headers["Location"] == location
    assert resumed.headers["Upload-Offset"] == str(len(PHOTO))
    assert client.head(f"/api/v1/photos/{sha256(PHOTO)}", headers=inspector).status_code == 200
