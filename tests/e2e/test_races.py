"""Lifecycle moves sent at once against the real server: one wins, the rest get 409.

Each round prepares fresh inspections in-process, then fires eight simultaneous requests
at the server process for each move: review (approve and return mixed), revision (the
same body and If-Match eight times), notice (eight notices for the same findings), answer
(eight answers to one finding) and verify (close and reopen mixed). After every race the
database holds exactly one outcome, and after all rounds the audit log verifies clean.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import (
    Finding,
    FindingEvent,
    Inspection,
    InspectionReview,
    InspectionRevision,
    Notice,
)
from server.services import audit
from server.storage import photo_store
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.helpers import FIX, approve, failing_inspection_body, new_id, sha256

ROUNDS = int(os.environ.get("LANTIAN_RACE_ROUNDS", "20"))  # each round: five races
THREADS = 8


def at_once(send: Callable[[httpx.Client, int], httpx.Response], url: str) -> list[httpx.Response]:
    """`THREADS` requests released together by a barrier, each on its own connection."""
    barrier = threading.Barrier(THREADS)
    answers: list[httpx.Response | None] = [None] * THREADS

    def run(index: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            barrier.wait(timeout=30)
            answers[index] = send(http, index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers)
    return answers  # type: ignore[return-value]


def statuses(answers: list[httpx.Response]) -> Counter[int]:
    return Counter(answer.status_code for answer in answers)


def count(query: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def submitted(client: FlaskClient, headers: dict, site: Any) -> tuple[str, dict[str, Any]]:
    body = failing_inspection_body(client, headers, site)
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    assert response.status_code == 201, response.get_json()
    return inspection_id, body


def race_review(url: str, supervisor: dict, inspection_id: str) -> str:
    """Four approvals and four returns at once: one decision stored, the rest 409."""

    def send(http: httpx.Client, index: int) -> httpx.Response:
        decision = (
            {"decision": "approve"} if index % 2 else {"decision": "return", "comment": "补拍"}
        )
        return http.post(
            f"/api/v1/inspections/{inspection_id}/review", json=decision, headers=supervisor
        )

    answers = at_once(send, url)
    assert statuses(answers) == {200: 1, 409: THREADS - 1}, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {
        "inspection.not_reviewable"
    }
    winner = next(a.json() for a in answers if a.status_code == 200)
    reviews = select(InspectionReview).where(
        InspectionReview.inspection_uuid == uuid.UUID(inspection_id)
    )
    assert count(reviews) == 1
    stored = db.session.get(Inspection, uuid.UUID(inspection_id))
    assert stored is not None and stored.status == winner["status"]
    return winner["status"]


def race_revision(url: str, inspector: dict, inspection_id: str, body: dict, etag: str) -> None:
    """The same revision eight times at once: one revision stored, every answer 200."""
    revised = {**body, "answers": [*body["answers"][:2], {**body["answers"][2], "note": "补"}]}

    def send(http: httpx.Client, _: int) -> httpx.Response:
        return http.put(
            f"/api/v1/inspections/{inspection_id}",
            json=revised,
            headers={**inspector, "If-Match": f'"{etag}"'},
        )

    answers = at_once(send, url)
    assert statuses(answers) == {200: THREADS}, [a.text for a in answers]
    assert {a.json()["revision"] for a in answers} == {2}, [a.text[:300] for a in answers]
    revisions = select(InspectionRevision).where(
        InspectionRevision.inspection_uuid == uuid.UUID(inspection_id)
    )
    assert count(revisions) == 2


def race_notice(url: str, supervisor: dict, enterprise_id: int, finding_ids: list[int]) -> int:
    """Eight notices for the same findings at once: one notice, holding them all."""

    def send(http: httpx.Client, _: int) -> httpx.Response:
        return http.post(
            "/api/v1/notices",
            json={"enterprise_id": enterprise_id, "finding_ids": finding_ids},
            headers=supervisor,
        )

    before = count(select(Notice))
    answers = at_once(send, url)
    codes = statuses(answers)
    assert codes[201] == 1 and codes[201] + codes[409] + codes[422] == THREADS, codes
    # The losers either lost the claim (409) or read the findings already notified (422).
    assert {a.json()["error"] for a in answers if a.status_code != 201} <= {
        "notice.findings_taken",
        "notice.invalid",
    }
    assert count(select(Notice)) == before + 1
    notice = next(a.json() for a in answers if a.status_code == 201)
    assert sorted(f["id"] for f in notice["findings"]) == sorted(finding_ids)
    return notice["id"]


def race_answer(url: str, enterprise: dict, finding_id: int) -> None:
    """Eight answers to one finding at once: one answer and one event stored."""

    def send(http: httpx.Client, index: int) -> httpx.Response:
        return http.post(
            f"/api/v1/findings/{finding_id}/responses",
            json={"text": f"已整改 {index}", "photos": [sha256(FIX)]},
            headers=enterprise,
        )

    answers = at_once(send, url)
    assert statuses(answers) == {201: 1, 409: THREADS - 1}, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {
        "finding.not_answerable"
    }
    events = select(FindingEvent).where(
        FindingEvent.finding_id == finding_id, FindingEvent.to_status == "answered"
    )
    assert count(events) == 1


def race_verify(url: str, supervisor: dict, finding_id: int) -> None:
    """Four closes and four reopens at once: one decision, and a consistent finding."""

    def send(http: httpx.Client, index: int) -> httpx.Response:
        decision = {"accepted": bool(index % 2), "comment": "照片不清" if index % 2 == 0 else ""}
        return http.post(f"/api/v1/findings/{finding_id}/verify", json=decision, headers=supervisor)

    answers = at_once(send, url)
    assert statuses(answers) == {200: 1, 409: THREADS - 1}, [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {
        "finding.not_verifiable"
    }
    db.session.expire_all()
    finding = db.session.get(Finding, finding_id)
    assert finding is not None
    if finding.status == "closed":
        assert finding.closed_at is not None and finding.closed_by is not None
    else:
        assert finding.status == "reopened" and finding.closed_at is None
    moves = select(FindingEvent).where(
        FindingEvent.finding_id == finding_id, FindingEvent.from_status == "answered"
    )
    assert count(moves) == 1


def test_simultaneous_moves_have_one_winner_and_audit_stays_clean(
    client: FlaskClient,
    headers: dict,
    registry: dict,
    clock: Any,
    live_server: ServerProcess,
) -> None:
    url = live_server.url
    supervisor = token(live_server, "sup")
    inspector = token(live_server, "insp")
    enterprise = token(live_server, "ent")
    assert (
        client.put(
            f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers["enterprise"]
        ).status_code
        == 201
    )
    site = registry["sites"]["SZ-boiler_house"]
    for _ in range(ROUNDS):
        first, _ = submitted(client, headers, site)
        decided = race_review(url, supervisor, first)

        second, body = submitted(client, headers, site)
        returned = client.post(
            f"/api/v1/inspections/{second}/review",
            json={"decision": "return", "comment": "补拍"},
            headers=headers["supervisor"],
        )
        assert returned.status_code == 200
        race_revision(url, inspector, second, body, returned.get_json()["etag"])
        approve(client, headers, second)

        # The findings of an approved inspection: the first's, unless the race returned it.
        target = first if decided == "approved" else second
        record = client.get(f"/api/v1/inspections/{target}", headers=headers["supervisor"])
        finding_ids = [f["id"] for f in record.get_json()["findings"] if f["status"] == "open"]
        assert len(finding_ids) == 2
        race_notice(url, supervisor, registry["shuozhou"].id, finding_ids)
        race_answer(url, enterprise, finding_ids[0])
        race_verify(url, supervisor, finding_ids[0])

    db.session.expire_all()
    report = audit.verify(photo_store())
    assert report.ok, [(p.entry, p.reason) for p in report.problems][:10]
