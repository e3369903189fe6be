"""The photo store contract, run against every backend: the local directory and S3.

S3 is a third-party service, so the S3 store runs against moto's standalone server, a real
process on a loopback port that speaks the S3 protocol (conditional writes included).
"""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from flask import Flask

from server import create_app
from server.config import load_config
from server.storage import LocalPhotoStore, OffsetMismatch, PhotoStore, make_store
from server.storage.s3 import S3PhotoStore, normalize_prefix
from tests.conftest import FreshContextClient
from tests.helpers import FAST_HASH, PHOTOS, login, sha256

BIN = Path(sys.executable).parent
UPLOAD_ID = "upload-id-0123456789"
# Fake credentials for the fake S3; a developer's ~/.aws must neither be used nor matter.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "lantian-test",
    "AWS_SECRET_ACCESS_KEY": "lantian-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server as its own process on a free loopback port, for the whole session."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"moto_server exited: {log.read_text()[-2000:]}")
            try:
                httpx.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto_server not ready: {log.read_text()[-2000:]}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(moto_url: str, aws_env: None) -> str:
    """A new, empty bucket for each test."""
    name = f"lantian-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_url).create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> PhotoStore:
    if request.param == "local":
        return LocalPhotoStore(tmp_path / "photos")
    moto_url = request.getfixturevalue("moto_url")
    return S3PhotoStore(
        request.getfixturevalue("bucket"), prefix="deployment-a", endpoint_url=moto_url
    )


# The contract: every backend.


def test_put_get_exists_size(store: PhotoStore) -> None:
    data = b"\xff\xd8 some bytes"
    name = sha256(data)
    assert not store.exists(name) and store.size(name) is None
    assert store.put(name, data) is True
    assert store.exists(name) and store.size(name) == len(data)
    assert store.get(name) == data
    assert store.put(name, data) is False  # idempotent
    assert list(store.iter_hashes()) == [name]


def test_iter_hashes_lists_photos_in_order_and_nothing_else(store: PhotoStore) -> None:
    names = sorted(sha256(bytes([n])) for n in range(5))
    for name in reversed(names):
        store.put(name, b"?")
    store.append_partial(UPLOAD_ID, 0, b"half a photo")
    assert list(store.iter_hashes()) == names


def test_missing_blob_is_a_key_error(store: PhotoStore) -> None:
    with pytest.raises(KeyError):
        store.get("0" * 64)


def test_names_that_are_not_hashes_are_refused(store: PhotoStore) -> None:
    for name in ("../escape", "0" * 63, "G" * 64, "/" + "0" * 63):
        with pytest.raises(ValueError):
            store.exists(name)
        with pytest.raises(ValueError):
            store.put(name, b"x")


def test_delete(store: PhotoStore) -> None:
    name = sha256(b"x")
    store.put(name, b"x")
    store.delete(name)
    assert not store.exists(name)
    store.delete(name)  # deleting twice is harmless


def test_health(store: PhotoStore) -> None:
    assert store.health() == "ok"


def test_partial_uploads_append_at_the_held_offset(store: PhotoStore) -> None:
    assert store.partial_size(UPLOAD_ID) == 0
    assert store.append_partial(UPLOAD_ID, 0, b"abc") == 3
    with pytest.raises(OffsetMismatch) as mismatch:
        store.append_partial(UPLOAD_ID, 1, b"zz")
    assert mismatch.value.held == 3
    with pytest.raises(OffsetMismatch):
        store.append_partial(UPLOAD_ID, 4, b"zz")  # nor past the end
    assert store.append_partial(UPLOAD_ID, 3, b"def") == 6
    assert store.append_partial(UPLOAD_ID, 6, b"") == 6  # an empty chunk changes nothing
    assert store.append_partial(UPLOAD_ID, 6, b"g") == 7
    assert store.partial_size(UPLOAD_ID) == 7
    assert store.read_partial(UPLOAD_ID) == b"abcdefg"
    store.drop_partial(UPLOAD_ID)
    assert store.partial_size(UPLOAD_ID) == 0 and store.read_partial(UPLOAD_ID) == b""
    store.drop_partial(UPLOAD_ID)  # dropping twice is harmless
    assert store.append_partial(UPLOAD_ID, 0, b"again") == 5  # a dropped id starts over


