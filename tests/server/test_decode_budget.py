"""Decoding in bounded memory (issue 16 item 5): the per-process pixel budget, previews that
reduce before they turn, and the cap on an answer's photos. The memory bound of a real
server process is tests/e2e/test_decode_memory.py."""

from __future__ import annotations

import io
import threading
import time

import pytest
from flask import Flask
from PIL import Image

from server.config import load_config
from server.services import thumbnails
from server.services.decode_budget import DecoderBusy, PixelBudget
from server.storage import photo_store
from tests.helpers import sha256
from tests.server.test_photo_access import notified, upload


def test_the_budget_never_holds_more_than_its_limit() -> None:
    budget = PixelBudget(100)
    most, lock = [0], threading.Lock()

    def decode(pixels: int) -> None:
        with budget.hold(pixels, timeout=10):
            with lock:
                most[0] = max(most[0], budget.in_use)
            time.sleep(0.02)

    workers = [threading.Thread(target=decode, args=(60,)) for _ in range(6)]
    workers.append(threading.Thread(target=decode, args=(10_000,)))  # larger than it all
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert 60 <= most[0] <= 100 and budget.in_use == 0


def test_a_decode_that_waits_too_long_is_told_to_come_back() -> None:
    budget = PixelBudget(100)
    with budget.hold(100), pytest.raises(DecoderBusy) as busy, budget.hold(1, timeout=0.05):
        pass
    assert busy.value.status == 503 and "Retry-After" in busy.value.headers
    with budget.hold(100, timeout=0.05):  # given back after the refusal
        assert budget.in_use == 100


def test_an_unusable_budget_is_refused_at_start(app: Flask, monkeypatch) -> None:
    monkeypatch.setenv("LANTIAN_MAX_DECODE_PIXELS", "0")
    with pytest.raises(ValueError, match="LANTIAN_MAX_DECODE_PIXELS"):
        load_config(app.instance_path, {"DATA_DIR": app.config["DATA_DIR"]})


def turned_jpeg() -> bytes:
    """A 200×100 JPEG whose EXIF says 'turn 90° clockwise to view' (orientation 6)."""
    image = Image.new("RGB", (200, 100), "white")
    image.paste((200, 0, 0), (0, 0, 100, 100))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_a_preview_is_reduced_and_upright(client, headers) -> None:
    data = turned_jpeg()
    assert upload(client, headers["inspector"], data).status_code == 201
    small = thumbnails.preview(photo_store(), sha256(data), edge=48)
    with Image.open(io.BytesIO(small)) as preview:
        assert preview.size == (24, 48)  # portrait: turned
        top = preview.getpixel((12, 4))
        assert top[0] > 150 and top[1] < 100  # the red half is on top after turning


def test_a_png_preview_keeps_its_colours(client, headers) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (900, 300), (10, 200, 30, 255)).save(buffer, format="PNG")
    data = buffer.getvalue()
    assert upload(client, headers["inspector"], data).status_code == 201
    with Image.open(io.BytesIO(thumbnails.preview(photo_store(), sha256(data)))) as preview:
        assert preview.size == (480, 160)
        red, green, _ = preview.getpixel((240, 80))
        assert green > 150 and red < 60


def test_an_answer_carries_at_most_nine_photos(client, headers, registry) -> None:
    case = notified(client, headers, registry)
    hashes = []
    for shade in range(10):
        buffer = io.BytesIO()
        Image.new("RGB", (20, 20), (shade * 20, 0, 0)).save(buffer, format="PNG")
        assert upload(client, headers["enterprise"], buffer.getvalue()).status_code == 201
        hashes.append(sha256(buffer.getvalue()))
    path = f"/api/v1/findings/{case['findings'][0]}/responses"
    too_many = client.post(
        path, json={"text": "已整改", "photos": hashes}, headers=headers["enterprise"]
    )
    assert too_many.status_code == 422 and "photos" in str(too_many.get_json()["errors"])
    nine = client.post(
        path, json={"text": "已整改", "photos": hashes[:9]}, headers=headers["enterprise"]
    )
    assert nine.status_code == 201, nine.get_json()
