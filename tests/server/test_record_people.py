"""Who signs an on-site record: 执法证号 on the account, colleagues, the device's positions,
and the enterprise's copy of the record."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.extensions import db
from server.models import InspectionRevision, User
from server.services import accounts
from server.services.errors import Invalid
from tests.helpers import (
    PASSWORD,
    PHOTO,
    approve,
    failing_inspection_body,
    issue,
    new_id,
    sha256,
)
from tests.server.test_cli import run
from tests.server.test_inspection_record import pdf_text_and_qr, signature_png, signed_record
from tests.web.pages import sign_in


@pytest.fixture
def badges(users: dict[str, User]) -> dict[str, str]:
    """The two inspectors' 执法证号 on file."""
    accounts.set_badge("insp", "14060026001")
    accounts.set_badge("insp2", "14060026002")
    db.session.commit()
    return {"insp": "14060026001", "insp2": "14060026002"}


def named(username: str, badge: str, name: str = "检查员") -> dict[str, str]:
    return {"username": username, "name": name, "badge": badge}


def put(client: FlaskClient, headers: dict[str, Any], body: dict[str, Any]) -> Any:
    return client.put(f"/api/v1/inspections/{new_id()}", json=body, headers=headers["inspector"])


def revisions() -> int:
    return db.session.query(InspectionRevision).count()


def test_the_badge_is_on_the_account_checked_and_unique(app: Flask, users, badges) -> None:  # type: ignore[no-untyped-def]
    assert db.session.get(User, users["inspector"].id).badge_no == "14060026001"
    for bad in ("12", "1406 0026", "晋执 001", "14060026;1"):
        with pytest.raises(Invalid):
            accounts.set_badge("insp", bad)
    with pytest.raises(Invalid):  # someone else's
        accounts.set_badge("sup", "14060026002")
    with pytest.raises(Invalid):  # an enterprise has no 执法证号
        accounts.set_badge("ent", "14060026009")
    db.session.rollback()
    assert db.session.get(User, users["inspector"].id).badge_no == "14060026001"
    accounts.set_badge("insp", "")
    assert db.session.get(User, users["inspector"].id).badge_no is None


def test_the_cli_sets_and_refuses_badges(app: Flask, users) -> None:  # type: ignore[no-untyped-def]
    done = run(app, "users", "badge", "insp", "14060026077")
    assert done.exit_code == 0, done.output
    assert "14060026077" in done.output
    assert db.session.get(User, users["inspector"].id).badge_no == "14060026077"
    refused = run(app, "users", "badge", "ent", "14060026078")
    assert refused.exit_code != 0 and "执法证号" in refused.output
    assert run(app, "users", "badge", "nobody", "14060026079").exit_code != 0


def test_login_and_colleagues_carry_the_badges(client: FlaskClient, headers, badges) -> None:  # type: ignore[no-untyped-def]
    token = client.post("/api/v1/auth/token", json={"username": "insp", "password": PASSWORD})
    assert token.status_code == 200
    assert token.get_json()["user"]["badge_no"] == "14060026001"
    listed = client.get("/api/v1/colleagues", headers=headers["inspector"])
    assert listed.status_code == 200
    people = {p["username"]: p for p in listed.get_json()}
    assert people["insp2"]["badge_no"] == "14060026002"
    assert "ent" not in people and "adm" not in people  # only those who may sign a record
    assert client.get("/api/v1/colleagues", headers=headers["enterprise"]).status_code == 403


def test_a_record_naming_accounts_with_their_badges_is_accepted(
    client: FlaskClient, headers, registry, badges
) -> None:  # type: ignore[no-untyped-def]
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["record"] = signed_record(
        signature_png(1),
        signature_png(2),
        inspectors=[named("insp", "14060026001"), named("insp2", "14060026002", "检查员乙")],
        inspector_signatures=[sha256(signature_png(2)), sha256(signature_png(3))],
    )
    response = put(client, headers, body)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("inspectors", "where"),
    [
        # the second's badge typed wrong
        ([named("insp", "14060026001"), named("insp2", "14060026009")], "1"),
        # the sender's own badge left out
        ([named("insp", "")], "0"),
        # someone who is not an inspector
        ([named("insp", "14060026001"), named("ent", "")], "1"),
        # an account that does not exist
        ([named("insp", "14060026001"), named("ghost", "1")], "1"),
        # the first inspector is not the sender
        ([named("insp2", "14060026002")], "0"),
    ],
)
def test_a_record_with_a_wrong_badge_or_person_is_refused_and_nothing_is_stored(
    client: FlaskClient, headers, registry, badges, inspectors, where
) -> None:  # type: ignore[no-untyped-def]
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["record"] = signed_record(
        signature_png(1),
        signature_png(2),
        inspectors=inspectors,
        inspector_signatures=[sha256(signature_png(2))] * 1,
    )
    before = revisions()
    response = put(client, headers, body)
    assert response.status_code == 422, response.get_json()
    answer = response.get_json()
    assert answer["error"] == "inspection.invalid"
    assert where in answer["errors"]["record"]["inspectors"]
    assert revisions() == before


