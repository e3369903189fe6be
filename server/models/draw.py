"""双随机 draws, and what decides who may be drawn as an inspector.

A draw commits to its candidate list and to a server-held secret when it is created (their
SHA-256 are published), fixes an unpredictable value when it is drawn, and reveals the
secret once its tasks are issued, so anyone can re-run it (services/draw_algorithm.py).

An inspector may be drawn when certified: an active inspector account with its 执法证号
(`users.badge_no`, the number the inspector signs records with). An inspector is tied to an
enterprise, and never drawn for its sites, when an `InspectorConflict` row names the pair (a
declared conflict of interest: a relative works there, a former employer…) or when the
account itself is linked to that enterprise (`users.enterprise_id`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import JSONType, UTCDateTime, utcnow


class DrawStatus(StrEnum):
    COMMITTED = "committed"  # hashes published; nothing drawn yet
    DRAWN = "drawn"  # value fixed, result known to supervisors; secret still held
    ISSUED = "issued"  # tasks created; the secret is revealed
    # Given up before issue, with a public reason; once drawn, its record is revealed too.
    ABANDONED = "abandoned"


class Draw(db.Model):
    """One 双随机 draw: its population, commitment, draw-time value, result and tasks."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=DrawStatus.COMMITTED.value)
    title: Mapped[str] = mapped_column(String(200), default="")
    # The city (deployment name) whose supervisors see and run the draw.
    city: Mapped[str] = mapped_column(String(40), index=True)
    # The population as the supervisor defined it (city_code, district_code, industry,
    # site_kind, site_ids) and how many to draw (count, or percent of the population).
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONType)
    sample_count: Mapped[int | None] = mapped_column(Integer)
    sample_percent: Mapped[int | None] = mapped_column(Integer)
    checklist_id: Mapped[str] = mapped_column(String(60))
    due_date: Mapped[date] = mapped_column(Date)
    # The canonical text of the candidate list, exactly as hashed and published.
    candidates: Mapped[str] = mapped_column(Text)
    candidate_hash: Mapped[str] = mapped_column(String(64))
    # Hex of 32 random bytes; shown to no one until the draw is issued.
    secret: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    draw_value: Mapped[str | None] = mapped_column(String(64))
    witness: Mapped[str] = mapped_column(String(200), default="")
    seed: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The ids of the tasks issued, in result order.
    task_ids: Mapped[list[int] | None] = mapped_column(JSONType)
    # An abandoned draw: who, when and why (shown on /public/ next to its commitment).
    abandoned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    abandon_reason: Mapped[str] = mapped_column(Text, default="")


class InspectorConflict(db.Model):
    """A declared tie between an inspector and an enterprise: never drawn to inspect it."""

    __tablename__ = "inspector_conflicts"
    __table_args__ = (UniqueConstraint("user_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
