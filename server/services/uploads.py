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
from collections.abc import Callable, Iterator
from datetime import timedelta

from sqlalchemy import delete, func, select
from werkzeug.exceptions import ClientDisconnected

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


class TooManyUnfinished(DomainError):
    """A user holds as many unfinished uploads as allowed: each is a partial file on disk."""

    status = 429

    def __init__(self, limit: int) -> None:
        super().__init__(
            ErrorCode.UPLOAD_TOO_MANY_UNFINISHED,
            f"未完成的上传已达 {limit} 个，请先完成或等待其过期 / you have {limit} unfinished "
            "uploads, the most allowed: finish them (or wait until they expire) first",
            {"unfinished_uploads": [f"at most {limit}"]},
        )


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


def create(
    user: User,
    length: int,
    metadata: dict[str, str],
    max_bytes: int,
    max_unfinished: int,
    expiry: timedelta,
) -> Upload:
    """A new upload for a photo of `length` bytes whose SHA-256 is in the metadata.

    A user may hold at most `max_unfinished` unfinished uploads younger than `expiry` (older
    ones are about to be expired and no longer count). The user's row is locked while
    counting, so concurrent creations cannot pass the cap together (PostgreSQL; SQLite
    writes one transaction at a time).
    """
    sha256 = valid_hash(metadata.get("sha256", ""))
    if length > max_bytes:
        raise TooLarge(ErrorCode.PHOTO_TOO_LARGE, f"照片过大 / photo larger than {max_bytes} bytes")
    if length <= 0:
        raise BadRequest(
            ErrorCode.UPLOAD_INVALID, "Upload-Length 须为正整数 / Upload-Length must be positive"
        )
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))
    unfinished = db.session.scalar(
        select(func.count())
        .select_from(Upload)
        .where(
            Upload.user_id == user.id,
            Upload.completed_at.is_(None),
            Upload.created_at >= utcnow() - expiry,
        )
    )
    if (unfinished or 0) >= max_unfinished:
        db.session.rollback()
        raise TooManyUnfinished(max_unfinished)
    upload = Upload(id=secrets.token_urlsafe(24), sha256=sha256, length=length, user_id=user.id)
    db.session.add(upload)
    db.session.commit()
    return upload


def resumable(user: User, sha256: str, length: int, expiry: timedelta) -> Upload | None:
    """This user's upload of this photo at this length, for a client that lost the answer
    to its creation (its body was cut off on the way, so it never learned the Location):
    an unfinished one younger than `expiry` first, else one already completed."""
    found = db.session.scalars(
        select(Upload)
        .where(
            Upload.user_id == user.id,
            Upload.sha256 == valid_hash(sha256),
            Upload.length == length,
            Upload.created_at >= utcnow() - expiry,
        )
        .order_by(Upload.completed_at.is_not(None), Upload.created_at.desc())
        .limit(1)
    ).first()
    return found


