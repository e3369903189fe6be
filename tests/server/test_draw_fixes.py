"""The tester's defects of the 双随机 draw, each shown refused (F1…F8 of issue 17 part 3's
review): no re-roll by several draws of one population, a drawn pair that cannot be swapped
or silently dropped, no hand-made "double_random" task, no inspection older than the task
fulfilling it, ties and certificates re-checked when drawing and issuing, and a published
record anyone can fetch without login."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import update

from server.cli import main
from server.extensions import db
from server.models import Draw, Task, TaskInspector, User
from server.services import accounts, inspectors, tasks
from server.services.clock import today
from tests.draw_helpers import DUE, certified_pool, construction_population, rederive
from tests.helpers import PASSWORD, approve, failing_inspection_body, new_id, sha256


def run(app: Flask, *args: str) -> Result:
    with app.app_context():
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def refused(response: Any, status: int, code: str) -> Any:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"] == code, body
    return body


@pytest.fixture
def ready(users: dict, registry: dict) -> dict[str, Any]:  # type: ignore[type-arg]
    return {"sites": construction_population(), "pool": certified_pool(users)}


def of_sites(site_ids: list[int], count: int = 1) -> dict[str, Any]:
    return {
        "site_ids": site_ids,
        "count": count,
        "checklist_id": "construction-dust",
        "due_date": DUE,
    }


def create(client: FlaskClient, sup: dict, body: dict[str, Any]) -> dict[str, Any]:
    return ok(client.post("/api/v1/draws", json=body, headers=sup), 201)


def draw(client: FlaskClient, sup: dict, made: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/draws/{made['id']}/draw",
        json={"candidate_hash": made["candidate_hash"]},
        headers=sup,
    )


def issue(client: FlaskClient, sup: dict, drawn: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/draws/{drawn['id']}/issue", json={"seed": drawn["seed"]}, headers=sup
    )


def status_of(draw_id: int) -> str:
    db.session.expire_all()
    row = db.session.get(Draw, draw_id)
    assert row is not None
    return row.status


# F1 ─ re-rolls


def test_a_second_draw_of_an_overlapping_population_is_refused_while_one_is_pending(
    client, headers, ready
) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    ids = [site.id for site in ready["sites"]]
    first = create(client, sup, of_sites(ids[:5]))
    again = refused(
        client.post("/api/v1/draws", json=of_sites(ids[4:8]), headers=sup),
        409,
        "draw.pending_exists",
    )
    assert again["errors"]["draw_id"] == first["id"] and again["errors"]["site_ids"] == [ids[4]]
    create(client, sup, of_sites(ids[5:8]))  # no common site: fine
    drawn = ok(draw(client, sup, first))
    refused(
        client.post("/api/v1/draws", json=of_sites(ids[:2]), headers=sup),
        409,
        "draw.pending_exists",
    )
    ok(issue(client, sup, drawn))
    create(client, sup, of_sites(ids[:2]))  # the first is issued: no longer pending


def test_abandoning_needs_a_reason_and_a_drawn_abandon_is_public_with_its_record(
    client, headers, ready
) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    ids = [site.id for site in ready["sites"]]
    first = create(client, sup, of_sites(ids))
    drawn = ok(draw(client, sup, first))
    url = f"/api/v1/draws/{first['id']}/abandon"
    refused(client.post(url, json={"reason": "  "}, headers=sup), 422, "draw.invalid")
    refused(
        client.post(url, json={"reason": "x"}, headers=headers["inspector"]), 403, "auth.forbidden"
    )
    assert status_of(first["id"]) == "drawn"
    gone = ok(client.post(url, json={"reason": "所抽工地已停工 / site closed"}, headers=sup))
    assert gone["status"] == "abandoned" and gone["abandon_reason"].startswith("所抽工地已停工")
    refused(client.post(url, json={"reason": "again"}, headers=sup), 409, "draw.conflict")
    refused(issue(client, sup, drawn), 409, "draw.conflict")
    # The re-roll is visible: the reason on /public/, and the thrown-away result published.
    page = client.application.test_client().get("/public/").text
    assert "所抽工地已停工" in page and f"draws/{first['id']}.json" in page
    record = ok(client.application.test_client().get(f"/public/draws/{first['id']}.json"))
    assert record["status"] == "abandoned" and record["abandon_reason"].startswith("所抽工地")
    assert (
        rederive(record) == (record["seed"], record["result"])
        and record["result"] == drawn["result"]
    )
    create(client, sup, of_sites(ids))  # the population is free again


def test_a_committed_draw_abandoned_keeps_its_secret(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    made = create(client, sup, of_sites([ready["sites"][0].id]))
    ok(client.post(f"/api/v1/draws/{made['id']}/abandon", json={"reason": "范围定错"}, headers=sup))
    anonymous = client.application.test_client()
    refused(anonymous.get(f"/public/draws/{made['id']}.json"), 404, "draw.not_published")
    assert "范围定错" in anonymous.get("/public/").text


def test_a_drawn_site_with_an_open_double_random_task_is_not_issued_again(
    client, headers, ready
) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    site = ready["sites"][0]
    first = ok(draw(client, sup, create(client, sup, of_sites([site.id]))))
    task_id = ok(issue(client, sup, first))["task_ids"][0]
    second = ok(draw(client, sup, create(client, sup, of_sites([site.id]))))
    body = refused(issue(client, sup, second), 409, "draw.site_has_open_task")
    assert body["errors"]["site_ids"] == [site.id]
    assert status_of(second["id"]) == "drawn"
    ok(client.post(f"/api/v1/tasks/{task_id}/cancel", json={"reason": "企业注销"}, headers=sup))
    ok(issue(client, sup, second))


# F2 ─ the drawn pair is fixed; a cancel is public and fails verify


def test_a_drawn_task_keeps_its_pair_and_verify_sees_a_cancel(app, client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    drawn = ok(draw(client, sup, create(client, sup, of_sites([ready["sites"][0].id]))))
    task_id = ok(issue(client, sup, drawn))["task_ids"][0]
    pair = drawn["result"][0]["inspectors"]
    other = next(user.id for user in ready["pool"] if user.id not in pair)
    url = f"/api/v1/tasks/{task_id}/reassign"
    for ids in ([pair[0], other], [pair[1], pair[0]]):
        refused(
            client.post(url, json={"inspector_ids": ids}, headers=sup), 409, "task.drawn_inspectors"
        )
    later = (today() + timedelta(days=20)).isoformat()
    ok(client.post(url, json={"due_on": later}, headers=sup))  # the due date may move
    assert run(app, "draws", "verify", str(drawn["id"])).exit_code == 0
    ok(client.post(f"/api/v1/tasks/{task_id}/cancel", json={"reason": "工地已拆除"}, headers=sup))
    verified = run(app, "draws", "verify", str(drawn["id"]))
    assert verified.exit_code == 1 and "cancelled (工地已拆除)" in verified.output, verified.output
    page = client.application.test_client().get("/public/").text
    assert "工地已拆除" in page


@pytest.mark.tampers_audit
def test_verify_checks_the_current_pair_not_the_pair_ever_assigned(
    app, client, headers, ready
) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    drawn = ok(draw(client, sup, create(client, sup, of_sites([ready["sites"][0].id]))))
    task_id = ok(issue(client, sup, drawn))["task_ids"][0]
    pair = drawn["result"][0]["inspectors"]
    # Behind the lifecycle's back: the second drawn inspector taken off, another put on.
    other = next(user.id for user in ready["pool"] if user.id not in pair)
    db.session.execute(
        update(TaskInspector)
        .where(TaskInspector.task_id == task_id, TaskInspector.user_id == pair[1])
        .values(active=False)
    )
    db.session.add(TaskInspector(task_id=task_id, user_id=other, position=1, active=True))
    db.session.commit()
    verified = run(app, "draws", "verify", str(drawn["id"]))
    assert verified.exit_code == 1 and "task #1" in verified.output, verified.output
    assert f"drawn {pair}" in verified.output


# F3 ─ no hand-made 双随机 task


@pytest.mark.parametrize(
    "extra",
    [
        {"reason": "double_random"},
        {"source_ref": "draw:1"},
        {"reason": "double_random", "source_ref": "draw:9"},
        {"source_ref": " DRAW:3"},
    ],
)
def test_the_api_refuses_a_hand_made_double_random_task(
    client, headers, users, registry, extra
) -> None:  # type: ignore[no-untyped-def]
    body = {
        "site_ids": [registry["sites"]["SZ-boiler_house"].id],
        "checklist_id": "coal-and-boilers",
        "due_on": (today() + timedelta(days=7)).isoformat(),
        "inspector_ids": [users["inspector"].id, users["inspector2"].id],
        "reason": "planned",
        **extra,
    }
    refused(
        client.post("/api/v1/tasks", json=body, headers=headers["supervisor"]),
        422,
        "task.reserved_reason",
    )
    assert db.session.query(Task).count() == 0


def _recent(body: dict[str, Any], hours_ago: float = 0) -> dict[str, Any]:
    started = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {
        **body,
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(minutes=1)).isoformat(),
        "device_time": (started + timedelta(minutes=2)).isoformat(),
    }


def _put(client: FlaskClient, headers: dict, body: dict[str, Any], who: str = "inspector") -> str:
    inspection_id = new_id()
    ok(client.put(f"/api/v1/inspections/{inspection_id}", json=body, headers=headers[who]), 201)
    return inspection_id


def _boiler_task(users: dict, site: Any, lead: str, second: str) -> Task:
    """A double_random task as only the draw's issue can make it (from_draw)."""
    task = tasks.create_task(
        actor=None,
        site_ids=[site.id],
        checklist_id="coal-and-boilers",
        due_on=today() + timedelta(days=7),
        inspector_ids=[users[lead].id, users[second].id],
        reason="double_random",
        source_ref="draw:999",
        from_draw=True,
    )
    return task


