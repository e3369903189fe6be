"""Background jobs on Dramatiq: mails and webhook deliveries, retried with backoff.

With `LANTIAN_BROKER_URL` (redis://…) messages go to Redis and `lantian-server worker`
runs them; Redis acknowledges a message only when its job finished, so a worker killed
mid-job leaves it to another (at-least-once), and the jobs themselves make a second run
harmless (each mail and delivery is claimed by a conditional update before it is sent).
Without a broker (the embedded default of `make run`) the same actors run on Dramatiq's
in-memory StubBroker, consumed by a Dramatiq `Worker` started in this process on the first
message: same code, same retries, nothing else to install. Tests that want no background
thread set `JOBS_IN_PROCESS_WORKER` false and run the jobs themselves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from flask import Flask, current_app, has_app_context

from server.extensions import db

QUEUE = "lantian"
log = logging.getLogger(__name__)


@dataclass
class Jobs:
    """One app's broker, its actors and (embedded mode) its in-process worker."""

    broker: dramatiq.Broker
    actors: dict[str, dramatiq.Actor] = field(default_factory=dict)
    worker: dramatiq.Worker | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def embedded(self) -> bool:
        return isinstance(self.broker, StubBroker)


def _in_app(app: Flask, fn: Callable[..., Any]) -> Callable[..., Any]:
    """The job body inside an app context, its session removed after each run."""

    def run(*args: Any) -> Any:
        with app.app_context():
            try:
                return fn(*args)
            finally:
                db.session.remove()

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


def init_jobs(app: Flask) -> None:
    """Make the app's broker and declare its actors (called by `create_app`)."""
    url = app.config["BROKER_URL"]
    namespace = app.config["BROKER_NAMESPACE"]
    broker: dramatiq.Broker
    if url:
        # The Redis client is imported only where a broker URL is set: the embedded
        # default (make run, most tests) never loads it.
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, namespace=namespace)
    else:
        broker = StubBroker()
    jobs = Jobs(broker)
    from server.services.notify import dispatch, mail, webhooks

    retries = {
        "max_retries": app.config["JOB_MAX_RETRIES"],
        "min_backoff": app.config["JOB_MIN_BACKOFF_MS"],
        "max_backoff": app.config["JOB_MAX_BACKOFF_MS"],
    }
    for name, fn, options in (
        ("dispatch_events", dispatch.dispatch_events, retries),
        ("send_notification", mail.send_job, retries),
        ("deliver_webhook", webhooks.deliver_job, retries),
    ):
        jobs.actors[name] = dramatiq.Actor(
            _in_app(app, fn),
            broker=broker,
            actor_name=name,
            queue_name=QUEUE,
            priority=0,
            options=dict(options),
        )
    app.extensions["lantian_jobs"] = jobs


def jobs_of(app: Flask | None = None) -> Jobs:
    return (app or current_app).extensions["lantian_jobs"]  # type: ignore[no-any-return]


def send(name: str, *args: Any) -> None:
    """Enqueue a job. In embedded mode, start the in-process worker first if allowed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = jobs_of(app)
    if jobs.embedded and app.config["JOBS_IN_PROCESS_WORKER"]:
        _start_in_process_worker(jobs)
    jobs.actors[name].send(*args)


def dispatch_soon() -> None:
    """After a commit that wrote events: fan them out in the background. A broker that
    cannot be reached now only delays them (they wait in the outbox), so this never fails
    the request whose change is already committed."""
    if not has_app_context() or "lantian_jobs" not in current_app.extensions:
        return
    try:
        send("dispatch_events")
    except Exception as error:  # the change is committed; the event waits
        log.warning("could not enqueue event dispatch (events wait in the outbox): %s", error)


def _start_in_process_worker(jobs: Jobs) -> None:
    with jobs.lock:
        if jobs.worker is None:
            worker = dramatiq.Worker(jobs.broker, worker_threads=2, worker_timeout=100)
            worker.start()
            jobs.worker = worker


def stop(app: Flask) -> None:
    """Stop the in-process worker if one runs (tests, shutdown)."""
    jobs = jobs_of(app)
    with jobs.lock:
        if jobs.worker is not None:
            jobs.worker.stop()
            jobs.worker = None
