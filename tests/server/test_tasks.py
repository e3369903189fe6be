"""Tasks: created, reassigned and cancelled by supervisors, seen by their inspectors only,
fulfilled by the inspection that answers them, overdue on the dashboard; and a finding sent
for on-site verification is decided by that inspection, not by a click."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, FindingEvent, Task, TaskStatus, utcnow
from server.services import accounts, dashboard, tasks
from server.services.errors import ErrorCode, Forbidden
from tests.helpers import (
    FIX,
    PASSWORD,
    TODAY,
    approve,
    current_version,
    inspection_body,
    issue,
    new_id,
    sha256,
)
from tests.web.pages import sign_in

pytestmark = pytest.mark.usefixtures("clock")


def task_body(site_id: int, inspectors: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "site_ids": [site_id],
        "checklist_id": "coal-and-boilers",
        "due_on": (TODAY + timedelta(days=7)).isoformat(),
        "inspector_ids": inspectors,
        "reason": "planned",
        **extra,
    }


def make_task(client: FlaskClient, headers, users, registry, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    pair = [users["inspector"].id, users["inspector2"].id]
    response = client.post(
        "/api/v1/tasks", json=task_body(site.id, pair, **extra), headers=headers["supervisor"]
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def boiler_inspection(
    client: FlaskClient, headers, site_id: int, cb18: str | None, who: str = "inspector"
):  # type: ignore[no-untyped-def]
    """A coal-and-boilers inspection of the site made an hour ago, CB-18 answered `cb18`."""
    version = current_version(client, headers[who], "coal-and-boilers")
    answers = [
        {"item": "CB-09", "value": "yes", "note": "", "photos": []},
        {"item": "CB-10", "value": 40, "note": "", "photos": []},
        {"item": "CB-18", "value": cb18, "note": "", "photos": []},
    ]
    if cb18 is None:  # no boiler in use: nothing else to answer
        answers = [{"item": "CB-09", "value": "no", "note": "", "photos": []}]
    elif cb18 == "non_compliant":
        client.put(f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers[who])
        answers[2]["photos"] = [sha256(FIX)]
    body = inspection_body(
        site_id, "coal-and-boilers", version, answers, started=utcnow() - timedelta(hours=1)
    )
    inspection_id = new_id()
    response = client.put(f"/api/v1/inspections/{inspection_id}", json=body, headers=headers[who])
    assert response.status_code == 201, response.get_json()
    return inspection_id


def actions_of(client: FlaskClient, headers, task_id: int, role: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/tasks/{task_id}", headers=headers[role])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_supervisor_creates_a_task_its_inspectors_see_and_others_do_not(
    client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("insp3", "inspector", PASSWORD)
    db.session.commit()
    task = make_task(client, headers, users, registry, note="年度计划")
    assert task["status"] == "open" and task["overdue"] is False
    assert task["inspector_ids"] == [users["inspector"].id, users["inspector2"].id]
    assert task["sites"][0]["code"] == "SZ-boiler_house"
    assert task["actions"] == ["reassign", "cancel"]
    mine = client.get("/api/v1/tasks", headers=headers["inspector"]).get_json()
    assert [t["id"] for t in mine] == [task["id"]]
    assert mine[0]["actions"] == ["fulfil"]
    from tests.helpers import login

    other = login(client, "insp3")
    assert client.get("/api/v1/tasks", headers=other).get_json() == []
    missing = client.get(f"/api/v1/tasks/{task['id']}", headers=other)
    assert missing.status_code == 404 and missing.get_json()["error"] == "task.not_found"
    assert client.get("/api/v1/tasks", headers=headers["enterprise"]).status_code == 403
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "task.created"))
    assert entry is not None and entry.subject_id == str(task["id"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"inspector_ids": "same"}, "inspector_ids"),
        ({"inspector_ids": "one"}, "inspector_ids"),
        ({"inspector_ids": "enterprise"}, "inspector_ids"),
        ({"due_on": (TODAY - timedelta(days=1)).isoformat()}, "due_on"),
        ({"due_on": "9999-12-31"}, "due_on"),
        ({"checklist_id": "construction-dust"}, "checklist_id"),
        ({"checklist_id": "no-such-list"}, "checklist_id"),
        ({"site_ids": [2_000_000]}, "site_ids"),
        ({"site_ids": []}, "site_ids"),
        ({"reason": "whim"}, "reason"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_task_that_breaks_a_rule_is_refused_with_its_field(
    client, headers, users, registry, change, field
) -> None:  # type: ignore[no-untyped-def]
    one, two = users["inspector"].id, users["inspector2"].id
    people = {
        "same": [one, one],
        "one": [one],
        "enterprise": [one, users["enterprise"].id],
    }
    body = task_body(registry["sites"]["SZ-boiler_house"].id, [one, two])
    body.update(change)
    if isinstance(body["inspector_ids"], str):
        body["inspector_ids"] = people[body["inspector_ids"]]
    response = client.post("/api/v1/tasks", json=body, headers=headers["supervisor"])
    assert response.status_code == 422, response.get_json()
    payload = response.get_json()
    assert payload["error"] in ("task.invalid", "request.invalid")
    assert field in str(payload["errors"])
    assert db.session.scalar(select(Task)) is None


def test_a_supervisor_of_another_city_cannot_task_this_citys_sites(
    client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import login

    accounts.add_user("sup_cz", "supervisor", PASSWORD, city="长治")
    db.session.commit()
    body = task_body(
        registry["sites"]["SZ-boiler_house"].id, [users["inspector"].id, users["inspector2"].id]
    )
    response = client.post("/api/v1/tasks", json=body, headers=login(client, "sup_cz"))
    assert response.status_code == 422 and "site_ids" in response.get_json()["errors"]


def test_reassign_cancel_and_their_conflicts(client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    accounts.add_user("insp3", "inspector", PASSWORD)
    db.session.commit()
    third = db.session.scalar(select(accounts.User).where(accounts.User.username == "insp3"))
    task = make_task(client, headers, users, registry)
    path = f"/api/v1/tasks/{task['id']}"
    moved = client.post(
        f"{path}/reassign",
        json={"inspector_ids": [third.id, users["inspector2"].id], "version": 1},
        headers=headers["supervisor"],
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["inspector_ids"] == [third.id, users["inspector2"].id]
    assert moved.get_json()["version"] == 2
    # Taken off the task: no longer sees it.
    assert client.get(path, headers=headers["inspector"]).status_code == 404
    stale = client.post(
        f"{path}/reassign",
        json={"due_on": (TODAY + timedelta(days=9)).isoformat(), "version": 1},
        headers=headers["supervisor"],
    )
    assert stale.status_code == 409 and stale.get_json()["error"] == "task.stale"
    assert stale.get_json()["errors"]["version"] == 2
    # Back on it again: the row comes back, not a second one.
    back = client.post(
        f"{path}/reassign",
        json={"inspector_ids": [users["inspector"].id, third.id]},
        headers=headers["supervisor"],
    )
    assert back.status_code == 200 and back.get_json()["version"] == 3
    assert client.get(path, headers=headers["inspector"]).status_code == 200
    empty = client.post(f"{path}/cancel", json={"reason": "  "}, headers=headers["supervisor"])
    assert empty.status_code == 422 and empty.get_json()["error"] == "task.invalid"
    cancelled = client.post(
        f"{path}/cancel", json={"reason": "企业已停产"}, headers=headers["supervisor"]
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["actions"] == []
    again = client.post(f"{path}/cancel", json={"reason": "再次"}, headers=headers["supervisor"])
    assert again.status_code == 409 and again.get_json()["error"] == "task.not_open"
    assert again.get_json()["errors"]["status"] == "cancelled"
    late = client.post(
        f"{path}/reassign",
        json={"inspector_ids": [users["inspector"].id, third.id]},
        headers=headers["supervisor"],
    )
    assert late.status_code == 409 and late.get_json()["error"] == "task.not_open"
    assert (
        client.post(
            f"{path}/cancel", json={"reason": "x"}, headers=headers["inspector"]
        ).status_code
        == 403
    )
    actions = [
        e.action
        for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.subject_type == "task").order_by(AuditEntry.seq)
        )
    ]
    assert actions == ["task.created", "task.reassigned", "task.reassigned", "task.cancelled"]


def test_the_inspection_of_its_site_and_checklist_by_its_inspector_fulfils_it(
    client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    task = make_task(client, headers, users, registry)
    site = registry["sites"]["SZ-boiler_house"]
    # Another site, or an old inspection synced late, does not fulfil it.
    boiler_inspection(client, headers, registry["sites"]["CZ-boiler_house"].id, None)
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    old = inspection_body(
        site.id,
        "coal-and-boilers",
        version,
        [{"item": "CB-09", "value": "no", "note": "", "photos": []}],
    )  # 2026-11-20: before the task was made
    assert (
        client.put(
            f"/api/v1/inspections/{new_id()}", json=old, headers=headers["inspector"]
        ).status_code
        == 201
    )
    assert actions_of(client, headers, task["id"], "supervisor")["status"] == "open"
    inspection = boiler_inspection(client, headers, site.id, "compliant", who="inspector2")
    done = actions_of(client, headers, task["id"], "supervisor")
    assert done["status"] == "fulfilled" and done["fulfilled_at"]
    assert done["sites"][0]["inspection"] == inspection
    assert done["actions"] == []
    assert (
        client.post(
            f"/api/v1/tasks/{task['id']}/cancel",
            json={"reason": "迟了"},
            headers=headers["supervisor"],
        ).status_code
        == 409
    )
    assert db.session.scalar(select(Task.open_key)) is None


def test_a_two_site_task_is_fulfilled_when_both_are_inspected(
    client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    first = registry["sites"]["SZ-boiler_house"]
    second = registry["sites"]["SZ-industrial"]
    body = task_body(first.id, [users["inspector"].id, users["inspector2"].id])
    body["site_ids"] = [first.id, second.id]
    body["checklist_id"] = "coal-and-boilers"
    response = client.post("/api/v1/tasks", json=body, headers=headers["supervisor"])
    if response.status_code == 422:
        pytest.skip("coal-and-boilers does not apply to industrial sites")
    task = response.get_json()
    boiler_inspection(client, headers, first.id, "compliant")
    assert actions_of(client, headers, task["id"], "supervisor")["status"] == "open"
    boiler_inspection(client, headers, second.id, "compliant")
    assert actions_of(client, headers, task["id"], "supervisor")["status"] == "fulfilled"


def test_overdue_tasks_show_on_the_dashboard(client, headers, users, registry, app) -> None:  # type: ignore[no-untyped-def]
    task = make_task(client, headers, users, registry)
    supervisor = users["supervisor"]
    assert tasks.overdue(supervisor) == []
    app.config["CLOCK_TODAY"] = (TODAY + timedelta(days=8)).isoformat()
    late = client.get("/api/v1/tasks?overdue=1", headers=headers["supervisor"]).get_json()
    assert [t["id"] for t in late] == [task["id"]] and late[0]["overdue"] is True
    board = dashboard.build(supervisor)
    assert [t.id for t in board.overdue_tasks] == [task["id"]]
    assert board.overdue_task_count == 1
    sign_in(client, "sup")
    page = client.get("/review/")
    assert page.status_code == 200
    assert f'href="/review/tasks/{task["id"]}"' in page.text
    listed = client.get("/review/tasks?overdue=1")
    assert listed.status_code == 200 and f'data-task="{task["id"]}"' in listed.text


def _answered_finding(client, headers, registry) -> int:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    inspection = boiler_inspection(client, headers, site.id, "non_compliant")
    approve(client, headers, inspection)
    briefs = client.get(f"/api/v1/inspections/{inspection}", headers=headers["supervisor"])
    finding_id = next(f for f in briefs.get_json()["findings"] if f["item"] == "CB-18")["id"]
    assert issue(client, headers, registry["shuozhou"].id, [finding_id]).status_code == 201
    client.put(f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers["enterprise"])
    answered = client.post(
        f"/api/v1/findings/{finding_id}/responses",
        json={"text": "已整改", "photos": [sha256(FIX)]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()
    return finding_id


@pytest.mark.parametrize(("cb18", "ends"), [("compliant", "closed"), ("non_compliant", "reopened")])
def test_a_finding_sent_for_on_site_verification_is_decided_by_that_inspection(
    client, headers, users, registry, cb18, ends
) -> None:  # type: ignore[no-untyped-def]
    finding_id = _answered_finding(client, headers, registry)
    pair = [users["inspector"].id, users["inspector2"].id]
    asked = client.post(
        f"/api/v1/findings/{finding_id}/verification",
        json={"due_on": (TODAY + timedelta(days=5)).isoformat(), "inspector_ids": pair},
        headers=headers["supervisor"],
    )
    assert asked.status_code == 201, asked.get_json()
    task = asked.get_json()
    assert task["reason"] == "reinspection" and task["finding_id"] == finding_id
    finding = client.get(f"/api/v1/findings/{finding_id}", headers=headers["supervisor"]).get_json()
    assert finding["status"] == "answered" and finding["actions"] == []
    click = client.post(
        f"/api/v1/findings/{finding_id}/verify",
        json={"accepted": True},
        headers=headers["supervisor"],
    )
    assert click.status_code == 409
    assert click.get_json()["error"] == "finding.verification_pending"
    assert click.get_json()["errors"]["task_id"] == task["id"]
    twice = client.post(
        f"/api/v1/findings/{finding_id}/verification",
        json={"due_on": (TODAY + timedelta(days=5)).isoformat(), "inspector_ids": pair},
        headers=headers["supervisor"],
    )
    assert twice.status_code == 409
    boiler_inspection(client, headers, registry["sites"]["SZ-boiler_house"].id, cb18)
    after = client.get(f"/api/v1/findings/{finding_id}", headers=headers["supervisor"]).get_json()
    assert after["status"] == ends
    assert actions_of(client, headers, task["id"], "supervisor")["status"] == "fulfilled"
    event = db.session.scalars(
        select(FindingEvent).where(FindingEvent.finding_id == finding_id).order_by(FindingEvent.id)
    ).all()[-1]
    assert (event.from_status, event.to_status) == ("answered", ends)
    assert event.actor_id == users["inspector"].id


def test_cancelling_the_verification_task_gives_the_click_back(
    client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    finding_id = _answered_finding(client, headers, registry)
    pair = [users["inspector"].id, users["inspector2"].id]
    task = client.post(
        f"/api/v1/findings/{finding_id}/verification",
        json={"due_on": (TODAY + timedelta(days=5)).isoformat(), "inspector_ids": pair},
        headers=headers["supervisor"],
    ).get_json()
    cancelled = client.post(
        f"/api/v1/tasks/{task['id']}/cancel",
        json={"reason": "书面材料已足"},
        headers=headers["supervisor"],
    )
    assert cancelled.status_code == 200
    closed = client.post(
        f"/api/v1/findings/{finding_id}/verify",
        json={"accepted": True},
        headers=headers["supervisor"],
    )
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"


def test_a_verification_asked_of_a_finding_not_answered_is_refused(
    client, headers, users, approved
) -> None:  # type: ignore[no-untyped-def]
    finding_id = approved["findings"]["CB-18"]["id"]
    response = client.post(
        f"/api/v1/findings/{finding_id}/verification",
        json={
            "due_on": (TODAY + timedelta(days=5)).isoformat(),
            "inspector_ids": [users["inspector"].id, users["inspector2"].id],
        },
        headers=headers["supervisor"],
    )
    assert response.status_code == 409 and response.get_json()["error"] == "finding.not_verifiable"
    assert db.session.scalar(select(Task)) is None


def test_create_task_for_other_helpers(app, users, registry) -> None:  # type: ignore[no-untyped-def]
    """The service as the draw and the scheduler call it: no actor, commit left to them."""
    task = tasks.create_task(
        actor=None,
        site_ids=[registry["sites"]["SZ-construction"].id],
        checklist_id="construction-dust",
        due_on=TODAY + timedelta(days=3),
        inspector_ids=[users["inspector"].id, users["inspector2"].id],
        reason="double_random",
        source_ref="draw:1",
        commit=False,
        from_draw=True,  # only the draw issue may make a double_random task
    )
    db.session.commit()
    assert task.status == TaskStatus.OPEN and task.source_ref == "draw:1"
    assert task.created_by is None
    with pytest.raises(Forbidden):
        tasks.create_task(
            actor=users["inspector"],
            site_ids=[registry["sites"]["SZ-construction"].id],
            checklist_id="construction-dust",
            due_on=TODAY,
            inspector_ids=[users["inspector"].id, users["inspector2"].id],
            reason="planned",
        )


HOSTILE = [
    ("/api/v1/tasks", {"site_ids": "1", "checklist_id": "x", "due_on": "x", "inspector_ids": 5}),
    ("/api/v1/tasks", {"site_ids": [2**40], "checklist_id": "a" * 5000, "due_on": "2026-13-45"}),
    ("/api/v1/tasks", {"site_ids": [1, 1.5], "inspector_ids": [True, False], "due_on": None}),
    ("/api/v1/tasks", {"note": "\x00", "site_ids": [1], "inspector_ids": [1, 2]}),
    ("/api/v1/tasks/1/reassign", {"version": -1}),
    ("/api/v1/tasks/1/reassign", {"version": "1", "due_on": "tomorrow"}),
    ("/api/v1/tasks/1/reassign", {"inspector_ids": []}),
    ("/api/v1/tasks/1/cancel", {"reason": None}),
    ("/api/v1/tasks/99999999999/cancel", {"reason": "x"}),
    ("/api/v1/findings/1/verification", {"due_on": "2026-01-01", "inspector_ids": "1,2"}),
    ("/api/v1/clues", {"kind": "complaint", "lat": "1e400", "lon": 0, "description": "x"}),
    ("/api/v1/clues", []),
    (
        "/api/v1/clues/1/task",
        {"site_ids": [0], "checklist_id": "", "due_on": "", "inspector_ids": []},
    ),
    ("/api/v1/clues/1/dismiss", {"reason": ""}),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE)
def test_hostile_bodies_get_a_4xx_json_with_a_stable_code(
    client, headers, users, registry, path, body
) -> None:  # type: ignore[no-untyped-def]
    make_task(client, headers, users, registry)
    response = client.post(path, json=body, headers=headers["supervisor"])
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    payload = response.get_json()
    assert payload["error"] in {code.value for code in ErrorCode}
    assert db.session.scalar(select(func.count()).select_from(Task)) == 1


def test_a_body_that_is_not_json_is_refused_with_a_code(client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/tasks",
        data=b"\xff\xfe{not json",
        headers={**headers["supervisor"], "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.get_json()["error"] == "request.malformed"
