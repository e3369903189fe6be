"""Inspections as synced from devices: every revision kept, answers and their evidence."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    and_,
)
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from server.extensions import db
from server.models.types import JSONType, UTCDateTime, utcnow

if TYPE_CHECKING:
    from server.models.finding import Finding
    from server.models.registry import Site


class InspectionStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class Inspection(db.Model):
    """One inspection; its id was made on the device, so a resend finds the same row."""

    __tablename__ = "inspections"

    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    checklist_id: Mapped[str] = mapped_column(String(60), index=True)
    checklist_version: Mapped[str] = mapped_column(String(16))
    inspector_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=InspectionStatus.SUBMITTED.value)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # Server time minus the device's clock when the current revision arrived (seconds).
    clock_skew_s: Mapped[float | None] = mapped_column(Float)
    # The law it was judged under: {"city_code", "on", "sources"} (checklists.scope.Scope).
    # Kept, so that a later change of the governance file does not change what it cites.
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Set when a review decides; the inspector's device pulls outcomes after its cursor.
    review_seq: Mapped[int | None] = mapped_column(Integer, index=True)

    site: Mapped[Site] = relationship()
    revisions: Mapped[list[InspectionRevision]] = relationship(
        back_populates="inspection", order_by="InspectionRevision.number"
    )
    # Read-only: findings are made with Finding(inspection=...). A new inspection's are set
    # as loaded when it is stored, so answering a device's PUT reads none back. Like
    # `answers`, it is read once per session until a commit expires it; every change to an
    # inspection's findings ends in one.
    findings: Mapped[list[Finding]] = relationship(viewonly=True, order_by="Finding.id")
    # The answers of the current revision; older revisions keep theirs.
    answers: Mapped[list[Answer]] = relationship(
        primaryjoin=lambda: and_(
            foreign(Answer.inspection_uuid) == Inspection.uuid,
            Answer.revision_number == Inspection.revision,
        ),
        order_by="Answer.position",
        viewonly=True,
    )
    reviews: Mapped[list[InspectionReview]] = relationship(
        back_populates="inspection", order_by="InspectionReview.id"
    )

    @property
    def cited_photos(self) -> list[str]:
        """Every photo the current answers cite, once each, in answer order."""
        return list(dict.fromkeys(sha for answer in self.answers for sha in answer.photos))

    @property
    def current_body(self) -> dict[str, Any]:
        """The body of the current revision exactly as accepted ({} before the first)."""
        current = next((r for r in self.revisions if r.number == self.revision), None)
        return current.body if current is not None else {}

    @property
    def record(self) -> dict[str, Any] | None:
        """The signed on-site record of the current revision (None: sent without one)."""
        return self.current_body.get("record")

    @property
    def device_positions(self) -> dict[str, Any] | None:
        """Where the device was at the start and at each photo, or why it did not know
        (None: sent without them, e.g. from the CLI)."""
        return self.current_body.get("positions")

    @property
    def cited_signatures(self) -> list[str]:
        """The signature images the current record cites, once each."""
        record = self.record
        if not record:
            return []
        found = [record.get("representative_signature"), record.get("witness_signature")]
        found += record.get("inspector_signatures") or []
        return list(dict.fromkeys(sha for sha in found if sha))

    @property
    def etag(self) -> str:
        """Names the current revision; a resubmission must name it in If-Match."""
        return f"{self.uuid}-r{self.revision}"


class InspectionRevision(db.Model):
    """The body of each revision exactly as accepted, with its hash for idempotency."""

    __tablename__ = "inspection_revisions"
    __table_args__ = (UniqueConstraint("inspection_uuid", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_uuid: Mapped[uuid_module.UUID] = mapped_column(ForeignKey("inspections.uuid"))
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    body_hash: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    inspection: Mapped[Inspection] = relationship(back_populates="revisions")


class Answer(db.Model):
    """One item's answer in one revision, with the verdict the server computed."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("inspection_uuid", "revision_number", "item_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_uuid: Mapped[uuid_module.UUID] = mapped_column(
        ForeignKey("inspections.uuid"), index=True
    )
    revision_number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(20))
    value: Mapped[Any] = mapped_column(JSONType)
    note: Mapped[str] = mapped_column(Text, default="")
    verdict: Mapped[str] = mapped_column(String(20))

    inspection: Mapped[Inspection] = relationship()
    # Loaded with the answers, in one query for all of them: every reader of an answer
    # shows its photos, and loading them one answer at a time cost 30 queries per
    # inspection (bench/RESULTS.md, ingest profile).
    evidence: Mapped[list[AnswerPhoto]] = relationship(
        back_populates="answer",
        order_by="AnswerPhoto.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def photos(self) -> list[str]:
        return [link.photo_sha256 for link in self.evidence]


class AnswerPhoto(db.Model):
    """A photo an answer cites; the photo itself may arrive before or after the answer."""

    __tablename__ = "answer_photos"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"), primary_key=True)
    photo_sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)

    answer: Mapped[Answer] = relationship(back_populates="evidence")


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    RETURN = "return"


class InspectionReview(db.Model):
    """A supervisor's decision on one revision; every decision is kept."""

    __tablename__ = "inspection_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_uuid: Mapped[uuid_module.UUID] = mapped_column(
        ForeignKey("inspections.uuid"), index=True
    )
    revision_number: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    inspection: Mapped[Inspection] = relationship(back_populates="reviews")
