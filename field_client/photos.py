"""The photo pipeline: prove a file is an image, keep its facts, store a right-sized JPEG.

A 12-megapixel camera JPEG is decoded in draft mode straight at a reduced scale (the JPEG
decoder skips most of the work), so it is never decoded in full; capture time and GPS are
read before anything else and written back into the stored JPEG.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFile, ImageFont, UnidentifiedImageError

from evidence.exif import DATETIME_ORIGINAL, EXIF_IFD, GPS_IFD, OFFSET_TIME_ORIGINAL, read_facts

try:  # iPhone photos; pillow-heif is a dependency, but the pipeline works without it.
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover
    pass

ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated photo is refused, not padded grey
MAX_FILE_BYTES = 60 * 1024 * 1024
MAX_PIXELS = 60_000_000
ACCEPTED = {"JPEG", "PNG", "HEIF", "MPO"}
ORIENTATION = 0x0112
# What ImageOps.exif_transpose does for each EXIF orientation, without its rewrite of the
# EXIF and XMP we throw away anyway (that rewrite can fail on odd EXIF from old cameras).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class PhotoError(ValueError):
    """A file that cannot be photo evidence; the message says why, Chinese first."""


@dataclass(frozen=True)
class Watermark:
    """Lines burnt into a strip at the bottom (time, place, site, inspector), so a printed
    or forwarded photo still says where and when it was taken.

    Pillow's built-in font has no Chinese glyphs: unless the WenQuanYi font is installed
    (CJK_FONT), non-ASCII characters are drawn as "?", so callers should pass ASCII
    (pinyin site codes, user names, coordinates).
    """

    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))  # a list is fine too


@dataclass(frozen=True)
class ProcessedPhoto:
    """The JPEG to store (`data`, `sha256`) and what we knew about the original."""

    data: bytes
    sha256: str
    original_sha256: str
    original_size: int
    size: int
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    source_format: str


def _read(path: Path) -> bytes:
    if not path.exists():
        raise PhotoError(f"照片文件不存在 / photo file not found: {path}")
    if not path.is_file():
        raise PhotoError(f"不是文件 / not a file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise PhotoError(f"照片文件为空 / empty photo file: {path}")
    if size > MAX_FILE_BYTES:
        raise PhotoError(f"照片文件过大 / photo file larger than 60 MB: {path}")
    return path.read_bytes()


def open_for_processing(data: bytes, max_edge: int) -> Image.Image:
    """Open the bytes and, for a JPEG, ask the decoder for the smallest scale still at least
    `max_edge` on the long side: 1/2, 1/4 or 1/8 of the full decode."""
    image = Image.open(io.BytesIO(data))
    if image.format not in ACCEPTED:
        raise PhotoError(f"不支持的图片格式 / unsupported image format: {image.format}")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise PhotoError(
            f"图像像素过多，疑似解压炸弹 / decompression bomb refused: {width}×{height} pixels"
        )
    long_edge = max(width, height)
    if image.format in ("JPEG", "MPO") and long_edge > max_edge:
        scale = max_edge / long_edge  # round up: the long edge must stay >= max_edge
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    return image


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except Exception:  # broken EXIF: treat as already upright rather than refuse the photo
        return 1
    return value if value in UPRIGHT else 1


def _exif_to_keep(source: Image.Image) -> bytes:
    """Capture time and GPS from the original, with the orientation now applied (1).

    Nothing else is copied: maker notes and thumbnails are bulk (and a stale thumbnail
    would show the photo before it was turned upright).
    """
    kept = Image.Exif()
    kept[ORIENTATION] = 1
    bare = kept.tobytes()
    try:
        original = source.getexif()
        exif_ifd = original.get_ifd(EXIF_IFD)
        gps_ifd = original.get_ifd(GPS_IFD)
    except Exception:
        return kept
    times = {
        tag: exif_ifd[tag] for tag in (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL) if tag in exif_ifd
    }
    if times:
        kept.get_ifd(EXIF_IFD).update(times)
    if gps_ifd:
        kept.get_ifd(GPS_IFD).update(dict(gps_ifd))
    try:
        return kept.tobytes()
    except Exception:  # a value Pillow can read but not write back: keep the photo anyway
        return bare


def _burn(image: Image.Image, watermark: Watermark) -> Image.Image:
    size = max(14, image.height // 60)
    cjk = CJK_FONT.is_file()
    font = ImageFont.truetype(str(CJK_FONT), size) if cjk else ImageFont.load_default(size=size)
    strip = (size + 6) * len(watermark.lines) + 8
    marked = image.copy()
    draw = ImageDraw.Draw(marked)
    draw.rectangle((0, image.height - strip, image.width, image.height), fill=(0, 0, 0))
    for index, line in enumerate(watermark.lines):
        text = line if cjk else line.encode("ascii", "replace").decode("ascii")
        draw.text(
            (8, image.height - strip + 4 + index * (size + 6)),
            text,
            fill=(255, 255, 255),
            font=font,
        )
    return marked


def process_photo(
    path: Path, *, max_edge: int = 2000, quality: int = 82, watermark: Watermark | None = None
) -> ProcessedPhoto:
    """Turn a camera or phone photo into stored evidence; PhotoError says why it cannot.

    The facts (capture time, GPS) are read from the original before anything changes, and
    written back into the stored JPEG, so the server reads the same facts the device showed.
    """
    path = Path(path)
    original = _read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = open_for_processing(original, max_edge)
            facts = read_facts(image)
            exif = _exif_to_keep(image)
            source_format = image.format or ""
            image.load()  # a truncated or corrupt file fails here
            turn = UPRIGHT.get(_orientation(image))
            upright = image.transpose(turn) if turn is not None else image
            upright.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
            if upright.mode != "RGB":
                upright = upright.convert("RGB")
        except PhotoError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise PhotoError(f"疑似解压炸弹 / decompression bomb refused: {path}") from error
        except UnidentifiedImageError as error:
            # Pillow's own message names the in-memory buffer (<_io.BytesIO object at 0x…>).
            raise PhotoError(f"不是可识别的图片 / not a recognisable image: {path}") from error
        except (OSError, SyntaxError, ValueError) as error:
            raise PhotoError(
                f"不是可识别的图片 / not a recognisable image: {path} ({error})"
            ) from error
    if watermark is not None:
        upright = _burn(upright, watermark)
    buffer = io.BytesIO()
    upright.save(buffer, format="JPEG", quality=quality, optimize=False, exif=exif)
    data = buffer.getvalue()
    return ProcessedPhoto(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        original_sha256=hashlib.sha256(original).hexdigest(),
        original_size=len(original),
        size=len(data),
        width=upright.width,
        height=upright.height,
        taken_at=facts.taken_at,
        lat=facts.lat,
        lon=facts.lon,
        source_format=source_format,
    )
