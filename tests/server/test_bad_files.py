"""A corpus of bad files sent as photos: each is a 4xx that says what is wrong, stores nothing,
and leaves the server serving.

Every case goes through the real upload paths (the plain `PUT /photos/{sha256}` or tus at
`/uploads`). After each refusal the test checks that no `photos` row and no blob appeared,
that the refusal came quickly (a bomb is refused from its header, never decoded), and that
a good photo uploads right after it.
"""

from __future__ import annotations

import base64
import io
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from server.extensions import db
from server.models import Photo
from server.storage import photo_store
from tests.helpers import PHOTOS, sha256

JPEG = (PHOTOS / "DSCN0010.jpg").read_bytes()  # 640×480 with an EXIF thumbnail
GOOD = (PHOTOS / "portrait_1.jpg").read_bytes()  # smaller than JPEG
HEIC = (PHOTOS / "IMG_5195.HEIC").read_bytes()
TUS = {"Tus-Resumable": "1.0.0"}
Send = Callable[[FlaskClient, dict[str, str]], TestResponse]


def saved(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


PNG = saved(Image.new("RGB", (64, 48), "green"), "PNG")


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    checksum = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few hundred bytes whose header declares these dimensions."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + png_chunk(b"IEND", b"")
    )


def png_with_bad_crc(kind: bytes) -> bytes:
    """The good PNG with the checksum of its first `kind` chunk flipped."""
    data = bytearray(PNG)
    start = data.index(kind) - 4
    length = struct.unpack(">I", data[start : start + 4])[0]
    data[start + 8 + length] ^= 0xFF
    return bytes(data)


def png_with_chunk_before_idat(chunk: bytes) -> bytes:
    at = PNG.index(b"IDAT") - 4
    return PNG[:at] + chunk + PNG[at:]


def jpeg_declaring(width: int, height: int) -> bytes:
    """The real JPEG with its frame header (the main image's, not the thumbnail's) rewritten."""
    data = bytearray(JPEG)
    frame = data.rindex(b"\xff\xc0")
    struct.pack_into(">HH", data, frame + 5, height, width)
    return bytes(data)


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<script>alert(document.cookie)</script>")
    return buffer.getvalue()


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def put(data: bytes, name: str | None = None, content_type: str = "image/jpeg") -> Send:
    """Send `data` whole, under its own hash unless `name` is given."""

    def send(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
        return client.put(
            f"/api/v1/photos/{name or sha256(data)}",
            data=data,
            headers=headers,
            content_type=content_type,
        )

    return send


def tus_create(
    client: FlaskClient, headers: dict[str, str], data: bytes, **extra: str
) -> TestResponse:
    return client.post(
        "/api/v1/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": metadata(sha256=sha256(data), filename="IMG_0001.jpg"),
            **extra,
        },
    )


def tus_patch(
    client: FlaskClient,
    headers: dict[str, str],
    location: str,
    offset: int,
    chunk: bytes,
    content_type: str = "application/offset+octet-stream",
) -> TestResponse:
    return client.patch(
        location,
        data=chunk,
        content_type=content_type,
        headers={**headers, **TUS, "Upload-Offset": str(offset)},
    )


