"""Webhook deliveries to a real HTTP receiver on loopback that refuses the first posts of
each event and checks every signature: retried with backoff, each attempt logged, and each
event accepted exactly once, by the real Dramatiq worker on the real Redis broker as well as
in-process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import OutboxEvent, WebhookAttempt, WebhookDelivery
from server.services import jobs
from server.services.notify import dispatch, reminders
from tests.conftest import TEST_WEBHOOK_NETWORKS
from tests.helpers import approve, issue
from tests.server.notify.conftest import Receiver

BIN = Path(sys.executable).parent
REDIS = os.environ.get("LANTIAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
EVENTS = ["inspection.approved", "notice.issued", "finding.answered"]


def _register(client, headers, receiver: Receiver, events: list[str] = EVENTS) -> int:  # type: ignore[no-untyped-def]
    created = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, "events": events}, headers=headers["admin"]
    )
    assert created.status_code == 201, created.get_json()
    receiver.secret = created.get_json()["secret"]
    return created.get_json()["id"]


def _changes(client, headers, approved: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """Three subscribed events (approved, issued, answered) and one that is not (closed)."""
    approve(client, headers, approved["inspection"])
    ids = [f["id"] for f in approved["findings"].values()]
    assert issue(client, headers, approved["enterprise_id"], ids).status_code == 201
    answered = client.post(
        f"/api/v1/findings/{ids[0]}/responses",
        json={"text": "已整改", "photos": []},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201
    closed = client.post(
        f"/api/v1/findings/{ids[0]}/verify",
        json={"accepted": True, "comment": ""},
        headers=headers["supervisor"],
    )
    assert closed.status_code == 200


def _subscribed_event_ids() -> set[str]:
    rows = db.session.scalars(select(OutboxEvent).where(OutboxEvent.kind.in_(EVENTS))).all()
    db.session.commit()
    return {row.event_id for row in rows}


def test_events_are_written_with_their_change_and_only_then(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    # A review lost to another one writes no event: the move and its event roll back together.
    again = client.post(
        f"/api/v1/inspections/{approved['inspection']}/review",
        json={"decision": "approve"},
        headers=headers["supervisor"],
    )
    assert again.status_code == 409
    kinds = db.session.scalars(select(OutboxEvent.kind).order_by(OutboxEvent.id)).all()
    assert kinds == ["inspection.submitted", "inspection.approved"]


def test_an_endpoint_pointed_inward_after_registration_is_not_posted_to(
    app, client, headers, approved
) -> None:  # type: ignore[no-untyped-def]
    """Registration checked the address; a delivery checks it again, since the name (or the
    allowed networks) may have changed: nothing reaches an internal address."""
    with Receiver(fail_first=0) as receiver:
        endpoint_id = _register(client, headers, receiver)
        app.config["WEBHOOK_ALLOW_NETWORKS"] = ""
        try:
            _changes(client, headers, approved)
            reminders.run()
        finally:
            app.config["WEBHOOK_ALLOW_NETWORKS"] = TEST_WEBHOOK_NETWORKS
        assert receiver.posts == {}
    listed = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=headers["admin"])
    deliveries = listed.get_json()
    assert len(deliveries) == 3 and {d["status"] for d in deliveries} == {"pending"}
    for delivery in deliveries:
        assert [a["status_code"] for a in delivery["attempt_log"]] == [None]
        assert "127.0.0.1" in delivery["attempt_log"][0]["error"]


def test_a_delivery_connects_to_the_address_it_checked(
    monkeypatch, client, headers, approved
) -> None:  # type: ignore[no-untyped-def]
    """DNS rebinding: a name may answer the address check with an allowed address and the
    lookup for the connection that follows with an internal one (a short TTL). A delivery
    therefore resolves the name once per attempt and connects to the address it checked,
    sending the name in the Host header: here every lookup of hook.example is counted, and
    the name leads to the receiver on loopback."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def counted(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host != "hook.example":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    with Receiver(fail_first=0) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        receiver.url = f"http://hook.example:{port}/hook"
        _register(client, headers, receiver)
        asked.clear()
        _changes(client, headers, approved)
        reminders.run()
        assert set(receiver.accepted) == _subscribed_event_ids()
        assert len(receiver.accepted) == 3
        assert len(asked) == 3  # one lookup per attempt: the check's, used to connect
        assert set(receiver.hosts) == {f"hook.example:{port}"}


def test_without_a_broker_runs_retry_until_delivered_and_never_again(
    client, headers, approved
) -> None:  # type: ignore[no-untyped-def]
    with Receiver(fail_first=2) as receiver:
        endpoint_id = _register(client, headers, receiver)
        _changes(client, headers, approved)
        expected = _subscribed_event_ids()
        assert len(expected) == 3
        for _ in range(5):  # two refusals, one success, then nothing more to do
            reminders.run()
        assert receiver.bad_signatures == []
        assert set(receiver.accepted) == expected
        assert set(receiver.accepted.values()) == {1}
        assert set(receiver.posts.values()) == {3}
    listed = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=headers["admin"])
    deliveries = listed.get_json()
    assert {d["status"] for d in deliveries} == {"sent"}
    for delivery in deliveries:
        codes = [attempt["status_code"] for attempt in delivery["attempt_log"]]
        assert codes == [500, 500, 200] and delivery["attempts"] == 3
        assert receiver.bodies[delivery["event_id"]]["id"] == delivery["event_id"]
    body = receiver.bodies[deliveries[-1]["event_id"]]
    assert body["type"] == "inspection.approved"
    assert body["data"]["inspection_id"] == approved["inspection"]


