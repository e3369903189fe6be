"""Resumable photo uploads, the tus 1.0 way (core + creation).

An upload is created with the photo's length and SHA-256, then filled by chunks that must
start exactly where the held bytes end. Once complete, the bytes pass the same checks as a
whole upload (hash, decoding) and become the photo; a failure drops the partial so a retry
starts clean.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from server.extensions import db
from server.models import Photo, Upload, User, utcnow
from server.services.errors import BadRequest, Conflict, DomainError, ErrorCode, NotFound, TooLarge
from server.services.photos import receive, valid_hash
from server.storage import OffsetMismatch, PhotoStore


class OffsetConflict(Conflict):
    """A chunk that does not continue the held bytes; the response says where to resume."""

    def __init__(self, held: int) -> None:
        super().__init__(
            ErrorCode.UPLOAD_OFFSET_CONFLICT,
            f"上传位置不符，服务器已有 {held} 字节 / wrong offset: the server holds {held} bytes",
            {"upload_offset": held},
        )
        self.headers = {"Upload-Offset": str(held)}


def parse_metadata(header: str | None) -> dict[str, str]:
    """`Upload-Metadata`: comma-separated `key base64value` pairs."""
    metadata: dict[str, str] = {}
    for pair in (header or "").split(","):
        if not pair.strip():
            continue
        key, _, encoded = pair.strip().partition(" ")
        try:
            metadata[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            raise BadRequest(
                ErrorCode.UPLOAD_INVALID,
                f"Upload-Metadata 无法解析 / bad Upload-Metadata value for {key!r}",
            ) from error
    return metadata


def create(user: User, length: int, metadata: dict[str, str], max_bytes: int) -> Upload:
    """A new upload for a photo of `length` bytes whose SHA-256 is in the metadata."""
    sha256 = valid_hash(metadata.get("sha256", ""))
    if length > max_bytes:
        raise TooLarge(ErrorCode.PHOTO_TOO_LARGE, f"照片过大 / photo larger than {max_bytes} bytes")
    if length <= 0:
        raise BadRequest(
            ErrorCode.UPLOAD_INVALID, "Upload-Length 须为正整数 / Upload-Length must be positive"
        )
    upload = Upload(id=secrets.token_urlsafe(24), sha256=sha256, length=length, user_id=user.id)
    db.session.add(upload)
    db.session.commit()
    return upload


def get(user: User, upload_id: str) -> Upload:
    """An upload of this user (others' uploads do not exist for them)."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.user_id != user.id:
        raise NotFound(ErrorCode.UPLOAD_NOT_FOUND, f"上传不存在 / no upload {upload_id}")
    return upload


def offset(store: PhotoStore, upload: Upload) -> int:
    return upload.length if upload.completed_at else store.partial_size(upload.id)


def append(
    store: PhotoStore, user: User, upload: Upload, at: int, chunk: bytes, max_bytes: int
) -> tuple[int, Photo | None]:
    """Append a chunk at `at`; returns the new offset and, when complete, the stored photo."""
    if upload.completed_at is not None:
        if at == upload.length and not chunk:
            return upload.length, db.session.get(Photo, upload.sha256)
        raise OffsetConflict(upload.length)
    if not chunk:
        raise BadRequest(
            ErrorCode.UPLOAD_INVALID, "空的数据块 / empty chunk: send at least one byte"
        )
    if at + len(chunk) > upload.length:
        raise BadRequest(
            ErrorCode.UPLOAD_INVALID,
            "数据超出声明长度 / the chunk goes past Upload-Length",
            {"upload_length": [f"{at} + {len(chunk)} > {upload.length}"]},
        )
    try:
        held = store.append_partial(upload.id, at, chunk)
    except OffsetMismatch as mismatch:
        raise OffsetConflict(mismatch.held) from None
    if held < upload.length:
        return held, None
    data = store.read_partial(upload.id)
    try:
        photo, _ = receive(store, user, upload.sha256, data, max_bytes)
    except DomainError:
        store.drop_partial(upload.id)
        raise
    store.drop_partial(upload.id)
    upload.completed_at = utcnow()
    db.session.commit()
    return held, photo