def test_a_streamed_body_keeps_what_arrived_before_it_was_cut(store: PhotoStore) -> None:
    """A request body appended as it arrives: when it ends early (the connection was cut),
    the blocks that came are held, and the next append continues from there."""
    consumed: list[bytes] = []

    def cut_after_two() -> Iterator[bytes]:
        for block in (b"abc", b"def"):
            consumed.append(block)
            yield block

    assert store.append_partial_stream(UPLOAD_ID, 0, cut_after_two()) == 6
    assert store.read_partial(UPLOAD_ID) == b"abcdef"
    consumed.clear()
    with pytest.raises(OffsetMismatch) as mismatch:
        store.append_partial_stream(UPLOAD_ID, 3, cut_after_two())
    assert mismatch.value.held == 6 and consumed == []  # refused before reading a byte
    assert store.append_partial_stream(UPLOAD_ID, 6, iter([b"g"])) == 7
    assert store.read_partial(UPLOAD_ID) == b"abcdefg"


def test_partials_are_kept_apart_and_are_not_photos(store: PhotoStore) -> None:
    other = "upload-id-9876543210"
    store.append_partial(UPLOAD_ID, 0, b"one")
    store.append_partial(other, 0, b"two!")
    assert store.partial_size(UPLOAD_ID) == 3 and store.read_partial(other) == b"two!"
    store.drop_partial(other)
    assert store.read_partial(UPLOAD_ID) == b"one"
    assert list(store.iter_hashes()) == []


