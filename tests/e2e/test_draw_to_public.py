"""A 双随机 draw end to end against the real server and the real field client: 20 % of
朔州's boiler houses drawn and issued to a pair; the lead inspector's `lantian-field` pulls
the task, inspects the site offline and syncs, which fulfils the task; the supervisor
approves; the result appears on /public/ and in its CSV; `lantian-server draws verify`
re-derives the draw from its revealed secret."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import httpx

from server.services.clock import today
from tests.draw_helpers import certified_pool, construction_population, rederive
from tests.e2e.conftest import BIN, Field, ServerProcess
from tests.e2e.field_helpers import boiler_inspection, login
from tests.e2e.test_live_server import token


def test_a_drawn_task_is_inspected_approved_published_and_verifies(
    server_process: ServerProcess, field: Field, users, registry, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    construction_population(count=4, enterprises=2, kind="boiler_house")
    pool = {user.id: user.username for user in certified_pool(users, extra=1)}
    server_process.start()
    http = httpx.Client(base_url=server_process.url, headers=token(server_process, "sup"))
    made = http.post(
        "/api/v1/draws",
        json={
            "title": "锅炉房双随机",
            "city_code": "140600",
            "site_kind": "boiler_house",
            "percent": 20,
            "checklist_id": "coal-and-boilers",
            "due_date": (today() + timedelta(days=7)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text
    draw = made.json()
    drawn = http.post(
        f"/api/v1/draws/{draw['id']}/draw", json={"candidate_hash": draw["candidate_hash"]}
    ).json()
    assert len(drawn["result"]) == 1  # ⌈5 × 20 %⌉
    issued = http.post(f"/api/v1/draws/{draw['id']}/issue", json={"seed": drawn["seed"]})
    assert issued.status_code == 200, issued.text
    task_id = issued.json()["task_ids"][0]
    site_id = drawn["result"][0]["site_id"]
    lead = pool[drawn["result"][0]["inspectors"][0]]

    login(field, server_process.url, lead)
    field.json("pull")
    held = field.json("tasks", "--no-pull")
    assert [(t["id"], t["reason"], t["sites"][0]["id"]) for t in held] == [
        (task_id, "double_random", site_id)
    ]
    inspection = boiler_inspection(field, site_id, tmp_path, seed=1)
    assert field.json("sync")["synced"] == [inspection]
    assert http.get(f"/api/v1/tasks/{task_id}").json()["status"] == "fulfilled"

    assert "暂无公开结果" in httpx.get(f"{server_process.url}/public/").text
    review = http.post(f"/api/v1/inspections/{inspection}/review", json={"decision": "approve"})
    assert review.status_code == 200, review.text
    page = httpx.get(f"{server_process.url}/public/").text
    sheet = httpx.get(f"{server_process.url}/public/results.csv").text.splitlines()
    assert (
        "发现问题 / findings" in page and len(sheet) == 2 and ",发现问题 / findings,2," in sheet[1]
    )
    # No names ("insp" alone: it is also part of the word "inspections"), no notes.
    assert f">{lead}<" not in page and lead not in sheet[1].split(",")
    assert "铭牌20蒸吨" not in page

    published = http.get(f"/api/v1/draws/{draw['id']}/published").json()
    assert rederive(published) == (published["seed"], published["result"])
    verified = subprocess.run(
        [str(BIN / "lantian-server"), "draws", "verify", str(draw["id"])],
        env=server_process.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("OK")
    http.close()
