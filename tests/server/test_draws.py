"""The 双随机 draw: commitment before, a verifiable result after, and nothing for enterprises.

A draw is re-derived here by the test's own implementation of the published spec
(tests/draw_helpers.py), and `lantian-server draws verify` must fail, naming the part, when
the candidate list, the secret or the result is edited behind the server's back.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import update

from server.cli import main
from server.extensions import db
from server.models import Draw, Task, TaskSite
from server.services import inspectors
from tests.draw_helpers import (
    DUE,
    certified_pool,
    construction_population,
    draw_and_issue,
    rederive,
)


def run(app: Flask, *args: str) -> Result:
    with app.app_context():
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def ready(users: dict, registry: dict) -> dict[str, Any]:  # type: ignore[type-arg]
    sites = construction_population()
    pool = certified_pool(users)
    return {"sites": sites, "pool": pool}


def definition(**extra: Any) -> dict[str, Any]:
    """A draw of 20 % of 朔州's construction sites; a count given replaces the percentage."""
    if "count" in extra:
        extra.setdefault("percent", None)
    body = {
        "title": "2026年第四季度建筑工地双随机",
        "city_code": "140600",
        "site_kind": "construction",
        "percent": 20,
        "checklist_id": "construction-dust",
        "due_date": DUE,
        **extra,
    }
    return {key: value for key, value in body.items() if value is not None}


def create(client: FlaskClient, headers: dict, **extra: Any) -> dict[str, Any]:
    return ok(
        client.post("/api/v1/draws", json=definition(**extra), headers=headers["supervisor"]), 201
    )


def drawn_and_issued(client: FlaskClient, headers: dict, **extra: Any) -> int:
    made = create(client, headers, **extra)
    return draw_and_issue(client, headers["supervisor"], made)


