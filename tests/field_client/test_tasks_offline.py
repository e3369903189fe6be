"""The inspector's tasks on the device: held after a pull, listed by the CLI and first on the
field app's start screen, read offline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

import checklists as rules
from checklists.governance import load_governance
from field_client import tasks
from field_client.app import create_app
from field_client.cli import main
from field_client.store import Store
from tests.field_client.test_capture_cli import SITE
from tests.field_client.test_field_app import start

HELD = [
    {
        "id": 7,
        "reason": "reinspection",
        "due_on": "2026-12-20",
        "overdue": False,
        "checklist_id": "shutdown-verification",
        "sites": [
            {"site_id": SITE["id"], "code": SITE["code"], "name": SITE["name"], "inspection": None}
        ],
        "inspectors": ["张三", "李四"],
        "compare_with": {
            "inspection": "0b6f",
            "finished_at": "2026-06-01T02:40:00Z",
            "answers": [],
        },
        "note": "",
    },
    {
        "id": 3,
        "reason": "clue",
        "due_on": "2026-11-30",
        "overdue": True,
        "checklist_id": "construction-dust",
        "sites": [{"site_id": 99, "code": "X-1", "name": "已查场所", "inspection": "abc"}],
        "inspectors": ["张三", "王五"],
        "compare_with": None,
        "note": "12369投诉",
    },
]


def _home(tmp_path: Path) -> Path:
    store = Store(tmp_path)
    store.save_sites([SITE], "1")
    store.set_meta(tasks.META_KEY, json.dumps(HELD, ensure_ascii=False))
    store.close()
    return tmp_path


def test_the_cli_lists_held_tasks_earliest_due_first_offline(tmp_path: Path) -> None:
    home = _home(tmp_path)
    result = CliRunner().invoke(main, ["--home", str(home), "tasks", "--no-pull", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [row["id"] for row in listed] == [3, 7]
    assert listed[0]["overdue"] is True and listed[0]["sites"][0]["done"] is True
    assert listed[1]["reason_label"] == "复查" and listed[1]["compare_with"] == "0b6f"
    table = CliRunner().invoke(main, ["--home", str(home), "tasks", "--no-pull"])
    assert table.exit_code == 0 and "逾期" in table.output


def test_the_start_screen_shows_the_tasks_first(tmp_path: Path) -> None:
    page = create_app(_home(tmp_path)).test_client().get("/").text
    assert page.index('id="my-tasks"') < page.index('id="find-site"')
    assert 'data-task="7"' in page and f"/sites/{SITE['id']}" in page
    assert "对比关停核查" in page and "逾期 / overdue" in page


def test_a_task_that_fell_due_offline_shows_overdue(tmp_path: Path) -> None:
    """The overdue flag came from the last pull: offline since, a task due yesterday (China
    time) still showed as not overdue. The device judges it again by today's date."""
    yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)).isoformat()
    pulled = [{**HELD[0], "due_on": yesterday, "overdue": False}]
    store = Store(tmp_path)
    store.save_sites([SITE], "1")
    store.set_meta(tasks.META_KEY, json.dumps(pulled, ensure_ascii=False))
    store.close()
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "tasks", "--no-pull", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["overdue"] is True
    page = create_app(tmp_path).test_client().get("/").text
    assert "逾期 / overdue" in page


@pytest.fixture
def field_home(tmp_path: Path) -> Path:
    """A device with every checklist, the governance and the test site pulled."""
    store = Store(tmp_path)
    for checklist in rules.load_all().values():
        store.save_checklist({**checklist.content, "version": checklist.version}, '"etag"')
    store.save_sites([SITE], "1")
    store.save_governance(load_governance().to_dict(), '"g"')
    store.close()
    return tmp_path


def test_a_revisit_shows_what_the_closure_found_beside_each_item(field_home: Path) -> None:
    """The re-visit's checklist screen compares with the closure inspection, offline."""
    store = Store(field_home)
    revisit = {
        **HELD[0],
        "checklist_id": "coal-and-boilers",
        "compare_with": {
            "inspection": "0b6f",
            "finished_at": "2026-06-01T02:40:00Z",
            "answers": [{"item": "CB-09", "value": "no", "verdict": "compliant"}],
        },
    }
    store.set_meta(tasks.META_KEY, json.dumps([revisit], ensure_ascii=False))
    store.close()
    assert tasks.closure_verdicts(Store(field_home), SITE["id"], "coal-and-boilers") == {
        "CB-09": "符合 / compliant"
    }
    assert tasks.closure_verdicts(Store(field_home), SITE["id"], "fugitive-emissions") == {}
    client = create_app(field_home).test_client()
    uuid = start(client, SITE["id"], "coal-and-boilers")
    page = client.get(f"/inspections/{uuid}").text
    assert "关停核查时 / at closure: 符合 / compliant" in page
