"""Who may do what, proven route by route: every route of the API and the pages is called
by every role and must answer the status written in access_matrix.yaml beside this test.

A route without a row fails the test, so a new route is decided on here, not by accident.
Bodies are empty: an allowed caller gets past the access check and is stopped by validation
(400/422), so nothing changes while every door is tried.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Notice, User
from server.services import accounts, clues, draws, inspectors, tasks
from server.services.notify import webhooks
from tests.helpers import PASSWORD, PHOTO, TODAY, approve, issue, login, sha256
from tests.web.pages import sign_in

MATRIX_FILE = Path(__file__).with_name("access_matrix.yaml")
ROLES = (
    "anonymous",
    "inspector",
    "supervisor",
    "supervisor_other_city",
    "enterprise_a",
    "enterprise_b",
    "admin",
)
USERNAMES = {
    "inspector": "insp",
    "supervisor": "sup_sz",
    "supervisor_other_city": "sup_cz",
    "enterprise_a": "ent",
    "enterprise_b": "ent2",
    "admin": "adm",
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def targets(client: FlaskClient, headers, approved: dict[str, Any], registry) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Enterprise A (朔州) with an approved inspection and a notice; city supervisors."""
    accounts.add_user("sup_sz", "supervisor", PASSWORD, city="朔州")
    accounts.add_user("sup_cz", "supervisor", PASSWORD, city="长治")
    db.session.commit()
    approve(client, headers, approved["inspection"])
    ids = [f["id"] for f in approved["findings"].values()]
    assert issue(client, headers, approved["enterprise_id"], ids).status_code == 201
    notice = db.session.scalar(db.select(Notice))
    site = registry["sites"]["SZ-boiler_house"]
    upload = client.post(
        "/api/v1/uploads",
        headers={
            **headers["inspector"],
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "10",
            "Upload-Metadata": "sha256 " + _b64(sha256(b"0123456789")),
        },
    )
    assert upload.status_code == 201, upload.get_json()
    # A committed 双随机 draw of the boiler house, by the city's supervisor.
    inspectors.certify("insp", "晋执20001")
    inspectors.certify("insp2", "晋执20002")
    draw = draws.create(
        db.session.scalar(db.select(User).where(User.username == "sup_sz")),
        {
            "site_ids": [site.id],
            "count": 1,
            "checklist_id": "coal-and-boilers",
            "due_date": date.today() + timedelta(days=30),
        },
    )
    # A task of 朔州 for insp and insp2, and a clue matched to 朔州's sites.
    pair = [u.id for u in db.session.scalars(db.select(User).where(User.role == "inspector"))]
    supervisor = db.session.scalar(db.select(User).where(User.username == "sup"))
    task = tasks.create_task(
        actor=supervisor,
        site_ids=[site.id],
        checklist_id="coal-and-boilers",
        due_on=TODAY + timedelta(days=7),
        inspector_ids=pair[:2],
        reason="planned",
    )
    clue = clues.record(
        supervisor,
        {"kind": "complaint", "lat": 39.331, "lon": 112.431, "description": "黑烟"},
    )
    return {
        "task_id": task.id,
        "clue_id": clue.id,
        "draw_id": draw.id,
        "inspection_id": approved["inspection"],
        "finding_id": ids[0],
        "notice_id": notice.id,
        "token": notice.portal_token,
        "qr_token": site.qr_token,
        "sha256": sha256(PHOTO),
        "site_id": site.id,
        "enterprise_id": approved["enterprise_id"],
        "checklist_id": "coal-and-boilers",
        "upload_id": upload.headers["Location"].rsplit("/", 1)[1],
        "filename": "app.css",
        "endpoint_id": _webhook(),
    }


