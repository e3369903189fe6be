"""An independent tus client (tuspy) uploads to the real server: it speaks tus 1.0."""

from __future__ import annotations

import io

import httpx
from tusclient import client as tus

from server.extensions import db
from server.models import Photo
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.helpers import PHOTOS, sha256


def test_tuspy_uploads_and_resumes(live_server: ServerProcess, users) -> None:  # type: ignore[no-untyped-def]
    headers = token(live_server, "insp")
    data = (PHOTOS / "DSCN0010.jpg").read_bytes()
    client = tus.TusClient(f"{live_server.url}/api/v1/uploads", headers=headers)

    first = client.uploader(
        file_stream=io.BytesIO(data),
        chunk_size=40_000,
        metadata={"sha256": sha256(data), "filename": "DSCN0010.jpg"},
    )
    first.upload(stop_at=80_000)  # the field loses signal here
    assert first.offset == 80_000
    assert (
        httpx.head(f"{live_server.url}/api/v1/photos/{sha256(data)}", headers=headers).status_code
        == 404
    )

    # A new client process picks the upload up by its URL, from the byte the server holds.
    resumed = client.uploader(file_stream=io.BytesIO(data), url=first.url, chunk_size=40_000)
    assert resumed.offset == 80_000
    resumed.upload()
    assert resumed.offset == len(data)

    photo = httpx.get(f"{live_server.url}/api/v1/photos/{sha256(data)}", headers=headers)
    assert photo.status_code == 200 and photo.content == data
    db.session.expire_all()
    assert db.session.query(Photo).count() == 1
