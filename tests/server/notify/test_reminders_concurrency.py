"""`lantian-server reminders run` run by several processes and threads at once, and again:
the SMTP server receives each message exactly once (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from server.extensions import db
from server.models import Notification
from server.services import accounts
from server.services.notify import reminders
from server.services.timeutil import LOCAL_ZONE
from tests.helpers import PASSWORD, approve, issue

BIN = Path(sys.executable).parent
ACCOUNTS = 4


def test_concurrent_and_repeated_runs_send_each_message_once(
    app: Flask, client, headers, approved, users, smtp, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    for number in range(ACCOUNTS):
        accounts.add_user(
            f"ent_mail{number}",
            "enterprise",
            PASSWORD,
            enterprise_id=approved["enterprise_id"],
            email=f"person{number}@ent-a.example",
        )
    db.session.commit()
    approve(client, headers, approved["inspection"])
    # Due in three days by the real clock, which the separate processes read.
    real_today = datetime.now(LOCAL_ZONE).date()
    ids = [f["id"] for f in approved["findings"].values()]
    deadline = (real_today + timedelta(days=3)).isoformat()
    assert (
        issue(client, headers, approved["enterprise_id"], ids, deadline=deadline).status_code == 201
    )
    app.config.pop("CLOCK_TODAY", None)
    env = {
        **os.environ,
        "LANTIAN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql+psycopg://", "postgresql://"
        ),
        "LANTIAN_DATA_DIR": str(tmp_path),
        "LANTIAN_PHOTO_DIR": app.config["PHOTO_DIR"],
        "LANTIAN_SECRET_KEY": "test-secret",
        "LANTIAN_SMTP_HOST": "127.0.0.1",
        "LANTIAN_SMTP_PORT": str(app.config["SMTP_PORT"]),
        "LANTIAN_UPLOAD_EXPIRY_ON_START": "0",
    }
    command = [str(BIN / "lantian-server"), "reminders", "run"]
    smtp.delay_s = 0.15
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(4)
    ]
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            with app.app_context():
                reminders.run()
                db.session.remove()
        except BaseException as error:  # reported below
            errors.append(error)

    # The threads join in once the processes have begun sending.
    started = time.monotonic()
    while not smtp.messages and time.monotonic() - started < 60:
        time.sleep(0.01)
    threads = [threading.Thread(target=in_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output.decode()
    assert errors == []
    # And once more, after all of them: nothing left to send.
    assert reminders.run().sent == 0
    expected = 2 * ACCOUNTS  # the notice, and its deadline in three days, to each account
    keys = smtp.keys()
    assert len(keys) == expected, keys
    assert set(keys.values()) == {1}, keys
    assert len(smtp.senders()) >= 2  # the work was shared: the runs did overlap
    recorded = db.session.scalar(select(func.count()).select_from(Notification))
    sent = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.status == "sent")
    )
    assert recorded == sent == expected
