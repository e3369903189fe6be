"""Decode an uploaded photo to prove it is an image, and read its capture time and GPS.

Content is judged by decoding, never by file name or Content-Type. Only Pillow's JPEG and
PNG readers ever see the bytes (a GIF, TIFF or EPS is named from its first bytes, never
parsed), so a flaw in one of Pillow's many other format plugins cannot be reached from an
upload. A JPEG is decoded at 1/8 scale: every byte of its compressed data is still
checked, with 1/64 of the memory. A PNG's chunk checksums are verified, and nothing may
follow the image's end marker, so a file cannot smuggle a second payload (an HTML page,
a ZIP archive) behind a picture. Pillow's decompression-bomb guard is turned into a
refusal rather than a warning, and anything larger than `MAX_PIXELS` is refused before
it is decoded. A decode takes its pixels from the process's budget (`decode_budget`).
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, UnidentifiedImageError

from evidence.exif import read_facts
from server.services.decode_budget import decoding
from server.services.errors import ErrorCode, TooLarge, UnsupportedMedia

# Pillow reads an MPO (a JPEG with further images, as many phones write) with its JPEG
# reader; its first image is an ordinary JPEG.
ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png"}
READERS = ["JPEG", "PNG"]
MAX_PIXELS = 60_000_000  # well above any phone camera; a bomb is refused before decoding
JPEG_END = b"\xff\xd9"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: empty, fixed checksum
# What a broken file makes Pillow's readers raise (as Pillow's own fuzzers expect).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error)


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    taken_at: datetime | None
    lat: float | None
    lon: float | None


def _format_named_by_prefix(data: bytes) -> str | None:
    """The image format the first bytes claim, from Pillow's signature checks only."""
    Image.init()
    prefix = data[:16]
    for name, (_, accept) in Image.OPEN.items():
        if accept is None:
            continue
        try:
            if accept(prefix):
                return name
        except (IndexError, TypeError, struct.error):  # a prefix shorter than the signature
            continue
    return None


def _unsupported(data: bytes) -> UnsupportedMedia:
    """Why Pillow could not identify the bytes, in words an uploader can act on."""
    claimed = _format_named_by_prefix(data)
    if claimed is None:
        return UnsupportedMedia(
            ErrorCode.PHOTO_UNREADABLE, "不是JPEG或PNG图片 / not a JPEG or PNG image"
        )
    if claimed not in READERS:
        return UnsupportedMedia(
            ErrorCode.PHOTO_UNREADABLE,
            f"仅接受JPEG或PNG / only JPEG or PNG photos are accepted, got {claimed}",
        )
    # A JPEG or PNG signature with a header its reader refused: ask the reader why.
    factory = Image.OPEN[claimed][0]
    try:
        factory(io.BytesIO(data), "")
        reason = "unreadable header"
    except DECODE_ERRORS as error:
        reason = str(error)
    return UnsupportedMedia(
        ErrorCode.PHOTO_UNREADABLE, f"不是可读取的图片 / not a readable {claimed} image: {reason}"
    )


def _check_end(data: bytes, content_type: str) -> None:
    """Nothing may follow the image's end marker (a JPEG may be padded with zero bytes)."""
    if content_type == "image/png":
        body, marker = data, PNG_END
    else:
        body, marker = data.rstrip(b"\x00"), JPEG_END
    if body.endswith(marker):
        return
    if marker not in body:
        raise UnsupportedMedia(
            ErrorCode.PHOTO_UNREADABLE, "图片缺少结束标记 / the image has no end marker"
        )
    extra = len(body) - body.rfind(marker) - len(marker)
    raise UnsupportedMedia(
        ErrorCode.PHOTO_UNREADABLE,
        "图片结束标记之后还有其他数据 / other data follows the end of the image "
        f"({extra} bytes after the last end marker)",
    )


def inspect_photo(data: bytes) -> PhotoFacts:
    """Prove the bytes are one whole JPEG or PNG and read its facts; raise 415/413 errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=READERS) as image:
                content_type = ACCEPTED_FORMATS.get(image.format or "")
                if content_type is None:
                    raise _unsupported(data)
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise TooLarge(
                        ErrorCode.PHOTO_TOO_LARGE,
                        f"图像尺寸过大 / image too large: {width}×{height} pixels "
                        f"(limit {MAX_PIXELS})",
                    )
                if content_type == "image/jpeg":
                    # Decode at 1/8 scale: libjpeg still reads and entropy-decodes every
                    # scan, so a truncated or corrupt file fails just the same, but skips
                    # most of the inverse DCT and colour work (a full decode was the
                    # largest server cost of a photo upload: bench/RESULTS.md, sync), and
                    # holds 1/64 of the pixels. A PNG has no reduced decode.
                    image.draft(None, (max(1, width // 8), max(1, height // 8)))
                with decoding(*image.size):
                    # A PNG's EXIF may follow its pixels: reading it decodes them.
                    facts = read_facts(image)
                    image.load()  # a truncated or corrupt file fails here, not later
                    image.close()  # the pixels go before the budget is given back
            if content_type == "image/png":
                with Image.open(io.BytesIO(data), formats=["PNG"]) as png:
                    png.verify()  # every chunk's CRC, which decoding does not check
            _check_end(data, content_type)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise TooLarge(
                ErrorCode.PHOTO_TOO_LARGE, f"疑似解压炸弹 / decompression bomb refused: {error}"
            ) from error
        except UnidentifiedImageError as error:
            raise _unsupported(data) from error
        except DECODE_ERRORS as error:
            raise UnsupportedMedia(
                ErrorCode.PHOTO_UNREADABLE,
                f"不是可读取的图片 / not a readable JPEG or PNG image: {error}",
            ) from error
    return PhotoFacts(content_type, width, height, facts.taken_at, facts.lat, facts.lon)
