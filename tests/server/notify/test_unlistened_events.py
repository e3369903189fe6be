"""An event nobody listens to (no mail for its kind, no active endpoint subscribed) is
written already dispatched and queues no job; one somebody listens to waits for its
dispatch, which fans it out."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import OutboxEvent, WebhookDelivery
from server.services import jobs
from server.services.notify import dispatch
from tests.helpers import approve, submit_failing_inspection
from tests.server.notify.conftest import Receiver


def _queued(app: Flask) -> int:
    broker = jobs.jobs_of(app).broker
    return sum(queue.qsize() for queue in broker.queues.values())  # type: ignore[attr-defined]


def _events() -> dict[str, bool]:
    rows = db.session.execute(
        select(OutboxEvent.kind, OutboxEvent.dispatched_at).order_by(OutboxEvent.id)
    ).all()
    db.session.commit()
    return {kind: dispatched is not None for kind, dispatched in rows}


def test_only_events_somebody_listens_to_wait_for_a_dispatch(  # type: ignore[no-untyped-def]
    app, client, headers, registry, clock
) -> None:
    # The app (and its in-memory broker) lives for the whole session: start from an empty
    # queue, whatever earlier tests left there.
    jobs.jobs_of(app).broker.flush_all()  # type: ignore[attr-defined]
    inspection_id, _ = submit_failing_inspection(
        client, headers, registry["sites"]["SZ-boiler_house"]
    )
    # Received with no endpoint registered: inspection.submitted mails nobody, so it was
    # written dispatched and no dispatch job was queued for it.
    assert _events() == {"inspection.submitted": True}
    assert _queued(app) == 0
    with Receiver(fail_first=0) as receiver:
        created = client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["inspection.approved"]},
            headers=headers["admin"],
        )
        assert created.status_code == 201, created.get_json()
        approve(client, headers, inspection_id)
        assert _events() == {"inspection.submitted": True, "inspection.approved": False}
        assert _queued(app) == 1  # the dispatch of inspection.approved
        assert db.session.scalars(select(WebhookDelivery)).all() == []
        deliveries, _ = dispatch.dispatch_events(enqueue=False)
        assert len(deliveries) == 1
        assert _events() == {"inspection.submitted": True, "inspection.approved": True}
