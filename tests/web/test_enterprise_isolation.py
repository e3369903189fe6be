"""An enterprise cannot read another enterprise's notices, findings, photos or ledger rows,
by any URL of the API or the pages (403 or 404, never the data).

The test walks every GET route the app has, filling each URL parameter with the other
enterprise's objects; a route with a parameter the table below does not know fails the test,
so a new route has to be thought about here.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Notice
from server.services import tasks
from server.services.clock import today
from tests.helpers import PHOTO, approve, issue, sha256
from tests.web.pages import sign_in

# Routes that are public on purpose or carry no enterprise data at all.
NOT_ENTERPRISE_DATA = {
    "static": "the stylesheet",
    "swagger_ui_static": "Swagger UI's files",
    "api-docs.openapi_swagger_ui": "the API documentation page",
    "api-docs.openapi_json": "the API description",
    "health.Health": "liveness",
    "checklists.Checklists": "the rules, the same for everyone",
    "checklists.ChecklistResource": "the rules, the same for everyone",
    "qr.site_label": "the page a printed site label points to: what the label shows",
}
SECRETS = ("朔州测试煤业有限公司", "朔环整")


@pytest.fixture
def owned(
    client: FlaskClient, headers, approved: dict[str, Any], registry, users
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Enterprise A (Shuozhou) with a notice, findings, an answer photo and a task at its
    site; values for the URLs (ids no one holds where only staff reach the route)."""
    approve(client, headers, approved["inspection"])
    ids = [f["id"] for f in approved["findings"].values()]
    assert issue(client, headers, approved["enterprise_id"], ids).status_code == 201
    notice = db.session.scalar(db.select(Notice))
    site = registry["sites"]["SZ-boiler_house"]
    return {
        "notice_id": notice.id,
        "finding_id": ids[0],
        "token": notice.portal_token,
        "sha256": sha256(PHOTO),
        "inspection_id": approved["inspection"],
        "enterprise_id": approved["enterprise_id"],
        "site_id": site.id,
        "checklist_id": "coal-and-boilers",
        "filename": "app.css",
        "qr_token": site.qr_token,
        "number": notice.number,
        "task_id": tasks.create_task(
            actor=None,
            site_ids=[site.id],
            checklist_id="coal-and-boilers",
            due_on=today() + timedelta(days=7),
            inspector_ids=[users["inspector"].id, users["inspector2"].id],
            reason="planned",
        ).id,
        "clue_id": 1,
        "draw_id": 1,
        "endpoint_id": 1,
        "upload_id": "0" * 32,
    }


def urls(app: Flask, values: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()):
            continue
        arguments = {}
        for name in rule.arguments:
            key = "qr_token" if rule.endpoint in ("sites.SiteByQr", "qr.site_label") else name
            assert key in values, f"{rule.rule}: no value for <{name}>; add it to this test"
            arguments[name] = values[key]
        path = rule.build(arguments, append_unknown=False)
        assert path is not None
        found.append((rule.endpoint, path[1]))
    return found


def leaks(response: Any) -> list[str]:
    """Which of enterprise A's facts the response shows."""
    if response.mimetype.endswith("spreadsheetml.sheet"):
        book = openpyxl.load_workbook(io.BytesIO(response.data))
        text = " ".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    elif response.mimetype.startswith("image/") or response.mimetype == "application/pdf":
        return ["binary content"]
    else:
        text = response.get_data(as_text=True)
    return [secret for secret in SECRETS if secret in text]


def test_enterprise_b_reads_nothing_of_enterprise_a(
    app: Flask, client: FlaskClient, headers, owned: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "ent2", area="portal")  # a browser session for the pages
    checked = 0
    for endpoint, path in urls(app, owned):
        if endpoint in NOT_ENTERPRISE_DATA:
            continue
        response = client.get(path, headers=headers["enterprise2"])
        checked += 1
        if response.status_code in (403, 404):
            continue
        if response.status_code == 302:  # e.g. the login page sends a signed-in user home
            assert response.headers["Location"] in ("/portal/", "/review/"), path
            continue
        assert response.status_code == 200, (path, response.status_code)
        assert not leaks(response), (path, leaks(response))
    assert checked >= 30


def test_the_urls_are_real_for_enterprise_a(
    app: Flask, client: FlaskClient, headers, owned: dict[str, Any]
) -> None:  # type: ignore[no-untyped-def]
    """The same URLs show enterprise A its own data, so the refusals above mean something."""
    sign_in(client, "ent", area="portal")
    readable = {
        "notices.NoticeResource",
        "notices.NoticePdf",
        "notices.NoticeByToken",
        "findings.FindingResource",
        "photos.PhotoResource",
        "portal.notice",
        "portal.notice_pdf",
        "portal.photo",
        "portal.photo_preview",
        "portal.inspection_record_pdf",
    }
    seen = set()
    for endpoint, path in urls(app, owned):
        if endpoint in readable:
            response = client.get(path, headers=headers["enterprise"])
            assert response.status_code == 200, (path, response.status_code)
            seen.add(endpoint)
    assert seen == readable