@pytest.fixture
def redis_jobs(app: Flask) -> Iterator[dict[str, str]]:
    """The app sends its jobs to the real Redis, under a namespace of this test's own."""
    saved = app.extensions["lantian_jobs"]
    namespace = f"lantian-test-{uuid.uuid4().hex[:12]}"
    app.config.update(
        BROKER_URL=REDIS,
        BROKER_NAMESPACE=namespace,
        JOB_MIN_BACKOFF_MS=100,
        JOB_MAX_BACKOFF_MS=400,
    )
    jobs.init_jobs(app)
    try:
        yield {"LANTIAN_BROKER_URL": REDIS, "LANTIAN_BROKER_NAMESPACE": namespace}
    finally:
        broker = app.extensions["lantian_jobs"].broker
        broker.flush_all()
        broker.close()
        app.extensions["lantian_jobs"] = saved
        app.config.update(
            BROKER_URL=None,
            BROKER_NAMESPACE="lantian",
            JOB_MIN_BACKOFF_MS=15_000,
            JOB_MAX_BACKOFF_MS=3_600_000,
        )


def _worker(app: Flask, broker_env: dict[str, str], data_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        **broker_env,
        "LANTIAN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql+psycopg://", "postgresql://"
        ),
        "LANTIAN_DATA_DIR": str(data_dir),
        "LANTIAN_PHOTO_DIR": app.config["PHOTO_DIR"],
        "LANTIAN_SECRET_KEY": "test-secret",
        "LANTIAN_WEBHOOK_ALLOW_NETWORKS": TEST_WEBHOOK_NETWORKS,
        "LANTIAN_UPLOAD_EXPIRY_ON_START": "0",
        "LANTIAN_JOB_MIN_BACKOFF_MS": "100",
        "LANTIAN_JOB_MAX_BACKOFF_MS": "400",
    }
    command = [str(BIN / "lantian-server"), "worker", "--threads", "3"]
    with log.open("a") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait(condition: Any, seconds: float, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    tail = "\n".join(log.read_text()[-1500:] for log in logs)
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def test_the_real_worker_on_redis_retries_and_delivers_each_event_once(
    app: Flask, client, headers, approved, redis_jobs, mailed, smtp, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    mail_env = {"LANTIAN_SMTP_HOST": "127.0.0.1", "LANTIAN_SMTP_PORT": str(app.config["SMTP_PORT"])}
    smtp.fail_next = 1  # the mail job is retried by Dramatiq too
    workers = [
        _worker(app, {**redis_jobs, **mail_env}, tmp_path / f"w{i}", log)
        for i, log in enumerate(logs)
    ]
    try:
        with Receiver(fail_first=2) as receiver:
            _register(client, headers, receiver)
            # Each commit that wrote an event enqueues a dispatch on Redis; two workers run them.
            _changes(client, headers, approved)
            expected = _subscribed_event_ids()
            _wait(lambda: set(receiver.accepted) == expected, 60, "three deliveries", logs)
            # The notice to both enterprise accounts (PDF attached), the answer to the
            # 朔州 supervisor: one refused at first, each received once in the end.
            _wait(lambda: len(smtp.messages) == 3, 60, "three mails", logs)
            # Everything again: dispatch and every delivery re-sent to the broker.
            actors = app.extensions["lantian_jobs"].actors
            actors["dispatch_events"].send()
            for delivery_id in db.session.scalars(select(WebhookDelivery.id)).all():
                actors["deliver_webhook"].send(delivery_id)
                actors["deliver_webhook"].send(delivery_id)
            db.session.commit()
            app.extensions["lantian_jobs"].broker.join(jobs.QUEUE, timeout=30_000)
            time.sleep(0.5)
            assert receiver.bad_signatures == []
            assert set(receiver.accepted.values()) == {1}, receiver.accepted
            assert set(receiver.posts.values()) == {3}, receiver.posts
            assert set(smtp.keys().values()) == {1} and len(smtp.messages) == 3
            assert sorted(m["To"] for m in smtp.messages) == [
                "boss@ent-a.example",
                "safety@ent-a.example",
                "sup@sz.gov",
            ]
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
    attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
    assert len(attempts) == 9 and sum(attempt.ok for attempt in attempts) == 3
    statuses = db.session.scalars(select(WebhookDelivery.status)).all()
    assert statuses == ["sent"] * 3


def test_dispatching_twice_adds_no_second_delivery(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    with Receiver(fail_first=0) as receiver:
        _register(client, headers, receiver)
        _changes(client, headers, approved)
        dispatch.dispatch_events(enqueue=False)
        db.session.execute(OutboxEvent.__table__.update().values(dispatched_at=None))
        db.session.commit()
        dispatch.dispatch_events(enqueue=False)
        count = len(db.session.scalars(select(WebhookDelivery.id)).all())
        assert count == 3


def test_an_event_that_cannot_be_dispatched_holds_back_no_other(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    from server.services import outbox

    broken = outbox.record("notice.issued", {"no_notice_id": True}).event_id
    db.session.commit()
    approve(client, headers, approved["inspection"])
    dispatch.dispatch_events(enqueue=False)
    waiting = db.session.scalars(
        select(OutboxEvent.event_id).where(OutboxEvent.dispatched_at.is_(None))
    ).all()
    assert waiting == [broken]  # tried again next time; every other event went out
