"""The lifecycle modules: the only writers of a status, the source of every `actions` list."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select

from server.extensions import db
from server.models import FindingEvent
from server.services import audit
from server.storage import photo_store
from tests.helpers import FIX, approve, failing_inspection_body, issue, new_id, sha256

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLES = ROOT / "server" / "services" / "lifecycles"


def test_no_code_outside_the_lifecycles_writes_a_status() -> None:
    """`x.status = …`, `update(…).values(status=…)` or `status=` in a row made for an
    existing record appear only in server/services/lifecycles."""
    writers = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        if LIFECYCLES in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "values"
                and any(keyword.arg == "status" for keyword in node.keywords)
            ):
                writers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert writers == []


def _inspection(client, headers, inspection_id: str, role: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/inspections/{inspection_id}", headers=headers[role])
    assert response.status_code == 200
    return response.get_json()


def _finding(client, headers, finding_id: int, role: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/findings/{finding_id}", headers=headers[role])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_actions_follow_the_status_and_the_role(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    inspection = approved["inspection"]
    assert _inspection(client, headers, inspection, "supervisor")["actions"] == [
        "approve",
        "return",
    ]
    assert _inspection(client, headers, inspection, "inspector")["actions"] == []
    finding_id = approved["findings"]["CB-10"]["id"]
    assert _finding(client, headers, finding_id, "supervisor")["actions"] == []  # not approved

    approve(client, headers, inspection)
    assert _inspection(client, headers, inspection, "supervisor")["actions"] == []
    assert _finding(client, headers, finding_id, "supervisor")["actions"] == ["notify"]

    notice = issue(client, headers, approved["enterprise_id"], [finding_id]).get_json()
    assert notice["actions"] == []  # the supervisor: nothing to verify yet
    assert _finding(client, headers, finding_id, "enterprise")["actions"] == ["answer"]
    assert _finding(client, headers, finding_id, "supervisor")["actions"] == []
    as_enterprise = client.get(f"/api/v1/notices/{notice['id']}", headers=headers["enterprise"])
    assert as_enterprise.get_json()["actions"] == ["answer"]

    client.put(f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers["enterprise"])
    answered = client.post(
        f"/api/v1/findings/{finding_id}/responses",
        json={"text": "已整改", "photos": [sha256(FIX)]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201 and answered.get_json()["actions"] == []
    assert _finding(client, headers, finding_id, "supervisor")["actions"] == [
        "close",
        "reopen",
        "request_verification",
    ]


def test_a_returned_inspection_offers_its_inspector_a_revision(client, headers, approved) -> None:  # type: ignore[no-untyped-def]
    returned = client.post(
        f"/api/v1/inspections/{approved['inspection']}/review",
        json={"decision": "return", "comment": "补拍"},
        headers=headers["supervisor"],
    )
    assert returned.status_code == 200
    assert _inspection(client, headers, approved["inspection"], "inspector")["actions"] == [
        "revise"
    ]
    assert _inspection(client, headers, approved["inspection"], "supervisor")["actions"] == []


def test_a_withdrawn_finding_has_its_event_and_the_audit_stays_clean(
    client, headers, registry, users
) -> None:  # type: ignore[no-untyped-def]
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    inspection_id = new_id()
    path = f"/api/v1/inspections/{inspection_id}"
    assert client.put(path, json=body, headers=headers["inspector"]).status_code == 201
    returned = client.post(
        f"{path}/review",
        json={"decision": "return", "comment": "CB-18 复核"},
        headers=headers["supervisor"],
    )
    revised = {
        **body,
        "answers": [
            *body["answers"][:2],
            {"item": "CB-18", "value": "compliant", "note": "", "photos": []},
        ],
    }
    response = client.put(
        path,
        json=revised,
        headers={**headers["inspector"], "If-Match": f'"{returned.get_json()["etag"]}"'},
    )
    assert response.status_code == 200, response.get_json()
    withdrawn = [f for f in response.get_json()["findings"] if f["status"] == "withdrawn"]
    assert [f["item"] for f in withdrawn] == ["CB-18"]
    events = db.session.scalars(
        select(FindingEvent).where(FindingEvent.finding_id == withdrawn[0]["id"])
    ).all()
    assert [(e.from_status, e.to_status) for e in events] == [("open", "withdrawn")]
    assert events[0].actor_id == users["inspector"].id
    assert audit.verify(photo_store()).ok