def _webhook() -> int:
    """An endpoint registered by the administrator (its routes are the admin's alone)."""
    admin = db.session.scalar(db.select(User).where(User.username == "adm"))
    endpoint, _secret = webhooks.create(
        admin, {"url": "http://127.0.0.1:9/hook", "events": ["notice.issued"]}
    )
    return endpoint.id


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def routes(app: Flask, values: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(key in the matrix, method, URL) for every route and method of the app."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            arguments = {}
            for name in rule.arguments:
                key = "qr_token" if rule.endpoint in ("sites.SiteByQr", "qr.site_label") else name
                if rule.endpoint == "swagger_ui_static":
                    arguments[name] = "swagger-ui.css"
                    continue
                assert key in values, f"{rule.rule}: no value for <{name}>"
                arguments[name] = values[key]
            built = rule.build(arguments, append_unknown=False)
            assert built is not None
            found.append((f"{method} {rule.rule}", method, built[1]))
    return found


def client_for(app: Flask, role: str) -> tuple[FlaskClient, dict[str, str], str]:
    """A client signed in to the pages (session) with a bearer token for the API, and the
    CSRF token of its session, as a browser of that role would have."""
    client = app.test_client()
    bearer: dict[str, str] = {}
    if role != "anonymous":
        username = USERNAMES[role]
        area = "portal" if role.startswith("enterprise") else "review"
        sign_in(client, username, area=area)
        bearer = login(client, username)
        page = client.get(f"/{area}/")
    else:
        page = client.get("/review/login")
    match = TOKEN.search(page.text)
    assert match, f"no CSRF token for {role}"
    return client, bearer, match.group(1)


def call(method: str, url: str, client: FlaskClient, bearer: dict, csrf: str) -> int:
    if url.startswith("/api/"):
        kwargs: dict[str, Any] = {"headers": bearer}
        if method in ("POST", "PUT") and not url.startswith("/api/v1/photos/"):
            kwargs["json"] = {}
        if url.startswith("/api/v1/uploads"):
            kwargs["headers"] = {**bearer, "Tus-Resumable": "1.0.0"}
        return client.open(url, method=method, **kwargs).status_code
    data = {"csrf_token": csrf} if method == "POST" else None
    if url.endswith("/login") and data:
        # A name no one has: refused, but never adding up to the failed-login limit.
        data["username"] = f"nobody-{uuid.uuid4().hex}"
    return client.open(url, method=method, data=data).status_code


def test_every_route_answers_every_role_as_the_matrix_says(
    app: Flask, client: FlaskClient, targets: dict[str, Any]
) -> None:
    expected: dict[str, dict[str, int]] = yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))
    clients = {role: client_for(app, role) for role in ROLES}
    observed: dict[str, dict[str, int]] = {}
    for key, method, url in routes(app, targets):
        if key.endswith("/logout"):  # logging out ends the session: a fresh one each time
            observed[key] = {role: call(method, url, *client_for(app, role)) for role in ROLES}
        else:
            observed[key] = {role: call(method, url, *clients[role]) for role in ROLES}
    # Shown on failure, so a new or changed route can be decided on and copied in.
    table = yaml.safe_dump(observed, allow_unicode=True, sort_keys=True, width=200)
    missing = sorted(set(observed) - set(expected))
    assert not missing, f"routes without a row in {MATRIX_FILE.name}: {missing}\n{table}"
    stale = sorted(set(expected) - set(observed))
    assert not stale, f"rows for routes that no longer exist: {stale}"
    wrong = {
        key: {role: (expected[key][role], got) for role, got in row.items()}
        for key, row in observed.items()
        if row != expected[key]
    }
    assert not wrong, f"(expected, got) per role: {wrong}\n{table}"


def test_the_matrix_keeps_the_rules() -> None:
    """The table itself follows the rules: no data for anonymous callers, and enterprise A's
    objects are hidden from another enterprise and from another city's supervisor."""
    matrix: dict[str, dict[str, int]] = yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))
    public = {
        "GET /healthz",
        "GET /api/v1/openapi.json",
        "GET /api/docs",
        "GET /api/static/swagger-ui/<path:filename>",
        "GET /static/<path:filename>",
        "GET /s/<string:token>",
        "POST /api/v1/auth/token",
        "GET /review/login",
        "POST /review/login",
        "GET /portal/login",
        "POST /portal/login",
        "POST /review/logout",
        "POST /portal/logout",
        # 一公开: approved 双随机 results and draw commitments, for everyone.
        "GET /public/",
        "GET /public/results.csv",
        "GET /public/draws/<int:draw_id>.json",
    }
    same_for_everyone = "GET /api/v1/checklists/<string:checklist_id>"
    for key, row in matrix.items():
        if key not in public:
            assert row["anonymous"] in (302, 401), key
        if "<" in key and key not in public and key != same_for_everyone and key.startswith("GET"):
            assert row["enterprise_b"] in (403, 404), key
            assert row["supervisor_other_city"] in (302, 403, 404), key
