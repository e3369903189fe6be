"""The inspector's own tasks on the device: pulled with the rest, read offline.

The server gives each inspector only the tasks assigned to them; the open ones are kept
(replacing those held) so the start screen and `lantian-field tasks` show what to do first,
nearest due date first, without a network. A re-visit carries the closure inspection's
answers to compare with on site.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from field_client.api import SyncApi
from field_client.errors import ServerRefused
from field_client.localtime import LOCAL_ZONE
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
    """The open tasks last pulled, the earliest due first.

    `overdue` is judged again on the device by today's date in China: the server's flag
    is as old as the pull, and an inspector offline for days must still see the task due
    yesterday as overdue (an open task past its due date, China time, is overdue)."""
    rows = json.loads(store.meta(META_KEY) or "[]")
    today = datetime.now(LOCAL_ZONE).date().isoformat()
    for task in rows:
        task["overdue"] = bool(task.get("overdue")) or str(task.get("due_on", "")) < today
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


VERDICT_LABELS = {
    "compliant": "符合 / compliant",
    "non_compliant": "不符合 / non-compliant",
    "not_applicable": "不适用 / not applicable",
}


def closure_verdicts(store: Store, site_id: int, checklist_id: str) -> dict[str, str]:
    """For a re-visit of this site with this checklist: what the closure inspection found
    for each item (labelled), so the inspector compares on site; {} when no task asks."""
    for task in held(store):
        compare = task.get("compare_with")
        if not compare or task["checklist_id"] != checklist_id:
            continue
        if any(site["site_id"] == site_id for site in task["sites"]):
            return {
                answer["item"]: VERDICT_LABELS.get(answer["verdict"], answer["verdict"])
                for answer in compare.get("answers", [])
            }
    return {}
