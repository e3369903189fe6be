"""Supervisor pages through Flask's test client: login, queue, review, findings, notices, 销号."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Finding, Notice
from server.services import accounts
from server.web import review
from server.web.filters import tally
from tests.helpers import PHOTO, TODAY, approve, issue, sha256, submit_failing_inspection
from tests.web.pages import csrf_from, post_form, sign_in


def test_pages_need_a_login_and_come_back_after_it(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/review/queue")
    assert response.status_code == 302
    assert response.headers["Location"] == "/review/login?next=/review/queue"
    page = client.get(response.headers["Location"])
    assert "监管审核" in page.text and 'name="next" value="/review/queue"' in page.text
    back = client.post(
        "/review/login",
        data={
            "username": "sup",
            "password": "test-password-1",
            "next": "/review/queue",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert back.status_code == 302 and back.headers["Location"] == "/review/queue"
    assert "待审核检查" in client.get("/review/queue").text


def test_a_wrong_password_is_refused_with_the_form_again(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/review/login")
    response = client.post(
        "/review/login",
        data={"username": "sup", "password": "wrong-password", "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text and 'value="sup"' in response.text
    assert client.get("/review/").status_code == 302  # still not signed in


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_login_never_forwards_off_site(client: FlaskClient, users, target: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/review/login")
    response = client.post(
        "/review/login",
        data={
            "username": "sup",
            "password": "test-password-1",
            "next": target,
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/review/"


def test_forms_without_the_csrf_token_are_refused(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    refused = client.post("/review/login", data={"username": "sup", "password": "test-password-1"})
    assert refused.status_code == 400 and "表单已过期" in refused.text
    sign_in(client, "sup")
    stale = client.post("/review/notices", data={"enterprise_id": "1", "finding_ids": ["1"]})
    assert stale.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Notice)) == 0


def test_roles_keep_to_their_own_pages(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "ent", area="portal")
    assert client.get("/review/").status_code == 403
    assert client.get("/review/ledger.xlsx").status_code == 403
    client.post("/portal/logout", data={"csrf_token": csrf_from(client.get("/portal/").text)})
    sign_in(client, "insp")  # inspectors work in the field client, not on these pages
    assert client.get("/review/queue").status_code == 403
    assert client.get("/portal/").status_code == 403


def test_revoking_a_user_ends_the_browser_session(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    assert client.get("/review/").status_code == 200
    accounts.revoke_tokens("sup")
    assert client.get("/review/").status_code == 302


def test_logout_ends_the_session(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    response = post_form(client, "/review/", "/review/logout", {})
    assert response.status_code == 302
    assert client.get("/review/").status_code == 302


def test_review_an_inspection_on_its_page(client: FlaskClient, approved: dict[str, Any]) -> None:
    sign_in(client, "sup")
    queue = client.get("/review/queue").text
    assert f"/review/inspections/{approved['inspection']}" in queue
    path = f"/review/inspections/{approved['inspection']}"
    page = client.get(path).text
    # Each item with its answer, verdict, photo and the plan's own words.
    assert "CB-10" in page and "不符合 / non-compliant" in page
    assert f"/review/photos/{sha256(PHOTO)}/preview" in page
    assert "《" in page and "blockquote" in page
    preview = client.get(f"/review/photos/{sha256(PHOTO)}/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert len(preview.data) < len(PHOTO)
    full = client.get(f"/review/photos/{sha256(PHOTO)}")
    assert full.data == PHOTO

    # Returning needs a reason; the page says so and nothing changes.
    refused = post_form(client, path, f"{path}/review", {"decision": "return", "comment": ""})
    assert refused.status_code == 422 and "退回须说明原因" in refused.text
    assert "待审核 / submitted" in client.get(path).text
    done = post_form(client, path, f"{path}/review", {"decision": "approve", "comment": "ok"})
    assert done.status_code == 303
    assert "已通过 / approved" in client.get(path).text
    assert approved["inspection"] not in client.get("/review/queue").text


def test_issue_a_notice_verify_and_close_from_the_pages(
    client: FlaskClient, headers, approved: dict[str, Any], clock
) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    sign_in(client, "sup")
    enterprise = approved["enterprise_id"]
    listing = f"/review/findings?enterprise_id={enterprise}"
    page = client.get(listing).text
    ids = [approved["findings"][item]["id"] for item in ("CB-10", "CB-18")]
    for finding_id in ids:
        assert f'name="finding_ids" value="{finding_id}"' in page
    issued = post_form(
        client,
        listing,
        "/review/notices",
        {"enterprise_id": str(enterprise), "finding_ids": [str(i) for i in ids], "deadline": ""},
    )
    assert issued.status_code == 303
    notice_page = client.get(issued.headers["Location"]).text
    assert "朔环整〔2026〕0001号" in notice_page and "朔州测试煤业有限公司" in notice_page
    notice = db.session.scalar(db.select(Notice))
    pdf = client.get(f"/review/notices/{notice.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")

    # The enterprise answers one finding (through the API here; the portal has its own test).
    fix = client.put(f"/api/v1/photos/{sha256(PHOTO)}", data=PHOTO, headers=headers["enterprise"])
    assert fix.status_code in (200, 201)
    answered = client.post(
        f"/api/v1/findings/{ids[0]}/responses",
        json={"text": "已更换除尘器", "photos": [sha256(PHOTO)]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201
    notice_path = f"/review/notices/{notice.id}"
    assert "已更换除尘器" in client.get(notice_path).text
    reopen = post_form(
        client, notice_path, f"/review/findings/{ids[0]}/verify", {"accepted": "0", "comment": ""}
    )
    assert reopen.status_code == 422  # a reopen needs a reason
    closed = post_form(
        client, notice_path, f"/review/findings/{ids[0]}/verify", {"accepted": "1", "comment": "好"}
    )
    assert closed.status_code == 303 and closed.headers["Location"].endswith(f"#finding-{ids[0]}")
    assert db.session.get(Finding, ids[0]).status == "closed"

    board = client.get("/review/").text
    assert 'id="closure-rate">50%<' in board and 'id="closed-findings">1<' in board
    ledger = client.get(f"/review/ledger.xlsx?enterprise_id={enterprise}")
    sheet = openpyxl.load_workbook(io.BytesIO(ledger.data))["问题台账 Findings"]
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == ids


def test_dashboard_counts_overdue_and_weeks(
    client: FlaskClient, headers, approved: dict[str, Any], clock, app
) -> None:  # type: ignore[no-untyped-def]
    approve(client, headers, approved["inspection"])
    ids = [approved["findings"][item]["id"] for item in ("CB-10", "CB-18")]
    assert issue(client, headers, approved["enterprise_id"], ids).status_code == 201
    sign_in(client, "sup")
    board = client.get("/review/").text
    assert 'id="overdue-count">0<' in board and 'id="total-findings">2<' in board
    app.config["CLOCK_TODAY"] = (TODAY + timedelta(days=200)).isoformat()
    late = client.get("/review/").text
    assert 'id="overdue-count">2<' in late
    assert 'data-opened="2"' not in late  # 200 days later the opening week is off the chart
    app.config["CLOCK_TODAY"] = TODAY.isoformat()
    now = client.get("/review/").text
    assert now.count("<g data-week=") == 12
    # Created now (real time: on or after the controlled Monday), so in the clock's last week.
    assert f'data-week="{TODAY.isoformat()}" data-opened="2" data-closed="0"' in now


def test_findings_past_the_count_cap_show_a_lower_bound_and_page_on(
    client: FlaskClient, headers, registry, app, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Six findings, counted up to 3 and shown 2 a page: "3+" and no last page, but the next
    link goes on to the last page that holds findings; the ledger and dashboard stay exact."""
    ids: list[int] = []
    for _ in range(3):
        _, found = submit_failing_inspection(client, headers, registry["sites"]["SZ-boiler_house"])
        ids += [finding["id"] for finding in found.values()]
    ids.sort()
    sign_in(client, "sup")
    whole = client.get("/review/findings").text  # the default cap, 50 a page
    assert "共 6 条 / 6 findings</p>" in whole and 'rel="next"' not in whole
    monkeypatch.setattr(review, "PAGE_SIZE", 2)
    exact = client.get("/review/findings").text
    assert "共 6 条 / 6 findings · 第 1/3 页" in exact
    monkeypatch.setitem(app.config, "FINDINGS_COUNT_CAP", 3)
    path, seen = "/review/findings?city=朔州", []
    for number in (1, 2, 3):
        page = client.get(path)
        assert page.status_code == 200
        assert f"共 3+ 条 / 3+ findings · 第 {number} 页<" in page.text, page.text
        assert "/3 页" not in page.text  # the last page is not known, so not shown
        seen += [int(i) for i in re.findall(r'<tr id="finding-(\d+)"', page.text)]
        assert ('rel="prev"' in page.text) == (number > 1)
        following = re.search(r'href="([^"]+)" rel="next"', page.text)
        if number < 3:
            assert following, f"page {number} has no next link"
            path = html.unescape(following.group(1))
            assert f"page={number + 1}" in path and "city=" in path  # the filter is kept
        else:
            assert following is None  # the last page holding findings
    assert seen == ids
    assert 'id="total-findings">6<' in client.get("/review/").text
    ledger = client.get("/review/ledger.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(ledger.data))["问题台账 Findings"]
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == ids


def test_counts_are_shown_with_thousands_and_a_plus_for_a_lower_bound() -> None:
    assert tally(6) == "6"
    assert tally(9_999) == "9,999"
    assert tally(10_000, True) == "10,000+"


def test_bad_filters_are_named(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    response = client.get("/review/findings?status=lost&created_from=yesterday")
    assert response.status_code == 422
    assert "status" in response.text and "created_from" in response.text
    # Numbers past what the database holds are the request's fault, not a server error.
    for query, field in (
        ("page=99999999999999999999", "page"),
        ("page=1000001", "page"),
        ("enterprise_id=99999999999", "enterprise_id"),
    ):
        response = client.get(f"/review/findings?{query}")
        assert response.status_code == 422, query
        assert field in response.text


def test_a_notice_for_ids_past_the_database_is_refused_and_nothing_is_issued(
    client: FlaskClient, users
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    for form, field in (
        ({"enterprise_id": "99999999999", "finding_ids": ["1"]}, "enterprise_id"),
        ({"enterprise_id": "1", "finding_ids": ["99999999999"]}, "finding_ids"),
        ({"enterprise_id": "1", "finding_ids": ["seven"]}, "finding_ids"),
    ):
        refused = post_form(client, "/review/findings", "/review/notices", {**form, "deadline": ""})
        assert refused.status_code == 422, form
        assert field in refused.text
    assert db.session.scalar(db.select(db.func.count()).select_from(Notice)) == 0


def test_pages_carry_security_headers(client: FlaskClient, users) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/review/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    api = client.get("/healthz")
    assert api.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_failed_logins_are_limited_on_pages_and_api(
    client: FlaskClient, users, engine_name: str
) -> None:  # type: ignore[no-untyped-def]
    """Ten refused logins a minute per address and username, counted together on the pages
    and the API; then 429, even with the right password, while others can still log in."""
    name = f"guess-{engine_name}"
    accounts.add_user(name, "supervisor", "test-password-1")
    db.session.commit()
    token = csrf_from(client.get("/review/login").text)
    for _ in range(10):
        refused = client.post(
            "/review/login", data={"username": name, "password": "nope", "csrf_token": token}
        )
        assert refused.status_code == 401
    blocked = client.post(
        "/review/login",
        data={"username": name, "password": "test-password-1", "csrf_token": token},
    )
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text
    # One allowance for every way in: the API refuses too.
    api = client.post("/api/v1/auth/token", json={"username": name, "password": "test-password-1"})
    assert api.status_code == 429 and "too many failed logins" in api.get_json()["message"]
    assert "Retry-After" in api.headers
    sign_in(client, "sup")  # someone else is not locked out


def test_the_dashboard_shows_each_section_once_and_a_plain_title(
    client: FlaskClient, users
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    page = client.get("/review/").text
    title = page[page.index("<title>") : page.index("</title>")]
    assert "<" not in title[len("<title>") :], title[:200]  # no markup inside the title
    assert page.count('id="overdue-tasks"') == 1 and page.count('id="clue-rates"') == 1
