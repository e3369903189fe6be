"""Photo uploads: verified by hash and by decoding, stored once by content."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models import Photo, PhotoUpload, User
from server.services import audit
from server.services.errors import BadRequest, ErrorCode, NotFound, TooLarge
from server.services.photo_meta import inspect_photo
from server.storage import PhotoStore, check_hash, photo_store


def current_store() -> PhotoStore:
    """The app's photo store (local directory or S3), for the API and the pages, which
    leave storage to the services."""
    return photo_store()


def valid_hash(sha256: str) -> str:
    try:
        return check_hash(sha256)
    except ValueError as error:
        raise BadRequest(
            ErrorCode.PHOTO_NAME_INVALID,
            "照片名须为小写SHA-256 / the photo name must be a lowercase SHA-256 hex digest",
        ) from error


def has_photo(sha256: str) -> Photo | None:
    """The stored photo with this hash, if it arrived completely."""
    return db.session.get(Photo, valid_hash(sha256))


def receive(
    store: PhotoStore, user: User, sha256: str, data: bytes, max_bytes: int
) -> tuple[Photo, PhotoUpload, bool]:
    """Store an uploaded photo and note that `user` sent it; returns the photo, the user's
    upload and whether it is new *to this user* (whether anyone else sent the same bytes
    is never revealed: see `photo_access`).

    Order matters: the blob is written before the row, so a row always means the bytes are
    there; a crash in between leaves an orphan blob that the next upload simply reuses.
    """
    theirs = db.session.get(PhotoUpload, (valid_hash(sha256), user.id)) is not None
    photo = _store(store, user, sha256, data, max_bytes, theirs)
    sent, new = record_upload(user, photo.sha256)
    return photo, sent, new


def record_upload(user: User, sha256: str) -> tuple[PhotoUpload, bool]:
    """Note that `user` sent these (stored) bytes; returns the row and whether it is new.

    Committed at once; a concurrent identical upload by the same user makes one row."""
    existing = db.session.get(PhotoUpload, (sha256, user.id))
    if existing is not None:
        db.session.commit()  # the photo row, when the caller just added one
        return existing, False
    row = PhotoUpload(sha256=sha256, user_id=user.id)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return db.session.get(PhotoUpload, (sha256, user.id)), False  # type: ignore[return-value]
    return row, True


def _store(
    store: PhotoStore, user: User, sha256: str, data: bytes, max_bytes: int, theirs: bool
) -> Photo:
    """The photo row for these checked bytes, the bytes in the store.

    Only bytes this user sent before skip the decode: for anyone else an upload of stored
    bytes takes as long as a new one, so its timing does not tell that they exist."""
    valid_hash(sha256)
    if len(data) > max_bytes:
        raise TooLarge(ErrorCode.PHOTO_TOO_LARGE, f"照片过大 / photo larger than {max_bytes} bytes")
    if not data:
        raise BadRequest(ErrorCode.PHOTO_EMPTY, "照片为空 / empty upload")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise BadRequest(
            ErrorCode.PHOTO_HASH_MISMATCH,
            "内容与哈希不符 / the bytes do not hash to the name",
            {"sha256": [f"expected {sha256}, received bytes hash to {actual}"]},
        )
    existing = db.session.get(Photo, sha256)
    held = existing is not None and store.exists(sha256)
    if held and theirs:
        return existing  # type: ignore[return-value]
    facts = inspect_photo(data)
    if not held:
        store.put(sha256, data)
    if existing is not None:
        return existing
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
        # Flushed, not committed: the caller commits it with this user's upload row, so a
        # crash never leaves a photo its sender cannot cite.
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return db.session.get(Photo, sha256)  # type: ignore[return-value]
    return photo


def read(store: PhotoStore, sha256: str) -> bytes:
    """The stored bytes (one round trip to the store); NotFound when they are not there."""
    try:
        return store.get(valid_hash(sha256))
    except KeyError:
        raise NotFound(ErrorCode.PHOTO_NOT_FOUND, f"照片不存在 / no photo {sha256}") from None
