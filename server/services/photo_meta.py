"""Decode an uploaded photo to prove it is an image, and read its capture time and GPS.

Content is judged by decoding, never by file name or Content-Type. Pillow's
decompression-bomb guard is turned into a refusal rather than a warning.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from PIL import Image, UnidentifiedImageError

from server.services.errors import TooLarge, UnsupportedMedia
from server.services.timeutil import LOCAL_ZONE

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 60_000_000  # well above any phone camera; a bomb is refused before decoding

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 36867
OFFSET_TIME_ORIGINAL = 36881


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lon: float | None


def _taken_at(exif: Any) -> datetime | None:
    """DateTimeOriginal, read in its EXIF offset or else as China time (camera clock)."""
    raw = exif.get_ifd(EXIF_IFD).get(DATETIME_ORIGINAL)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = exif.get_ifd(EXIF_IFD).get(OFFSET_TIME_ORIGINAL)
    zone: Any = LOCAL_ZONE
    if isinstance(offset, str) and len(offset) >= 6 and offset[0] in "+-":
        try:
            sign = 1 if offset[0] == "+" else -1
            zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
        except ValueError:
            zone = LOCAL_ZONE
    return moment.replace(tzinfo=zone)


def _degrees(value: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (float(part) for part in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    result = d + m / 60 + s / 3600
    return -result if isinstance(ref, str) and ref.upper().startswith(negative) else result


def _gps(exif: Any) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(GPS_IFD)
    if not gps or 2 not in gps or 4 not in gps:
        return None, None
    lat, lon = _degrees(gps[2], gps.get(1), "S"), _degrees(gps[4], gps.get(3), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return lat, lon


def inspect_photo(data: bytes) -> PhotoFacts:
    """Prove the bytes are a whole JPEG or PNG and read its facts; raise 415/413 errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise UnsupportedMedia(
                        "仅接受JPEG或PNG / only JPEG or PNG photos are accepted, "
                        f"got {image.format}"
                    )
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise TooLarge(
                        f"图像尺寸过大 / image too large: {width}×{height} pixels "
                        f"(limit {MAX_PIXELS})"
                    )
                exif = image.getexif()
                taken_at = _taken_at(exif)
                lat, lon = _gps(exif)
                content_type = ACCEPTED_FORMATS[image.format]
                image.load()  # a truncated or corrupt file fails here, not later
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise TooLarge(f"疑似解压炸弹 / decompression bomb refused: {error}") from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise UnsupportedMedia(
                f"不是可读取的图片 / not a readable JPEG or PNG image: {error}"
            ) from error
    return PhotoFacts(content_type, width, height, taken_at, lat, lon)
