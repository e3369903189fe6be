"""Mail notifications through a real SMTP server on loopback (aiosmtpd): who is told what,
Chinese first, the notice's PDF attached, each message once however often it is run."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from server.extensions import db
from server.models import Notification, SendStatus
from server.services import jobs
from server.services.notify import reminders
from tests.helpers import TODAY, approve, failing_inspection_body, issue, new_id


def _notice(client, headers, approved: dict[str, Any], **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    ids = [f["id"] for f in approved["findings"].values()]
    response = issue(client, headers, approved["enterprise_id"], ids, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _text(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_notice_issued_mails_each_enterprise_account_once_with_the_pdf(
    client, headers, approved, mailed, smtp
) -> None:  # type: ignore[no-untyped-def]
    notice = _notice(client, headers, approved)
    report = reminders.run()
    assert report.sent == 2 and report.failed == 0
    for address in ("boss@ent-a.example", "safety@ent-a.example"):
        (message,) = smtp.to(address)
        subject = str(message["Subject"])
        assert subject.startswith("【蓝天巡检】整改通知书") and notice["number"] in subject
        # Chinese first, then English, in the subject and the body.
        assert subject.index("整改通知书") < subject.index("Rectification notice")
        body = _text(message)
        assert body.index("整改通知书") < body.index("Rectify each")
        (attachment,) = list(message.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_filename() == f"{notice['number']}.pdf"
        assert attachment.get_content().startswith(b"%PDF")
    # Nobody else: not the other enterprise, not the supervisors, not the plain accounts.
    assert len(smtp.messages) == 2
    # A second run sends nothing again.
    assert reminders.run().sent == 0
    assert len(smtp.messages) == 2


def test_answers_go_to_the_city_supervisors_and_a_reopened_answer_to_the_enterprise(
    client, headers, approved, mailed, smtp
) -> None:  # type: ignore[no-untyped-def]
    _notice(client, headers, approved)
    reminders.run()
    finding_id = approved["findings"]["CB-10"]["id"]
    answered = client.post(
        f"/api/v1/findings/{finding_id}/responses",
        json={"text": "已拆除", "photos": []},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()
    reminders.run()
    (waiting,) = smtp.to("sup@sz.gov")
    assert "待核验" in str(waiting["Subject"]) and "CB-10" in str(waiting["Subject"])
    assert smtp.to("sup@cz.gov") == []  # another city's supervisor hears nothing
    reopened = client.post(
        f"/api/v1/findings/{finding_id}/verify",
        json={"accepted": False, "comment": "照片看不清"},
        headers=headers["supervisor"],
    )
    assert reopened.status_code == 200, reopened.get_json()
    reminders.run()
    mails = smtp.to("boss@ent-a.example")
    assert len(mails) == 2  # the notice, then the reopened answer
    assert "整改答复被退回" in str(mails[1]["Subject"])
    assert "照片看不清" in _text(mails[1])


def test_a_returned_inspection_is_mailed_to_its_inspector(
    client, headers, registry, mailed, mail_headers, smtp, clock
) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    body = failing_inspection_body(client, {"inspector": mail_headers["insp"]}, site)
    inspection_id = new_id()
    put = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=mail_headers["insp"]
    )
    assert put.status_code == 201, put.get_json()
    returned = client.post(
        f"/api/v1/inspections/{inspection_id}/review",
        json={"decision": "return", "comment": "补拍铭牌"},
        headers=headers["supervisor"],
    )
    assert returned.status_code == 200
    reminders.run()
    (message,) = smtp.to("insp@sz.gov")
    assert str(message["Subject"]).startswith("【蓝天巡检】检查被退回")
    assert "补拍铭牌" in _text(message)


def test_deadline_and_overdue_reminders_are_sent_once_each(
    app: Flask, client, headers, approved, mailed, smtp
) -> None:  # type: ignore[no-untyped-def]
    _notice(client, headers, approved, deadline=(TODAY + timedelta(days=5)).isoformat())
    reminders.run()
    assert len(smtp.messages) == 2  # the notice itself
    app.config["CLOCK_TODAY"] = (TODAY + timedelta(days=1)).isoformat()
    assert reminders.run().sent == 0  # due in 4 days: not yet
    for day in (2, 2, 3, 4):  # due in 3 days (twice), 2, 1: one reminder per account
        app.config["CLOCK_TODAY"] = (TODAY + timedelta(days=day)).isoformat()
        reminders.run()
    soon = [m for m in smtp.messages if "整改期限将至" in str(m["Subject"])]
    assert sorted(m["To"] for m in soon) == ["boss@ent-a.example", "safety@ent-a.example"]
    for day in (5, 6, 6, 9):  # due today: not overdue yet; then overdue, once
        app.config["CLOCK_TODAY"] = (TODAY + timedelta(days=day)).isoformat()
        reminders.run()
    late = [m for m in smtp.messages if "整改已逾期" in str(m["Subject"])]
    assert sorted(m["To"] for m in late) == ["boss@ent-a.example", "safety@ent-a.example"]
    body = _text(late[0])
    assert body.index("已超过整改期限") < body.index("past their deadline")
    assert max(smtp.keys().values()) == 1


def test_a_refused_mail_is_retried_by_the_next_run_and_never_sent_twice(
    client, headers, approved, mailed, smtp
) -> None:  # type: ignore[no-untyped-def]
    _notice(client, headers, approved)
    smtp.fail_next = 1
    first = reminders.run()
    assert (first.sent, first.failed) == (1, 1)
    failed = db.session.scalar(
        select(Notification).where(Notification.status == SendStatus.PENDING.value)
    )
    assert failed is not None and "451" in failed.error and failed.attempts == 1
    db.session.commit()
    second = reminders.run()
    assert (second.sent, second.failed) == (1, 0)
    assert sorted(smtp.keys().values()) == [1, 1]
    assert reminders.run().sent == 0
    statuses = db.session.scalars(select(Notification.status)).all()
    assert statuses == [SendStatus.SENT.value] * 2


def test_without_a_broker_the_jobs_run_in_process_and_retry(
    app: Flask, client, headers, approved, mailed, smtp
) -> None:  # type: ignore[no-untyped-def]
    """The embedded default: no Redis; the server's own Dramatiq worker thread dispatches
    the event and sends the mails right after the commit, retrying a refused one."""
    saved = app.extensions["lantian_jobs"]
    app.config.update(JOBS_IN_PROCESS_WORKER=True, JOB_MIN_BACKOFF_MS=50, JOB_MAX_BACKOFF_MS=200)
    jobs.init_jobs(app)
    smtp.fail_next = 1
    try:
        _notice(client, headers, approved)
        deadline = time.monotonic() + 20
        while len(smtp.messages) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        jobs_of = app.extensions["lantian_jobs"]
        jobs_of.broker.join(jobs.QUEUE, timeout=10_000)
    finally:
        jobs.stop(app)
        app.extensions["lantian_jobs"] = saved
        app.config.update(
            JOBS_IN_PROCESS_WORKER=False, JOB_MIN_BACKOFF_MS=15_000, JOB_MAX_BACKOFF_MS=3_600_000
        )
    assert sorted(smtp.keys().values()) == [1, 1]
    db.session.commit()
    sent = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.status == "sent")
    )
    assert sent == 2
