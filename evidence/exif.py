"""Read a photo's capture time and GPS position from its EXIF, never failing on bad EXIF.

Field photos come from every kind of camera and phone; broken or odd EXIF must leave the
facts unknown (None), never refuse the photo.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


@dataclass(frozen=True)
class ExifFacts:
    taken_at: datetime | None
    lat: float | None
    lon: float | None


def _text(raw: Any) -> str | None:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return raw.strip("\x00 ") if isinstance(raw, str) else None


def _offset(raw: Any) -> timezone | None:
    """OffsetTimeOriginal as written by phones: "+08:00" (some writers drop the colon)."""
    match = _OFFSET.fullmatch(_text(raw) or "")
    if match is None:
        return None
    sign = 1 if match[1] == "+" else -1
    try:
        return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
    except ValueError:  # beyond ±24 h
        return None


def _taken_at(exif_ifd: Any) -> datetime | None:
    """DateTimeOriginal in its EXIF offset, else read as China time (the camera's clock)."""
    raw = _text(exif_ifd.get(DATETIME_ORIGINAL))
    if raw is None:
        return None
    try:
        moment = datetime.strptime(raw[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=_offset(exif_ifd.get(OFFSET_TIME_ORIGINAL)) or LOCAL_ZONE)


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    """Degrees, minutes, seconds as rationals; a zero denominator reads as NaN in Pillow."""
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not all(math.isfinite(part) and part >= 0 for part in (d, m, s)):
        return None
    result = d + m / 60 + s / 3600
    ref = _text(ref)
    return -result if ref and ref.upper().startswith(negative) else result


def _gps(gps: Any) -> tuple[float | None, float | None]:
    if not gps or 2 not in gps or 4 not in gps:
        return None, None
    lat, lon = _degrees(gps[2], gps.get(1), "S"), _degrees(gps[4], gps.get(3), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    if lat == 0 and lon == 0:  # cameras write zeros when they had no fix
        return None, None
    return lat, lon


def read_facts(image: Image.Image) -> ExifFacts:
    """Capture time and GPS of an opened image; None for whatever is missing or broken.

    Call it before transforming the image: the facts live in the original's EXIF. Broken
    EXIF is common in the field and must never cost the inspector the photo, so any error
    while reading one fact leaves just that fact unknown.
    """
    try:
        exif = image.getexif()
    except Exception:
        return ExifFacts(None, None, None)
    try:
        taken_at = _taken_at(exif.get_ifd(EXIF_IFD))
    except Exception:
        taken_at = None
    try:
        lat, lon = _gps(exif.get_ifd(GPS_IFD))
    except Exception:
        lat, lon = None, None
    return ExifFacts(taken_at, lat, lon)
