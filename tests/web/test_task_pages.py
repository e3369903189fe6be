"""/review/tasks and /review/clues: a supervisor creates, reassigns and cancels a task, and
turns a clue into a task, on the pages (the same rules as the API, refusals as pages)."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import Clue, Task
from server.services.clock import today
from tests.web.pages import post_form, sign_in


def test_a_supervisor_creates_reassigns_and_cancels_a_task_on_the_pages(
    client: FlaskClient, users, registry
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    site = registry["sites"]["SZ-boiler_house"]
    due = (today() + timedelta(days=5)).isoformat()
    form = {
        "reason": "planned",
        "site_ids": str(site.id),
        "checklist_id": "coal-and-boilers",
        "inspector_ids": [str(users["inspector"].id)],
        "due_on": due,
    }
    refused = post_form(client, "/review/tasks", "/review/tasks", form)
    assert refused.status_code == 422 and "不少于2人" in refused.text
    assert db.session.scalar(select(Task)) is None
    form["inspector_ids"] = [str(users["inspector"].id), str(users["inspector2"].id)]
    made = post_form(client, "/review/tasks", "/review/tasks", form, follow_redirects=True)
    assert made.status_code == 200 and 'data-status="open"' in made.text
    task = db.session.scalar(select(Task))
    assert task is not None and task.inspector_ids == [
        users["inspector"].id,
        users["inspector2"].id,
    ]
    page = f"/review/tasks/{task.id}"
    later = (today() + timedelta(days=9)).isoformat()
    moved = post_form(
        client, page, f"{page}/reassign", {"due_on": later, "version": "1"}, follow_redirects=True
    )
    assert moved.status_code == 200 and later in moved.text
    stale = post_form(client, page, f"{page}/reassign", {"due_on": due, "version": "1"})
    assert stale.status_code == 409
    cancelled = post_form(
        client, page, f"{page}/cancel", {"reason": "企业停产"}, follow_redirects=True
    )
    assert cancelled.status_code == 200 and 'data-status="cancelled"' in cancelled.text
    listed = client.get("/review/tasks?status=cancelled")
    assert f'data-task="{task.id}"' in listed.text


def test_a_clue_recorded_on_the_page_becomes_a_task(client: FlaskClient, users, registry) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    recorded = post_form(
        client,
        "/review/clues",
        "/review/clues",
        {"kind": "grid_alarm", "lat": "39.331", "lon": "112.431", "description": "PM10高值报警"},
        follow_redirects=True,
    )
    assert recorded.status_code == 200
    assert re.search(r"<td>1\d\d\.\d m</td>", recorded.text)  # ~140 m to the test sites
    clue = db.session.scalar(select(Clue))
    assert clue is not None and clue.matches
    bad = post_form(client, "/review/clues", "/review/clues", {"kind": "grid_alarm", "lat": "x"})
    assert bad.status_code == 422
    page = f"/review/clues/{clue.id}"
    made = post_form(
        client,
        page,
        f"{page}/task",
        {
            "site_ids": str(registry["sites"]["SZ-construction"].id),
            "checklist_id": "construction-dust",
            "inspector_ids": [str(users["inspector"].id), str(users["inspector2"].id)],
            "due_on": (today() + timedelta(days=1)).isoformat(),
        },
        follow_redirects=True,
    )
    assert made.status_code == 200 and "线索" in made.text
    db.session.expire_all()
    assert db.session.get(Clue, clue.id).status == "tasked"
    assert "已派任务" in client.get(page).text


def test_the_notice_page_sends_an_answered_finding_for_on_site_verification(
    client: FlaskClient, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    from tests.server.test_tasks import _answered_finding

    finding_id = _answered_finding(client, headers, registry)
    notice_id = client.get(
        f"/api/v1/findings/{finding_id}", headers=headers["supervisor"]
    ).get_json()["notice_id"]
    sign_in(client, "sup")
    page = f"/review/notices/{notice_id}"
    assert "要求现场复查后销号" in client.get(page).text
    sent = post_form(
        client,
        page,
        f"/review/tasks/findings/{finding_id}/verification",
        {
            "inspector_ids": [str(users["inspector"].id), str(users["inspector2"].id)],
            "due_on": (today() + timedelta(days=3)).isoformat(),
        },
        follow_redirects=True,
    )
    assert sent.status_code == 200 and "复查问题" in sent.text
    task = db.session.scalar(select(Task))
    assert task is not None and task.finding_id == finding_id and task.reason == "reinspection"
    # The close and reopen buttons are gone: the re-inspection decides.
    assert f'action="/review/findings/{finding_id}/verify"' not in client.get(page).text
