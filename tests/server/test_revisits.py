"""Re-visits of closed enterprises: due a quarter after the last visit, created once however
often the scheduler runs, compared with the closure inspection on the task and its page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select

from server.cli import main
from server.extensions import db
from server.models import Task
from server.services import revisits
from tests.helpers import FIX, approve, current_version, inspection_body, new_id, sha256
from tests.web.pages import sign_in

pytestmark = pytest.mark.usefixtures("clock")


def closure_inspection(client, headers, site, started: datetime, sv01: str = "compliant") -> str:  # type: ignore[no-untyped-def]
    client.put(f"/api/v1/photos/{sha256(FIX)}", data=FIX, headers=headers["inspector"])
    version = current_version(client, headers["inspector"], revisits.CHECKLIST_ID)
    answers = [{"item": "SV-01", "value": sv01, "note": "", "photos": [sha256(FIX)]}]
    body = inspection_body(site.id, revisits.CHECKLIST_ID, version, answers, started=started)
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    assert response.status_code == 201, response.get_json()
    return inspection_id


def run(app, *args: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    return runner.invoke(
        main, ["tasks", "schedule-revisits", *args], obj=ScriptInfo(create_app=lambda: app)
    )


def test_a_closed_site_is_revisited_once_a_quarter_and_the_run_is_idempotent(
    app, client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-closed_enterprise"]
    closure = closure_inspection(client, headers, site, datetime(2026, 6, 1, 2, tzinfo=UTC))
    # Not approved yet: not a verified closure, nothing to re-visit.
    assert revisits.schedule().created == []
    approve(client, headers, closure)
    first = run(app)
    assert first.exit_code == 0, first.output
    assert "created 1" in first.output
    again = run(app)
    assert again.exit_code == 0 and "created 0" in again.output
    assert db.session.scalar(select(func.count()).select_from(Task)) == 1
    task = db.session.scalar(select(Task))
    assert task.reason == "reinspection" and str(task.compare_inspection_uuid) == closure
    assert task.checklist_id == revisits.CHECKLIST_ID and len(task.inspector_ids) == 2
    assert task.created_by is None
    # The inspector pulls it with the closure's answers to compare with.
    pulled = client.get(f"/api/v1/tasks/{task.id}", headers=headers["inspector"]).get_json()
    assert pulled["compare_with"]["inspection"] == closure
    assert pulled["compare_with"]["answers"][0]["item"] == "SV-01"
    # The re-visit finds production resumed: fulfilled, and the page shows both side by side.
    who = "inspector" if users["inspector"].id in task.inspector_ids else "inspector2"
    assert who == "inspector"
    visit = closure_inspection(
        client, headers, site, datetime.now(UTC) - timedelta(hours=2), sv01="non_compliant"
    )
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "fulfilled"
    sign_in(client, "sup")
    page = client.get(f"/review/tasks/{task.id}")
    assert page.status_code == 200
    assert f"/review/inspections/{closure}" in page.text
    assert f"/review/inspections/{visit}" in page.text
    assert 'data-item="SV-01"' in page.text and "changed" in page.text
    # Just visited: not due again until a quarter has passed.
    assert revisits.schedule().created == []
    assert revisits.schedule(date.today() + timedelta(days=92)).created != []


def test_a_recent_closure_is_not_due_yet(app, client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-closed_enterprise"]
    closure = closure_inspection(client, headers, site, datetime.now(UTC) - timedelta(days=10))
    approve(client, headers, closure)
    assert revisits.schedule().created == []
