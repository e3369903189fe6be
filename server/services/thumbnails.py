"""Small JPEG previews of stored photos, for the web pages and the notice PDF.

Evidence photos are 3–12 MB; a page of findings shows dozens. Previews are decoded in draft
mode (the JPEG decoder scales by 1/2–1/8 while decoding), reduced in place, turned upright by
their EXIF orientation, and kept in a bounded in-memory cache: photos never change under
their hash. A PNG has no reduced decode, so its full decode waits for the process's decode
budget (`decode_budget`).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

from PIL import Image, ImageOps

from server.services.decode_budget import decoding
from server.services.errors import ErrorCode, NotFound
from server.storage import PhotoStore

PREVIEW_EDGE = 480
_CACHE_SIZE = 512
_cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
_lock = threading.Lock()


def _render(data: bytes, edge: int) -> bytes:
    """Reduce first, then turn and convert the small image: the only full-size pixels are
    the decode itself (a JPEG's already scaled down by draft), held under the process's
    decode budget. Turning or converting first would copy the full image twice more."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (edge, edge))
        with decoding(*image.size):
            # In place: load, reduce() by an integer factor, then resample the rest.
            image.thumbnail((edge, edge), reducing_gap=2.0)
        upright = ImageOps.exif_transpose(image).convert("RGB")
    buffer = io.BytesIO()
    upright.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def preview(store: PhotoStore, sha256: str, edge: int = PREVIEW_EDGE) -> bytes:
    """A JPEG of the photo no larger than `edge` pixels on its long side."""
    key = (sha256, edge)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        original = store.get(sha256)  # one round trip, also for a bucket
    except KeyError:
        raise NotFound(ErrorCode.PHOTO_NOT_FOUND, f"照片不存在 / no photo {sha256}") from None
    data = _render(original, edge)
    with _lock:
        _cache[key] = data
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return data
