"""An outbox event fanned out: a delivery per subscribed webhook endpoint, a mail per person
it concerns. Each row has a unique key, so dispatching an event twice (two workers, a job
retried, `reminders run` sweeping) adds nothing the second time."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, or_, select, update

from server.extensions import db
from server.models import (
    Finding,
    Inspection,
    Notice,
    Notification,
    OutboxEvent,
    SendStatus,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from server.services.lifecycles.delivery import insert_ignore
from server.services.notify import messages, recipients, task_notices
from server.services.notify.mail import public_base

log = logging.getLogger(__name__)

# A mail to be recorded: (kind, subject key, user, text, notice to attach).
Mail = tuple[str, str, User, messages.Text, int | None]


def _notice_link(notice: Notice) -> str:
    return f"{public_base()}/portal/notices/{notice.portal_token}"


def _notice_issued(data: dict[str, Any]) -> list[Mail]:
    notice = db.session.get(Notice, data["notice_id"])
    if notice is None:
        return []
    from server.services.notices import enterprise_of

    text = messages.notice_issued(
        notice.number,
        enterprise_of(notice).name,
        notice.deadline,
        len(notice.findings),
        _notice_link(notice),
    )
    return [
        ("notice.issued", f"notice:{notice.id}", user, text, notice.id)
        for user in recipients.enterprise_users(notice.enterprise_id)
    ]


def _finding(data: dict[str, Any]) -> tuple[Finding, Notice] | None:
    finding = db.session.get(Finding, data["finding_id"])
    if finding is None or finding.notice is None:
        return None
    return finding, finding.notice


def _finding_answered(data: dict[str, Any]) -> list[Mail]:
    found = _finding(data)
    if found is None:
        return []
    finding, notice = found
    from server.services.notices import enterprise_of

    link = f"{public_base()}/review/findings/{finding.id}"
    text = messages.answer_waiting(
        notice.number, finding.item_code, enterprise_of(notice).name, link
    )
    return [
        ("finding.answered", f"finding:{finding.id}", user, text, None)
        for user in recipients.supervisors(finding.city)
    ]


def _finding_reopened(data: dict[str, Any]) -> list[Mail]:
    found = _finding(data)
    if found is None:
        return []
    finding, notice = found
    text = messages.answer_reopened(
        notice.number, finding.item_code, data.get("comment", ""), _notice_link(notice)
    )
    return [
        ("finding.reopened", f"finding:{finding.id}", user, text, None)
        for user in recipients.enterprise_users(finding.enterprise_id)
    ]


def _inspection_returned(data: dict[str, Any]) -> list[Mail]:
    import uuid

    inspection = db.session.get(Inspection, uuid.UUID(data["inspection_id"]))
    if inspection is None:
        return []
    text = messages.inspection_returned(
        inspection.site.name, data["revision"], data.get("comment", "")
    )
    return [
        ("inspection.returned", f"inspection:{inspection.uuid}", user, text, None)
        for user in recipients.users([inspection.inspector_id])
    ]


# Which events people are mailed about, and who.
MAILS: dict[str, Callable[[dict[str, Any]], list[Mail]]] = {
    "notice.issued": _notice_issued,
    "finding.answered": _finding_answered,
    "finding.reopened": _finding_reopened,
    "inspection.returned": _inspection_returned,
    "task.created": task_notices.task_created,
    "task.reassigned": task_notices.task_reassigned,
    "task.overdue": task_notices.task_overdue,
}


def record_mail(dedup_key: str, mail: Mail) -> bool:
    """Record one mail under its unique key; True when this call recorded it."""
    kind, subject_key, user, text, notice_id = mail
    return insert_ignore(
        Notification,
        dedup_key=dedup_key,
        kind=kind,
        subject_key=subject_key,
        recipient=user.email,
        user_id=user.id,
        subject=text.subject,
        body=text.body,
        attach_notice_id=notice_id,
        status=SendStatus.PENDING.value,
        attempts=0,
        error="",
        created_at=utcnow(),
    )


# The statements every dispatch runs, built once with bound parameters: a dispatch follows
# every commit that writes an event (each inspection received), and building the same
# comparisons again each time cost more than running them (issue 18).
_ACTIVE_ENDPOINTS = (
    select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)
)
_UNDISPATCHED = (
    select(OutboxEvent)
    .where(OutboxEvent.dispatched_at.is_(None))
    .order_by(OutboxEvent.id)
    .limit(bindparam("limit"))
)
_MARK_DISPATCHED = (
    update(OutboxEvent.__table__)
    .where(OutboxEvent.id == bindparam("row_id"), OutboxEvent.dispatched_at.is_(None))
    .values(dispatched_at=bindparam("now"))
)
_PENDING_DELIVERIES = select(WebhookDelivery.id).where(
    WebhookDelivery.event_id.in_(bindparam("event_ids", expanding=True)),
    WebhookDelivery.status == SendStatus.PENDING.value,
)


_SUBSCRIPTIONS = select(WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True))


def listened(kind: str) -> bool:
    """Whether an event of this kind, written now, can make any mail or delivery: a kind
    that mails someone, or one an active endpoint subscribes to. The outbox writes an event
    nobody listens to as already dispatched, so no job runs for it (on the ingest path a
    dispatch job per inspection cost more than the rest of the request's bookkeeping).
    An endpoint registered after the event was written does not receive it, as before."""
    if kind in MAILS:
        return True
    return any(kind in events for events in db.session.scalars(_SUBSCRIPTIONS))


def fan_out(event: OutboxEvent) -> None:
    """Deliveries and mails for one event (idempotent)."""
    body = json.loads(event.body)
    endpoints = db.session.scalars(_ACTIVE_ENDPOINTS).all()
    subscribed = [endpoint.id for endpoint in endpoints if event.kind in endpoint.events]
    mails = MAILS[event.kind](body["data"]) if event.kind in MAILS else []
    keyed = [(f"{event.event_id}:{mail[2].id}", mail) for mail in mails]
    event_id = event.event_id
    db.session.commit()
    for endpoint_id in subscribed:
        insert_ignore(
            WebhookDelivery,
            event_id=event_id,
            endpoint_id=endpoint_id,
            status=SendStatus.PENDING.value,
            attempts=0,
            last_error="",
            created_at=utcnow(),
        )
    for key, mail in keyed:
        record_mail(key, mail)


def dispatch_events(limit: int = 200, enqueue: bool = True) -> tuple[list[int], list[int]]:
    """Fan out every event not yet dispatched, then queue its deliveries and mails.

    The Dramatiq job run after each commit that wrote events (`enqueue` false: the caller
    sends them itself, as `reminders run` does). Returns the ids of the pending deliveries
    and mails of those events."""
    from server.services import jobs

    events = list(db.session.scalars(_UNDISPATCHED, {"limit": limit}))
    pending = [(event.id, event.event_id) for event in events]
    event_ids: list[str] = []
    for row_id, event_id in pending:
        event = db.session.get(OutboxEvent, row_id)
        assert event is not None
        try:
            fan_out(event)
        except Exception:
            # One event that cannot be fanned out (a bug, a row gone) must not hold back the
            # others: it stays undispatched, and is tried again by the next dispatch.
            db.session.rollback()
            log.exception("could not dispatch event %s", event_id)
            continue
        event_ids.append(event_id)
        # Core on the session's connection: the commit below expires the event anyway.
        db.session.connection().execute(_MARK_DISPATCHED, {"row_id": row_id, "now": utcnow()})
        db.session.commit()
    if not event_ids:
        return [], []
    deliveries = list(db.session.scalars(_PENDING_DELIVERIES, {"event_ids": event_ids}))
    prefixes = [Notification.dedup_key.startswith(f"{event_id}:") for event_id in event_ids]
    mails = list(
        db.session.scalars(
            select(Notification.id).where(
                or_(*prefixes), Notification.status == SendStatus.PENDING.value
            )
        )
    )
    db.session.commit()
    if not enqueue:
        return deliveries, mails
    for delivery_id in deliveries:
        jobs.send("deliver_webhook", delivery_id)
    for mail_id in mails:
        jobs.send("send_notification", mail_id)
    return deliveries, mails
