"""Evidence checks on the enterprise's rectification photos: the same checks as on the
inspector's photos, shown to the supervisor where the answer is verified (API and page)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.helpers import FIX, PHOTO, approve, issue, sha256, site_photo
from tests.web.pages import sign_in

AT_SITE = (39.3305, 112.4305)  # the Shuozhou boiler house, radius 300 m


def answer_with(client: FlaskClient, headers: dict, approved: dict, photos: list[bytes]) -> Any:
    approve(client, headers, approved["inspection"])
    finding_id = approved["findings"]["CB-10"]["id"]
    notice = issue(client, headers, approved["enterprise_id"], [finding_id]).get_json()
    for data in photos:
        put = client.put(f"/api/v1/photos/{sha256(data)}", data=data, headers=headers["enterprise"])
        assert put.status_code in (200, 201), put.get_json()
    answered = client.post(
        f"/api/v1/findings/{finding_id}/responses",
        json={"text": "已整改", "photos": [sha256(data) for data in photos]},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()  # flagged, never refused
    return finding_id, notice["id"]


def test_rectification_photos_are_checked_like_inspection_photos(
    client: FlaskClient, headers, approved
) -> None:  # type: ignore[no-untyped-def]
    # After the inspection (2026-11-20 10:00–10:40 China time), at the site: no flags.
    good = site_photo("2026:11:21 09:00:00", *AT_SITE)
    # DSCN0010: taken in 2008 in Italy. no_exif: no time, no place.
    finding_id, notice_id = answer_with(client, headers, approved, [PHOTO, good, FIX])
    finding = client.get(f"/api/v1/findings/{finding_id}", headers=headers["supervisor"])
    flags = finding.get_json()["responses"][0]["evidence_flags"]
    by_photo: dict[str, list[str]] = {}
    for flag in flags:
        by_photo.setdefault(flag["photo"], []).append(flag["code"])
    assert sorted(by_photo[sha256(PHOTO)]) == ["photo_outside_site", "photo_time_outside"]
    assert by_photo[sha256(FIX)] == ["photo_without_gps"]
    assert sha256(good) not in by_photo

    sign_in(client, "sup")
    page = client.get(f"/review/notices/{notice_id}").text
    assert 'data-code="photo_time_outside"' in page and 'data-code="photo_outside_site"' in page
    assert 'data-code="photo_without_gps"' in page


def test_clean_rectification_photos_raise_no_flags(client: FlaskClient, headers, approved) -> None:  # type: ignore[no-untyped-def]
    good = site_photo("2026:11:21 09:00:00", *AT_SITE, 4)
    finding_id, notice_id = answer_with(client, headers, approved, [good])
    finding = client.get(f"/api/v1/findings/{finding_id}", headers=headers["supervisor"])
    assert finding.get_json()["responses"][0]["evidence_flags"] == []
    sign_in(client, "sup")
    assert "data-code=" not in client.get(f"/review/notices/{notice_id}").text
