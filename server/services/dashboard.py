"""The supervisor's overview: how many findings stand where, how many are closed, what is late.

Counts are grouped in the database; only the last weeks' open and close dates are read to
draw the weekly chart, so the cost stays flat as years of findings pile up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from server.extensions import db
from server.models import UNRESOLVED, Finding, FindingStatus, Task, User
from server.services import checklists as checklist_store
from server.services import clues as clue_service
from server.services import findings as finding_service
from server.services import tasks as task_service
from server.services.clock import today
from server.services.timeutil import LOCAL_ZONE, local_date

WEEKS = 12
OVERDUE_SHOWN = 20


@dataclass
class Group:
    """Findings of one checklist or district."""

    key: str
    label: str
    total: int = 0
    closed: int = 0
    overdue: int = 0


@dataclass
class Week:
    start: date
    opened: int = 0
    closed: int = 0


@dataclass
class Dashboard:
    by_status: dict[str, int]
    total: int
    closed: int
    overdue_count: int
    overdue: list[Finding]
    by_checklist: list[Group]
    by_district: list[Group]
    weeks: list[Week] = field(default_factory=list)
    # Open tasks past their due date, the latest first, and how many there are.
    overdue_tasks: list[Task] = field(default_factory=list)
    overdue_task_count: int = 0
    clue_rates: clue_service.Rates | None = None

    @property
    def closure_rate(self) -> float | None:
        """Closed over all findings still counted (withdrawn ones are not findings)."""
        return self.closed / self.total if self.total else None

    @property
    def busiest_week(self) -> int:
        return max([1, *(max(week.opened, week.closed) for week in self.weeks)])


def _counted(user: User) -> Select[Any]:
    return finding_service.scoped(user).where(Finding.status != FindingStatus.WITHDRAWN.value)


def _groups(user: User, column: Any, labels: dict[str, str]) -> list[Group]:
    base = _counted(user).subquery()
    key = base.c[column.key]
    late = (base.c.due_date < today()) & base.c.status.in_([s.value for s in UNRESOLVED])
    rows = db.session.execute(
        select(
            key,
            func.count(),
            func.sum(func.cast(base.c.status == FindingStatus.CLOSED.value, db.Integer)),
            func.sum(func.cast(late, db.Integer)),
        )
        .group_by(key)
        .order_by(func.count().desc(), key)
    )
    return [
        Group(str(k), labels.get(str(k), str(k)), total, closed or 0, overdue or 0)
        for k, total, closed, overdue in rows
    ]


def _weeks(user: User) -> list[Week]:
    this_monday = today() - timedelta(days=today().weekday())
    weeks = [Week(this_monday - timedelta(weeks=n)) for n in range(WEEKS - 1, -1, -1)]
    since = datetime.combine(weeks[0].start, time.min, LOCAL_ZONE).astimezone(UTC)
    index = {week.start: week for week in weeks}

    def bucket(moment: datetime) -> Week | None:
        day = local_date(moment)
        return index.get(day - timedelta(days=day.weekday()))

    counted = _counted(user).subquery()
    for (created,) in db.session.execute(
        select(counted.c.created_at).where(counted.c.created_at >= since)
    ):
        if (week := bucket(created)) is not None:
            week.opened += 1
    for (closed,) in db.session.execute(
        select(counted.c.closed_at).where(counted.c.closed_at >= since)
    ):
        if (week := bucket(closed)) is not None:
            week.closed += 1
    return weeks


def build(user: User) -> Dashboard:
    """The overview of the findings this user may see."""
    counted = _counted(user).subquery()
    by_status = {
        str(status): count
        for status, count in db.session.execute(
            select(counted.c.status, func.count()).group_by(counted.c.status)
        )
    }
    late = finding_service.filtered(user, finding_service.FindingFilter(overdue=True))
    overdue_count = db.session.scalar(select(func.count()).select_from(late.subquery())) or 0
    overdue = list(
        db.session.scalars(late.order_by(Finding.due_date, Finding.id).limit(OVERDUE_SHOWN))
    )
    return Dashboard(
        by_status=by_status,
        total=sum(by_status.values()),
        closed=by_status.get(FindingStatus.CLOSED.value, 0),
        overdue_count=overdue_count,
        overdue=overdue,
        by_checklist=_groups(user, Finding.checklist_id, checklist_store.titles()),
        by_district=_groups(user, Finding.district, {}),
        weeks=_weeks(user),
        overdue_tasks=task_service.overdue(user, OVERDUE_SHOWN),
        overdue_task_count=task_service.count(user, task_service.TaskFilter(overdue=True)),
        clue_rates=clue_service.rates(user),
    )
