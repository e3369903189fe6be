"""一公开: /public/ and /public/results.csv list approved 双随机 inspections only, and name no
person, show no photo and no note."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.services import checklists, inspectors
from server.services.timeutil import local_date
from tests.draw_helpers import draw_and_issue
from tests.helpers import PHOTO, failing_inspection_body, new_id, sha256


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def recent(body: dict[str, Any]) -> dict[str, Any]:
    """The body as if inspected just now: a 双随机 task is fulfilled only by an inspection
    started after the task was issued."""
    started = datetime.now(UTC)
    return {
        **body,
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(minutes=1)).isoformat(),
        "device_time": (started + timedelta(minutes=2)).isoformat(),
    }


def submit(client: FlaskClient, headers: dict, site: Any) -> str:
    inspection_id = new_id()
    body = recent(failing_inspection_body(client, headers, site))
    body["answers"][1]["note"] = "现场负责人张三称锅炉为20蒸吨"
    ok(
        client.put(f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]),
        201,
    )
    return inspection_id


def approve(client: FlaskClient, headers: dict, inspection_id: str) -> None:
    ok(
        client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            json={"decision": "approve", "comment": "审核人李四同意"},
            headers=headers["supervisor"],
        )
    )


@pytest.fixture
def drawn_site(client: FlaskClient, headers: dict, users: dict, registry: dict) -> Any:
    """A 双随机 draw of the one boiler house of 朔州, issued to insp and insp2."""
    inspectors.certify("insp", "晋执10001")
    inspectors.certify("insp2", "晋执10002")
    db.session.commit()
    site = registry["sites"]["SZ-boiler_house"]
    sup = headers["supervisor"]
    made = ok(
        client.post(
            "/api/v1/draws",
            json={
                "site_ids": [site.id],
                "count": 1,
                "checklist_id": "coal-and-boilers",
                "due_date": (date.today() + timedelta(days=10)).isoformat(),
            },
            headers=sup,
        ),
        201,
    )
    draw_and_issue(client, sup, made)
    return site


def public(client: FlaskClient) -> tuple[str, list[list[str]]]:
    page = client.get("/public/")
    assert page.status_code == 200
    sheet = client.get("/public/results.csv")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    text = sheet.get_data(as_text=True)
    assert text.startswith("\ufeff企业 / enterprise")
    return page.text, list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]


def test_only_approved_double_random_inspections_are_public(
    client, headers, drawn_site, registry
) -> None:  # type: ignore[no-untyped-def]
    # An inspection of another site that no 双随机 task named, approved: never public.
    other = submit(client, headers, registry["sites"]["CZ-boiler_house"])
    approve(client, headers, other)
    # The drawn site's inspection fulfils its task, but waits for review: not yet public.
    drawn = submit(client, headers, drawn_site)
    page, rows = public(client)
    assert rows == [] and "暂无公开结果" in page
    approve(client, headers, drawn)
    page, rows = public(client)
    assert len(rows) == 1, rows
    enterprise, credit, day, checklist, result, count, critical, major, minor = rows[0]
    assert enterprise == registry["shuozhou"].name and credit == registry["shuozhou"].credit_code
    assert result == "发现问题 / findings" and count == "2"
    assert int(critical) + int(major) + int(minor) == 2
    assert day == local_date(datetime.now(UTC)).isoformat()
    assert checklist == checklists.titles()["coal-and-boilers"]
    assert registry["changzhi"].name not in page


def test_no_names_notes_or_photos_leak(client, headers, drawn_site, registry, users) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, submit(client, headers, drawn_site))
    page, rows = public(client)
    sheet = client.get("/public/results.csv").get_data(as_text=True)
    assert len(rows) == 1
    for text in (page, sheet):
        for secret in (
            "张三",  # a name in an answer's note
            "李四",  # a name in the reviewer's comment
            "20蒸吨",
            "王工",  # the enterprise's contact person
            "13900000001",
            "测试路1号",  # the site's address
            sha256(PHOTO),
            "/photos/",
            "<img",
        ):
            assert secret not in text, secret
        for user in users.values():
            assert f">{user.username}<" not in text and f",{user.username}," not in text


def test_a_fully_closed_result_reads_rectified(client, headers, drawn_site, registry) -> None:  # type: ignore[no-untyped-def]
    inspection_id = submit(client, headers, drawn_site)
    approve(client, headers, inspection_id)
    found = ok(client.get(f"/api/v1/inspections/{inspection_id}", headers=headers["supervisor"]))
    ids = [finding["id"] for finding in found["findings"]]
    ok(
        client.post(
            "/api/v1/notices",
            json={"enterprise_id": registry["shuozhou"].id, "finding_ids": ids},
            headers=headers["supervisor"],
        ),
        201,
    )
    for finding_id in ids:
        ok(
            client.post(
                f"/api/v1/findings/{finding_id}/responses",
                json={"text": "已整改", "photos": []},
                headers=headers["enterprise"],
            ),
            201,
        )
        _, rows = public(client)
        assert rows[0][4] == "发现问题 / findings"
        ok(
            client.post(
                f"/api/v1/findings/{finding_id}/verify",
                json={"accepted": True, "comment": "同意"},
                headers=headers["supervisor"],
            )
        )
    _, rows = public(client)
    assert rows[0][4] == "已整改 / rectified" and rows[0][5] == "2"


def test_the_public_page_shows_commitments_but_no_draw_contents(
    client, headers, drawn_site
) -> None:  # type: ignore[no-untyped-def]
    listed = ok(client.get("/api/v1/draws", headers=headers["supervisor"]))
    page = client.get("/public/").text
    assert listed[0]["candidate_hash"] in page and listed[0]["secret_hash"] in page
    assert drawn_site.code not in page and drawn_site.name not in page


def test_an_enterprise_learns_nothing_of_a_draw_until_inspected(
    client, headers, drawn_site, users
) -> None:  # type: ignore[no-untyped-def]
    """Issued and waiting: the drawn enterprise's user gets no draw, no task, and its portal
    and /public/ say nothing of the coming inspection; the drawn inspectors see their task."""
    from tests.web.pages import sign_in

    ent = headers["enterprise"]
    listed = ok(client.get("/api/v1/draws", headers=headers["supervisor"]))
    draw_id, task_id = listed[0]["id"], listed[0]["task_ids"][0]
    for url in (
        "/api/v1/draws",
        f"/api/v1/draws/{draw_id}",
        f"/api/v1/draws/{draw_id}/published",
        "/api/v1/tasks",
        f"/api/v1/tasks/{task_id}",
    ):
        assert client.get(url, headers=ent).status_code == 403, url
    page_client = client.application.test_client()
    sign_in(page_client, users["enterprise"].username, area="portal")
    portal = page_client.get("/portal/")
    assert portal.status_code == 200
    assert page_client.get(f"/review/draws/{draw_id}").status_code == 403
    public_page = client.get("/public/").text
    for text in (portal.text, public_page):
        assert drawn_site.code not in text and drawn_site.name not in text
        assert "double_random" not in text
    assert "双随机" not in portal.text
    mine = ok(client.get("/api/v1/tasks", headers=headers["inspector"]))
    assert [task["id"] for task in mine] == [task_id]
