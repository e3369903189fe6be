"""Photos the server lacks go a few at a time; each is marked sent on the device only once
the server confirmed it, and one that fails stays unmarked for the next sync."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from pathlib import Path

import httpx

from field_client import credentials, sync
from field_client.api import SyncApi
from field_client.store import Store
from server.extensions import db
from server.models import Photo
from tests.e2e.conftest import Field
from tests.e2e.field_helpers import boiler_inspection, camera_photo
from tests.e2e.test_field_sync import assert_server_has
from tests.helpers import NO_BOILER_ANSWERS


class InFlight(httpx.HTTPTransport):
    """The real transport, counting how many requests of each kind were in flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        kind = f"{request.method} {'/'.join(request.url.path.split('/')[:4])}"
        with self.lock:
            self.now[kind] += 1
            self.most[kind] = max(self.most[kind], self.now[kind])
        try:
            return super().handle_request(request)
        finally:
            with self.lock:
                self.now[kind] -= 1


def marked_uploaded(field: Field) -> set[str]:
    with sqlite3.connect(field.home / "field.sqlite3") as local:
        return {row[0] for row in local.execute("SELECT sha256 FROM photos WHERE uploaded = 1")}


def server_photos() -> set[str]:
    db.session.expire_all()
    return {photo.sha256 for photo in db.session.query(Photo)}


def test_photos_go_a_few_at_a_time(ready, server_process, field, tmp_path) -> None:
    uuids = [boiler_inspection(field, ready, tmp_path, seed) for seed in range(2)]
    server_process.start()
    saved = credentials.load(field.home)
    watching = InFlight()
    api = SyncApi(saved["server"], saved["token"], transport=watching)
    store = Store(field.home)
    try:
        report = sync.push(store, api)
    finally:
        api.close()
        store.close()
    assert sorted(report.synced) == sorted(uuids) and report.photos_sent == 6
    assert 2 <= watching.most["PUT /api/v1/photos"] <= sync.PARALLEL_UPLOADS
    assert watching.most["HEAD /api/v1/photos"] == 0
    assert_server_has(server_process, field, uuids)
    assert marked_uploaded(field) == server_photos()


def test_a_photo_that_fails_among_parallel_uploads_stays_unmarked(
    ready, server_process, field, tmp_path: Path
) -> None:
    local = field.in_process()
    uuid = local.json("new", "--site", str(ready), "--checklist", "coal-and-boilers")["id"]
    for item, value in NO_BOILER_ANSWERS:
        local.run("answer", uuid, item, value)
    small = [camera_photo(tmp_path / f"small-{n}.jpg", 40 + n, size=(480, 360)) for n in range(2)]
    large = camera_photo(tmp_path / "large.jpg", 49, size=(1600, 1200))
    paths = [str(path) for path in (*small, large)]
    local.run("answer", uuid, "CB-18", "non_compliant", *(f"--photo={p}" for p in paths))
    local.run("finish", uuid)
    with sqlite3.connect(field.home / "field.sqlite3") as stored:
        sizes = dict(stored.execute("SELECT sha256, size FROM photos"))
    assert len(sizes) == 3
    largest = max(sizes, key=lambda sha: sizes[sha])
    below = max(size for sha, size in sizes.items() if sha != largest)
    assert below < sizes[largest] <= 1024 * 1024  # all three go whole, so all three at once
    # A server that refuses the largest photo (too large for it), and only that one.
    server_process.env["LANTIAN_MAX_PHOTO_BYTES"] = str((below + sizes[largest]) // 2)
    server_process.start()
    refused = field.json("sync", expect=3)  # 3: something is left
    assert "413" in refused["refused"][uuid]
    assert server_photos() == set(sizes) - {largest}
    assert marked_uploaded(field) == set(sizes) - {largest}
    server_process.stop()
    del server_process.env["LANTIAN_MAX_PHOTO_BYTES"]
    server_process.start()
    report = field.json("sync")
    assert report["synced"] == [uuid] and report["photos_sent"] == 1
    assert_server_has(server_process, field, [uuid])
    assert marked_uploaded(field) == set(sizes)
