"""Small helpers shared by tests (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

FAST_HASH = "pbkdf2:sha256:1000"  # tests only: the real default is scrypt
PASSWORD = "test-password-1"
DATA = Path(__file__).parent / "data"
PHOTOS = DATA / "photos"
# Answers that complete a coal-and-boilers inspection of a site without boilers, coal or
# denitration, all but CB-18 (boilers meet the emission standard), which tests vary.
NO_BOILER_ANSWERS = (
    ("CB-01", "outside"),
    ("CB-04", "no"),
    ("CB-09", "no"),
    ("CB-12", "no"),
    ("CB-14", "no"),
    ("CB-19", "none"),
)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization header from a real token."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current_version(client: FlaskClient, headers: dict[str, str], checklist_id: str) -> str:
    response = client.get(f"/api/v1/checklists/{checklist_id}", headers=headers)
    assert response.status_code == 200
    return response.get_json()["version"]


def inspection_body(
    site_id: int,
    checklist_id: str,
    version: str,
    answers: list[dict[str, Any]],
    started: datetime | None = None,
) -> dict[str, Any]:
    """An inspection in the wire shape of the sync API."""
    started = started or datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    return {
        "site_id": site_id,
        "checklist_id": checklist_id,
        "checklist_version": version,
        "started_at": started.isoformat(),
        "finished_at": (started + timedelta(minutes=40)).isoformat(),
        "device_time": (started + timedelta(minutes=41)).isoformat(),
        "location": {"lat": 39.331, "lon": 112.431, "accuracy_m": 8.0},
        "answers": answers,
    }


def new_id() -> str:
    return str(uuid.uuid4())


# The rectification loop: an approved inspection's findings, notices to enterprises.
PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
FIX = (PHOTOS / "no_exif.jpg").read_bytes()
TODAY = date(2026, 11, 23)  # the controlled clock of the rectification tests


def approve(client: FlaskClient, headers: dict, inspection_id: str) -> None:
    response = client.post(
        f"/api/v1/inspections/{inspection_id}/review",
        json={"decision": "approve"},
        headers=headers["supervisor"],
    )
    assert response.status_code == 200


def issue(client: FlaskClient, headers: dict, enterprise_id: int, ids: list[int], **extra: Any):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/notices",
        json={"enterprise_id": enterprise_id, "finding_ids": ids, **extra},
        headers=headers["supervisor"],
    )


def failing_inspection_body(
    client: FlaskClient, headers: dict[str, dict[str, str]], site: Any
) -> dict[str, Any]:
    """A boiler-house inspection of `site` failing CB-10 and one more item, each with a photo."""
    client.put(f"/api/v1/photos/{sha256(PHOTO)}", data=PHOTO, headers=headers["inspector"])
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    # The second failing item is one a plan governing the site's city says: CB-18 (stable
    # compliance) in 朔州; in 长治, whose plan does not say it, CB-20 (ammonia-slip monitor).
    second = (
        [{"item": "CB-18", "value": "non_compliant", "note": "", "photos": [sha256(PHOTO)]}]
        if site.city_code != "140400"
        else [
            {"item": "CB-19", "value": "scr", "note": "", "photos": []},
            {"item": "CB-20", "value": "non_compliant", "note": "", "photos": [sha256(PHOTO)]},
        ]
    )
    return inspection_body(
        site.id,
        "coal-and-boilers",
        version,
        [
            {"item": "CB-09", "value": "yes", "note": "", "photos": []},
            {"item": "CB-10", "value": 20, "note": "20蒸吨", "photos": [sha256(PHOTO)]},
            *second,
        ],
    )


def submit_failing_inspection(
    client: FlaskClient, headers: dict[str, dict[str, str]], site: Any
) -> tuple[str, dict[str, Any]]:
    """Submit `failing_inspection_body`; returns the inspection id and its findings by item."""
    body = failing_inspection_body(client, headers, site)
    inspection_id = new_id()
    response = client.put(
        f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
    )
    assert response.status_code == 201, response.get_json()
    briefs = client.get(
        f"/api/v1/inspections/{inspection_id}", headers=headers["supervisor"]
    ).get_json()["findings"]
    findings = [
        client.get(f"/api/v1/findings/{brief['id']}", headers=headers["supervisor"]).get_json()
        for brief in briefs
    ]
    return inspection_id, {f["item"]: f for f in findings}


def site_photo(taken_local: str, lat: float | None, lon: float | None, shade: int = 0) -> bytes:
    """A small JPEG with an EXIF capture time (China time, 'YYYY:MM:DD HH:MM:SS') and GPS."""
    from fractions import Fraction

    from PIL import Image

    from evidence.exif import DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD

    def dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = Fraction(round(((value - degrees) * 60 - minutes) * 60 * 100), 100)
        return Fraction(degrees), Fraction(minutes), seconds

    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken_local
    if lat is not None and lon is not None:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 120, 60)).save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()
