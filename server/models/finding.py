"""Findings: the failed items of submitted inspections, carried until they are closed."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.inspection import Answer, Inspection
from server.models.types import UTCDateTime, utcnow


class FindingStatus(StrEnum):
    OPEN = "open"
    NOTIFIED = "notified"
    ANSWERED = "answered"
    CLOSED = "closed"
    REOPENED = "reopened"
    # The item passed in a later revision of a returned inspection: no longer a finding.
    WITHDRAWN = "withdrawn"


# Statuses in which a finding still waits for the enterprise or the supervisor.
UNRESOLVED = (
    FindingStatus.OPEN,
    FindingStatus.NOTIFIED,
    FindingStatus.ANSWERED,
    FindingStatus.REOPENED,
)

# Statuses in which the enterprise sees a finding: once it has been sent a notice.
VISIBLE_TO_ENTERPRISE = (
    FindingStatus.NOTIFIED,
    FindingStatus.ANSWERED,
    FindingStatus.CLOSED,
    FindingStatus.REOPENED,
)


class Finding(db.Model):
    """One non-compliant item; city and district are copied from the site for fast filters."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_city_status", "city", "status"),
        # The overdue filter (unresolved and past due): an index-only count at a million rows.
        Index("ix_findings_status_due_date", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_uuid: Mapped[uuid_module.UUID] = mapped_column(
        ForeignKey("inspections.uuid"), index=True
    )
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id"))
    item_code: Mapped[str] = mapped_column(String(20))
    checklist_id: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(20))
    days_to_rectify: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=FindingStatus.OPEN.value)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    city: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(60))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    inspection: Mapped[Inspection] = relationship()
    answer: Mapped[Answer] = relationship()
    notice: Mapped[Notice | None] = relationship(back_populates="findings")
    events: Mapped[list[FindingEvent]] = relationship(
        back_populates="finding", order_by="FindingEvent.id"
    )
    responses: Mapped[list[FindingResponse]] = relationship(
        back_populates="finding", order_by="FindingResponse.id"
    )


class FindingEvent(db.Model):
    """One transition of a finding: who moved it, when, from what to what, and why."""

    __tablename__ = "finding_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="events")


class Notice(db.Model):
    """整改通知书: a numbered notice to one enterprise listing findings to rectify.

    The number is gap-free per city and year: `seq` comes from a counter row locked in the
    same transaction that inserts the notice.
    """

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("city", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    city: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    issued_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[date] = mapped_column(Date)
    portal_token: Mapped[str] = mapped_column(String(43), unique=True)

    findings: Mapped[list[Finding]] = relationship(back_populates="notice", order_by="Finding.id")


class FindingResponse(db.Model):
    """An enterprise's answer to a finding: what it did, with photo evidence."""

    __tablename__ = "finding_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    finding: Mapped[Finding] = relationship(back_populates="responses")
    evidence: Mapped[list[ResponsePhoto]] = relationship(
        order_by="ResponsePhoto.position", cascade="all, delete-orphan"
    )

    @property
    def photos(self) -> list[str]:
        return [link.photo_sha256 for link in self.evidence]


class ResponsePhoto(db.Model):
    """A photo an enterprise sent with its answer (indexed: it decides who may see it)."""

    __tablename__ = "response_photos"

    response_id: Mapped[int] = mapped_column(ForeignKey("finding_responses.id"), primary_key=True)
    photo_sha256: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
