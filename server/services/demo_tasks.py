"""The demo's task and clue: inspector1 and inspector2 have a planned task at enterprise1's
site due in a week, and a 12369 complaint waits near it, so /review/tasks, /review/clues,
the dashboard and the field client's task list show something at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import Clue, Enterprise, Task, User
from server.services import checklists as checklist_store
from server.services import clues, tasks
from server.services.clock import today


def load(enterprise: Enterprise, users: dict[str, User]) -> int:
    """Create the demo task and clue, once; returns tasks made."""
    made = 0
    site = enterprise.sites[0]
    if db.session.scalar(select(Task).limit(1)) is None:
        applicable = [
            row.checklist_id
            for row in checklist_store.current_versions()
            if site.kind in checklist_store.get_rules(row.checklist_id, row.version).site_kinds
        ]
        if applicable:
            tasks.create_task(
                actor=users["supervisor"],
                site_ids=[site.id],
                checklist_id=applicable[0],
                due_on=today() + timedelta(days=7),
                inspector_ids=[users["inspector1"].id, users["inspector2"].id],
                reason="planned",
                note="演示：年度计划检查 / demo planned inspection",
            )
            made = 1
    if db.session.scalar(select(Clue).limit(1)) is None and site.lat is not None:
        clues.record(
            users["supervisor"],
            {
                "kind": "complaint",
                "lat": site.lat + 0.001,
                "lon": site.lon,
                "description": "演示：群众来电反映夜间有黑烟 / demo: black smoke at night",
                "external_ref": "12369-DEMO-001",
            },
        )
    return made