def test_photo_positions_are_kept_and_flag_a_photo_taken_away_from_the_site(
    client: FlaskClient, headers, registry
) -> None:  # type: ignore[no-untyped-def]
    site = registry["sites"]["SZ-boiler_house"]
    body = failing_inspection_body(client, headers, site)
    photo = sha256(PHOTO)
    body["location"] = None
    body["positions"] = {
        "inspection": {"status": "refused"},
        # ~5.5 km north of the site, with 10 m accuracy
        "photos": {
            photo: {"status": "ok", "lat": site.lat + 0.05, "lon": site.lon, "accuracy_m": 10}
        },
    }
    inspection_id = new_id()
    url = f"/api/v1/inspections/{inspection_id}"
    created = client.put(url, json=body, headers=headers["inspector"])
    assert created.status_code == 201, created.get_json()
    flags = {(f["code"], f.get("photo")) for f in created.get_json()["evidence_flags"]}
    assert ("photo_device_outside_site", photo) in flags
    messages = [f["message"] for f in created.get_json()["evidence_flags"]]
    assert any("拒绝设备定位" in m for m in messages)  # refused, recorded as such
    stored = db.session.scalar(db.select(InspectionRevision))
    assert stored.body["positions"]["inspection"]["status"] == "refused"
    # The same body again is the same inspection; a moved photo position is a different one.
    assert client.put(url, json=body, headers=headers["inspector"]).status_code == 200
    body["positions"]["photos"][photo]["lat"] = site.lat
    changed = client.put(url, json=body, headers=headers["inspector"])
    assert changed.status_code == 409, changed.get_json()


@pytest.mark.parametrize(
    "positions",
    [
        {"photos": {"a" * 64: {"status": "ok", "lat": 39.3, "lon": 112.4}}},  # not cited
        {"inspection": {"status": "ok"}},  # ok without coordinates
        {"inspection": {"status": "refused", "lat": 39.3, "lon": 112.4}},  # invented
        {"inspection": {"status": "guessed"}},
        {"photos": {"not-a-hash": {"status": "refused"}}},
    ],
)
def test_bad_positions_are_refused(client: FlaskClient, headers, registry, positions) -> None:  # type: ignore[no-untyped-def]
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    body["positions"] = positions
    before = revisions()
    response = put(client, headers, body)
    assert response.status_code == 422, response.get_json()
    assert "positions" in str(response.get_json()["errors"])
    assert revisions() == before


def test_the_enterprise_reads_the_record_once_approved_and_only_its_own(
    app: Flask, client: FlaskClient, headers, approved
) -> None:  # type: ignore[no-untyped-def]
    path = f"/api/v1/inspections/{approved['inspection']}/record.pdf"
    assert client.get(path, headers=headers["enterprise"]).status_code == 404  # not yet approved
    approve(client, headers, approved["inspection"])
    response = client.get(path, headers=headers["enterprise"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text, _ = pdf_text_and_qr(response.data)
    assert "现场检查笔录" in text
    assert client.get(path, headers=headers["enterprise2"]).status_code == 404
    # The portal shows it beside the notice's findings.
    ids = [approved["findings"][item]["id"] for item in ("CB-10", "CB-18")]
    assert issue(client, headers, approved["enterprise_id"], ids).status_code == 201
    sign_in(client, "ent", area="portal")
    home = client.get("/portal/").text
    notice_path = next(
        part.split('"')[0]
        for part in home.split('href="')[1:]
        if part.startswith("/portal/notices/")
    )
    page = client.get(notice_path).text
    link = f"/portal/inspections/{approved['inspection']}/record.pdf"
    assert link in page
    assert client.get(link).status_code == 200
    other = app.test_client()
    sign_in(other, "ent2", area="portal")
    assert other.get(link).status_code == 404
