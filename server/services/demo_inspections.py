"""Two demo inspections, so that `make run` shows the whole loop at once.

One inspection a week ago was approved and its two findings went out in a notice to the
first demo enterprise (log in to the portal as enterprise1 to answer them); one from
yesterday waits in the supervisor's queue. Their ids are fixed, so running the demo again
adds nothing.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, time, timedelta
from fractions import Fraction
from typing import Any

from flask import current_app
from PIL import Image, ImageDraw

from evidence.exif import DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD
from server.extensions import db
from server.models import Enterprise, Inspection, Site, User
from server.services import inspections, photos
from server.services.checklists import current_version_of
from server.services.clock import today
from server.services.lifecycles import notice as notice_lifecycle
from server.services.lifecycles import review as review_lifecycle
from server.services.timeutil import LOCAL_ZONE
from server.storage import photo_store

APPROVED = uuid.UUID("6c0ffee0-0000-4000-8000-000000000001")
WAITING = uuid.UUID("6c0ffee0-0000-4000-8000-000000000002")
CHECKLIST = "construction-dust"


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = Fraction(round(((value - degrees) * 60 - minutes) * 60 * 100), 100)
    return Fraction(degrees), Fraction(minutes), seconds


def _photo(user: User, site: Site, taken: datetime, colour: tuple[int, int, int]) -> str:
    """A stand-in site photo, stamped with the time and place a phone would record."""
    image = Image.new("RGB", (800, 600), colour)
    draw = ImageDraw.Draw(image)
    for x in range(0, 800, 40):
        draw.line((x, 600, x + 200, 300), fill=(200, 200, 190), width=6)
    draw.rectangle((40, 40, 420, 110), fill=(255, 255, 255))
    draw.text((56, 62), f"DEMO {site.code} {taken:%Y-%m-%d %H:%M}", fill=(0, 0, 0))
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if site.lat is not None and site.lon is not None:
        exif.get_ifd(GPS_IFD).update({1: "N", 2: _dms(site.lat), 3: "E", 4: _dms(site.lon)})
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, exif=exif.tobytes())
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    photos.receive(photo_store(), user, sha256, data, current_app.config["MAX_PHOTO_BYTES"])
    return sha256


def _submit(
    inspector: User, inspection_id: uuid.UUID, site: Site, day: int, hour: int, answers: list
) -> Inspection:
    started = datetime.combine(today() - timedelta(days=day), time(hour), LOCAL_ZONE)
    photo_colours = iter([(120, 110, 90), (95, 100, 80), (130, 125, 110), (90, 85, 70)])
    body: list[dict[str, Any]] = []
    for minute, (item, value, note, with_photo) in enumerate(answers):
        taken = started + timedelta(minutes=5 + 3 * minute)
        shots = [_photo(inspector, site, taken, next(photo_colours))] if with_photo else []
        body.append({"item": item, "value": value, "note": note, "photos": shots})
    raw = {
        "site_id": site.id,
        "checklist_id": CHECKLIST,
        "checklist_version": current_version_of(CHECKLIST),
        "started_at": started,
        "finished_at": started + timedelta(minutes=45),
        "device_time": started + timedelta(minutes=45),
        "location": {"lat": site.lat, "lon": site.lon, "accuracy_m": 6.0},
        "answers": body,
    }
    inspection, _ = inspections.submit(inspector, inspection_id, raw)
    return inspection


def load(enterprise: Enterprise, inspector: User, supervisor: User) -> int:
    """Create the demo inspections that are missing; returns how many were made."""
    site = enterprise.sites[0]
    made = 0
    if db.session.get(Inspection, APPROVED) is None:
        inspection = _submit(
            inspector,
            APPROVED,
            site,
            day=7,
            hour=10,
            answers=[
                ("CD-01", 8000, "", False),
                ("CD-02", "compliant", "", False),
                (
                    "CD-03",
                    "non_compliant",
                    "东侧围挡缺口约15米 / 15 m gap in the east hoarding",
                    True,
                ),
                ("CD-04", "non_compliant", "砂石料堆未覆盖 / sand pile uncovered", True),
                ("CD-06", "compliant", "", False),
                ("CD-07", "compliant", "冲洗设施运行正常 / wheel wash working", True),
            ],
        )
        review_lifecycle.review(supervisor, APPROVED, "approve", "证据清楚 / clear evidence")
        finding_ids = [f.id for f in inspections.findings_of(inspection)]
        notice_lifecycle.issue(supervisor, enterprise.id, finding_ids, None)
        made += 1
    if db.session.get(Inspection, WAITING) is None:
        _submit(
            inspector,
            WAITING,
            site,
            day=1,
            hour=15,
            answers=[
                ("CD-01", 8000, "", False),
                ("CD-05", "non_compliant", "土方开挖未洒水 / dry excavation", True),
                ("CD-07", "compliant", "", True),
                ("CD-08", "compliant", "", False),
            ],
        )
        made += 1
    return made
