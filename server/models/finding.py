"""Findings: the failed items of submitted inspections, carried until they are closed."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String
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


class Finding(db.Model):
    """One non-compliant item; city and district are copied from the site for fast filters."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_city_status", "city", "status"),)

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    inspection: Mapped[Inspection] = relationship()
    answer: Mapped[Answer] = relationship()
