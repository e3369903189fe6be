"""The inspector's own tasks on the device: pulled with the rest, read offline.

The server gives each inspector only the tasks assigned to them; the open ones are kept
(replacing those held) so the start screen and `lantian-field tasks` show what to do first,
nearest due date first, without a network. A re-visit carries the closure inspection's
answers to compare with on site.
"""

from __future__ import annotations

import json
from typing import Any

from field_client.api import SyncApi
from field_client.errors import ServerRefused
from field_client.store import Store

META_KEY = "tasks_open"
REASON_LABELS = {
    "planned": "计划检查",
    "double_random": "双随机",
    "clue": "线索",
    "reinspection": "复查",
    "alert": "预警",
}


def pull_tasks(store: Store, api: SyncApi) -> int:
    """The caller's open tasks, replacing those held; returns how many. A server without
    tasks (an older version, 404) leaves an empty list rather than failing the pull."""
    try:
        rows, _ = api.get_json("/api/v1/tasks", params={"status": "open"})
    except ServerRefused as error:
        if error.status != 404:
            raise
        rows = []
    store.set_meta(META_KEY, json.dumps(rows or [], ensure_ascii=False))
    return len(rows or [])


def held(store: Store) -> list[dict[str, Any]]:
    """The open tasks last pulled, the earliest due first."""
    rows = json.loads(store.meta(META_KEY) or "[]")
    return sorted(rows, key=lambda task: (task["due_on"], task["id"]))


def summary(task: dict[str, Any]) -> dict[str, Any]:
    """One line of a task, for the CLI's table and --json."""
    return {
        "id": task["id"],
        "reason": task["reason"],
        "reason_label": REASON_LABELS.get(task["reason"], task["reason"]),
        "due_on": task["due_on"],
        "overdue": task.get("overdue", False),
        "checklist_id": task["checklist_id"],
        "sites": [
            {
                "id": site["site_id"],
                "code": site["code"],
                "name": site["name"],
                "done": bool(site["inspection"]),
            }
            for site in task["sites"]
        ],
        "inspectors": task.get("inspectors", []),
        "compare_with": (task.get("compare_with") or {}).get("inspection"),
        "note": task.get("note", ""),
    }
