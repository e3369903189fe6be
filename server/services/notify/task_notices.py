"""Mails and events about inspection tasks: a new task to its inspectors; a task gone
overdue to its inspectors and the city's supervisors, and to webhooks as `task.overdue`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import ChecklistVersion, OutboxEvent, Site, Task, TaskStatus, utcnow
from server.services import outbox
from server.services.lifecycles.delivery import insert_ignore
from server.services.notify import messages, recipients
from server.services.notify.mail import public_base

FIELD_HINT = "现场端「任务」/ field app: tasks (lantian-field tasks)"


def _title(task: Task) -> str:
    names = db.session.scalars(select(Site.name).where(Site.id.in_(task.site_ids))).all()
    checklist = db.session.scalar(
        select(ChecklistVersion.title_zh).where(
            ChecklistVersion.checklist_id == task.checklist_id,
            ChecklistVersion.current.is_(True),
        )
    )
    return f"{'、'.join(names)} · {checklist or task.checklist_id}"


def task_created(data: dict[str, Any]) -> list[Any]:
    task = db.session.get(Task, data["task_id"])
    if task is None:
        return []
    text = messages.task_created(_title(task), task.due_on, FIELD_HINT)
    return [
        ("task.created", f"task:{task.id}", user, text, None)
        for user in recipients.users(task.inspector_ids)
    ]


def task_reassigned(data: dict[str, Any]) -> list[Any]:
    """Inspectors added to a task by a reassignment: to them it is a new task."""
    task = db.session.get(Task, data["task_id"])
    if task is None or task.status != TaskStatus.OPEN.value:
        return []
    text = messages.task_created(_title(task), task.due_on, FIELD_HINT)
    current = set(task.inspector_ids)
    added = [user_id for user_id in data["added_inspector_ids"] if user_id in current]
    return [
        ("task.created", f"task:{task.id}", user, text, None) for user in recipients.users(added)
    ]


def task_overdue(data: dict[str, Any]) -> list[Any]:
    task = db.session.get(Task, data["task_id"])
    if task is None or task.status != TaskStatus.OPEN.value:
        return []
    link = f"{public_base()}/review/tasks/{task.id}"
    text = messages.task_overdue(_title(task), task.due_on, link)
    people = {user.id: user for user in recipients.users(task.inspector_ids)}
    people.update({user.id: user for user in recipients.supervisors(task.city)})
    return [
        ("task.overdue", f"task:{task.id}", user, text, None) for _, user in sorted(people.items())
    ]


def overdue_tasks(day: date) -> int:
    """Record a `task.overdue` event, once per task and due date, for each open task past
    its due date; its mails and webhook deliveries follow from the event. Returns how many
    events this run recorded."""
    rows = db.session.execute(
        select(Task.id, Task.due_on, Task.city).where(
            Task.status == TaskStatus.OPEN.value, Task.due_on < day
        )
    ).all()
    db.session.commit()
    recorded = 0
    for task_id, due_on, city in rows:
        event_id = outbox.derived_id("task.overdue", task_id, due_on.isoformat())
        now = utcnow()
        data = {"task_id": task_id, "due_on": due_on.isoformat(), "city": city}
        recorded += insert_ignore(
            OutboxEvent,
            event_id=event_id,
            kind="task.overdue",
            body=outbox.body_text(event_id, "task.overdue", data, now.isoformat()),
            created_at=now,
        )
    return recorded
