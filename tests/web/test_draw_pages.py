"""/review/draws: a supervisor previews a population, defines a draw, draws and issues it on
the pages, and reads the revealed record."""

from __future__ import annotations

from datetime import date, timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import Draw, Task
from tests.draw_helpers import certified_pool, construction_population
from tests.web.pages import post_form, sign_in


def test_a_supervisor_runs_a_draw_on_the_pages(client: FlaskClient, users, registry) -> None:  # type: ignore[no-untyped-def]
    construction_population()
    certified_pool(users)
    sign_in(client, "sup")
    population = {
        "city_code": "140600",
        "site_kind": "construction",
        "amount": "20",
        "unit": "percent",
    }
    preview = client.get("/review/draws", query_string={"preview": "1", **population})
    assert preview.status_code == 200
    assert "在用场所 11 个，将抽取 3 个" in preview.text
    due = (date.today() + timedelta(days=20)).isoformat()
    defined = post_form(
        client,
        "/review/draws",
        "/review/draws",
        {**population, "title": "工地抽查", "checklist_id": "construction-dust", "due_date": due},
        follow_redirects=True,
    )
    assert defined.status_code == 200, defined.text
    row = db.session.scalar(select(Draw))
    assert row is not None and row.candidate_hash in defined.text
    assert row.secret not in defined.text, "the secret is never shown before issue"
    page = f"/review/draws/{row.id}"
    drawn = post_form(
        client,
        page,
        f"{page}/draw",
        {"candidate_hash": row.candidate_hash, "witness": "12 34"},
        follow_redirects=True,
    )
    assert "已抽取 / drawn" in drawn.text and 'id="issue-move"' in drawn.text
    db.session.expire_all()
    row = db.session.get(Draw, row.id)
    assert row is not None and row.secret not in drawn.text
    issued = post_form(client, page, f"{page}/issue", {"seed": row.seed}, follow_redirects=True)
    assert "已下达 / issued" in issued.text and row.secret in issued.text
    assert len(db.session.scalars(select(Task)).all()) == 3
    again = post_form(client, page, f"{page}/issue", {"seed": row.seed})
    assert again.status_code == 409


def test_a_bad_form_is_a_page_naming_the_field(client: FlaskClient, users, registry) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    refused = post_form(
        client, "/review/draws", "/review/draws", {"site_kind": "construction", "amount": "x"}
    )
    assert refused.status_code == 422 and "amount" in refused.text


def test_hostile_form_text_is_refused_not_a_500(client: FlaskClient, users, registry) -> None:  # type: ignore[no-untyped-def]
    construction_population(count=3)
    certified_pool(users)
    sign_in(client, "sup")
    due = (date.today() + timedelta(days=20)).isoformat()
    form = {"site_kind": "construction", "amount": "1", "unit": "count"}
    for field, value in (("title", "工地\x00抽查"), ("industry", "建\x00筑"), ("amount", "9" * 40)):
        answer = post_form(
            client,
            "/review/draws",
            "/review/draws",
            {**form, "checklist_id": "construction-dust", "due_date": due, field: value},
        )
        assert 400 <= answer.status_code < 500, (field, answer.status_code)
    preview = client.get("/review/draws", query_string={"preview": "1", "site_kind": "a\x00"})
    assert preview.status_code < 500


def test_a_supervisor_abandons_a_draw_on_its_page_with_a_reason(
    client: FlaskClient, users, registry
) -> None:  # type: ignore[no-untyped-def]
    from server.services import draws

    sites = construction_population(count=3)
    certified_pool(users)
    row = draws.create(
        users["supervisor"],
        {
            "site_ids": [site.id for site in sites],
            "count": 1,
            "checklist_id": "construction-dust",
            "due_date": date.today() + timedelta(days=20),
        },
    )
    sign_in(client, "sup")
    page = f"/review/draws/{row.id}"
    assert 'id="abandon-move"' in client.get(page).text
    empty = post_form(client, page, f"{page}/abandon", {"reason": " "})
    assert empty.status_code == 422
    gone = post_form(client, page, f"{page}/abandon", {"reason": "范围有误"}, follow_redirects=True)
    assert gone.status_code == 200 and "已作废 / abandoned" in gone.text and "范围有误" in gone.text
    assert 'id="abandon-move"' not in gone.text
