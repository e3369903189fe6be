"""Drawing and issuing a 双随机 draw sent at once (a double click, many tabs) against the real
server: one draw result and one set of tasks, every other request 409, on both databases.

Each round defines a fresh draw in-process, then fires eight simultaneous draws (each
confirming the candidate hash) and eight simultaneous issues (each confirming the winner's
seed). The stored value, seed and result are the winner's, each draw has exactly its tasks,
and the audit log verifies clean afterwards. A round ends by cancelling its tasks (with a
reason): a site with an open 双随机 task is not issued again by the next round's draw.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, Draw, Task, User
from server.services import audit, draws
from server.services.clock import today
from server.services.lifecycles import draw as draw_lifecycle
from server.services.lifecycles import task as task_lifecycle
from server.storage import photo_store
from tests.draw_helpers import certified_pool, construction_population
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.e2e.test_races import THREADS, at_once

ROUNDS = int(os.environ.get("LANTIAN_DRAW_RACE_ROUNDS", "10"))


def test_simultaneous_draws_and_issues_store_one_result(
    users: dict[str, User], registry: dict[str, Any], live_server: ServerProcess
) -> None:
    sites = construction_population(count=4, enterprises=2)
    certified_pool(users, extra=1)
    supervisor = token(live_server, "sup")
    for _ in range(ROUNDS):
        made = draws.create(
            users["supervisor"],
            {
                "site_ids": [site.id for site in sites],
                "count": 2,
                "checklist_id": "construction-dust",
                "due_date": today() + timedelta(days=14),
            },
        )
        draw_id, candidate_hash = made.id, made.candidate_hash
        drawn = at_once(
            lambda http, _, draw_id=draw_id, candidate_hash=candidate_hash: http.post(
                f"/api/v1/draws/{draw_id}/draw",
                json={"candidate_hash": candidate_hash},
                headers=supervisor,
            ),
            live_server.url,
        )
        assert Counter(a.status_code for a in drawn) == {200: 1, 409: THREADS - 1}, [
            a.text[:200] for a in drawn
        ]
        assert {a.json()["error"] for a in drawn if a.status_code == 409} == {"draw.conflict"}
        winner = next(a.json() for a in drawn if a.status_code == 200)
        db.session.expire_all()
        stored = db.session.get(Draw, draw_id)
        assert stored is not None and stored.seed == winner["seed"]
        assert stored.result == winner["result"]

        issued = at_once(
            lambda http, _, draw_id=draw_id, seed=winner["seed"]: http.post(
                f"/api/v1/draws/{draw_id}/issue", json={"seed": seed}, headers=supervisor
            ),
            live_server.url,
        )
        assert Counter(a.status_code for a in issued) == {200: 1, 409: THREADS - 1}, [
            a.text[:200] for a in issued
        ]
        db.session.expire_all()
        tasks = db.session.scalars(select(Task).where(Task.source_ref == f"draw:{draw_id}")).all()
        assert len(tasks) == 2
        stored = db.session.get(Draw, draw_id)
        assert stored is not None and sorted(stored.task_ids or []) == sorted(t.id for t in tasks)
        for action in ("draw.drawn", "draw.issued"):
            entries = select(func.count()).where(
                AuditEntry.action == action, AuditEntry.subject_id == str(draw_id)
            )
            assert db.session.scalar(entries) == 1, action
        assert draws.verify_stored(draw_id)[1] == []
        for task in tasks:
            task_lifecycle.cancel(users["supervisor"], task.id, "竞争测试轮次结束 / round over")
    db.session.expire_all()
    report = audit.verify(photo_store())
    assert report.ok, [(p.entry, p.reason) for p in report.problems][:10]


def test_overlapping_definitions_sent_at_once_make_one_pending_draw(
    users: dict[str, User], registry: dict[str, Any], live_server: ServerProcess
) -> None:
    """Eight supervisors' tabs define draws sharing a site at once: one is created, seven
    get 409 `draw.pending_exists` (no re-roll by parallel definitions); the winner is then
    abandoned with a reason, which frees the population for the next round."""
    sites = construction_population(count=4, enterprises=2)
    certified_pool(users, extra=1)
    supervisor = token(live_server, "sup")
    due = (today() + timedelta(days=14)).isoformat()
    ids = [site.id for site in sites]  # plain ints: the threads have no app context
    for _ in range(ROUNDS):
        made = at_once(
            lambda http, index: http.post(
                "/api/v1/draws",
                json={
                    # Each tab its own population; all share the first site.
                    "site_ids": [ids[0], ids[1 + index % 3]],
                    "count": 1,
                    "checklist_id": "construction-dust",
                    "due_date": due,
                },
                headers=supervisor,
            ),
            live_server.url,
        )
        assert Counter(a.status_code for a in made) == {201: 1, 409: THREADS - 1}, [
            a.text[:200] for a in made
        ]
        assert {a.json()["error"] for a in made if a.status_code == 409} == {"draw.pending_exists"}
        winner = next(a.json() for a in made if a.status_code == 201)
        db.session.expire_all()
        pending = select(func.count()).where(Draw.status.in_(("committed", "drawn")))
        assert db.session.scalar(pending) == 1
        gone = httpx.post(
            f"{live_server.url}/api/v1/draws/{winner['id']}/abandon",
            json={"reason": "竞争测试 / race round over"},
            headers=supervisor,
        )
        assert gone.status_code == 200, gone.text
    db.session.expire_all()
    report = audit.verify(photo_store())
    assert report.ok, [(p.entry, p.reason) for p in report.problems][:10]


def test_issue_and_abandon_sent_at_once_leave_one_outcome(
    users: dict[str, User], registry: dict[str, Any], live_server: ServerProcess
) -> None:
    """A drawn draw: four tabs issue it and four abandon it at once. Exactly one request
    wins; issued means its tasks exist, abandoned means none do and its reason is stored."""
    sites = construction_population(count=4, enterprises=2)
    certified_pool(users, extra=1)
    supervisor = token(live_server, "sup")
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        made = draws.create(
            users["supervisor"],
            {
                "site_ids": [site.id for site in sites],
                "count": 2,
                "checklist_id": "construction-dust",
                "due_date": today() + timedelta(days=14),
            },
        )
        drawn = draw_lifecycle.draw(users["supervisor"], made.id, made.candidate_hash)
        draw_id, seed = drawn.id, drawn.seed

        def send(http: httpx.Client, index: int, draw_id: int = draw_id, seed: Any = seed) -> Any:
            if index % 2:
                return http.post(
                    f"/api/v1/draws/{draw_id}/abandon",
                    json={"reason": f"标签页{index}作废"},
                    headers=supervisor,
                )
            return http.post(
                f"/api/v1/draws/{draw_id}/issue", json={"seed": seed}, headers=supervisor
            )

        answers = at_once(send, live_server.url)
        assert Counter(a.status_code for a in answers) == {200: 1, 409: THREADS - 1}, [
            a.text[:200] for a in answers
        ]
        assert {a.json()["error"] for a in answers if a.status_code == 409} == {"draw.conflict"}
        won = next(a.json() for a in answers if a.status_code == 200)
        db.session.expire_all()
        stored = db.session.get(Draw, draw_id)
        assert stored is not None and stored.status == won["status"]
        made_tasks = db.session.scalars(
            select(Task).where(Task.source_ref == f"draw:{draw_id}")
        ).all()
        outcomes[stored.status] += 1
        if stored.status == "issued":
            assert len(made_tasks) == 2 and stored.abandon_reason == ""
            for task in made_tasks:
                task_lifecycle.cancel(users["supervisor"], task.id, "竞争测试轮次结束")
        else:
            assert stored.status == "abandoned" and made_tasks == []
            assert stored.abandon_reason.endswith("作废") and stored.task_ids is None
    db.session.expire_all()
    report = audit.verify(photo_store())
    assert report.ok, [(p.entry, p.reason) for p in report.problems][:10]
