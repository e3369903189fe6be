"""`lantian-server reminders run` (for cron), `lantian-server worker` (the Dramatiq worker)
and `lantian-server webhooks list`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import click
import dramatiq
from flask import current_app
from flask.cli import with_appcontext
from rich.console import Console

from server.services import jobs
from server.services.notify import reminders

console = Console()


@click.group("reminders")
def reminders_group() -> None:
    """提醒与通知邮件 / Reminders and notification mail."""


@reminders_group.command("run")
@with_appcontext
def reminders_run() -> None:
    """Record what is due, dispatch waiting events, send pending mail: each message once,
    however often and however many copies run (for cron, e.g. hourly)."""
    report = reminders.run()
    console.print(
        f"新记录 / recorded {report.recorded}，已发送 / sent {report.sent}，"
        f"发送失败 / failed {report.failed}（下次重试 / retried next run），"
        f"Webhook 已投递 / delivered {report.delivered}"
    )


@click.command("worker")
@click.option("--threads", default=4, show_default=True, help="jobs run at once")
@with_appcontext
def worker_command(threads: int) -> None:
    """运行后台任务 / Run the Dramatiq worker: mails and webhooks from the Redis broker."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    app_jobs = jobs.jobs_of(app)
    if app_jobs.embedded:
        console.print(
            "未设置 LANTIAN_BROKER_URL：后台任务在服务进程内运行，无需 worker / no "
            "LANTIAN_BROKER_URL: jobs run inside the server process, no worker needed"
        )
        sys.exit(2)
    worker = dramatiq.Worker(app_jobs.broker, queues={jobs.QUEUE}, worker_threads=threads)
    worker.start()
    # Events committed while the broker could not be reached wait in the outbox.
    app_jobs.actors["dispatch_events"].send()
    stopping = threading.Event()

    def _stop(*_: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    console.print(f"worker 已启动 / worker started ({threads} threads)")
    stopping.wait()
    worker.stop()


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook 端点 / Webhook endpoints (registered through the API by administrators)."""


@webhooks_group.command("list")
@with_appcontext
def webhooks_list() -> None:
    """Every endpoint with its events and whether it is active (secrets are never shown)."""
    from sqlalchemy import select

    from server.extensions import db
    from server.models import WebhookEndpoint

    for endpoint in db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)):
        state = "active" if endpoint.active else "disabled"
        console.print(f"{endpoint.id}\t{state}\t{endpoint.url}\t{','.join(endpoint.events)}")
