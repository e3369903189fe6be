"""Mail over SMTP: one recorded notification sent, at most once after it succeeded."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import select

from server.extensions import db
from server.models import Notice, Notification, SendStatus, utcnow
from server.services.lifecycles.delivery import after_failure, claim, finish

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """A send that failed and will be tried again (Dramatiq retries on it)."""


def public_base() -> str:
    """The server's address for links in mails (made outside any request)."""
    config = current_app.config
    return str(config["PUBLIC_URL"] or config["PUBLIC_URL_FALLBACK"]).rstrip("/")


def _message(row: Notification) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = current_app.config["SMTP_FROM"]
    message["To"] = row.recipient
    message["Message-ID"] = make_msgid(idstring=f"lantian-{row.id}")
    # The receiver (and our tests) can tell which recorded message this is.
    message["X-Lantian-Notification"] = row.dedup_key
    message.set_content(row.body)
    if row.attach_notice_id is not None:
        from server.services import notices
        from server.storage import photo_store

        notice = db.session.get(Notice, row.attach_notice_id)
        assert notice is not None
        data = notices.pdf(notice, public_base(), photo_store())
        message.add_attachment(
            data, maintype="application", subtype="pdf", filename=f"{notice.number}.pdf"
        )
    return message


def _smtp_send(message: EmailMessage) -> None:
    config = current_app.config
    with smtplib.SMTP(
        config["SMTP_HOST"], config["SMTP_PORT"], timeout=config["SMTP_TIMEOUT_S"]
    ) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls()
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
        smtp.send_message(message)


def send_one(notification_id: int) -> bool:
    """Send one recorded mail if this caller wins its claim; True when it was sent here.

    Raises `SendFailed` after recording the error when the SMTP server refused or could
    not be reached (the row is pending again, or failed after the last attempt)."""
    if not current_app.config["SMTP_HOST"]:
        return False  # no mail server configured: the message stays recorded, pending
    claimed = claim(Notification, notification_id)
    if claimed is None:
        return False
    row = db.session.get(Notification, notification_id)
    assert row is not None
    try:
        message = _message(row)
        _smtp_send(message)
    except Exception as error:  # refused, unreachable, or the message could not be made
        attempts = row.attempts
        db.session.rollback()
        status = after_failure(attempts)
        finish(Notification, notification_id, claimed, status, error=str(error)[:1000])
        raise SendFailed(f"mail {notification_id}: {error}") from error
    finish(Notification, notification_id, claimed, SendStatus.SENT, sent_at=utcnow(), error="")
    return True


def send_job(notification_id: int) -> None:
    """The Dramatiq job: send one mail; a failure raises, and Dramatiq retries it later."""
    send_one(notification_id)


def send_pending(limit: int = 500) -> tuple[int, int]:
    """Send every pending mail this caller can claim (for `reminders run`): (sent, failed).
    A failed one stays pending for the next run."""
    ids = list(
        db.session.scalars(
            select(Notification.id)
            .where(Notification.status == SendStatus.PENDING.value)
            .order_by(Notification.id)
            .limit(limit)
        )
    )
    db.session.commit()
    sent = failed = 0
    for notification_id in ids:
        try:
            sent += send_one(notification_id)
        except SendFailed as error:
            log.warning("%s", error)
            failed += 1
    return sent, failed
