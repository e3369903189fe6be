"""Issue 17 end to end, against the real server and the real field client.

A 双随机 draw of 20 % of 朔州's construction sites issues one task per drawn site to a pair
of certified inspectors; the lead inspector's `lantian-field` pulls its task and fulfils it
with a construction-dust inspection made offline; the supervisor approves; the result
appears on /public/ and in its CSV; `lantian-server draws verify` re-derives the draw from
its revealed secret. The other drawn task is left undone: once its due date has passed, the
overdue reminder reaches the city's supervisor by mail (a real SMTP server on loopback) and
the task.overdue webhook reaches a real receiver (which refuses the first post and checks
every signature), each exactly once however often `reminders run` runs.
"""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from flask import Flask

import checklists as rules
from server.extensions import db
from server.services import accounts
from server.services.clock import today
from server.services.notify import reminders
from tests.draw_helpers import certified_pool, construction_population, rederive
from tests.e2e.conftest import BIN, Field, ServerProcess
from tests.e2e.field_helpers import camera_photo, login
from tests.e2e.test_live_server import token
from tests.helpers import PASSWORD
from tests.server.notify.conftest import Inbox, Receiver, free_port

CHECKLIST = "construction-dust"
FAILED = "CD-03"  # 施工现场围挡: the one failure, with its photo


def _value(item: rules.Item) -> Any:
    """A compliant-looking answer of the item's type (the failure is set apart)."""
    kind = item.answer_type.value
    if kind == "check":
        return "non_compliant" if item.code == FAILED else "compliant"
    if kind == "number":
        return "6000"
    if kind == "choice":
        return item.options[0].value
    return "无"


def construction_inspection(field: Field, site_id: int, photo_dir: Path) -> str:
    """Every item the device asks, answered until nothing is missing; one failure, photos
    where an item asks for them. Captured in-process, as the other e2e helpers do."""
    field = field.in_process()
    uuid = field.json("new", "--site", str(site_id), "--checklist", CHECKLIST)["id"]
    checklist = rules.load_all()[CHECKLIST]
    photos = iter(range(1, 100))
    for _ in range(10):  # conditional items appear as answers come in
        missing = [item for item in field.json("show", uuid)["items"] if item["missing"]]
        if not missing:
            break
        for row in missing:
            item = checklist.item(row["item"])
            assert item is not None
            arguments = ["answer", uuid, row["item"], str(_value(item))]
            if row["value"] is not None:  # answered: only a photo is missing
                photo = camera_photo(photo_dir / f"cd-{next(photos)}.jpg", 7)
                field.run("photo", uuid, row["item"], str(photo))
                continue
            if item.code == FAILED or "photo" in (row["missing"] or ""):
                photo = camera_photo(photo_dir / f"cd-{next(photos)}.jpg", 7)
                arguments += ["--photo", str(photo)]
            field.run(*arguments)
    field.run("finish", uuid)
    return uuid


