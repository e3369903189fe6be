"""A PNG just under the pixel cap cannot blow up a server's memory (issue 16 item 5).

Four 7740×7740 PNGs (about 240 KB each: one colour compresses very well; 180 MB decoded)
are uploaded at once, then previewed at once, against a real server process. Its peak
resident memory (VmHWM of /proc/<pid>/status) may grow by less than `BOUND` over what the
same process reached after a warm-up with a small photo: decodes share a per-process pixel
budget (LANTIAN_MAX_DECODE_PIXELS, by default one image at the pixel cap) and previews are
reduced without extra full-size copies. Before the fix, the same steps took the server from
about 180 MB to 955 MB on upload and 2.7 GB on preview. This is a coarse functional bound; the
exact figures belong to bench/, not here.
"""

from __future__ import annotations

import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

from tests.e2e.conftest import ServerProcess
from tests.helpers import PASSWORD

SIDE = 7740  # 59.9 M pixels: just under the 60 M cap
BOUND = 400 * 1024 * 1024  # bytes of peak-RSS growth allowed for the four uploads + previews
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def big_png(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (SIDE, SIDE), (shade, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def peak_rss(pid: int) -> int:
    """The process's high-water mark of resident memory, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    kilobytes = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert kilobytes, status
    return int(kilobytes.group(1)) * 1024


def token(url: str, username: str) -> dict[str, str]:
    response = httpx.post(
        f"{url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def review_session(url: str) -> httpx.Client:
    """A supervisor signed in to the review pages (where photo previews are served)."""
    client = httpx.Client(base_url=url, timeout=120)
    page = client.get("/review/login")
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    signed_in = client.post(
        "/review/login",
        data={"username": "sup", "password": PASSWORD, "csrf_token": found.group(1)},
    )
    assert signed_in.status_code in (302, 303), signed_in.text[:500]
    return client


def put_photo(url: str, headers: dict[str, str], data: bytes) -> int:
    name = hashlib.sha256(data).hexdigest()
    response = httpx.put(
        f"{url}/api/v1/photos/{name}",
        content=data,
        headers={**headers, "Content-Type": "application/octet-stream"},
        timeout=300,
    )
    return response.status_code


def test_four_big_pngs_uploaded_and_previewed_at_once_stay_in_bounds(
    live_server: ServerProcess, users, registry
) -> None:
    assert live_server.process is not None
    pid = live_server.process.pid
    url = live_server.url
    inspector = token(url, "insp")
    reviewer = review_session(url)

    small = io.BytesIO()
    Image.new("RGB", (640, 480), "navy").save(small, format="PNG")
    assert put_photo(url, inspector, small.getvalue()) == 201
    warm = reviewer.get(f"/review/photos/{hashlib.sha256(small.getvalue()).hexdigest()}/preview")
    assert warm.status_code == 200
    before = peak_rss(pid)

    pngs = [big_png(shade) for shade in (10, 70, 130, 190)]
    assert all(len(data) < 1_000_000 for data in pngs)  # small files, huge images
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda data: put_photo(url, inspector, data), pngs))
    assert statuses == [201] * 4
    after_upload = peak_rss(pid)

    names = [hashlib.sha256(data).hexdigest() for data in pngs]
    with ThreadPoolExecutor(4) as pool:
        previews = list(pool.map(lambda n: reviewer.get(f"/review/photos/{n}/preview"), names))
    assert [p.status_code for p in previews] == [200] * 4
    for preview in previews:
        with Image.open(io.BytesIO(preview.content)) as image:
            assert max(image.size) <= 480
    after_preview = peak_rss(pid)

    growth = {
        "upload": (after_upload - before) // 2**20,
        "preview": (after_preview - before) // 2**20,
    }
    assert after_preview - before < BOUND, f"peak RSS grew by {growth} MB (bound 400)"