def test_creation_publishes_both_hashes_and_keeps_the_secret(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    made = create(client, headers)
    assert made["status"] == "committed" and made["result"] is None
    assert "secret" not in made
    published = ok(
        client.get(f"/api/v1/draws/{made['id']}/published", headers=headers["supervisor"])
    )
    assert (
        published["secret"] is None and published["value"] is None and published["result"] is None
    )
    text = published["candidates"]
    assert hashlib.sha256(text.encode()).hexdigest() == made["candidate_hash"]
    document = json.loads(text)
    # 朔州's construction sites: the ten made here and the registry fixture's one.
    assert len(document["sites"]) == 11 and document["sample_size"] == 3  # ceil(11 × 20 %)
    assert [p["user_id"] for p in document["inspectors"]] == sorted(u.id for u in ready["pool"])
    stored = db.session.get(Draw, made["id"])
    assert stored is not None
    assert hashlib.sha256(bytes.fromhex(stored.secret)).hexdigest() == made["secret_hash"]


def test_preview_counts_the_population(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    body = {"city_code": "140600", "site_kind": "construction", "percent": 20}
    preview = ok(client.post("/api/v1/draws/preview", json=body, headers=headers["supervisor"]))
    assert preview == {"population": 11, "sample_size": 3, "inspectors": 4}


def test_an_issued_draw_rederives_independently_and_verifies(app, client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    made = create(client, headers, count=5)
    sup = headers["supervisor"]
    drawn = ok(
        client.post(
            f"/api/v1/draws/{made['id']}/draw",
            json={"witness": "07 21 33", "candidate_hash": made["candidate_hash"]},
            headers=sup,
        )
    )
    assert drawn["status"] == "drawn" and len(drawn["result"]) == 5
    before = ok(client.get(f"/api/v1/draws/{made['id']}/published", headers=sup))
    assert before["secret"] is None, "the secret stays hidden until the draw is issued"
    issued = ok(
        client.post(f"/api/v1/draws/{made['id']}/issue", json={"seed": drawn["seed"]}, headers=sup)
    )
    assert issued["status"] == "issued" and len(issued["task_ids"]) == 5
    for task_id, entry in zip(issued["task_ids"], drawn["result"], strict=True):
        task = db.session.get(Task, task_id)
        assert task is not None and task.reason == "double_random"
        assert task.checklist_id == "construction-dust" and task.source_ref == f"draw:{made['id']}"
        assert task.site_ids == [entry["site_id"]] and task.inspector_ids == entry["inspectors"]
    published = ok(client.get(f"/api/v1/draws/{made['id']}/published", headers=sup))
    assert published["witness"] == "07 21 33"
    seed, result = rederive(published)
    assert published["seed"] == seed
    assert published["result"] == result == drawn["result"]
    # Work is spread: five tasks × two inspectors over four inspectors.
    load = [sum(user.id in task["inspectors"] for task in result) for user in ready["pool"]]
    assert sorted(load) == [2, 2, 3, 3]
    assert all(len(set(task["inspectors"])) == 2 for task in result)
    verified = run(app, "draws", "verify", str(made["id"]))
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK")


def test_a_tied_inspector_is_never_drawn_for_that_enterprise(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    sites = ready["sites"]
    tied = ready["pool"][2]
    inspectors.declare_conflict(tied.username, sites[0].enterprise.credit_code, "配偶在该企业任职")
    db.session.commit()
    draw_id = drawn_and_issued(client, headers, percent=100)
    published = ok(client.get(f"/api/v1/draws/{draw_id}/published", headers=headers["supervisor"]))
    document = json.loads(published["candidates"])
    entry = next(p for p in document["inspectors"] if p["user_id"] == tied.id)
    assert entry["excluded_enterprises"] == [sites[0].enterprise_id]
    site_enterprise = {s["site_id"]: s["enterprise_id"] for s in document["sites"]}
    for task in published["result"]:
        if site_enterprise[task["site_id"]] == sites[0].enterprise_id:
            assert tied.id not in task["inspectors"]
    assert any(tied.id in task["inspectors"] for task in published["result"])


def test_uncertified_inspectors_are_not_in_the_pool(client, headers, users, registry) -> None:  # type: ignore[no-untyped-def]
    construction_population()
    inspectors.certify("insp", "晋执00001")
    db.session.commit()
    refused = client.post("/api/v1/draws", json=definition(), headers=headers["supervisor"])
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "draw.not_enough_inspectors"
    named = client.post(
        "/api/v1/draws",
        json=definition(inspector_ids=[users["inspector"].id, users["inspector2"].id]),
        headers=headers["supervisor"],
    )
    assert named.status_code == 422 and named.get_json()["error"] == "draw.invalid"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"site_kind": "no_such_kind"}, "draw.empty_population"),
        ({"count": 99}, "draw.invalid"),
        ({"count": 2, "percent": 20}, "draw.invalid"),  # count and percent both
        ({"checklist_id": "coal-and-boilers"}, "draw.invalid"),  # not for construction sites
        ({"checklist_id": "no-such-list"}, "checklist.not_found"),
        (
            {"city_code": "", "site_kind": "boiler_house", "checklist_id": "coal-and-boilers"},
            "draw.invalid",
        ),  # two cities
        ({"due_date": "2020-01-01"}, "draw.invalid"),
    ],
)
def test_bad_definitions_are_refused_with_a_code(client, headers, ready, change, code) -> None:  # type: ignore[no-untyped-def]
    refused = client.post("/api/v1/draws", json=definition(**change), headers=headers["supervisor"])
    assert refused.status_code in (404, 422), refused.get_json()
    assert refused.get_json()["error"] == code


