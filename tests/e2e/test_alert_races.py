"""Declaring an alert and saving a reduction list, sent at once against the real server.

A double click (or a client's retry) on "declare" sends the same request id: one alert is
declared and every answer names it. Eight saves of one reduction list, each replacing the
version it read: one wins, the rest get 409, and no version number is written twice.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import Alert, AuditEntry
from server.services import audit
from server.storage import photo_store
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.e2e.test_races import THREADS, at_once, count, statuses
from tests.server.test_alerts import REDUCTION_LIST

ROUNDS = int(os.environ.get("LANTIAN_RACE_ROUNDS", "20"))


def _when(hours: int) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def race_declare(url: str, supervisor: dict[str, str], index: int) -> None:
    body = {
        "level": ("yellow", "orange", "red")[index % 3],
        "cities": ["朔州"],
        "ends_at": _when(24),
        "reason": f"省气防办预警 第{index}号",
        "request_id": str(uuid.uuid4()),
    }

    def send(http: httpx.Client, _: int) -> httpx.Response:
        return http.post("/api/v1/alerts", json=body, headers=supervisor)

    answers = at_once(send, url)
    assert statuses(answers) == {201: THREADS}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert count(select(Alert).where(Alert.request_id == uuid.UUID(body["request_id"]))) == 1


def race_reduction_list(url: str, supervisor: dict[str, str], enterprise_id: int) -> None:
    path = f"/api/v1/enterprises/{enterprise_id}/reduction-list"
    with httpx.Client(base_url=url, timeout=60) as http:
        held = http.get(path, headers=supervisor)
    version = held.json()["version"] if held.status_code == 200 else 0

    def send(http: httpx.Client, index: int) -> httpx.Response:
        grade = "ABCD"[index % 4]
        body = {**REDUCTION_LIST, "performance_grade": grade, "version": version}
        return http.put(path, json=body, headers=supervisor)

    answers = at_once(send, url)
    assert statuses(answers) == {200: 1, 409: THREADS - 1}, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {
        "reduction_list.conflict"
    }
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert winner["version"] == version + 1
    with httpx.Client(base_url=url, timeout=60) as http:
        stored = http.get(path, headers=supervisor).json()
    assert (stored["version"], stored["performance_grade"]) == (
        winner["version"],
        winner["performance_grade"],
    )
    saves = select(AuditEntry).where(AuditEntry.action == "reduction_list.saved")
    assert count(saves) == version + 1  # one audit entry per version, none for the losers


def test_simultaneous_declarations_and_list_saves_have_one_outcome(
    client: FlaskClient, registry: dict[str, Any], users: dict[str, Any], live_server: ServerProcess
) -> None:
    supervisor = token(live_server, "sup")
    for index in range(ROUNDS):
        race_declare(live_server.url, supervisor, index)
        race_reduction_list(live_server.url, supervisor, registry["shuozhou"].id)
    assert count(select(Alert)) == ROUNDS
    db.session.expire_all()
    report = audit.verify(photo_store())
    assert report.ok, [(p.entry, p.reason) for p in report.problems][:10]