def get(user: User, upload_id: str) -> Upload:
    """An upload of this user (others' uploads do not exist for them)."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.user_id != user.id:
        raise NotFound(ErrorCode.UPLOAD_NOT_FOUND, f"上传不存在 / no upload {upload_id}")
    return upload


def offset(store: PhotoStore, upload: Upload) -> int:
    return upload.length if upload.completed_at else store.partial_size(upload.id)


def settle(store: PhotoStore, user: User, upload: Upload, max_bytes: int) -> int:
    """Where the upload stands, finalising it first when every byte is held.

    A server that dies after writing the last chunk but before finalising leaves an upload
    that is complete yet no photo; the client then has nothing left to send. So asking
    (HEAD) finalises it. Held bytes that fail the checks are dropped and the answer is 0:
    the client starts the upload over instead of being stuck.
    """
    held = offset(store, upload)
    if upload.completed_at is None and held == upload.length:
        try:
            finalise(store, user, upload, max_bytes)
        except DomainError:
            return 0
    return held


def append_chunk(store: PhotoStore, upload: Upload, at: int, chunk: bytes) -> int:
    """Append a chunk at `at` and return the bytes now held; nothing is finalised here
    (`finalise` does that once the held bytes reach Upload-Length).

    An empty chunk is allowed only at the end: it asks for finalisation.
    """
    if upload.completed_at is not None:
        if at == upload.length and not chunk:
            return upload.length
        raise OffsetConflict(upload.length)
    if not chunk:
        held = store.partial_size(upload.id)
        if at == upload.length and held == upload.length:
            return held
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
        return store.append_partial(upload.id, at, chunk)
    except OffsetMismatch as mismatch:
        raise OffsetConflict(mismatch.held) from None


# Bytes read from a request body at a time while it is written to the partial upload. The
# servers' body readers block until a whole block arrives, so a cut loses at most the last
# block's worth of what reached the server: small enough to matter little on a poor link.
BODY_BLOCK = 16 * 1024


class Body:
    """A request body read block by block, stopping quietly where the client was cut off.

    `read` is the body stream's read; `length` its Content-Length (None when chunked);
    `room` the bytes the upload still has space for. `cut` says afterwards whether the
    body ended before its Content-Length: its bytes so far are still good, since tus
    appends only what it holds and the hash is checked once the upload is complete.
    """

    def __init__(self, read: Callable[[int], bytes], length: int | None, room: int) -> None:
        self.read, self.length, self.room = read, length, room
        self.received = 0
        self.cut = False

    def __iter__(self) -> Iterator[bytes]:
        while self.length is None or self.received < self.length:
            left = BODY_BLOCK if self.length is None else self.length - self.received
            want = min(BODY_BLOCK, left)
            try:
                block = self.read(want)
            except (ClientDisconnected, OSError):
                block = b""
            if not block:
                self.cut = self.length is not None
                return
            if self.received + len(block) > self.room:
                raise BadRequest(
                    ErrorCode.UPLOAD_INVALID,
                    "数据超出声明长度 / the chunk goes past Upload-Length",
                )
            self.received += len(block)
            yield block


def append_body(store: PhotoStore, upload: Upload, at: int, body: Body) -> int:
    """Append a request body at `at` as it arrives (`append_chunk` for a body in hand);
    returns the bytes now held. A body cut off on the way keeps what arrived. A body of
    unknown length (chunked) is read whole first, with the same rules as `append_chunk`."""
    if not body.length:
        return append_chunk(store, upload, at, b"".join(body))
    if upload.completed_at is not None:
        raise OffsetConflict(upload.length)
    if body.length is not None and at + body.length > upload.length:
        raise BadRequest(
            ErrorCode.UPLOAD_INVALID,
            "数据超出声明长度 / the chunk goes past Upload-Length",
            {"upload_length": [f"{at} + {body.length} > {upload.length}"]},
        )
    try:
        return store.append_partial_stream(upload.id, at, body)
    except OffsetMismatch as mismatch:
        raise OffsetConflict(mismatch.held) from None


def finalise(store: PhotoStore, user: User, upload: Upload, max_bytes: int) -> Photo | None:
    """Turn a complete upload into its photo (idempotent); None while bytes are missing.

    The bytes pass the same checks as a whole upload; a failure drops them so that a
    retry starts clean.
    """
    if upload.completed_at is not None:
        return db.session.get(Photo, upload.sha256)
    if store.partial_size(upload.id) < upload.length:
        return None
    data = store.read_partial(upload.id)
    try:
        photo, _, _ = receive(store, user, upload.sha256, data, max_bytes)
    except DomainError:
        store.drop_partial(upload.id)
        raise
    store.drop_partial(upload.id)
    upload.completed_at = utcnow()
    db.session.commit()
    return photo


def expire(store: PhotoStore, older_than: timedelta) -> int:
    """Drop unfinished uploads created more than `older_than` ago, their partial bytes
    first; returns how many. A device that comes back later gets 404 for the upload and
    simply sends the photo again."""
    unfinished_and_old = (Upload.completed_at.is_(None), Upload.created_at < utcnow() - older_than)
    stale = list(db.session.scalars(select(Upload.id).where(*unfinished_and_old)))
    for upload_id in stale:
        store.drop_partial(upload_id)
    # One statement, so several workers starting at once cannot trip over each other.
    dropped = db.session.execute(delete(Upload).where(Upload.id.in_(stale), *unfinished_and_old))
    db.session.commit()
    return dropped.rowcount
