"""The outbox: events written in the same transaction as the change that causes them.

A lifecycle move calls `record` before its commit, so an event exists if and only if its
change was committed. After the commit a job fans the event out to mails and webhook
deliveries (`notify.dispatch`); if the broker cannot be reached then, the event waits in the
table for the next dispatch (`lantian-server reminders run`, or the worker's start).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from server.extensions import db
from server.models import OutboxEvent, utcnow

# Every kind of event; webhook endpoints subscribe to some of them.
EVENTS = (
    "inspection.submitted",
    "inspection.approved",
    "inspection.returned",
    "notice.issued",
    "finding.answered",
    "finding.closed",
    "finding.reopened",
    "task.created",
    "task.reassigned",
    "task.overdue",
)
_PENDING = "lantian_outbox_pending"


def body_text(event_id: str, kind: str, data: dict[str, Any], created: str) -> str:
    """The exact JSON a receiver gets: made once, so every retry signs the same bytes."""
    return json.dumps(
        {"id": event_id, "type": kind, "created_at": created, "data": data},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def record(kind: str, data: dict[str, Any], event_id: str | None = None) -> OutboxEvent:
    """Add an event to the current transaction (committed with the change, or not at all)."""
    if kind not in EVENTS:
        raise ValueError(f"unknown event kind {kind!r}")
    event_id = event_id or str(uuid.uuid4())
    now = utcnow()
    row = OutboxEvent(
        event_id=event_id,
        kind=kind,
        body=body_text(event_id, kind, data, now.isoformat()),
        created_at=now,
        dispatched_at=_dispatched_at(kind, now),
    )
    db.session.add(row)
    if row.dispatched_at is None:
        db.session.info[_PENDING] = True
    return row


def _dispatched_at(kind: str, now: datetime) -> datetime | None:
    """`now` for an event nobody listens to (see `dispatch.listened`), else None: it waits
    for the dispatch that fans it out."""
    from server.services.notify import dispatch  # dispatch reads this module's EVENTS

    with db.session.no_autoflush:  # the change being made is flushed with the event
        return None if dispatch.listened(kind) else now


_INSERT_EVENT = insert(OutboxEvent.__table__)


def insert_now(kind: str, data: dict[str, Any]) -> str:
    """`record` as one Core INSERT on the session's connection, for the ingest path.

    The same row in the same transaction, without an ORM object: flushing one new object
    through the unit of work cost a PUT more than the INSERT itself (issue 18). For callers
    that do not need the row back; returns the event's id."""
    if kind not in EVENTS:
        raise ValueError(f"unknown event kind {kind!r}")
    event_id = str(uuid.uuid4())
    now = utcnow()
    dispatched_at = _dispatched_at(kind, now)
    db.session.connection().execute(
        _INSERT_EVENT,
        {
            "event_id": event_id,
            "kind": kind,
            "body": body_text(event_id, kind, data, now.isoformat()),
            "created_at": now,
            "dispatched_at": dispatched_at,
        },
    )
    if dispatched_at is None:
        db.session.info[_PENDING] = True
    return event_id


def derived_id(*parts: object) -> str:
    """A stable event id for an event found by a scan (e.g. a task gone overdue): the same
    event found by two runs has one id, so it is stored and delivered once."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "lantian:" + ":".join(map(str, parts))))


def _after_commit(session: Session) -> None:
    if session.info.pop(_PENDING, False):
        from server.services import jobs  # the job layer imports this module

        jobs.dispatch_soon()


def _after_rollback(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)


def register_hooks() -> None:
    """Dispatch after each commit that wrote events: called by `create_app`, once."""
    for name, hook in (("after_commit", _after_commit), ("after_soft_rollback", _after_rollback)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
