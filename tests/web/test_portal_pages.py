"""The enterprise portal through Flask's test client: own notices only, answers with photos."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Finding, FindingResponse, Notice, Photo
from tests.helpers import FIX, PHOTO, approve, issue, sha256
from tests.web.pages import csrf_from, post_form, sign_in


@pytest.fixture
def notified(client: FlaskClient, headers, approved: dict[str, Any], clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Both findings of the approved inspection in a notice to the Shuozhou enterprise."""
    approve(client, headers, approved["inspection"])
    ids = [approved["findings"][item]["id"] for item in ("CB-10", "CB-18")]
    assert issue(client, headers, approved["enterprise_id"], ids).status_code == 201
    notice = db.session.scalar(db.select(Notice))
    return {"ids": ids, "notice": notice, "path": f"/portal/notices/{notice.portal_token}"}


def photo_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Photo)) or 0


def test_the_qr_link_asks_for_a_login_first(client: FlaskClient, notified) -> None:  # type: ignore[no-untyped-def]
    response = client.get(notified["path"])
    assert response.status_code == 302
    assert response.headers["Location"] == f"/portal/login?next={notified['path']}"
    assert notified["notice"].number not in client.get(response.headers["Location"]).text


def test_the_enterprise_reads_its_notice_with_photos_words_and_remedy(
    client: FlaskClient, notified
) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "ent", area="portal")
    home = client.get("/portal/").text
    assert notified["notice"].number in home and "朔州测试煤业有限公司" in home
    page = client.get(notified["path"]).text
    assert "整改要求 / Remedy" in page and "blockquote" in page
    assert f"/portal/photos/{sha256(PHOTO)}/preview" in page
    assert client.get(f"/portal/photos/{sha256(PHOTO)}/preview").status_code == 200
    assert client.get(f"/portal/notices/{notified['notice'].portal_token}/pdf").status_code == 200


def test_another_enterprise_sees_nothing_of_it(client: FlaskClient, notified) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "ent2", area="portal")
    assert notified["notice"].number not in client.get("/portal/").text
    for path in (
        notified["path"],
        f"{notified['path']}/pdf",
        f"/portal/photos/{sha256(PHOTO)}",
        f"/portal/photos/{sha256(PHOTO)}/preview",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert notified["notice"].number not in response.text
    token = csrf_from(client.get("/portal/").text)
    answer = client.post(
        f"/portal/findings/{notified['ids'][0]}/respond",
        data={"text": "x", "csrf_token": token, "photos": (io.BytesIO(FIX), "fix.jpg")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 404
    assert db.session.get(Finding, notified["ids"][0]).status == "notified"


def test_staff_scanning_the_code_land_on_the_review_page(client: FlaskClient, notified) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "sup")
    response = client.get(notified["path"])
    assert response.status_code == 302
    assert response.headers["Location"] == f"/review/notices/{notified['notice'].id}"


def respond(client: FlaskClient, notified: dict, files: list[tuple[bytes, str]], text: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(notified["path"]).text)
    return client.post(
        f"/portal/findings/{notified['ids'][0]}/respond",
        data={
            "text": text,
            "csrf_token": token,
            "photos": [(io.BytesIO(data), name) for data, name in files],
        },
        content_type="multipart/form-data",
    )


def test_answer_with_photos_then_see_the_decision(client: FlaskClient, notified) -> None:  # type: ignore[no-untyped-def]
    sign_in(client, "ent", area="portal")
    before = photo_count()
    # A text file named .jpg is refused by decoding it, and nothing at all is stored.
    bad = respond(client, notified, [(FIX, "good.jpg"), (b"not a photo", "bad.jpg")], "已整改")
    assert bad.status_code == 415
    assert photo_count() == before
    assert db.session.scalar(db.select(db.func.count()).select_from(FindingResponse)) == 0
    empty = respond(client, notified, [], "")
    assert empty.status_code == 422 and "text" in empty.text and "photos" in empty.text

    sent = respond(client, notified, [(FIX, "after.jpg")], "已安装喷淋设施")
    assert sent.status_code == 303
    assert db.session.get(Finding, notified["ids"][0]).status == "answered"
    page = client.get(notified["path"]).text
    assert "已安装喷淋设施" in page and f"/portal/photos/{sha256(FIX)}/preview" in page
    assert "等待核验" in page
    again = respond(client, notified, [(FIX, "after.jpg")], "again")
    assert again.status_code == 409

    # The supervisor reopens it; the enterprise reads why, and can answer again.
    finding_id = notified["ids"][0]
    supervisor = client.application.test_client()
    sign_in(supervisor, "sup")
    notice_path = f"/review/notices/{notified['notice'].id}"
    reopened = post_form(
        supervisor,
        notice_path,
        f"/review/findings/{finding_id}/verify",
        {"accepted": "0", "comment": "照片看不清喷淋范围"},
    )
    assert reopened.status_code == 303
    page = client.get(notified["path"]).text
    assert "照片看不清喷淋范围" in page and 'action="/portal/findings/' in page
