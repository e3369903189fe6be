"""The field client on a poor link, against the real server: a pooled connection the server
closed while idle is not a broken link, and an upload cut off mid-body resumes from the
bytes that arrived, with one question and one PATCH, never a HEAD per photo."""

from __future__ import annotations

import base64
import runpy
import socket
import time
from pathlib import Path

import httpx

from field_client import api as field_api
from field_client import credentials, sync
from field_client.api import RetryPolicy, SyncApi
from field_client.store import Store
from server.extensions import db
from server.models import Photo, Upload
from server.services.uploads import BODY_BLOCK
from server.storage import LocalPhotoStore
from tests.e2e.conftest import BIN, Field, ServerProcess
from tests.e2e.cutting_proxy import CuttingProxy, IdleResetProxy
from tests.e2e.field_helpers import boiler_inspection, camera_photo, noise_photo
from tests.e2e.test_field_sync import assert_server_has, photo_requests, requests_logged
from tests.e2e.test_live_server import token
from tests.helpers import sha256

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def test_the_server_keeps_idle_connections_longer_than_the_client() -> None:
    """Otherwise the client reuses a connection just as the server closes it."""
    settings = runpy.run_path(str(DEPLOY))
    assert settings["keepalive"] >= 2 * field_api.POOL_KEEPALIVE_S


class Gunicorn(ServerProcess):
    """The test's server served as in production (gunicorn, deploy/gunicorn.conf.py), which
    keeps connections alive, on the same address, database and photos."""

    def __init__(self, same_as: ServerProcess, log: Path) -> None:
        super().__init__(
            same_as.env["LANTIAN_DATABASE_URL"], Path(same_as.env["LANTIAN_DATA_DIR"]), log
        )
        self.port, self.url = same_as.port, same_as.url
        self.env = {
            **same_as.env,
            "LANTIAN_BIND": f"127.0.0.1:{self.port}",
            "LANTIAN_WORKERS": "1",
            "LANTIAN_THREADS": "4",
        }

    def command(self) -> list[str]:
        return [str(BIN / "gunicorn"), "-c", str(DEPLOY), "server:create_app()"]


def test_a_reset_on_an_idle_pooled_connection_is_resent_not_a_broken_link(
    ready, server_process: ServerProcess, field: Field, tmp_path: Path
) -> None:
    uuids = [boiler_inspection(field, ready, tmp_path, seed) for seed in range(2)]
    server = Gunicorn(server_process, tmp_path / "gunicorn.log")
    server.start()
    try:
        _resend_on_stale_connections(server, field, uuids, tmp_path)
    finally:
        server.stop()


def _resend_on_stale_connections(
    server_process: ServerProcess, field: Field, uuids: list[str], tmp_path: Path
) -> None:
    saved = credentials.load(field.home)
    with IdleResetProxy(server_process.port, idle_s=0.3) as proxy:
        api = SyncApi(proxy.url, saved["token"], policy=RetryPolicy(attempts=1, base=0, cap=0))
        store = Store(field.home)
        try:
            api.get_json("/api/v1/governance")  # a pooled connection, then idle
            time.sleep(0.5)
            since = server_process.log.stat().st_size
            report = sync.push(store, api)  # its first request meets the reset
            assert sorted(report.synced) == sorted(uuids) and report.photos_sent == 6
            # A photo PUT on a connection left idle: sent again whole, the link trusted.
            big = camera_photo(tmp_path / "big.jpg", 3, size=(1600, 1200)).read_bytes()
            assert field_api.SMALL_PHOTO_BYTES < len(big) <= field_api.WHOLE_PHOTO_BYTES
            time.sleep(0.5)
            assert proxy.cuts >= 1
            cuts = proxy.cuts
            api.upload_photo(sha256(big), big, ask=False)
            assert proxy.cuts > cuts
        finally:
            api.close()
            store.close()
    # Every retry here was the stale-connection resend: the policy allowed one attempt.
    assert api.stale_resends >= 2 and api.link_holds
    expected = {"questions": 1, "heads": 0, "puts": 7, "tus": 0}
    deadline = time.monotonic() + 10
    # gunicorn writes its access log line after the response: under load the last one may
    # land a moment after the client has its answer.
    while (sent := photo_requests(requests_logged(server_process, since))) != expected:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sent == expected
    assert_server_has(server_process, field, uuids)


