"""How many pixels one server process may hold decoded at once.

A photo is small on the wire and huge in memory: a 240 KB PNG of one colour can be a
7740×7740 image, 180 MB decoded (issue 16 item 5: four at once took a server from 180 MB to
955 MB, their previews to 2.7 GB). Every full decode (the check on upload, a preview) first
takes its pixels from a per-process budget, `MAX_DECODE_PIXELS` (by default one image at the
upload cap), and gives them back once the decoded image is released; a request that would
exceed it waits its turn. An image larger than the whole budget takes all of it and runs
alone, so nothing waits forever; a request that waits longer than `MAX_DECODE_WAIT_S` is
told to come back later (503).

A budget bounds what is held at once, but not what the process keeps after: Pillow allocates
pixels in blocks of 16 MiB, and glibc's malloc, once such a block is freed, raises its mmap
threshold (up to 32 MiB) and serves the next ones from per-thread heaps, which keep freed
memory (four threads decoding in turn kept four images' worth). `give_pixels_back` makes
Pillow's blocks larger than any threshold glibc can reach, so each is mapped on its own and
returned to the system when the image is freed (Pillow's block allocator, PILLOW_BLOCK_SIZE).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, has_app_context
from PIL import Image

from server.services.app_state import per_app
from server.services.errors import DomainError, ErrorCode

DEFAULT_MAX_DECODE_PIXELS = 60_000_000  # photo_meta.MAX_PIXELS: one image at the cap
DEFAULT_MAX_DECODE_WAIT_S = 120.0
# Above glibc's largest dynamic mmap threshold (32 MiB on 64-bit systems).
PIXEL_BLOCK_BYTES = 64 * 1024 * 1024


def give_pixels_back() -> None:
    """Make freed image memory go back to the system (see the module docstring); once per
    process, harmless to repeat."""
    if Image.core.get_block_size() < PIXEL_BLOCK_BYTES:
        Image.core.set_block_size(PIXEL_BLOCK_BYTES)


class DecoderBusy(DomainError):
    status = 503

    def __init__(self) -> None:
        super().__init__(
            ErrorCode.PHOTO_DECODER_BUSY,
            "服务器正忙于处理其他照片，请稍后重试 / the server is busy decoding other photos: "
            "try again shortly",
        )
        self.headers = {"Retry-After": "10"}


class PixelBudget:
    """A counting semaphore whose units are pixels, taken and given back in one piece."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a pixel budget must be positive, not {limit}")
        self.limit = limit
        self.in_use = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, pixels: int, timeout: float | None = None) -> Iterator[None]:
        """Hold `pixels` (at most the whole budget) for the block; DecoderBusy after
        waiting `timeout` seconds."""
        wanted = min(max(pixels, 1), self.limit)
        with self._changed:
            if not self._changed.wait_for(lambda: self.in_use + wanted <= self.limit, timeout):
                raise DecoderBusy()
            self.in_use += wanted
        try:
            yield
        finally:
            with self._changed:
                self.in_use -= wanted
                self._changed.notify_all()


# Outside an app (a script checking a photo) one budget of the default size serves.
_outside_app = PixelBudget(DEFAULT_MAX_DECODE_PIXELS)


def current_budget() -> PixelBudget:
    """This process's budget for the current app, sized from its configuration."""
    if not has_app_context():
        return _outside_app
    return per_app(
        "lantian.decode_budget", lambda: PixelBudget(current_app.config["MAX_DECODE_PIXELS"])
    )


@contextmanager
def decoding(width: int, height: int) -> Iterator[None]:
    """Hold the budget for decoding a `width`×`height` image (the size it decodes at, after
    any draft reduction) while the block runs."""
    timeout = (
        current_app.config["MAX_DECODE_WAIT_S"] if has_app_context() else DEFAULT_MAX_DECODE_WAIT_S
    )
    with current_budget().hold(width * height, timeout):
        yield
