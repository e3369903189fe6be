"""Photo uploads: verified by hash and by decoding, stored once by content."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models import Photo, User
from server.services import audit
from server.services.errors import BadRequest, NotFound, TooLarge
from server.services.photo_meta import inspect_photo
from server.storage import PhotoStore, check_hash


def valid_hash(sha256: str) -> str:
    try:
        return check_hash(sha256)
    except ValueError as error:
        raise BadRequest(
            "照片名须为小写SHA-256 / the photo name must be a lowercase SHA-256 hex digest"
        ) from error


def has_photo(sha256: str) -> Photo | None:
    """The stored photo with this hash, if it arrived completely."""
    return db.session.get(Photo, valid_hash(sha256))


def receive(
    store: PhotoStore, user: User, sha256: str, data: bytes, max_bytes: int
) -> tuple[Photo, bool]:
    """Store an uploaded photo; returns it and whether it was new.

    Order matters: the blob is written before the row, so a row always means the bytes are
    there; a crash in between leaves an orphan blob that the next upload simply reuses.
    """
    valid_hash(sha256)
    if len(data) > max_bytes:
        raise TooLarge(f"照片过大 / photo larger than {max_bytes} bytes")
    if not data:
        raise BadRequest("照片为空 / empty upload")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise BadRequest(
            "内容与哈希不符 / the bytes do not hash to the name",
            {"sha256": [f"expected {sha256}, received bytes hash to {actual}"]},
        )
    existing = db.session.get(Photo, sha256)
    if existing is not None and store.exists(sha256):
        return existing, False
    facts = inspect_photo(data)
    store.put(sha256, data)
    if existing is not None:
        return existing, True
    photo = Photo(
        sha256=sha256,
        size=len(data),
        content_type=facts.content_type,
        width=facts.width,
        height=facts.height,
        taken_at=facts.taken_at,
        lat=facts.lat,
        lon=facts.lon,
        uploaded_by=user.id,
    )
    db.session.add(photo)
    audit.record_photo(user, photo)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return db.session.get(Photo, sha256), False  # type: ignore[return-value]
    return photo, True


def read(store: PhotoStore, sha256: str) -> bytes:
    """The stored bytes (one round trip to the store); NotFound when they are not there."""
    try:
        return store.get(valid_hash(sha256))
    except KeyError:
        raise NotFound(f"照片不存在 / no photo {sha256}") from None