def test_a_cut_upload_resumes_from_the_bytes_that_arrived(
    live_server: ServerProcess, users, tmp_path: Path
) -> None:
    data = noise_photo(tmp_path / "noise.jpg", 11).read_bytes()
    assert len(data) > field_api.WHOLE_PHOTO_BYTES  # goes by tus from the start
    inspector = token(live_server, "insp")["Authorization"].removeprefix("Bearer ")
    # Every connection carries 500-700 kB and is then cut mid-body: the client gets a reset,
    # the server an end of stream, so it reads every byte that reached it (on loopback an
    # unshaped proxy can leave megabytes in the server's socket buffer, which a reset drops
    # unread: that is the kernel, not the server, losing them).
    with CuttingProxy(
        live_server.port, low=500_000, high=700_000, seed=3, server_sees_reset=False
    ) as proxy:
        api = SyncApi(proxy.url, inspector, policy=RetryPolicy(attempts=30, base=0.05, cap=0.2))
        since = live_server.log.stat().st_size
        try:
            api.upload_photo(sha256(data), data, ask=False)
        finally:
            api.close()
        assert proxy.cuts >= 2, "the upload must have been cut more than once"
    requests = requests_logged(live_server, since)
    creations = requests.count("POST /api/v1/uploads")
    asked = sum(r.startswith("HEAD /api/v1/uploads/") for r in requests)
    patches = sum(r.startswith("PATCH /api/v1/uploads/") for r in requests)
    # One creation carrying the whole file; then after each cut one question (a creation
    # with Lantian-Resume, or a HEAD on the upload once its URL is known) and one PATCH
    # with the rest. Never a HEAD on the photo (a request cut before it reached the server
    # is not logged, hence "at most").
    assert not any(r.startswith("HEAD /api/v1/photos/") for r in requests)
    assert creations + asked <= proxy.cuts + 1 and patches <= proxy.cuts
    # What arrived before each cut was kept: far less than a resend of the whole file each time.
    assert proxy.bytes_up < 1.6 * len(data), (proxy.bytes_up, len(data), proxy.cuts)
    db.session.expire_all()
    assert db.session.query(Photo).count() == 1
    assert db.session.query(Upload).filter(Upload.completed_at.is_(None)).count() == 0
    stored = LocalPhotoStore(Path(live_server.env["LANTIAN_PHOTO_DIR"]))
    assert stored.get(sha256(data)) == data


def test_a_stalled_body_is_taken_as_cut_and_frees_the_upload(
    server_process: ServerProcess, users, tmp_path: Path
) -> None:
    """A phone that lost the cell leaves a connection no byte will come on: after
    LANTIAN_UPLOAD_STALL_S the server keeps what arrived and the resume can go on."""
    server_process.env["LANTIAN_UPLOAD_STALL_S"] = "1"
    server_process.start()
    data = camera_photo(tmp_path / "p.jpg", 21, size=(1600, 1200)).read_bytes()
    auth = token(server_process, "insp")
    tus = {**auth, "Tus-Resumable": "1.0.0"}
    metadata = "sha256 " + base64.b64encode(sha256(data).encode()).decode()
    created = httpx.post(
        f"{server_process.url}/api/v1/uploads",
        headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": metadata},
    )
    location = created.headers["Location"]
    half = len(data) // 2
    with socket.create_connection(("127.0.0.1", server_process.port)) as stalled:
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        )
        stalled.sendall(head.encode() + data[:half])  # then nothing more, never closed
        time.sleep(2.5)
        where = httpx.head(f"{server_process.url}{location}", headers=tus)
        held = int(where.headers["Upload-Offset"])
        # Kept as it arrived, but for at most the block the server was still reading.
        assert half - BODY_BLOCK < held <= half
        rest = httpx.patch(
            f"{server_process.url}{location}",
            content=data[held:],
            headers={
                **tus,
                "Upload-Offset": str(held),
                "Content-Type": "application/offset+octet-stream",
            },
            timeout=10,
        )
        assert rest.status_code == 204, rest.text
    stored = LocalPhotoStore(Path(server_process.env["LANTIAN_PHOTO_DIR"]))
    assert stored.get(sha256(data)) == data