def test_public_results_need_a_task_an_issued_draw_made(client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    task = _boiler_task(users, site, "inspector", "inspector2")  # in no issued draw
    inspection = _put(client, headers, _recent(failing_inspection_body(client, headers, site)))
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "fulfilled"
    approve(client, headers, inspection)
    page = client.application.test_client().get("/public/").text
    assert "暂无公开结果" in page and registry["shuozhou"].name not in page


# F6 ─ what fulfils a 双随机 task


def test_an_inspection_started_before_the_task_does_not_fulfil_it(
    client, headers, users, registry
) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    drawn = _boiler_task(users, site, "inspector", "inspector2")
    _put(client, headers, _recent(failing_inspection_body(client, headers, site), hours_ago=1))
    db.session.expire_all()
    assert db.session.get(Task, drawn.id).status == "open"
    # Other reasons keep the day of grace: the same kind of inspection fulfils a planned task.
    planned = tasks.create_task(
        actor=None,
        site_ids=[site.id],
        checklist_id="coal-and-boilers",
        due_on=today() + timedelta(days=7),
        inspector_ids=[users["inspector"].id, users["inspector2"].id],
        reason="planned",
    )
    _put(client, headers, _recent(failing_inspection_body(client, headers, site), hours_ago=1))
    db.session.expire_all()
    assert db.session.get(Task, planned.id).status == "fulfilled"
    assert db.session.get(Task, drawn.id).status == "open"
    _put(client, headers, _recent(failing_inspection_body(client, headers, site)))
    db.session.expire_all()
    assert db.session.get(Task, drawn.id).status == "fulfilled"


def _record(people: list[tuple[str, str]]) -> dict[str, Any]:
    from tests.server.test_inspection_record import signature_png, signed_record

    return signed_record(
        signature_png(1),
        signature_png(2),
        # Named as the accounts name them, signed while the (recent) inspection happened.
        inspectors=[{"username": u, "name": u, "badge": b} for u, b in people],
        inspector_signatures=[sha256(signature_png(10 + i)) for i in range(len(people))],
        signed_at=(datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
    )


@pytest.mark.parametrize(
    "lead, second",
    [
        # insp2 leads; insp (the sender) is the second of the drawn pair: a record of insp
        # with a colleague who was not drawn leaves out the drawn lead.
        ("inspector2", "inspector"),
        # insp leads and sends: the drawn lead with a colleague standing in for the drawn
        # second (insp3 for insp2) fulfilled the task, since only the lead was checked.
        ("inspector", "inspector2"),
    ],
)
def test_a_record_must_name_both_drawn_inspectors(
    client, headers, users, registry, lead, second
) -> None:  # type: ignore[no-untyped-def]
    """双随机 draws the officers with the site: only a record naming both fulfils the task."""
    for name, badge in (("insp", "14060026001"), ("insp2", "14060026002")):
        accounts.set_badge(name, badge)
    third = accounts.add_user("insp3", "inspector", PASSWORD)
    db.session.flush()
    accounts.set_badge("insp3", "14060026003")
    db.session.commit()
    site = registry["sites"]["SZ-boiler_house"]
    task = _boiler_task(users, site, lead, second)
    body = _recent(failing_inspection_body(client, headers, site))
    body["record"] = _record([("insp", "14060026001"), (third.username, "14060026003")])
    _put(client, headers, body)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "open"
    body = _recent(failing_inspection_body(client, headers, site))
    body["record"] = _record([("insp", "14060026001"), ("insp2", "14060026002")])
    _put(client, headers, body)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "fulfilled"


# F7 ─ ties and certificates re-checked


def test_a_tie_declared_after_definition_stops_the_draw(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    made = create(client, sup, of_sites([site.id for site in ready["sites"]], count=3))
    inspectors.declare_conflict(
        ready["pool"][0].username, ready["sites"][0].enterprise.credit_code, "配偶在该企业任职"
    )
    db.session.commit()
    body = refused(draw(client, sup, made), 409, "draw.pool_changed")
    assert str(ready["pool"][0].id) in body["errors"]["inspectors"][0]
    assert status_of(made["id"]) == "committed"


def test_a_drawn_inspector_tied_or_uncertified_before_issue_stops_the_issue(
    client, headers, ready
) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    site = ready["sites"][0]
    drawn = ok(draw(client, sup, create(client, sup, of_sites([site.id]))))
    lead = db.session.get(User, drawn["result"][0]["inspectors"][0])
    inspectors.declare_conflict(lead.username, site.enterprise.credit_code, "曾在该企业任职")
    db.session.commit()
    refused(issue(client, sup, drawn), 409, "draw.pool_changed")
    assert status_of(drawn["id"]) == "drawn"
    assert db.session.query(Task).count() == 0
    # And one whose certificate was withdrawn.
    other = ok(draw(client, sup, create(client, sup, of_sites([ready["sites"][1].id]))))
    partner = db.session.get(User, other["result"][0]["inspectors"][1])
    accounts.set_badge(partner.username, "")
    db.session.commit()
    refused(issue(client, sup, other), 409, "draw.pool_changed")
    assert status_of(other["id"]) == "drawn"


def test_ordinary_tasks_refuse_a_tied_inspector(client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    inspectors.declare_conflict("insp2", registry["shuozhou"].credit_code, "亲属任职")
    third = accounts.add_user("insp3", "inspector", PASSWORD)
    db.session.commit()
    body = {
        "site_ids": [site.id],
        "checklist_id": "coal-and-boilers",
        "due_on": (today() + timedelta(days=7)).isoformat(),
        "inspector_ids": [users["inspector"].id, users["inspector2"].id],
    }
    sup = headers["supervisor"]
    refused(client.post("/api/v1/tasks", json=body, headers=sup), 422, "task.inspector_tied")
    made = ok(
        client.post(
            "/api/v1/tasks",
            json={**body, "inspector_ids": [users["inspector"].id, third.id]},
            headers=sup,
        ),
        201,
    )
    refused(
        client.post(
            f"/api/v1/tasks/{made['id']}/reassign",
            json={"inspector_ids": [users["inspector"].id, users["inspector2"].id]},
            headers=sup,
        ),
        422,
        "task.inspector_tied",
    )


# F8 ─ the published record without login


def test_the_issued_record_is_public_without_login_and_names_no_one(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    made = create(client, sup, of_sites([site.id for site in ready["sites"]], count=3))
    anonymous = client.application.test_client()
    url = f"/public/draws/{made['id']}.json"
    refused(anonymous.get(url), 404, "draw.not_published")
    drawn = ok(draw(client, sup, made))
    refused(anonymous.get(url), 404, "draw.not_published")  # drawn: the secret is still held
    issued = ok(issue(client, sup, drawn))
    # Issued, the inspections still to come: the record would tell each drawn enterprise
    # that inspectors are on their way, and which. Hidden until no drawn task is open.
    refused(anonymous.get(url), 404, "draw.not_published")
    assert url not in anonymous.get("/public/").text
    *first, last = issued["task_ids"]
    for task_id in first:
        ok(client.post(f"/api/v1/tasks/{task_id}/cancel", json={"reason": "停工"}, headers=sup))
    refused(anonymous.get(url), 404, "draw.not_published")
    ok(client.post(f"/api/v1/tasks/{last}/cancel", json={"reason": "停工"}, headers=sup))
    response = anonymous.get(url)
    record = ok(response)
    assert (
        rederive(record) == (record["seed"], record["result"]) == (drawn["seed"], drawn["result"])
    )
    assert record["city"] == "朔州" and "朔州" in record["authority"]
    paired = {user_id for entry in record["result"] for user_id in entry["inspectors"]}
    badges = {user.id: user.badge_no for user in ready["pool"]}
    assert record["badges"] == {str(user_id): badges[user_id] for user_id in sorted(paired)}
    text = response.get_data(as_text=True)
    for user in ready["pool"]:
        assert f'"{user.username}"' not in text
        if user.display_name:
            assert f'"{user.display_name}"' not in text
    page = anonymous.get("/public/").text
    assert "朔州生态环境局" in page and url in page
    refused(anonymous.get("/public/draws/999999.json"), 404, "draw.not_published")


# Low ─ preview's pool is the population's city


def test_preview_counts_only_the_citys_inspectors(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    elsewhere = accounts.add_user("insp_cz", "inspector", PASSWORD, city="长治")
    db.session.flush()
    inspectors.certify(elsewhere.username, "晋执77777")
    db.session.commit()
    body = {"site_ids": [site.id for site in ready["sites"]], "count": 2}
    preview = ok(client.post("/api/v1/draws/preview", json=body, headers=headers["admin"]))
    assert preview["inspectors"] == len(ready["pool"]), preview


def test_the_task_form_does_not_offer_double_random(client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    from tests.web.pages import sign_in

    sign_in(client, "sup")
    page = client.get("/review/tasks")
    assert page.status_code == 200 and 'value="planned"' in page.text
    assert 'value="double_random"' not in page.text


def test_the_task_page_offers_a_drawn_task_no_inspector_change(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    from tests.web.pages import post_form, sign_in

    sup = headers["supervisor"]
    drawn = ok(draw(client, sup, create(client, sup, of_sites([ready["sites"][0].id]))))
    task_id = ok(issue(client, sup, drawn))["task_ids"][0]
    pages = client.application.test_client()
    sign_in(pages, "sup")
    path = f"/review/tasks/{task_id}"
    page = pages.get(path).text
    assert 'id="drawn-pair"' in page and 'name="inspector_ids"' not in page
    later = (today() + timedelta(days=21)).isoformat()
    moved = post_form(pages, path, f"{path}/reassign", {"due_on": later, "version": "1"})
    assert moved.status_code in (302, 303), moved.text
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    assert task is not None and task.due_on.isoformat() == later
    assert task.inspector_ids == drawn["result"][0]["inspectors"]


def test_fractions_and_far_due_dates_are_refused_not_truncated(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    """1.5 sites became 1 and 100.5 % became 100 without a word (non-strict integers), and a
    draw could be due in 9999 although the tasks it issues may be due at most three years
    ahead. Each is a 422 with its code, and no draw is stored."""
    sup = headers["supervisor"]
    ids = [site.id for site in ready["sites"]]
    far = (today() + timedelta(days=3 * 366 + 1)).isoformat()
    cases = [
        ({**of_sites(ids), "count": 1.5}, "request.invalid"),
        ({**of_sites(ids), "count": None, "percent": 100.5}, "request.invalid"),
        ({**of_sites([ids[0] + 0.5]), "count": 1}, "request.invalid"),
        ({**of_sites(ids), "inspector_ids": [ready["pool"][0].id + 0.25]}, "request.invalid"),
        ({**of_sites(ids), "due_date": far}, "draw.invalid"),
        ({**of_sites(ids), "due_date": "9999-12-31"}, "draw.invalid"),
    ]
    for body, code in cases:
        body = {key: value for key, value in body.items() if value is not None}
        refused(client.post("/api/v1/draws", json=body, headers=sup), 422, code)
    assert db.session.query(Draw).count() == 0


@pytest.mark.parametrize("blank", ["\u200b", "\u202e\u200b", "\ufeff \u3000", "\u2028"])
def test_a_reason_of_invisible_characters_is_no_reason(client, headers, ready, blank) -> None:  # type: ignore[no-untyped-def]
    """Zero-width spaces and bidi marks passed `strip()`: a draw was abandoned and a drawn
    task cancelled "with a reason" that /public/ then showed as empty. Each move needs a
    reason a reader can see (422), and nothing changes."""
    sup = headers["supervisor"]
    ids = [site.id for site in ready["sites"]]
    made = create(client, sup, of_sites(ids))
    url = f"/api/v1/draws/{made['id']}/abandon"
    refused(client.post(url, json={"reason": blank}, headers=sup), 422, "draw.invalid")
    assert status_of(made["id"]) == "committed"
    issued = ok(issue(client, sup, ok(draw(client, sup, made))))
    task_id = issued["task_ids"][0]
    cancel = f"/api/v1/tasks/{task_id}/cancel"
    refused(client.post(cancel, json={"reason": blank}, headers=sup), 422, "task.invalid")
    assert db.session.get(Task, task_id).status == "open"
    ok(client.post(cancel, json={"reason": f"{blank}停工{blank}"}, headers=sup))
