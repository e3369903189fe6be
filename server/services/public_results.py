"""一公开: the public results of completed 双随机 inspections, for /public/ (no login).

Only inspections that covered a site of a task an issued draw created (its id in the draw's
`task_ids`: a hand-made task calling itself double_random never counts) and that a
supervisor approved are listed. Each row says the enterprise, the day (China time), the
checklist and the result: compliant, findings by count and severity, or rectified once
every finding is closed. Nothing else is read: no photos, no names of people (inspectors,
contacts, reviewers), no notes or comments, no site addresses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from checklists.model import SEVERITY_LABELS, Severity
from server.extensions import db
from server.models import (
    Draw,
    DrawStatus,
    Enterprise,
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    Site,
    Task,
    TaskReason,
    TaskSite,
    TaskStatus,
)
from server.services import checklists, draws
from server.services.timeutil import local_date

MAX_ROWS = 5000  # the newest; a city publishes a few hundred a year
SEVERITY_ORDER = (Severity.CRITICAL, Severity.MAJOR, Severity.MINOR)


@dataclass(frozen=True)
class PublicResult:
    enterprise: str
    credit_code: str
    day: date
    checklist_id: str
    checklist: str
    outcome: str  # "compliant", "findings", "rectified"
    findings: int
    by_severity: dict[str, int]

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    @property
    def severity_text(self) -> str:
        """ "严重 1、一般 2" — Chinese first; the English labels follow in the CSV header."""
        return "、".join(
            f"{SEVERITY_LABELS[level].split(' / ')[0]} {self.by_severity[level.value]}"
            for level in SEVERITY_ORDER
            if self.by_severity.get(level.value)
        )


OUTCOME_LABELS = {
    "compliant": "未发现问题 / compliant",
    "findings": "发现问题 / findings",
    "rectified": "已整改 / rectified",
}


def drawn_task_ids() -> list[int]:
    """The ids of every task an issued draw created."""
    rows = db.session.scalars(select(Draw.task_ids).where(Draw.status == DrawStatus.ISSUED.value))
    return sorted({task_id for ids in rows for task_id in ids or []})


def approved_double_random() -> list[PublicResult]:
    """Every approved inspection that covered a site of an issued draw's task, newest first."""
    task_ids = drawn_task_ids()
    if not task_ids:
        return []
    query = (
        select(Inspection, Enterprise.name, Enterprise.credit_code)
        .join(TaskSite, TaskSite.inspection_uuid == Inspection.uuid)
        .join(Task, Task.id == TaskSite.task_id)
        .join(Site, Site.id == Inspection.site_id)
        .join(Enterprise, Enterprise.id == Site.enterprise_id)
        .where(
            Task.reason == TaskReason.DOUBLE_RANDOM.value,
            Task.id.in_(task_ids),
            Inspection.status == InspectionStatus.APPROVED.value,
        )
        .order_by(Inspection.finished_at.desc())
        .limit(MAX_ROWS)
        .distinct()
    )
    rows = db.session.execute(query).all()
    ids = [row[0].uuid for row in rows]
    findings: dict[object, list[tuple[str, str]]] = {uuid: [] for uuid in ids}
    if ids:
        found = db.session.execute(
            select(Finding.inspection_uuid, Finding.severity, Finding.status).where(
                Finding.inspection_uuid.in_(ids),
                Finding.status != FindingStatus.WITHDRAWN.value,
            )
        )
        for uuid, severity, status in found:
            findings[uuid].append((severity, status))
    titles = checklists.titles()
    results = []
    for inspection, name, credit_code in rows:
        own = findings[inspection.uuid]
        if not own:
            outcome = "compliant"
        elif all(status == FindingStatus.CLOSED.value for _, status in own):
            outcome = "rectified"
        else:
            outcome = "findings"
        results.append(
            PublicResult(
                enterprise=name,
                credit_code=credit_code,
                day=local_date(inspection.finished_at),
                checklist_id=inspection.checklist_id,
                checklist=titles.get(inspection.checklist_id, inspection.checklist_id),
                outcome=outcome,
                findings=len(own),
                by_severity=dict(Counter(severity for severity, _ in own)),
            )
        )
    return results


def commitments() -> list[Draw]:
    """Every draw's published commitment (hashes only: nothing names a site or a person)."""
    return list(db.session.scalars(select(Draw).order_by(Draw.id.desc()).limit(200)))


def authorities() -> dict[int, str]:
    """Who ran each listed draw (the city of the supervisor who defined it), by draw id."""
    return {row.id: draws.authority_of(row) for row in commitments()}


@dataclass(frozen=True)
class CancelledDrawnTask:
    draw_id: int
    position: int  # 1-based, in the draw's result order
    day: date
    reason: str


def cancelled_drawn_tasks() -> list[CancelledDrawnTask]:
    """The tasks of issued draws that were cancelled, with the reason given: a drawn
    inspection that did not happen is public (names nobody: the draw, the entry, the day)."""
    listed: list[CancelledDrawnTask] = []
    issued = db.session.scalars(
        select(Draw).where(Draw.status == DrawStatus.ISSUED.value).order_by(Draw.id.desc())
    )
    for draw in issued:
        position = {task_id: index for index, task_id in enumerate(draw.task_ids or [], 1)}
        if not position:
            continue
        rows = db.session.scalars(
            select(Task).where(
                Task.id.in_(list(position)), Task.status == TaskStatus.CANCELLED.value
            )
        )
        for task in rows:
            when = task.cancelled_at or task.updated_at
            listed.append(
                CancelledDrawnTask(draw.id, position[task.id], local_date(when), task.cancel_reason)
            )
    return sorted(listed, key=lambda row: (-row.draw_id, row.position))