def test_of_racing_appends_at_one_offset_exactly_one_wins(store: PhotoStore) -> None:
    """Two requests (threads, workers or machines) resuming the same upload at once."""
    if isinstance(store, S3PhotoStore):
        # moto checks If-None-Match and then writes, without a lock: two racers can both pass
        # (seen in CI). S3 itself decides atomically. The S3 store's use of the condition is
        # proven deterministically by test_s3_a_stale_view_of_the_end_cannot_overwrite_a_chunk.
        pytest.skip("the S3 fake's conditional write is not atomic under a race")
    racers = 6
    barrier = threading.Barrier(racers)
    outcomes: dict[int, Any] = {}

    def append(n: int) -> None:
        chunk = bytes([65 + n]) * (n + 1)  # different bytes and lengths per racer
        barrier.wait()
        try:
            outcomes[n] = store.append_partial(UPLOAD_ID, 0, chunk)
        except OffsetMismatch as mismatch:
            outcomes[n] = mismatch

    threads = [threading.Thread(target=append, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [n for n, outcome in outcomes.items() if isinstance(outcome, int)]
    assert len(winners) == 1, outcomes
    held = winners[0] + 1
    assert outcomes[winners[0]] == held
    assert store.read_partial(UPLOAD_ID) == bytes([65 + winners[0]]) * held
    # A loser learns the end at the latest when it asks again.
    for n, outcome in outcomes.items():
        if n != winners[0]:
            assert isinstance(outcome, OffsetMismatch) and outcome.held in (0, held)
    assert store.partial_size(UPLOAD_ID) == held


def test_upload_ids_that_could_be_paths_are_refused(store: PhotoStore) -> None:
    for name in ("../../etc/passwd", "short", "a/b" * 10):
        with pytest.raises(ValueError):
            store.partial_size(name)
        with pytest.raises(ValueError):
            store.append_partial(name, 0, b"x")


# The local directory only.


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = LocalPhotoStore(tmp_path)
    store.put(sha256(b"abc"), b"abc")
    assert [p.name for p in tmp_path.rglob(".upload-*")] == []


# S3 only.


def _keys(moto_url: str, bucket: str) -> list[str]:
    listing = boto3.client("s3", endpoint_url=moto_url).list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_s3_keys_are_where_the_docs_say(moto_url: str, bucket: str) -> None:
    store = S3PhotoStore(bucket, prefix="/lantian/prod/", endpoint_url=moto_url)
    name = sha256(b"photo")
    store.put(name, b"photo")
    store.append_partial(UPLOAD_ID, 0, b"ab")
    store.append_partial(UPLOAD_ID, 2, b"cd")
    assert _keys(moto_url, bucket) == [
        f"lantian/prod/partials/{UPLOAD_ID}/{0:020d}",
        f"lantian/prod/partials/{UPLOAD_ID}/{2:020d}",
        f"lantian/prod/photos/{name}",
    ]
    store.drop_partial(UPLOAD_ID)
    assert _keys(moto_url, bucket) == [f"lantian/prod/photos/{name}"]


def test_s3_prefixes_keep_deployments_apart(moto_url: str, bucket: str) -> None:
    production = S3PhotoStore(bucket, prefix="prod", endpoint_url=moto_url)
    staging = S3PhotoStore(bucket, prefix="staging", endpoint_url=moto_url)
    production.put(sha256(b"p"), b"p")
    assert list(staging.iter_hashes()) == [] and not staging.exists(sha256(b"p"))
    assert staging.put(sha256(b"p"), b"p") is True


def test_s3_a_stale_view_of_the_end_cannot_overwrite_a_chunk(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conditional write, not the listing before it, decides who appends at an offset."""
    store = S3PhotoStore(bucket, endpoint_url=moto_url)
    store.append_partial(UPLOAD_ID, 0, b"first")
    real = store.partial_size
    looks = []

    def stale_first(upload_id: str) -> int:
        # The first look sees the upload as empty, as a request racing the first one did.
        looks.append(upload_id)
        return 0 if len(looks) == 1 else real(upload_id)

    monkeypatch.setattr(store, "partial_size", stale_first)
    with pytest.raises(OffsetMismatch) as mismatch:
        store.append_partial(UPLOAD_ID, 0, b"second, longer")
    assert mismatch.value.held == 5 and len(looks) == 2
    assert store.read_partial(UPLOAD_ID) == b"first"


def test_s3_put_of_a_photo_that_appeared_meanwhile_is_not_new(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = S3PhotoStore(bucket, endpoint_url=moto_url)
    name = sha256(b"same bytes")
    store.put(name, b"same bytes")
    real = store._head
    heads = []

    def late_first(key: str) -> dict[str, Any] | None:
        # The HEAD before the write misses the other upload of the same photo.
        heads.append(key)
        return None if len(heads) == 1 else real(key)

    monkeypatch.setattr(store, "_head", late_first)
    assert store.put(name, b"same bytes") is False
    assert len(heads) == 2


def test_s3_health_names_a_missing_bucket(moto_url: str, aws_env: None) -> None:
    store = S3PhotoStore("lantian-no-such-bucket", endpoint_url=moto_url)
    assert store.health().startswith("error: bucket lantian-no-such-bucket")


def test_s3_client_is_made_again_after_a_fork(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gunicorn forks workers: a client (and its connection pool) must not cross a fork."""
    store = S3PhotoStore(bucket, endpoint_url=moto_url)
    parent = store.client
    assert store.client is parent
    monkeypatch.setattr(os, "getpid", lambda: -1)
    assert store.client is not parent


# Configuration.


def test_the_store_is_chosen_by_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert isinstance(make_store(load_config(str(tmp_path))), LocalPhotoStore)
    for name, value in {
        "PHOTO_STORE": "S3",
        "S3_BUCKET": "lantian-photos",
        "S3_ENDPOINT_URL": "http://minio.internal:9000",
        "S3_PREFIX": "shuozhou",
        "S3_REGION": "cn-north-1",
    }.items():
        monkeypatch.setenv(f"LANTIAN_{name}", value)
    store = make_store(load_config(str(tmp_path)))
    assert isinstance(store, S3PhotoStore)
    assert (store.bucket, store.prefix, store.region) == (
        "lantian-photos",
        "shuozhou/",
        "cn-north-1",
    )
    assert store.endpoint_url == "http://minio.internal:9000"
    assert store.addressing_style == "path"  # custom endpoints rarely have bucket DNS
    monkeypatch.setenv("LANTIAN_S3_ADDRESSING_STYLE", "virtual")
    assert make_store(load_config(str(tmp_path))).addressing_style == "virtual"  # type: ignore[attr-defined]


def test_a_wrong_store_setting_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="LANTIAN_S3_BUCKET"):
        make_store(load_config(str(tmp_path), {"PHOTO_STORE": "s3"}))
    with pytest.raises(RuntimeError, match="must be one of local, s3"):
        make_store(load_config(str(tmp_path), {"PHOTO_STORE": "ftp"}))


def test_prefixes_are_normalized() -> None:
    assert normalize_prefix(None) == normalize_prefix("") == normalize_prefix("/") == ""
    assert normalize_prefix("a") == normalize_prefix("/a/") == "a/"


# The whole app on S3: photos by PUT and by tus arrive in the bucket and are served back.


@pytest.fixture
def s3_app(
    app: Flask, database_url: str, moto_url: str, bucket: str, tmp_path: Path
) -> Iterator[Flask]:
    """A second app on the same (emptied) database whose photos live in the fake S3."""
    s3_app = create_app(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(tmp_path / "s3-app"),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "SECRET_KEY": "test-secret",
            "PHOTO_STORE": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": moto_url,
            "S3_PREFIX": "lantian",
        }
    )
    s3_app.test_client_class = FreshContextClient
    yield s3_app
    with s3_app.app_context():
        from server.extensions import db

        db.engine.dispose()


def test_an_app_on_s3_takes_photos_by_put_and_by_tus_and_serves_them(
    s3_app: Flask, users: dict[str, Any], moto_url: str, bucket: str
) -> None:
    client = s3_app.test_client()
    inspector = login(client, users["inspector"].username)
    supervisor = login(client, users["supervisor"].username)
    tus = {"Tus-Resumable": "1.0.0"}

    whole = (PHOTOS / "DSCN0010.jpg").read_bytes()
    path = f"/api/v1/photos/{sha256(whole)}"
    assert client.head(path, headers=inspector).status_code == 404
    put = client.put(path, data=whole, headers=inspector, content_type="application/octet-stream")
    assert put.status_code == 201, put.get_json()
    again = client.put(path, data=whole, headers=inspector, content_type="application/octet-stream")
    assert again.status_code == 200
    assert client.get(path, headers=supervisor).data == whole

    resumed = (PHOTOS / "landscape_1.jpg").read_bytes()
    name = sha256(resumed)
    created = client.post(
        "/api/v1/uploads",
        headers={
            **inspector,
            **tus,
            "Upload-Length": str(len(resumed)),
            "Upload-Metadata": "sha256 " + base64.b64encode(name.encode()).decode(),
        },
    )
    assert created.status_code == 201, created.get_json()
    location = created.headers["Location"]
    upload_id = location.rsplit("/", 1)[1]

    def patch(offset: int, chunk: bytes) -> Any:
        return client.patch(
            location,
            data=chunk,
            content_type="application/offset+octet-stream",
            headers={**inspector, **tus, "Upload-Offset": str(offset)},
        )

    half = len(resumed) // 2
    assert patch(0, resumed[:half]).status_code == 204
    # As another worker or machine would see it: the held bytes are in the bucket.
    head = client.head(location, headers={**inspector, **tus})
    assert head.headers["Upload-Offset"] == str(half)
    assert f"lantian/partials/{upload_id}/{0:020d}" in _keys(moto_url, bucket)
    wrong = patch(10, resumed[10:half])
    assert wrong.status_code == 409 and wrong.headers["Upload-Offset"] == str(half)
    last = patch(half, resumed[half:])
    assert last.status_code == 204, last.get_json()
    assert last.headers["Upload-Offset"] == str(len(resumed))

    served = client.get(f"/api/v1/photos/{name}", headers=supervisor)
    assert served.status_code == 200 and served.data == resumed
    assert served.mimetype == "image/jpeg"
    assert _keys(moto_url, bucket) == sorted(
        [f"lantian/photos/{sha256(whole)}", f"lantian/photos/{name}"]
    )
    # Nothing went to the local photo directory.
    assert not Path(s3_app.config["PHOTO_DIR"]).exists()


def test_an_app_on_s3_is_healthy_without_a_photo_directory(s3_app: Flask) -> None:
    """/healthz asks the store itself: a bucket that answers, not a local directory."""
    response = s3_app.test_client().get("/healthz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["photos"] == "ok"
    assert not Path(s3_app.config["PHOTO_DIR"]).exists()
