"""Task and clue moves sent at once against the real server: one wins, the rest get 409.

Each round, against the server process, eight requests released together:
- cancel, reassign and the fulfilling inspections of one task (double clicks of a
  supervisor, two inspectors syncing): the task ends cancelled or fulfilled, never both;
  at most one cancel and one reassignment (decided on the same version) are stored;
  every inspection is stored whatever happened to the task;
- eight "turn into a task" clicks on one clue: one task;
- four 销号 clicks and four requests for on-site verification of one answered finding:
  either it is closed and no task exists, or exactly one re-inspection task exists and the
  finding still waits for it.
After every round the database holds one outcome each, and the audit log verifies clean.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from flask.testing import FlaskClient
from sqlalchemy import select

from field_client import tasks as field_tasks
from field_client.api import SyncApi
from field_client.store import Store
from server.extensions import db
from server.models import AuditEntry, Clue, Finding, Task, TaskSite, User, utcnow
from server.services import audit, clues, tasks
from server.storage import photo_store
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.e2e.test_races import THREADS, at_once, count, statuses
from tests.helpers import FIX, approve, current_version, inspection_body, issue, new_id, sha256

ROUNDS = int(os.environ.get("LANTIAN_TASK_RACE_ROUNDS", "8"))  # each round: three races
DUE = (date.today() + timedelta(days=10)).isoformat()  # ahead of either process's today


def boiler_body(client: FlaskClient, headers: dict, site_id: int, cb18: str) -> dict[str, Any]:
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    answers = [
        {"item": "CB-09", "value": "yes", "note": "", "photos": []},
        {"item": "CB-10", "value": 40, "note": "", "photos": []},
        {"item": "CB-18", "value": cb18, "note": "", "photos": []},
    ]
    if cb18 == "non_compliant":
        answers[2]["photos"] = [sha256(FIX)]
    started = utcnow() - timedelta(minutes=50)
    return inspection_body(site_id, "coal-and-boilers", version, answers, started=started)


def race_task(url: str, who: dict[str, dict], body: dict, site_id: int, pair: list[int]) -> None:
    supervisor = db.session.scalar(select(User).where(User.username == "sup"))
    task = tasks.create_task(
        actor=supervisor,
        site_ids=[site_id],
        checklist_id="coal-and-boilers",
        due_on=date.fromisoformat(DUE),
        inspector_ids=pair,
        reason="planned",
    )
    task_id = task.id
    inspections = [new_id() for _ in range(2)]

    def send(http: httpx.Client, index: int) -> httpx.Response:
        if index < 3:
            return http.post(
                f"/api/v1/tasks/{task_id}/cancel", json={"reason": "重复派发"}, headers=who["sup"]
            )
        if index < 6:
            later = (date.fromisoformat(DUE) + timedelta(days=index)).isoformat()
            return http.post(
                f"/api/v1/tasks/{task_id}/reassign",
                json={"due_on": later, "version": 1},
                headers=who["sup"],
            )
        inspector = who["insp"] if index == 6 else who["insp2"]
        return http.put(
            f"/api/v1/inspections/{inspections[index - 6]}", json=body, headers=inspector
        )

    answers = at_once(send, url)
    cancels, reassigns, puts = answers[:3], answers[3:6], answers[6:]
    assert [a.status_code for a in puts] == [201, 201], [a.text[:300] for a in puts]
    db.session.expire_all()
    stored = db.session.get(Task, task_id)
    assert stored is not None and stored.status in ("cancelled", "fulfilled")
    won_cancel = [a for a in cancels if a.status_code == 200]
    assert len(won_cancel) == (1 if stored.status == "cancelled" else 0), [
        a.text[:200] for a in cancels
    ]
    assert {a.json()["error"] for a in cancels if a.status_code != 200} <= {"task.not_open"}
    won_reassign = [a for a in reassigns if a.status_code == 200]
    assert len(won_reassign) <= 1, [a.text[:200] for a in reassigns]
    assert {a.json()["error"] for a in reassigns if a.status_code != 200} <= {
        "task.stale",
        "task.not_open",
    }
    assert stored.version == 1 + len(won_reassign)
    covered = db.session.scalar(select(TaskSite.inspection_uuid).where(TaskSite.task_id == task_id))
    if stored.status == "fulfilled":
        assert str(covered) in inspections and stored.fulfilled_at is not None
        assert stored.cancelled_at is None
    else:
        assert covered is None and stored.fulfilled_at is None
    subject = select(AuditEntry).where(
        AuditEntry.subject_type == "task", AuditEntry.subject_id == str(task_id)
    )
    for action, expected in (
        ("task.cancelled", len(won_cancel)),
        ("task.reassigned", len(won_reassign)),
        ("task.fulfilled", 1 if stored.status == "fulfilled" else 0),
    ):
        assert count(subject.where(AuditEntry.action == action)) == expected, action


def race_clue(url: str, who: dict[str, dict], site_id: int, pair: list[int]) -> None:
    supervisor = db.session.scalar(select(User).where(User.username == "sup"))
    clue_id = clues.record(
        supervisor, {"kind": "complaint", "lat": 39.331, "lon": 112.431, "description": "扬尘"}
    ).id
    body = {
        "site_ids": [site_id],
        "checklist_id": "construction-dust",
        "due_on": DUE,
        "inspector_ids": pair,
    }

    def send(http: httpx.Client, _: int) -> httpx.Response:
        return http.post(f"/api/v1/clues/{clue_id}/task", json=body, headers=who["sup"])

    answers = at_once(send, url)
    assert statuses(answers) == {201: 1, 409: THREADS - 1}, [a.text[:200] for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"clue.not_open"}
    assert count(select(Task).where(Task.source_ref == f"clue:{clue_id}")) == 1
    db.session.expire_all()
    clue = db.session.get(Clue, clue_id)
    assert clue is not None and clue.status == "tasked" and clue.task_id is not None


def race_verification(
    client: FlaskClient,
    url: str,
    who: dict[str, dict],
    headers: dict,
    registry: dict,
    pair: list[int],
) -> None:
    site = registry["sites"]["SZ-boiler_house"]
    inspection = new_id()
    body = boiler_body(client, headers, site.id, "non_compliant")
    put = client.put(f"/api/v1/inspections/{inspection}", json=body, headers=headers["inspector"])
    assert put.status_code == 201, put.get_json()
    approve(client, headers, inspection)
    record = client.get(f"/api/v1/inspections/{inspection}", headers=headers["supervisor"])
    finding_id = next(f["id"] for f in record.get_json()["findings"] if f["item"] == "CB-18")
    assert issue(client, headers, registry["shuozhou"].id, [finding_id]).status_code == 201
    answered = client.post(
        f"/api/v1/findings/{finding_id}/responses",
        json={"text": "已整改", "photos": [sha256(FIX)]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()

    def send(http: httpx.Client, index: int) -> httpx.Response:
        if index % 2:
            return http.post(
                f"/api/v1/findings/{finding_id}/verify", json={"accepted": True}, headers=who["sup"]
            )
        return http.post(
            f"/api/v1/findings/{finding_id}/verification",
            json={"due_on": DUE, "inspector_ids": pair},
            headers=who["sup"],
        )

    answers = at_once(send, url)
    codes = statuses(answers)
    assert codes[200] + codes[201] == 1 and codes[409] == THREADS - 1, [
        a.text[:200] for a in answers
    ]
    assert {a.json()["error"] for a in answers if a.status_code == 409} <= {
        "finding.not_verifiable",
        "finding.verification_pending",
    }
    db.session.expire_all()
    finding = db.session.get(Finding, finding_id)
    assert finding is not None
    made = count(select(Task).where(Task.finding_id == finding_id))
    if codes[200]:
        assert finding.status == "closed" and made == 0
    else:
        assert finding.status == "answered" and made == 1


def test_simultaneous_task_moves_have_one_winner_and_audit_stays_clean(
    client: FlaskClient,
    headers: dict,
    users: dict,
    registry: dict,
    live_server: ServerProcess,
    tmp_path: Path,
) -> None:
    url = live_server.url
    who = {name: token(live_server, name) for name in ("sup", "insp", "insp2")}
    pair = [users["inspector"].id, users["inspector2"].id]
    for role in ("inspector", "enterprise"):
        client.put(f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers[role])
    site = registry["sites"]["SZ-boiler_house"]
    body = boiler_body(client, headers, site.id, "compliant")
    for _ in range(ROUNDS):
        race_task(url, who, body, site.id, pair)
        race_clue(url, who, registry["sites"]["SZ-construction"].id, pair)
        race_verification(client, url, who, headers, registry, pair)
    db.session.expire_all()
    report = audit.verify(photo_store())
    assert report.ok, [(p.entry, p.reason) for p in report.problems][:10]
    # The field client pulls exactly the open tasks the server holds for its inspector.
    store = Store(tmp_path / "field")
    api = SyncApi(url, who["insp"]["Authorization"].removeprefix("Bearer "))
    try:
        pulled = field_tasks.pull_tasks(store, api)
    finally:
        api.close()
    open_ids = sorted(
        task.id for task in tasks.visible(users["inspector"], tasks.TaskFilter(status="open"))
    )
    assert pulled == len(open_ids) > 0
    assert sorted(task["id"] for task in field_tasks.held(store)) == open_ids
