"""The task lifecycle: the one place a task's status or assignment changes.

    open ──reassign (inspectors, due date; version n → n+1)──▶ open
    open ──cancel (supervisor, with a reason)──▶ cancelled
    open ──an inspection of each of its sites, by one of its inspectors──▶ fulfilled

Overdue is not a status: an open task past its due date (`tasks.is_overdue`).

A 双随机 task (reason double_random, made only by a draw's issue) keeps the drawn pair: a
reassignment may move its due date but not change its inspectors (409
`task.drawn_inspectors`), and only an inspection started after the task was created — and,
when its on-site record names inspectors by account, naming the drawn lead — fulfils it.

`MOVES` is the table: each move, the statuses it starts from, its end and who may make it.
Every move is a conditional update (`moves.claim`) on the status — and, for a
reassignment, on the version it was decided on — so of a cancel and a fulfilment, or of two
reassignments, exactly one is stored; the other gets 409 (`task.not_open`, `task.stale`)
with the current state and writes nothing. Each move records its audit entry in the same
transaction.

Fulfilment happens inside the transaction that stores a new inspection
(`fulfil_from_inspection`, called by `inspections.submit`): the inspection is stored
whatever happens to the task; a task cancelled a moment earlier simply stays cancelled.
An on-site verification task (`task.finding_id`) also closes or reopens its finding
(`finding.verify_on_site`) in that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, select

from server.extensions import db
from server.models import (
    Inspection,
    Role,
    Task,
    TaskInspector,
    TaskReason,
    TaskSite,
    TaskStatus,
    User,
    utcnow,
)
from server.services import audit, outbox, tasks
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid
from server.services.lifecycles import finding as finding_lifecycle
from server.services.lifecycles.moves import claim, lost
from server.services.timeutil import local_date

STAFF = (Role.SUPERVISOR, Role.ADMIN)
# An inspection finished more than this long before the task was made cannot be the one the
# task asked for (an old offline record synced late); a day allows for a wrong device clock.
EARLIEST_BEFORE_TASK = timedelta(days=1)


class TaskAction(StrEnum):
    """What a person may do with a task (the API's `actions`)."""

    REASSIGN = "reassign"
    CANCEL = "cancel"
    FULFIL = "fulfil"


@dataclass(frozen=True)
class Move:
    sources: tuple[TaskStatus, ...]
    target: TaskStatus
    roles: tuple[Role, ...]


MOVES: dict[TaskAction, Move] = {
    TaskAction.REASSIGN: Move((TaskStatus.OPEN,), TaskStatus.OPEN, STAFF),
    TaskAction.CANCEL: Move((TaskStatus.OPEN,), TaskStatus.CANCELLED, STAFF),
    # Not a click: the inspection its inspector submits.
    TaskAction.FULFIL: Move((TaskStatus.OPEN,), TaskStatus.FULFILLED, (Role.INSPECTOR,)),
}


def _allows(action: TaskAction, user: User, task: Task) -> bool:
    move = MOVES[action]
    return user.role in move.roles and TaskStatus(task.status) in move.sources


def can_cancel(user: User, task: Task) -> bool:
    return _allows(TaskAction.CANCEL, user, task)


def can_reassign(user: User, task: Task) -> bool:
    return _allows(TaskAction.REASSIGN, user, task)


def can_fulfil(user: User, task: Task) -> bool:
    """One of its inspectors may fulfil it (by submitting the inspection)."""
    return _allows(TaskAction.FULFIL, user, task) and user.id in task.inspector_ids


def actions(user: User, task: Task) -> list[str]:
    """What this user may do with this task now, in the order pages show them."""
    allowed = []
    if can_reassign(user, task):
        allowed.append(TaskAction.REASSIGN.value)
    if can_cancel(user, task):
        allowed.append(TaskAction.CANCEL.value)
    if can_fulfil(user, task):
        allowed.append(TaskAction.FULFIL.value)
    return allowed


def not_open(status: str) -> Conflict:
    return Conflict(
        ErrorCode.TASK_NOT_OPEN,
        f"任务已{_ZH.get(status, status)}，不能再更改 / the task is {status}: it can no "
        "longer be changed",
        {"status": status},
    )


_ZH = {"fulfilled": "完成", "cancelled": "取消", "open": "开放"}


def _staff(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可更改任务 / only supervisors change tasks"
        )


def cancel(user: User, task_id: int, reason: str) -> Task:
    """Cancel an open task with a reason (required); 409 if it was fulfilled or cancelled
    first."""
    _staff(user)
    task = tasks.get_for(user, task_id)
    if not can_cancel(user, task):
        raise not_open(task.status)
    reason = tasks.clean_text(reason, "reason", tasks.MAX_NOTE)
    if not tasks.has_visible(reason):
        raise Invalid(
            ErrorCode.TASK_INVALID,
            "须说明取消原因 / say why the task is cancelled",
            {"reason": [f"required, at most {tasks.MAX_NOTE} characters"]},
        )
    now = utcnow()
    move = MOVES[TaskAction.CANCEL]
    if not claim(
        task,
        Task.id,
        move.sources,
        move.target,
        cancelled_at=now,
        cancelled_by=user.id,
        cancel_reason=reason,
        open_key=None,
        updated_at=now,
    ):
        raise not_open(lost(task, Task.id))
    # The row is ours now: read what a reassignment committed meanwhile (due date,
    # version), so that the entry records the task as it is stored.
    db.session.refresh(task)
    audit.record_action(
        user,
        "task.cancelled",
        ("task", str(task.id)),
        {"reason": reason},
        touched=[task],
    )
    db.session.commit()
    return task


def reassign(
    user: User,
    task_id: int,
    *,
    inspector_ids: Sequence[int] | None = None,
    due_on: date | None = None,
    version: int | None = None,
) -> Task:
    """Change an open task's inspectors and/or due date.

    `version` is the task version the change was decided on (the API's `If-Match`, the
    page's hidden field): when someone reassigned it since, 409 `task.stale` and nothing
    changes. Without it, the version read now is used — still one winner of two at once.
    """
    _staff(user)
    task = tasks.get_for(user, task_id)
    if not can_reassign(user, task):
        raise not_open(task.status)
    if inspector_ids is None and due_on is None:
        raise Invalid(
            ErrorCode.TASK_INVALID,
            "没有要更改的内容 / nothing to change",
            {"inspector_ids": ["give inspectors or a due date"]},
        )
    expected = task.version if version is None else version
    if expected != task.version:
        raise _stale(task.version)
    new_ids = list(inspector_ids) if inspector_ids is not None else None
    if (
        new_ids is not None
        and task.reason == TaskReason.DOUBLE_RANDOM.value
        and new_ids != task.inspector_ids
    ):
        raise Conflict(
            ErrorCode.TASK_DRAWN_INSPECTORS,
            "双随机任务的执法人员由抽查决定，不能改派；如确需变更，请说明原因取消任务 / a 双随机 "
            "task's inspectors are the drawn pair and cannot be changed; cancel it with a "
            "reason instead",
            {"inspector_ids": task.inspector_ids},
        )
    if new_ids is not None:
        chosen = tasks.check_inspectors(new_ids, task.city)
        tasks.check_ties(chosen, list(tasks.sites_of([task]).values()))
    if due_on is not None:
        tasks.check_due(due_on)
    values: dict[str, object] = {"version": expected + 1, "updated_at": utcnow()}
    if due_on is not None:
        values["due_on"] = due_on
    move = MOVES[TaskAction.REASSIGN]
    if not claim(task, Task.id, move.sources, move.target, {"version": expected}, **values):
        now = lost(task, Task.id)
        if now != TaskStatus.OPEN.value:
            raise not_open(now)
        current = db.session.scalar(select(Task.version).where(Task.id == task_id))
        raise _stale(int(current or 0))
    touched: list[object] = [task]
    before = task.inspector_ids
    if new_ids is not None:
        links = {link.user_id: link for link in task.inspectors}
        for position, user_id in enumerate(new_ids):
            link = links.get(user_id)
            if link is None:
                task.inspectors.append(
                    TaskInspector(user_id=user_id, position=position, active=True)
                )
            else:
                link.position, link.active = position, True
                touched.append(link)
        for user_id, link in links.items():
            if user_id not in new_ids:
                link.active = False
                touched.append(link)
    audit.record_action(
        user,
        "task.reassigned",
        ("task", str(task.id)),
        {
            "inspector_ids": {"from": before, "to": new_ids if new_ids is not None else before},
            "due_on": task.due_on.isoformat(),
            "version": task.version,
        },
        touched=touched,
    )
    if added := [user_id for user_id in new_ids or [] if user_id not in before]:
        # A task new to them: the inspectors added are mailed as for a new task.
        outbox.record(
            "task.reassigned",
            {"task_id": task.id, "added_inspector_ids": added, "due_on": task.due_on.isoformat()},
        )
    db.session.commit()
    return task


def _stale(current: int) -> Conflict:
    return Conflict(
        ErrorCode.TASK_STALE,
        "任务已被他人改派，请刷新 / someone reassigned the task since you read it",
        {"version": current},
    )


# Built once with bound parameters: every inspection PUT asks it (issue 18), and building
# the joins and comparisons again each time cost more than running it on an empty table.
_MATCHING = (
    select(Task, TaskSite)
    .join(TaskSite, TaskSite.task_id == Task.id)
    .join(TaskInspector, TaskInspector.task_id == Task.id)
    .where(
        Task.status == TaskStatus.OPEN.value,
        Task.checklist_id == bindparam("checklist_id"),
        TaskSite.site_id == bindparam("site_id"),
        TaskSite.inspection_uuid.is_(None),
        TaskInspector.user_id == bindparam("inspector_id"),
        TaskInspector.active.is_(True),
    )
    .order_by(Task.due_on, Task.id)
)


def _matching(inspection: Inspection) -> list[tuple[Task, TaskSite]]:
    """Open tasks this inspection answers: its site (not yet covered), its checklist, and
    its inspector among the task's."""
    parameters = {
        "checklist_id": inspection.checklist_id,
        "site_id": inspection.site_id,
        "inspector_id": inspection.inspector_id,
    }
    with db.session.no_autoflush:
        rows = db.session.execute(_MATCHING, parameters).all()
    return [
        (task, link)
        for task, link in rows
        if local_date(inspection.finished_at) >= local_date(task.created_at - EARLIEST_BEFORE_TASK)
        and (task.reason != TaskReason.DOUBLE_RANDOM.value or _answers_draw(task, inspection))
    ]


def _answers_draw(task: Task, inspection: Inspection) -> bool:
    """A 双随机 task is fulfilled only by an inspection started after the task existed (an
    earlier inspection was not the one drawn, whatever its device clock says: no day of
    grace here), and, when the on-site record names inspectors by account, one naming both
    drawn inspectors (the pair the draw chose, not someone else signing: 双随机 draws the
    officers as well as the site, so a colleague standing in for the drawn second one is
    not the inspection that was drawn)."""
    if inspection.started_at < task.created_at:
        return False
    record = inspection.record
    if not record:
        return True
    named = {person.get("username") for person in record.get("inspectors") or [] if person}
    named.discard(None)
    named.discard("")
    if not named:
        return True
    pair = [db.session.get(User, user_id) for user_id in task.inspector_ids]
    return bool(pair) and all(user is not None and user.username in named for user in pair)


def fulfil_from_inspection(user: User, inspection: Inspection) -> list[Task]:
    """Mark the task sites this new inspection covers, and fulfil each task all of whose
    sites are now covered; called by `inspections.submit` before it commits.

    Each task is first claimed open → open (its row locked, on PostgreSQL): two inspections
    of a two-site task arriving at once are counted one after the other, and a task
    cancelled meanwhile is left alone. Returns the tasks fulfilled.
    """
    fulfilled: list[Task] = []
    for task, link in _matching(inspection):
        now = utcnow()
        if not claim(task, Task.id, (TaskStatus.OPEN,), TaskStatus.OPEN, updated_at=now):
            continue  # cancelled or fulfilled by another request a moment ago
        # Ours now: read what a reassignment committed since the match (the entry records it).
        db.session.refresh(task)
        db.session.refresh(link)
        if link.inspection_uuid is not None:
            continue  # another inspection of this site counted first
        link.inspection_uuid = inspection.uuid
        db.session.flush()
        remaining = db.session.scalar(
            select(TaskSite.site_id)
            .where(TaskSite.task_id == task.id, TaskSite.inspection_uuid.is_(None))
            .limit(1)
        )
        touched: list[object] = [link]
        action = "task.site_covered"
        if remaining is None:
            move = MOVES[TaskAction.FULFIL]
            claim(
                task,
                Task.id,
                move.sources,
                move.target,
                fulfilled_at=now,
                open_key=None,
                updated_at=now,
            )
            touched.append(task)
            action = "task.fulfilled"
            fulfilled.append(task)
        audit.record_action(
            user,
            action,
            ("task", str(task.id)),
            {"inspection": str(inspection.uuid), "site_id": link.site_id},
            touched=touched,
        )
        if remaining is None and task.finding_id is not None:
            finding_lifecycle.verify_on_site(task.finding_id, inspection, user, task)
    return fulfilled
