"""Decode an uploaded photo to prove it is an image, and read its capture time and GPS.

Content is judged by decoding, never by file name or Content-Type. Pillow's
decompression-bomb guard is turned into a refusal rather than a warning.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError

from evidence.exif import read_facts
from server.services.errors import TooLarge, UnsupportedMedia

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 60_000_000  # well above any phone camera; a bomb is refused before decoding


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lon: float | None


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
                facts = read_facts(image)
                content_type = ACCEPTED_FORMATS[image.format]
                if image.format == "JPEG":
                    # Decode at 1/8 scale: libjpeg still reads and entropy-decodes every
                    # scan, so a truncated or corrupt file fails just the same, but skips
                    # most of the inverse DCT and colour work (a full decode was the
                    # largest server cost of a photo upload: bench/RESULTS.md, sync).
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()  # a truncated or corrupt file fails here, not later
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise TooLarge(f"疑似解压炸弹 / decompression bomb refused: {error}") from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise UnsupportedMedia(
                f"不是可读取的图片 / not a readable JPEG or PNG image: {error}"
            ) from error
    return PhotoFacts(content_type, width, height, facts.taken_at, facts.lat, facts.lon)
