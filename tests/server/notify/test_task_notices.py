"""Task notifications: a new task mails its two inspectors; an overdue task mails them and
the city's supervisors and is announced to webhooks as `task.overdue`, each exactly once."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from server.extensions import db
from server.services import accounts, tasks
from server.services.notify import reminders
from tests.helpers import PASSWORD, TODAY
from tests.server.notify.conftest import Receiver


def test_new_and_overdue_tasks_are_mailed_and_announced_once(
    app: Flask, client, headers, registry, users, mailed, smtp, clock
) -> None:  # type: ignore[no-untyped-def]
    second = accounts.add_user("insp_mail2", "inspector", PASSWORD, email="insp2@sz.gov")
    db.session.commit()
    with Receiver(fail_first=1) as receiver:
        created = client.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "events": ["task.overdue"]},
            headers=headers["admin"],
        )
        receiver.secret = created.get_json()["secret"]
        task = tasks.create_task(
            actor=users["supervisor"],
            site_ids=[registry["sites"]["SZ-boiler_house"].id],
            checklist_id="coal-and-boilers",
            due_on=TODAY + timedelta(days=2),
            inspector_ids=[mailed["insp"].id, second.id],
            reason="planned",
        )
        reminders.run()
        for address in ("insp@sz.gov", "insp2@sz.gov"):
            (message,) = smtp.to(address)
            assert str(message["Subject"]).startswith("【蓝天巡检】新检查任务")
            assert (TODAY + timedelta(days=2)).isoformat() in str(message.get_body().get_content())
        assert len(smtp.messages) == 2
        for day in (2, 3, 3, 4):  # due on day 2: overdue from day 3, told once
            app.config["CLOCK_TODAY"] = (TODAY + timedelta(days=day)).isoformat()
            reminders.run()
        late = [m for m in smtp.messages if "检查任务逾期" in str(m["Subject"])]
        # Its inspectors and the 朔州 supervisor; not the 长治 one, nobody twice.
        assert sorted(m["To"] for m in late) == ["insp2@sz.gov", "insp@sz.gov", "sup@sz.gov"]
        assert set(smtp.keys().values()) == {1}
        # The webhook: refused once, delivered by the next run, never again.
        assert receiver.bad_signatures == []
        assert list(receiver.accepted.values()) == [1]
        (body,) = receiver.bodies.values()
        assert body["type"] == "task.overdue" and body["data"]["task_id"] == task.id


def test_an_inspector_added_by_a_reassignment_is_told_of_the_task(
    app: Flask, registry, users, mailed, smtp, clock
) -> None:  # type: ignore[no-untyped-def]
    from server.services.lifecycles import task as task_lifecycle

    second = accounts.add_user("insp_mail2", "inspector", PASSWORD, email="insp2@sz.gov")
    third = accounts.add_user("insp_mail3", "inspector", PASSWORD, email="insp3@sz.gov")
    db.session.commit()
    task = tasks.create_task(
        actor=users["supervisor"],
        site_ids=[registry["sites"]["SZ-boiler_house"].id],
        checklist_id="coal-and-boilers",
        due_on=TODAY + timedelta(days=2),
        inspector_ids=[mailed["insp"].id, second.id],
        reason="planned",
    )
    reminders.run()
    task_lifecycle.reassign(
        users["supervisor"], task.id, inspector_ids=[mailed["insp"].id, third.id], version=1
    )
    reminders.run()
    assert [m["To"] for m in smtp.messages if "新检查任务" in str(m["Subject"])] == [
        "insp@sz.gov",
        "insp2@sz.gov",
        "insp3@sz.gov",
    ]
