"""First sends of one inspection id racing at a real server (issue 18's lean write path):
the inserts go first and a resend shows up as the insert's conflict, so every round must
still store exactly one inspection, answer 201 once, 200 to each copy of the stored body
and 409 to each different one, and leave the audit log verifying clean."""

from __future__ import annotations

import copy
import os
import threading
import uuid

import httpx

from server.extensions import db
from server.models import Answer, AuditEntry, Inspection, InspectionRevision
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.helpers import inspection_body, new_id

ROUNDS = int(os.environ.get("LANTIAN_RACE_ROUNDS", "20"))
SAME, OTHER = 6, 2  # copies of body A and of body B sent at once


def race_once(
    clients: list[httpx.Client], inspection_id: str, body_a: dict, body_b: dict
) -> list[tuple[str, int]]:
    """Every client sends its body for the id at the same moment: (which body, status)."""
    start = threading.Barrier(len(clients))
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()

    def send(client: httpx.Client, which: str, body: dict) -> None:
        start.wait()
        status = client.put(f"/api/v1/inspections/{inspection_id}", json=body).status_code
        with lock:
            statuses.append((which, status))

    threads = [
        threading.Thread(
            target=send,
            args=(client, "a" if n < SAME else "b", body_a if n < SAME else body_b),
        )
        for n, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def test_racing_first_sends_store_one_and_answer_each_truthfully(
    live_server: ServerProcess, users, registry
) -> None:
    headers = token(live_server, "insp")
    version = httpx.get(
        f"{live_server.url}/api/v1/checklists/construction-dust", headers=headers
    ).json()["version"]
    body_a = inspection_body(
        registry["sites"]["CZ-construction"].id,
        "construction-dust",
        version,
        [{"item": "CD-03", "value": "compliant", "note": "", "photos": []}],
    )
    body_b = copy.deepcopy(body_a)
    body_b["answers"][0]["note"] = "另一份 / another body"
    clients = [
        httpx.Client(base_url=live_server.url, headers=headers, timeout=60)
        for _ in range(SAME + OTHER)
    ]
    try:
        for _ in range(ROUNDS):
            inspection_id = new_id()
            statuses = race_once(clients, inspection_id, body_a, body_b)
            assert len(statuses) == SAME + OTHER, statuses
            winner = next(which for which, status in statuses if status == 201)
            for which, status in statuses:
                # The stored body's copies: one 201, the rest harmless resends; the other
                # body never overwrites it.
                assert status in ((201, 200) if which == winner else (409,)), statuses
            assert [status for _, status in statuses].count(201) == 1, statuses
            db.session.expire_all()
            stored = db.session.get(Inspection, uuid.UUID(inspection_id))
            assert stored is not None
            revisions = db.session.query(InspectionRevision).filter_by(inspection_uuid=stored.uuid)
            assert revisions.count() == 1
            note = revisions.one().body["answers"][0]["note"]
            assert note == (body_a if winner == "a" else body_b)["answers"][0]["note"]
            assert db.session.query(Answer).filter_by(inspection_uuid=stored.uuid).count() == 1
            submitted = db.session.query(AuditEntry).filter_by(
                action="inspection.submitted", subject_id=inspection_id
            )
            assert submitted.count() == 1
    finally:
        for client in clients:
            client.close()
