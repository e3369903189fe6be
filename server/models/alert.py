"""Heavy-pollution alerts and the plants' own emergency reduction lists (一厂一策).

An alert is declared by a supervisor for one or more cities and a period; while it is in
force the heavy-pollution-response checklist judges each plant against the measures its
reduction list sets for the alert's level.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from server.extensions import db
from server.models.registry import Enterprise
from server.models.types import JSONType, UTCDateTime, utcnow


class AlertLevel(StrEnum):
    """The warning levels of the national scheme every city follows (黄/橙/红)."""

    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"


class Alert(db.Model):
    """A heavy-pollution weather alert (重污染天气预警): level, cities, period, who and why."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    # GB/T 2260 codes of the cities the alert covers.
    city_codes: Mapped[list[str]] = mapped_column(JSONType)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    declared_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The declaring form's (or API client's) own id: a double click or a resend declares one
    # alert, not two.
    request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)


class ReductionList(db.Model):
    """An enterprise's performance grade (绩效分级) and emergency reduction list (一厂一策).

    `lines` holds, per production line, its name, its normal load in kW (the reference for
    the line's separate power meter, 分表计电) and per alert level its measure:
    `{"action": "stop" | "limit" | "measures" | "none", "limit_percent": N, "text": "…"}`.
    Kept as one document because it is entered, read and shown as a whole.
    """

    __tablename__ = "reduction_lists"

    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), primary_key=True)
    performance_grade: Mapped[str] = mapped_column(String(1))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    updated_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    enterprise: Mapped[Enterprise] = relationship(
        backref=backref("reduction_list", uselist=False, lazy="selectin")
    )