def test_each_move_happens_once(client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    sup = headers["supervisor"]
    made = create(client, headers)
    draw_id, confirm = made["id"], {"candidate_hash": made["candidate_hash"]}
    early = client.post(f"/api/v1/draws/{draw_id}/issue", json={"seed": "0" * 64}, headers=sup)
    assert early.status_code == 409 and early.get_json()["errors"]["status"] == "committed"
    other = client.post(
        f"/api/v1/draws/{draw_id}/draw", json={"candidate_hash": "0" * 64}, headers=sup
    )
    assert (
        other.status_code == 409
        and other.get_json()["errors"]["candidate_hash"] == confirm["candidate_hash"]
    )
    first = ok(client.post(f"/api/v1/draws/{draw_id}/draw", json=confirm, headers=sup))
    again = client.post(f"/api/v1/draws/{draw_id}/draw", json=confirm, headers=sup)
    assert again.status_code == 409 and again.get_json()["error"] == "draw.conflict"
    stale = client.post(f"/api/v1/draws/{draw_id}/issue", json={"seed": "1" * 64}, headers=sup)
    assert stale.status_code == 409 and stale.get_json()["errors"]["seed"] == first["seed"]
    ok(client.post(f"/api/v1/draws/{draw_id}/issue", json={"seed": first["seed"]}, headers=sup))
    twice = client.post(f"/api/v1/draws/{draw_id}/issue", json={"seed": first["seed"]}, headers=sup)
    assert twice.status_code == 409 and twice.get_json()["errors"]["status"] == "issued"
    final = ok(client.get(f"/api/v1/draws/{draw_id}", headers=sup))
    assert final["result"] == first["result"]


def test_only_supervisors_of_the_city_see_draws(app, client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    from server.services import accounts
    from tests.helpers import PASSWORD, login

    draw_id = drawn_and_issued(client, headers)
    accounts.add_user("sup_cz2", "supervisor", PASSWORD, city="长治")
    db.session.commit()
    other_city = login(client, "sup_cz2")
    assert client.get(f"/api/v1/draws/{draw_id}", headers=other_city).status_code == 404
    assert client.get("/api/v1/draws", headers=other_city).get_json() == []
    for role in ("enterprise", "enterprise2", "inspector"):
        for url in (
            "/api/v1/draws",
            f"/api/v1/draws/{draw_id}",
            f"/api/v1/draws/{draw_id}/published",
        ):
            answer = client.get(url, headers=headers[role])
            assert answer.status_code == 403, (role, url)
    page = client.get("/review/draws")
    assert page.status_code == 302


@pytest.mark.tampers_audit
@pytest.mark.parametrize(
    ("column", "edit", "named"),
    [
        (
            "candidates",
            lambda text: text.replace('"sample_size":3', '"sample_size":4'),
            "candidate list",
        ),
        ("secret", lambda secret: ("0" if secret[0] != "0" else "1") + secret[1:], "secret"),
        ("result", lambda result: [result[1], result[0], *result[2:]], "result #1"),
    ],
)
def test_verify_names_what_was_tampered_with(
    app, client, headers, ready, column, edit, named
) -> None:  # type: ignore[no-untyped-def]
    draw_id = drawn_and_issued(client, headers)
    stored = db.session.get(Draw, draw_id)
    assert stored is not None
    changed = edit(getattr(stored, column))
    db.session.execute(update(Draw).where(Draw.id == draw_id).values({column: changed}))
    db.session.commit()
    result = run(app, "draws", "verify", str(draw_id))
    assert result.exit_code == 1, result.output
    assert named in result.output, result.output
    assert "OK" not in result.output


def test_verify_refuses_a_draw_not_yet_issued(app, client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    draw_id = create(client, headers)["id"]
    result = run(app, "draws", "verify", str(draw_id))
    assert result.exit_code == 1 and "committed" in result.output
    missing = run(app, "draws", "verify", "999999")
    assert missing.exit_code == 1


def test_certificates_and_conflicts_from_the_command_line(app, users, registry) -> None:  # type: ignore[no-untyped-def]
    certified = run(app, "users", "badge", "insp", "晋执99999")
    assert certified.exit_code == 0, certified.output
    taken = run(app, "users", "badge", "insp2", "晋执99999")
    assert taken.exit_code == 1 and "执法证号已被他人使用" in taken.output
    not_inspector = run(app, "users", "badge", "ent", "晋执88888")
    assert not_inspector.exit_code == 1
    code = registry["shuozhou"].credit_code
    tied = run(app, "users", "conflict", "insp", code, "--reason", "曾在该企业任职")
    assert tied.exit_code == 0, tied.output
    assert run(app, "users", "conflict", "insp", code).exit_code == 0  # idempotent
    assert run(app, "users", "conflict", "insp", "91140600MA0XXXXXXX").exit_code == 1


@pytest.mark.tampers_audit
def test_verify_names_a_task_changed_after_issue(app, client, headers, ready) -> None:  # type: ignore[no-untyped-def]
    draw_id = drawn_and_issued(client, headers)
    stored = db.session.get(Draw, draw_id)
    assert stored is not None and stored.task_ids
    other = next(s.id for s in ready["sites"] if s.id != stored.result[0]["site_id"])
    db.session.execute(
        update(TaskSite).where(TaskSite.task_id == stored.task_ids[0]).values(site_id=other)
    )
    db.session.commit()
    result = run(app, "draws", "verify", str(draw_id))
    assert result.exit_code == 1 and "task #1" in result.output, result.output