def test_a_double_random_draw_from_definition_to_public_result_and_reminders(
    app: Flask, server_process: ServerProcess, field: Field, users, registry, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    construction_population(count=9, enterprises=3)  # with the registry's own: 10 sites
    pool = {user.id: user.username for user in certified_pool(users, extra=2)}
    watcher = accounts.add_user(
        "sup_sz_mail", "supervisor", PASSWORD, city="朔州", email="duty@sz.gov"
    )
    db.session.commit()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port)
    server_process.start()
    http = httpx.Client(base_url=server_process.url, headers=token(server_process, "sup"))
    admin = httpx.Client(base_url=server_process.url, headers=token(server_process, "adm"))
    try:
        with Receiver(fail_first=1) as receiver:
            hook = admin.post(
                "/api/v1/webhooks", json={"url": receiver.url, "events": ["task.overdue"]}
            )
            assert hook.status_code == 201, hook.text
            receiver.secret = hook.json()["secret"]

            due = today() + timedelta(days=7)
            made = http.post(
                "/api/v1/draws",
                json={
                    "title": "建筑工地扬尘双随机",
                    "city_code": "140600",
                    "site_kind": "construction",
                    "percent": 20,
                    "checklist_id": CHECKLIST,
                    "due_date": due.isoformat(),
                },
            )
            assert made.status_code == 201, made.text
            draw = made.json()
            drawn = http.post(
                f"/api/v1/draws/{draw['id']}/draw",
                json={"candidate_hash": draw["candidate_hash"]},
            ).json()
            assert len(drawn["result"]) == 2  # ⌈10 × 20 %⌉, each with a pair
            assert all(len(set(row["inspectors"])) == 2 for row in drawn["result"])
            issued = http.post(f"/api/v1/draws/{draw['id']}/issue", json={"seed": drawn["seed"]})
            assert issued.status_code == 200, issued.text
            done_task, open_task = issued.json()["task_ids"]
            site_id = drawn["result"][0]["site_id"]
            lead = pool[drawn["result"][0]["inspectors"][0]]

            # The lead inspector's field client pulls the task and fulfils it offline.
            login(field, server_process.url, lead)
            field.json("pull")
            held = {task["id"]: task for task in field.json("tasks", "--no-pull")}
            assert held[done_task]["reason"] == "double_random"
            assert held[done_task]["sites"][0]["id"] == site_id
            inspection = construction_inspection(field, site_id, tmp_path)
            assert field.json("sync")["synced"] == [inspection]
            assert http.get(f"/api/v1/tasks/{done_task}").json()["status"] == "fulfilled"
            assert http.get(f"/api/v1/tasks/{open_task}").json()["status"] == "open"

            # Approved, it is published: no names, no notes.
            assert "暂无公开结果" in httpx.get(f"{server_process.url}/public/").text
            review = http.post(
                f"/api/v1/inspections/{inspection}/review", json={"decision": "approve"}
            )
            assert review.status_code == 200, review.text
            page = httpx.get(f"{server_process.url}/public/").text
            sheet = httpx.get(f"{server_process.url}/public/results.csv").text.splitlines()
            assert "发现问题 / findings" in page and len(sheet) == 2
            assert lead not in sheet[1].split(",") and f">{lead}<" not in page

            # Anyone re-derives the draw from its revealed record; the CLI says OK.
            published = http.get(f"/api/v1/draws/{draw['id']}/published").json()
            assert rederive(published) == (published["seed"], published["result"])
            verified = subprocess.run(
                [str(BIN / "lantian-server"), "draws", "verify", str(draw["id"])],
                env=server_process.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert verified.returncode == 0 and verified.stdout.startswith("OK"), (
                verified.stdout + verified.stderr
            )

            # The undone task falls overdue: its reminder and webhook arrive exactly once,
            # however many times cron runs (the receiver refuses the first post).
            app.config["CLOCK_TODAY"] = (due + timedelta(days=1)).isoformat()
            for _ in range(4):
                with app.app_context():
                    reminders.run()
            overdue = [
                message
                for message in inbox.to("duty@sz.gov")
                if "逾期" in str(message["Subject"])
                and f"/review/tasks/{open_task}" in message.get_content()
            ]
            assert len(overdue) == 1, [str(m["Subject"]) for m in inbox.to("duty@sz.gov")]
            assert receiver.bad_signatures == []
            overdue_events = [
                event_id
                for event_id, body in receiver.bodies.items()
                if body["type"] == "task.overdue"
            ]
            assert len(overdue_events) == 1
            assert receiver.bodies[overdue_events[0]]["data"]["task_id"] == open_task
            assert receiver.accepted[overdue_events[0]] == 1
            assert receiver.posts[overdue_events[0]] == 2  # refused once, then accepted
            assert watcher.id  # the mail went to the city's supervisor with an address
    finally:
        app.config.update(SMTP_HOST=None, SMTP_PORT=25, CLOCK_TODAY=None)
        controller.stop()
        http.close()
        admin.close()
