"""Periodic re-visits of closed enterprises (两断三清), so that none revives (死灰复燃).

A closed-enterprise site whose closure was verified (an approved inspection with the
shut-down verification checklist) is due again `REVISIT_INTERVAL_DAYS` (default 91, a
quarter) after its last inspection with that checklist. `schedule` creates one re-visit
task for each due site: reason `reinspection`, the closure inspection named for comparison
(`compare_inspection_uuid`), two inspectors of the site's city with the fewest open tasks.

Idempotent: a site with an open re-visit is skipped, and `open_key` ("revisit:site:<id>")
is unique among open tasks, so two runs — even at once — create one task per site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import (
    Inspection,
    InspectionStatus,
    Role,
    Site,
    Task,
    TaskInspector,
    TaskReason,
    TaskStatus,
    User,
)
from server.services import tasks
from server.services.clock import today
from server.services.errors import Invalid
from server.services.timeutil import local_date

CHECKLIST_ID = "shutdown-verification"
SITE_KIND = "closed_enterprise"


def open_key(site_id: int) -> str:
    return f"revisit:site:{site_id}"


@dataclass
class Outcome:
    created: list[Task] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (site code, why)


def _closure(site_id: int) -> Inspection | None:
    """The inspection that verified the closure: the first approved one with the checklist."""
    query = (
        select(Inspection)
        .where(
            Inspection.site_id == site_id,
            Inspection.checklist_id == CHECKLIST_ID,
            Inspection.status == InspectionStatus.APPROVED.value,
        )
        .order_by(Inspection.finished_at, Inspection.uuid)
        .limit(1)
    )
    return db.session.scalars(query).first()


def _last_visit(site_id: int) -> date | None:
    last = db.session.scalar(
        select(func.max(Inspection.finished_at)).where(
            Inspection.site_id == site_id, Inspection.checklist_id == CHECKLIST_ID
        )
    )
    return local_date(last) if last else None


def _pair(city: str) -> list[int]:
    """Two active inspectors of the city (or unlimited ones) with the fewest open tasks."""
    load = (
        select(TaskInspector.user_id, func.count().label("n"))
        .join(Task, Task.id == TaskInspector.task_id)
        .where(Task.status == TaskStatus.OPEN.value, TaskInspector.active.is_(True))
        .group_by(TaskInspector.user_id)
        .subquery()
    )
    query = (
        select(User.id)
        .outerjoin(load, load.c.user_id == User.id)
        .where(
            User.role == Role.INSPECTOR.value,
            User.active.is_(True),
            (User.city == city) | User.city.is_(None),
        )
        .order_by(func.coalesce(load.c.n, 0), User.id)
        .limit(tasks.MIN_INSPECTORS)
    )
    return list(db.session.scalars(query))


def schedule(on: date | None = None) -> Outcome:
    """Create the re-visit tasks due `on` (today, China time); commits."""
    day = on or today()
    interval = timedelta(days=int(current_app.config["REVISIT_INTERVAL_DAYS"]))
    due_in = timedelta(days=int(current_app.config["REVISIT_DUE_DAYS"]))
    outcome = Outcome()
    sites = db.session.scalars(
        select(Site)
        .where(Site.kind == SITE_KIND, Site.active.is_(True))
        .options(selectinload(Site.enterprise))
        .order_by(Site.id)
    ).all()
    for site in sites:
        if db.session.scalar(select(Task.id).where(Task.open_key == open_key(site.id))):
            continue  # a re-visit is already open
        closure = _closure(site.id)
        if closure is None:
            outcome.skipped.append(
                (site.code, "无已通过的关停核查 / no approved closure inspection")
            )
            continue
        last = _last_visit(site.id)
        if last is not None and last + interval > day:
            continue
        pair = _pair(site.enterprise.city)
        if len(pair) < tasks.MIN_INSPECTORS:
            outcome.skipped.append((site.code, "本市检查员不足两人 / fewer than two inspectors"))
            continue
        savepoint = db.session.begin_nested()
        try:
            task = tasks.create_task(
                actor=None,
                site_ids=[site.id],
                checklist_id=CHECKLIST_ID,
                due_on=day + due_in,
                inspector_ids=pair,
                reason=TaskReason.REINSPECTION.value,
                note=f"关停企业定期复查（上次 {last}）/ periodic re-visit of a closed enterprise",
                source_ref=open_key(site.id),
                compare_inspection_uuid=closure.uuid,
                open_key=open_key(site.id),
                commit=False,
            )
            savepoint.commit()
        except IntegrityError:
            savepoint.rollback()  # another run opened it a moment ago
            continue
        except Invalid as error:
            savepoint.rollback()
            outcome.skipped.append((site.code, f"{error.message} {error.errors}"))
            continue
        outcome.created.append(task)
    db.session.commit()
    return outcome
