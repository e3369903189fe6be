"""Who may read a photo, and who may cite one: knowing its hash is never enough.

A user may read the bytes they sent themselves (`photo_uploads`: a photo sent by several
users keeps each of them) and the photos of what they may read: a city's supervisor those
of its inspections and answers, an enterprise those of its own visible findings and its
answers; admins and supervisors of every city, any. An inspection's citation counts only
for a photo its inspector sent: answers arrive before their photos, so a citation cannot be
refused when made, only disregarded until the inspector's own upload proves possession. An
enterprise's answer is checked when made, against what the enterprise may read.

For a photo the caller may not read, every answer is the one for a photo that does not
exist (HEAD and GET 404, missing in the batch question and in an inspection's
`missing_photos`, 422 on citing it, 201 on uploading it): the caller proves possession by
uploading the same bytes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, select

from server.extensions import db
from server.models import (
    VISIBLE_TO_ENTERPRISE,
    Answer,
    AnswerPhoto,
    Enterprise,
    Finding,
    FindingResponse,
    Inspection,
    Photo,
    PhotoUpload,
    ResponsePhoto,
    Role,
    Site,
    User,
)
from server.services.errors import ErrorCode, Invalid
from server.services.photos import valid_hash
from server.services.registry import visible_city
from server.storage import PhotoStore


def possessed(user_id: int, hashes: Collection[str]) -> set[str]:
    """Which of these photos this user sent themselves."""
    if not hashes:
        return set()
    return set(
        db.session.scalars(
            select(PhotoUpload.sha256).where(
                PhotoUpload.user_id == user_id, PhotoUpload.sha256.in_(set(hashes))
            )
        )
    )


def inspection_photos(inspection: Inspection) -> dict[str, Photo]:
    """The photos (and signature images) an inspection cites that its inspector has sent, by
    hash (one query): the rest are missing, whoever else holds them."""
    cited = inspection.cited_photos + inspection.cited_signatures
    if not cited:
        return {}
    query = (
        select(Photo)
        .join(PhotoUpload, PhotoUpload.sha256 == Photo.sha256)
        .where(Photo.sha256.in_(cited), PhotoUpload.user_id == inspection.inspector_id)
    )
    return {photo.sha256: photo for photo in db.session.scalars(query)}


def readable_hashes(user: User, hashes: Collection[str]) -> set[str]:
    """Which of these photos the user may see (the rules are in the module docstring). One
    query per way of seeing, until every hash is decided."""
    wanted = set(hashes)
    city = visible_city(user)
    if not wanted or user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and not city):
        return wanted
    queries: list[Select[Any]] = [
        select(PhotoUpload.sha256).where(
            PhotoUpload.sha256.in_(wanted), PhotoUpload.user_id == user.id
        )
    ]
    # A citation in an inspection counts only for bytes its inspector sent.
    cited = (
        select(AnswerPhoto.photo_sha256)
        .join(Answer, Answer.id == AnswerPhoto.answer_id)
        .join(Inspection, Inspection.uuid == Answer.inspection_uuid)
        .join(
            PhotoUpload,
            (PhotoUpload.sha256 == AnswerPhoto.photo_sha256)
            & (PhotoUpload.user_id == Inspection.inspector_id),
        )
        .where(AnswerPhoto.photo_sha256.in_(wanted))
    )
    answered = (
        select(ResponsePhoto.photo_sha256)
        .join(FindingResponse, FindingResponse.id == ResponsePhoto.response_id)
        .join(Finding, Finding.id == FindingResponse.finding_id)
        .where(ResponsePhoto.photo_sha256.in_(wanted))
    )
    if user.role == Role.ENTERPRISE:
        queries.append(
            cited.join(Finding, Finding.answer_id == Answer.id).where(
                Finding.enterprise_id == user.enterprise_id,
                Finding.status.in_([s.value for s in VISIBLE_TO_ENTERPRISE]),
            )
        )
        queries.append(answered.where(Finding.enterprise_id == user.enterprise_id))
    elif user.role == Role.SUPERVISOR:
        in_city = (
            cited.join(Site, Site.id == Inspection.site_id)
            .join(Enterprise, Enterprise.id == Site.enterprise_id)
            .where(Enterprise.city == city)
        )
        queries += [in_city, answered.where(Finding.city == city)]
    # An inspector sees what they sent: what their inspections validly cite is just that.
    seen: set[str] = set()
    for query in queries:
        seen.update(db.session.scalars(query.distinct()))
        if seen >= wanted:
            break
    return seen


def may_read_photo(user: User, sha256: str) -> bool:
    """Whether this user may see the photo (the rule is `readable_hashes`)."""
    return bool(readable_hashes(user, [sha256]))


def readable_photo(user: User, sha256: str) -> Photo | None:
    """The stored photo when this user may see it, else None (its existence stays hidden)."""
    photo = db.session.get(Photo, valid_hash(sha256))
    return photo if photo is not None and may_read_photo(user, sha256) else None


def photos_to_send(store: PhotoStore, user: User, hashes: Sequence[str]) -> list[str]:
    """Which of these photos the user should send: the batch form of asking `HEAD` for each.

    A photo counts as present only when, as for `HEAD /api/v1/photos/{sha256}`, it arrived
    completely (its row and its bytes are there) and this user may see it. Anything else is
    answered missing, so the answer never reveals that a photo the user may not see exists;
    sending it is how the user proves they hold it. Hashes come back once each, in order.
    """
    wanted = list(dict.fromkeys(valid_hash(sha) for sha in hashes))
    if not wanted:
        return []
    stored = set(db.session.scalars(select(Photo.sha256).where(Photo.sha256.in_(wanted))))
    present = {sha for sha in readable_hashes(user, stored) if store.exists(sha)}
    return [sha for sha in wanted if sha not in present]


def citable(user: User, hashes: Sequence[str]) -> list[str]:
    """The photos an answer may cite, once each in order: stored and readable by `user`.

    Invalid (422) names every other one alike, stored elsewhere or never sent."""
    wanted = list(dict.fromkeys(valid_hash(sha) for sha in hashes))
    stored = set(db.session.scalars(select(Photo.sha256).where(Photo.sha256.in_(wanted))))
    allowed = readable_hashes(user, stored)
    missing = [sha for sha in wanted if sha not in allowed]
    if missing:
        raise Invalid(
            ErrorCode.PHOTO_MISSING, "请先上传照片 / upload the photos first", {"photos": missing}
        )
    return wanted
