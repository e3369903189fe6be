"""What time makes due, for `lantian-server reminders run` (cron, e.g. every hour).

A run records each due mail under a key that names what it is about and when it fell due
(the notice, its deadline, the recipient), so ten runs a day, or two at once, record it
once; then it dispatches events still in the outbox and sends every pending mail it can
claim (`claims`). Running it again sends nothing twice; a mail whose send failed is tried
again by the next run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from server.extensions import db
from server.models import Finding, FindingStatus, Notice
from server.services.clock import today
from server.services.notify import (
    dispatch,
    mail,
    messages,
    recipients,
    task_notices,
    webhooks,
)

# Findings that wait for the enterprise's answer.
WAITING = (FindingStatus.NOTIFIED.value, FindingStatus.REOPENED.value)


@dataclass
class RunReport:
    recorded: int = 0
    dispatched: int = 0
    sent: int = 0
    failed: int = 0
    delivered: int = 0
    delivery_failures: int = 0


def _waiting_by_notice(due_from: date | None, due_to: date) -> dict[tuple[int, date], int]:
    """(notice id, due date) → how many of its findings wait for an answer, due in range."""
    query = select(Finding.notice_id, Finding.due_date).where(
        Finding.status.in_(WAITING), Finding.notice_id.is_not(None), Finding.due_date <= due_to
    )
    if due_from is not None:
        query = query.where(Finding.due_date >= due_from)
    counts: dict[tuple[int, date], int] = defaultdict(int)
    for notice_id, due in db.session.execute(query):
        counts[(notice_id, due)] += 1
    return counts


def _notice_mails(kind: str, counts: dict[tuple[int, date], int]) -> int:
    recorded = 0
    for (notice_id, due), count in sorted(counts.items()):
        notice = db.session.get(Notice, notice_id)
        assert notice is not None
        link = dispatch._notice_link(notice)
        maker = messages.deadline_soon if kind == "deadline_soon" else messages.overdue
        text = maker(notice.number, due, count, link)
        for user in recipients.enterprise_users(notice.enterprise_id):
            key = f"{kind}:notice:{notice_id}:{due.isoformat()}:{user.id}"
            recorded += dispatch.record_mail(key, (kind, f"notice:{notice_id}", user, text, None))
    return recorded


def deadlines_soon(day: date) -> int:
    """Enterprises whose findings fall due within the next days (default 3): once per
    notice, deadline and person."""
    ahead = current_app.config["REMINDER_DAYS_BEFORE"]
    return _notice_mails("deadline_soon", _waiting_by_notice(day, day + timedelta(days=ahead)))


def findings_overdue(day: date) -> int:
    """Enterprises whose findings are past their deadline unanswered: once per notice,
    deadline and person."""
    return _notice_mails("overdue", _waiting_by_notice(None, day - timedelta(days=1)))


# Scans run by every `reminders run`: each a function of today's date returning how many
# mails (or events, which become mails and webhook deliveries) it recorded.
SCANS: list[Callable[[date], int]] = [
    deadlines_soon,
    findings_overdue,
    task_notices.overdue_tasks,
]


def run() -> RunReport:
    """One cron run: record what is due, dispatch waiting events, send what is pending."""
    report = RunReport()
    day = today()
    for scan in SCANS:
        report.recorded += scan(day)
    deliveries, _mails = dispatch.dispatch_events(enqueue=False)
    report.dispatched = len(deliveries)
    report.sent, report.failed = mail.send_pending()
    if current_app.config["BROKER_URL"]:
        # The worker delivers webhooks, with Dramatiq's backoff. Every pending one is queued
        # again, so none waits forever on a message Redis lost; a delivery already sent or
        # being sent is skipped by its claim.
        from server.services import jobs

        for delivery_id in webhooks.pending_ids():
            jobs.send("deliver_webhook", delivery_id)
    else:
        report.delivered, report.delivery_failures = webhooks.deliver_pending()
    return report
