"""Tasks (who inspects what, by when) and clues (what someone reported, and where).

A task names one or more sites, one checklist, a due date and at least two inspectors
(执法人员不少于两人). It is fulfilled when an inspection of each of its sites with its
checklist, by one of its inspectors, is submitted while the task is open. Overdue is not a
status: an open task whose due date has passed (China time) is overdue.
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models.types import JSONType, UTCDateTime, utcnow


class TaskReason(StrEnum):
    """Why the task exists (the plans' words: 计划, 双随机, 线索, 复查, 预警)."""

    PLANNED = "planned"
    DOUBLE_RANDOM = "double_random"
    CLUE = "clue"
    REINSPECTION = "reinspection"
    ALERT = "alert"


class TaskStatus(StrEnum):
    OPEN = "open"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class Task(db.Model):
    """One dispatched inspection job (检查任务)."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN.value, index=True)
    checklist_id: Mapped[str] = mapped_column(String(60))
    # The city of its sites (one city a task): what a supervisor of that city sees.
    city: Mapped[str] = mapped_column(String(40), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    # Where it came from, for the caller's own bookkeeping: "draw:3", "clue:5", "finding:7".
    source_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    # Unique while the task is open, cleared when it ends: two schedulers (or a scheduler run
    # twice) cannot open the same task twice ("revisit:site:12").
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # An on-site verification (复查) of this answered finding before it is closed (销号).
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    # A re-visit of a closed enterprise compares with this inspection (the closure's).
    compare_inspection_uuid: Mapped[uuid_module.UUID | None] = mapped_column(
        Uuid, ForeignKey("inspections.uuid")
    )
    # Bumped by every reassignment: two reassignments decided on the same version cannot
    # both be stored.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    sites: Mapped[list[TaskSite]] = relationship(
        back_populates="task", order_by="TaskSite.position", cascade="all, delete-orphan"
    )
    # Every inspector ever assigned; `inspector_ids` are those assigned now.
    inspectors: Mapped[list[TaskInspector]] = relationship(
        back_populates="task", order_by="TaskInspector.position", cascade="all, delete-orphan"
    )

    @property
    def site_ids(self) -> list[int]:
        return [link.site_id for link in self.sites]

    @property
    def inspector_ids(self) -> list[int]:
        return [link.user_id for link in self.inspectors if link.active]


class TaskSite(db.Model):
    """A site of a task, and the inspection that covered it (None until one does)."""

    __tablename__ = "task_sites"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    inspection_uuid: Mapped[uuid_module.UUID | None] = mapped_column(
        Uuid, ForeignKey("inspections.uuid")
    )

    task: Mapped[Task] = relationship(back_populates="sites")


class TaskInspector(db.Model):
    """An inspector assigned to a task (two or more; the first is the lead).

    A reassignment never deletes a row (the audit log keeps every row it recorded): one
    taken off the task is kept with `active` false, and comes back if assigned again."""

    __tablename__ = "task_inspectors"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)

    task: Mapped[Task] = relationship(back_populates="inspectors")


class ClueKind(StrEnum):
    COMPLAINT = "complaint"  # 12369 环保举报 / 信访
    GRID_ALARM = "grid_alarm"  # 热点网格报警
    ONLINE_MONITORING = "online_monitoring"  # 在线监测超标
    INSPECTOR_REPORT = "inspector_report"  # 检查员自行发现


class ClueStatus(StrEnum):
    NEW = "new"
    TASKED = "tasked"
    DISMISSED = "dismissed"


class Clue(db.Model):
    """A reported problem with a place: matched to nearby sites, answered by a task or a
    dismissal before `respond_by`."""

    __tablename__ = "clues"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default=ClueStatus.NEW.value, index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    # The sender's own reference (a 12369 ticket number, a grid alarm id).
    external_ref: Mapped[str] = mapped_column(String(80), default="")
    city: Mapped[str] = mapped_column(String(40), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    respond_by: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Registered sites within `radius_m`, nearest first: [{"site_id": 3, "distance_m": 120.5}].
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    radius_m: Mapped[float] = mapped_column(Float)
    reported_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dismiss_reason: Mapped[str] = mapped_column(Text, default="")
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)

    task: Mapped[Task | None] = relationship()
