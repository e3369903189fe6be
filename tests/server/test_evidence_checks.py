"""Evidence checks shown to supervisors: clock skew, photo times, places, missing GPS.

They flag and never reject: every inspection here is stored (201) whatever its flags.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from server.extensions import db
from server.models import Inspection
from tests.helpers import current_version, inspection_body, new_id, sha256, site_photo
from tests.web.pages import sign_in

STARTED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in China; the body lasts 40 min
AT_SITE = (39.3305, 112.4305)  # the test sites are at 39.33, 112.43 with a 300 m radius
FAR = (39.40, 112.50)  # about 10 km away


def send(
    client: FlaskClient,
    headers: dict,
    site: Any,
    photos: list[bytes],
    location: dict | None = None,
    device_time: str | None = None,
) -> tuple[Any, str]:
    for data in photos:
        put = client.put(f"/api/v1/photos/{sha256(data)}", data=data, headers=headers["inspector"])
        assert put.status_code in (200, 201), put.get_json()
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    hashes = [sha256(data) for data in photos]
    body = inspection_body(
        site.id,
        "coal-and-boilers",
        version,
        [
            {"item": "CB-09", "value": "yes", "note": "", "photos": []},
            {"item": "CB-10", "value": 20, "note": "", "photos": hashes[:1]},
            {"item": "CB-18", "value": "non_compliant", "note": "", "photos": hashes[1:]},
        ],
        started=STARTED,
    )
    body["location"] = location
    extra = {"Lantian-Device-Time": device_time} if device_time else {}
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers={**headers["inspector"], **extra}
    )
    return response, inspection_id


def codes(response: Any) -> list[str]:
    return sorted(flag["code"] for flag in response.get_json()["evidence_flags"])


def test_a_clean_inspection_raises_no_flags(client: FlaskClient, headers, registry) -> None:  # type: ignore[no-untyped-def]
    photos = [
        site_photo("2026:11:20 10:05:00", *AT_SITE),
        site_photo("2026:11:20 10:30:00", *AT_SITE, 9),
    ]
    now = datetime.now(UTC).isoformat()
    response, _ = send(
        client,
        headers,
        registry["sites"]["SZ-boiler_house"],
        photos,
        {"lat": AT_SITE[0], "lon": AT_SITE[1], "accuracy_m": 8.0},
        now,
    )
    assert response.status_code == 201, response.get_json()
    assert codes(response) == []
    assert abs(response.get_json()["clock_skew_s"]) < 60


def test_every_kind_of_flag(client: FlaskClient, headers, registry) -> None:  # type: ignore[no-untyped-def]
    photos = [
        site_photo("2026:11:20 08:00:00", *AT_SITE),  # two hours before the inspection began
        site_photo("2026:11:20 10:10:00", *FAR, 3),  # in time, but 10 km away
        site_photo("2026:11:20 10:20:00", None, None, 6),  # no GPS at all
    ]
    slow = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    response, inspection_id = send(
        client,
        headers,
        registry["sites"]["SZ-boiler_house"],
        photos,
        {"lat": FAR[0], "lon": FAR[1], "accuracy_m": 20.0},
        slow,
    )
    assert response.status_code == 201  # flagged, still stored
    flags = response.get_json()["evidence_flags"]
    assert codes(response) == [
        "clock_skew",
        "outside_site",
        "photo_outside_site",
        "photo_time_outside",
        "photo_without_gps",
    ]
    by_code = {flag["code"]: flag for flag in flags}
    assert by_code["photo_time_outside"]["photo"] == sha256(photos[0])
    assert by_code["photo_outside_site"]["photo"] == sha256(photos[1])
    assert by_code["photo_without_gps"]["photo"] == sha256(photos[2])
    assert "30分钟" in by_code["clock_skew"]["message"]
    assert 1790 < response.get_json()["clock_skew_s"] < 1830

    # The supervisor sees them on the inspection's page.
    sign_in(client, "sup")
    page = client.get(f"/review/inspections/{inspection_id}").text
    for code in by_code:
        assert f'data-code="{code}"' in page
    assert 'class="flagged"' in page


def test_no_location_is_flagged(client: FlaskClient, headers, registry) -> None:  # type: ignore[no-untyped-def]
    photos = [
        site_photo("2026:11:20 10:05:00", *AT_SITE),
        site_photo("2026:11:20 10:06:00", *AT_SITE, 5),
    ]
    response, _ = send(client, headers, registry["sites"]["SZ-boiler_house"], photos, None)
    assert response.status_code == 201
    assert codes(response) == ["no_location"]
    assert response.get_json()["clock_skew_s"] is None  # no device time sent: not measured


def test_a_malformed_device_time_is_refused_before_anything_is_stored(
    client: FlaskClient, headers, registry
) -> None:  # type: ignore[no-untyped-def]
    for bad in ("yesterday", "2026-11-20T10:00:00"):  # the second lacks an offset
        response, inspection_id = send(
            client, headers, registry["sites"]["SZ-boiler_house"], [], None, bad
        )
        assert response.status_code == 400
        assert "Lantian-Device-Time" in response.get_json()["errors"]
        assert db.session.get(Inspection, uuid.UUID(inspection_id)) is None
