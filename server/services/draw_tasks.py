"""Issuing a draw's result as tasks, through the tasks service: one 双随机 task per drawn
site, to the pair the draw chose, with the draw's checklist and due date."""

from __future__ import annotations

from server.models import Draw, TaskReason, User
from server.services import tasks


def issue_tasks(user: User, draw: Draw) -> list[int]:
    """Create the draw's tasks in the issuing transaction (no commit); their ids in result
    order. Each carries `source_ref` "draw:<id>" and the open key "double_random:site:<id>",
    so the database itself refuses a second open 双随机 task for one site, even from two
    draws issued at once."""
    made = []
    for entry in draw.result or []:
        task = tasks.create_task(
            actor=user,
            site_ids=[entry["site_id"]],
            checklist_id=draw.checklist_id,
            due_on=draw.due_date,
            inspector_ids=entry["inspectors"],
            reason=TaskReason.DOUBLE_RANDOM.value,
            note=f"双随机抽查 #{draw.id} {draw.title}".strip(),
            source_ref=f"draw:{draw.id}",
            open_key=f"double_random:site:{entry['site_id']}",
            commit=False,
            from_draw=True,
        )
        made.append(task.id)
    return made