def tus(data: bytes, chunks: Callable[[bytes], list[tuple[int, bytes]]], **kw: str) -> Send:
    """Create a tus upload for `data`, then send the chunks; the last answer is returned."""

    def send(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
        created = tus_create(client, headers, data)
        assert created.status_code == 201, created.get_json()
        location = created.headers["Location"]
        response = created
        for offset, chunk in chunks(data):
            response = tus_patch(client, headers, location, offset, chunk, **kw)
        return response

    return send


def tus_creation(data: bytes, **extra: str) -> Send:
    def send(client: FlaskClient, headers: dict[str, str]) -> TestResponse:
        return tus_create(client, headers, data, **extra)

    return send


@dataclass(frozen=True)
class Bad:
    send: Send
    status: int
    says: str  # a piece of the message (English half) that says what is wrong


CASES = {
    # Not an image at all, whatever it is labelled.
    "empty-body": Bad(put(b""), 400, "empty upload"),
    "text-labelled-jpeg": Bad(put(b"just some text, honest"), 415, "not a JPEG or PNG"),
    "html-labelled-png": Bad(
        put(b"<!doctype html><script>alert(1)</script>", content_type="image/png"),
        415,
        "not a JPEG or PNG",
    ),
    "zip-archive": Bad(put(zip_archive()), 415, "not a JPEG or PNG"),
    "pdf": Bad(put(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 415, "JPEG or PNG"),
    "svg": Bad(
        put(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            content_type="image/svg+xml",
        ),
        415,
        "not a JPEG or PNG",
    ),
    # Real images of formats the server does not keep; never handed to their readers.
    "gif": Bad(put(saved(Image.new("RGB", (10, 10)), "GIF")), 415, "got GIF"),
    "bmp": Bad(put(saved(Image.new("RGB", (10, 10)), "BMP")), 415, "got BMP"),
    "tiff": Bad(put(saved(Image.new("RGB", (10, 10)), "TIFF")), 415, "got TIFF"),
    "webp": Bad(put(saved(Image.new("RGB", (10, 10)), "WEBP")), 415, "got WEBP"),
    "eps-ghostscript-bait": Bad(
        put(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"), 415, "got EPS"
    ),
    # The field client converts HEIC. The words depend on whether pillow-heif has registered
    # its reader in this process (the field client's tests do): "not a JPEG or PNG image"
    # or "only JPEG or PNG photos are accepted, got HEIF"; a 415 either way.
    "heic": Bad(put(HEIC), 415, "JPEG or PNG"),
    # Broken JPEG and PNG.
    "truncated-jpeg": Bad(put(JPEG[: len(JPEG) // 2]), 415, "truncated"),
    "jpeg-without-its-last-bytes": Bad(put(JPEG[:-200]), 415, "truncated"),
    "truncated-png": Bad(put(PNG[:-30], content_type="image/png"), 415, "not a readable"),
    "png-corrupt-idat-crc": Bad(put(png_with_bad_crc(b"IDAT")), 415, "checksum"),
    "png-corrupt-ihdr-crc": Bad(put(png_with_bad_crc(b"IHDR")), 415, "checksum"),
    # Bombs: tiny files declaring huge images, refused from the header.
    "png-decompression-bomb": Bad(put(png_declaring(100_000, 100_000)), 413, "bomb"),
    "png-over-pixel-limit": Bad(put(png_declaring(8_000, 8_000)), 413, "image too large"),
    "jpeg-huge-dimensions": Bad(put(jpeg_declaring(65_000, 65_000)), 413, "bomb"),
    "jpeg-over-pixel-limit": Bad(put(jpeg_declaring(10_000, 7_000)), 413, "image too large"),
    "png-ztxt-bomb": Bad(
        put(
            png_with_chunk_before_idat(
                png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 8_000_000))
            )
        ),
        415,
        "too large",
    ),
    # Polyglots: a real picture with a second payload behind it.
    "jpeg-with-trailing-html": Bad(
        put(JPEG + b"<html><script>alert(document.cookie)</script></html>"),
        415,
        "follows the end of the image",
    ),
    "jpeg-zip-polyglot": Bad(put(JPEG + zip_archive()), 415, "follows the end of the image"),
    "png-with-trailing-data": Bad(
        put(PNG + b"<?php system($_GET['c']); ?>"), 415, "follows the end of the image"
    ),
    # Names: the hash is the only name, and it is never a path.
    "wrong-hash": Bad(put(GOOD, name=sha256(JPEG)), 400, "do not hash to the name"),
    "uppercase-hash": Bad(put(GOOD, name=sha256(GOOD).upper()), 400, "lowercase SHA-256"),
    "short-hash": Bad(put(GOOD, name=sha256(GOOD)[:40]), 400, "lowercase SHA-256"),
    "path-traversal-name": Bad(put(GOOD, name="%2E%2E%2F%2E%2E%2Fetc%2Fpasswd"), 404, "not found"),
    "backslash-traversal-name": Bad(put(GOOD, name="..%5C..%5Cboot.ini"), 400, "SHA-256"),
    "dot-segment-name": Bad(put(GOOD, name="." * 64), 400, "lowercase SHA-256"),
    # Resumable uploads (tus).
    "tus-zero-byte-chunk": Bad(tus(GOOD, lambda d: [(0, b"")]), 400, "empty chunk"),
    "tus-chunk-at-wrong-offset": Bad(
        tus(GOOD, lambda d: [(0, d[:1000]), (500, d[500:2000])]), 409, "wrong offset"
    ),
    "tus-chunk-past-upload-length": Bad(
        tus(GOOD, lambda d: [(0, d + b"<html>")]), 400, "past Upload-Length"
    ),
    "tus-chunk-not-offset-octet-stream": Bad(
        tus(GOOD, lambda d: [(0, d)], content_type="image/jpeg"), 415, "offset+octet-stream"
    ),
    "tus-completed-text": Bad(
        tus(b"not a photo " * 100, lambda d: [(0, d[:600]), (600, d[600:])]),
        415,
        "not a JPEG or PNG",
    ),
    "tus-completed-bomb": Bad(
        tus(png_declaring(100_000, 100_000), lambda d: [(0, d)]), 413, "bomb"
    ),
    "tus-completed-polyglot": Bad(
        tus(JPEG + zip_archive(), lambda d: [(0, d[:5000]), (5000, d[5000:])]),
        415,
        "follows the end of the image",
    ),
    "tus-declared-length-over-limit": Bad(
        tus_creation(GOOD, **{"Upload-Length": str(10**12)}), 413, "larger than"
    ),
    "tus-traversal-hash-in-metadata": Bad(
        tus_creation(GOOD, **{"Upload-Metadata": metadata(sha256="../../../../etc/passwd")}),
        400,
        "SHA-256",
    ),
}


def stored_files(root: Path) -> list[str]:
    """Every file in the photo store but unfinished uploads."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and ".partial" not in path.parts
    )


def assert_refused_and_serving(
    client: FlaskClient, inspector: dict[str, str], app: Flask, bad: Bad
) -> None:
    root = Path(app.config["PHOTO_DIR"])
    rows, files = db.session.query(Photo).count(), stored_files(root)
    started = time.monotonic()
    response = bad.send(client, inspector)
    elapsed = time.monotonic() - started
    body = response.get_json(silent=True)
    assert response.status_code == bad.status, (response.status_code, body)
    assert response.mimetype == "application/json"
    assert body["code"] == bad.status
    assert bad.says in body["message"] + str(body.get("errors", "")), body
    assert elapsed < 10, f"took {elapsed:.1f}s: a refusal must not decode what it refuses"
    db.session.expire_all()
    assert db.session.query(Photo).count() == rows
    assert stored_files(root) == files
    # The server keeps serving: a good photo goes in right after.
    good = put(GOOD)(client, inspector)
    assert good.status_code in (200, 201), good.get_json()
    assert photo_store().get(sha256(GOOD)) == GOOD


@pytest.mark.parametrize("case", [pytest.param(bad, id=name) for name, bad in CASES.items()])
def test_bad_file_is_refused(app: Flask, client: FlaskClient, headers, case: Bad) -> None:  # type: ignore[no-untyped-def]
    assert_refused_and_serving(client, headers["inspector"], app, case)


def test_body_over_the_size_limit_is_413(app: Flask, client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    """Over the photo limit a PUT is refused from its Content-Length, before the body is read;
    a tus upload is refused at creation, from Upload-Length."""
    limits = app.config["MAX_PHOTO_BYTES"], app.config["MAX_CONTENT_LENGTH"]
    assert len(GOOD) < len(JPEG)
    app.config["MAX_PHOTO_BYTES"] = app.config["MAX_CONTENT_LENGTH"] = len(GOOD)
    try:
        for bad in (
            Bad(put(JPEG), 413, "larger than"),
            Bad(tus_creation(JPEG), 413, "larger than"),
        ):
            assert_refused_and_serving(client, headers["inspector"], app, bad)
    finally:
        app.config["MAX_PHOTO_BYTES"], app.config["MAX_CONTENT_LENGTH"] = limits


def test_duplicate_upload_is_idempotent(app: Flask, client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    first = put(JPEG)(client, headers["inspector"])
    assert first.status_code == 201
    # Another user's first upload of the same bytes is answered as if new (201; issue 16
    # item 4: a 200 would tell them someone else holds the photo); stored once all the same.
    for send, expected in (
        (put(JPEG), 201),
        (tus(JPEG, lambda d: [(0, d[:9000]), (9000, d[9000:])]), 204),
        (put(JPEG), 200),
    ):
        again = send(client, headers["enterprise"])
        assert again.status_code == expected, again.get_json(silent=True)
    assert put(JPEG)(client, headers["inspector"]).status_code == 200
    db.session.expire_all()
    assert db.session.query(Photo).count() == 1
    assert stored_files(Path(app.config["PHOTO_DIR"])) == [
        f"{sha256(JPEG)[:2]}/{sha256(JPEG)[2:4]}/{sha256(JPEG)}"
    ]


def test_client_file_names_are_never_paths(app: Flask, client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    """A tus `filename` is metadata only: the photo is stored under its hash, nowhere else."""
    data_dir = Path(app.config["DATA_DIR"])
    before = {p for p in data_dir.rglob("*") if p.is_file()}
    created = tus_create(
        client,
        headers["inspector"],
        GOOD,
        **{"Upload-Metadata": metadata(sha256=sha256(GOOD), filename="../../../secret_key")},
    )
    location = created.headers["Location"]
    assert tus_patch(client, headers["inspector"], location, 0, GOOD).status_code == 204
    new = {p for p in data_dir.rglob("*") if p.is_file()} - before
    name = sha256(GOOD)
    assert new == {Path(app.config["PHOTO_DIR"]) / name[:2] / name[2:4] / name}


def test_a_phone_mpo_is_a_jpeg(client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    """Phones write JPEGs with a second image (MPO); its first image is a plain JPEG."""
    first, second = Image.new("RGB", (64, 48), "red"), Image.new("RGB", (64, 48), "blue")
    mpo = saved(first, "MPO", save_all=True, append_images=[second])
    response = put(mpo)(client, headers["inspector"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["content_type"] == "image/jpeg"


def test_photos_are_served_so_browsers_never_sniff_them(client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    assert put(GOOD)(client, headers["inspector"]).status_code == 201
    served = client.get(f"/api/v1/photos/{sha256(GOOD)}", headers=headers["supervisor"])
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
