"""The real field client against the real server: offline capture, exactly-once sync,
kills at any moment, a connection that keeps breaking, and bad photos."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.extensions import db
from server.models import AnswerPhoto, Finding, Inspection, InspectionRevision, Photo
from server.storage import LocalPhotoStore
from tests.e2e.conftest import Field, ServerProcess
from tests.e2e.field_helpers import boiler_inspection, camera_photo, sha256_file
from tests.helpers import NO_BOILER_ANSWERS, PASSWORD


def server_counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return (
        db.session.query(Inspection).count(),
        db.session.query(InspectionRevision).count(),
        db.session.query(Photo).count(),
    )


def assert_server_has(server: ServerProcess, field: Field, uuids: list[str]) -> None:
    """Exactly these inspections, once each, and every photo they cite, bytes intact."""
    db.session.expire_all()
    stored = {str(row.uuid) for row in db.session.query(Inspection)}
    assert stored == set(uuids)
    assert db.session.query(InspectionRevision).count() == len(uuids)
    cited = {link.photo_sha256 for link in db.session.query(AnswerPhoto)}
    store = LocalPhotoStore(Path(server.env["LANTIAN_PHOTO_DIR"]))
    for sha in cited:
        assert store.exists(sha), sha
        assert sha256_bytes(store.get(sha)) == sha
        local = field.home / "photos" / sha[:2] / f"{sha}.jpg"
        assert sha256_file(local) == sha
    assert {photo.sha256 for photo in db.session.query(Photo)} >= cited


def requests_logged(server: ServerProcess, since: int = 0) -> list[str]:
    """Method and path of each request the server logged after byte `since` of its log."""
    text = server.log.read_bytes()[since:].decode(errors="replace")
    return re.findall(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+ /\S*) HTTP', text)


def photo_requests(requests: list[str]) -> dict[str, int]:
    """How many batch questions, HEADs, whole uploads and tus requests for photos."""
    return {
        "questions": requests.count("POST /api/v1/photos/missing"),
        "heads": sum(r.startswith("HEAD /api/v1/photos/") for r in requests),
        "puts": sum(r.startswith("PUT /api/v1/photos/") for r in requests),
        "tus": sum(
            r.startswith(("POST /api/v1/uploads", "PATCH /api/v1/uploads")) for r in requests
        ),
    }


def sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_offline_capture_then_sync_exactly_once(ready, server_process, field, tmp_path) -> None:
    uuids = [boiler_inspection(field, ready, tmp_path, seed) for seed in range(3)]
    status = field.json("status")
    assert status["counts"]["queued"] == 3 and status["outbox"]["photos"] == 9
    failed = field.run("sync", expect=None)  # the server is down
    assert failed.returncode != 0 and "cannot reach" in failed.stderr
    assert "left: 3 inspection(s), 9 photo(s)" in failed.stdout  # says what is left
    assert (
        field.json("status")["counts"]["queued"] + field.json("status")["counts"]["uploading"] == 3
    )

    server_process.start()
    since = server_process.log.stat().st_size
    report = field.json("sync")
    assert sorted(report["synced"]) == sorted(uuids) and report["photos_sent"] == 9
    assert report["left"]["inspections"] == 0
    assert_server_has(server_process, field, uuids)
    assert db.session.query(Finding).count() == 6  # CB-10 and CB-18 in each
    # One question for all nine photos, then each sent once, without a HEAD of its own.
    sent = photo_requests(requests_logged(server_process, since))
    assert sent == {"questions": 1, "heads": 0, "puts": 9, "tus": 0}
    status = field.json("status")
    assert status["counts"]["synced"] == 3 and status["last_sync"]
    since = server_process.log.stat().st_size
    again = field.json("sync")  # nothing left: harmless
    assert again["synced"] == [] and server_counts() == (3, 3, 9)
    assert photo_requests(requests_logged(server_process, since)) == dict.fromkeys(sent, 0)


def test_sync_starts_without_the_photo_pipeline(ready, server_process, field, tmp_path) -> None:
    """`sync` sends photos as stored bytes: it never imports Pillow, pillow-heif or the
    pipeline, which would only slow its start-up."""
    uuid = boiler_inspection(field, ready, tmp_path, 5)
    server_process.start()
    result = subprocess.run(
        field.command("--json", "sync"),
        env={**field.env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["synced"] == [uuid] and report["photos_sent"] == 3
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "field_client.sync" in imported  # the import log is real
    heavy = sorted(m for m in imported if m.split(".")[0] in ("PIL", "pillow_heif", "evidence"))
    assert heavy == [] and "field_client.photos" not in imported


def sync_until_photos_arrive(field: Field, photos: int):  # type: ignore[no-untyped-def]
    """Start a real sync and return it, still running, once the server holds `photos`."""
    syncing = field.spawn("sync")
    deadline = time.monotonic() + 60
    while server_counts()[2] < photos and time.monotonic() < deadline:
        time.sleep(0.02)
    assert syncing.poll() is None, "the sync must still be running when it is cut off"
    return syncing


def test_kill_the_server_mid_sync(ready, server_process, field, tmp_path) -> None:
    uuids = [boiler_inspection(field, ready, tmp_path, seed) for seed in range(8)]
    server_process.start()
    syncing = sync_until_photos_arrive(field, 4)
    server_process.kill()
    syncing.wait(timeout=120)
    assert syncing.returncode != 0
    server_process.start()
    held = server_counts()[2]
    since = server_process.log.stat().st_size
    field.run("sync")
    assert_server_has(server_process, field, uuids)
    # The rerun asks once and sends exactly what the server lacked.
    sent = photo_requests(requests_logged(server_process, since))
    assert sent == {"questions": 1, "heads": 0, "puts": 24 - held, "tus": 0}


class ServerWithoutTheQuestion(ServerProcess):
    """The real app served as a server from before `POST /api/v1/photos/missing` was added:
    that route answers 405, as such a server's `/api/v1/photos/<sha256>` route does."""

    def command(self) -> list[str]:
        script = f"""
from werkzeug.serving import run_simple
from server import create_app

app = create_app()

def older(environ, start_response):
    if environ["PATH_INFO"] == "/api/v1/photos/missing":
        start_response("405 METHOD NOT ALLOWED", [("Content-Type", "application/json")])
        return [b'{{"code": 405, "message": "method not allowed"}}']
    return app(environ, start_response)

run_simple("127.0.0.1", {self.port}, older, threaded=True)
"""
        return [sys.executable, "-c", script]


def test_a_server_without_the_question_is_asked_photo_by_photo(
    ready, server_process, field, tmp_path
) -> None:
    uuids = [boiler_inspection(field, ready, tmp_path, seed) for seed in range(2)]
    older = ServerWithoutTheQuestion(
        server_process.env["LANTIAN_DATABASE_URL"],
        Path(server_process.env["LANTIAN_DATA_DIR"]),
        tmp_path / "older-server.log",
    )
    older.port, older.url = server_process.port, server_process.url  # where the client logged in
    older.env["LANTIAN_PHOTO_DIR"] = server_process.env["LANTIAN_PHOTO_DIR"]
    older.start()
    try:
        report = field.json("sync")
        assert sorted(report["synced"]) == sorted(uuids) and report["photos_sent"] == 6
        assert_server_has(older, field, uuids)
        sent = photo_requests(requests_logged(older))
        assert sent == {"questions": 1, "heads": 6, "puts": 6, "tus": 0}
    finally:
        older.stop()


def test_kill_the_field_client_mid_sync(ready, server_process, field, tmp_path) -> None:
    uuids = [boiler_inspection(field, ready, tmp_path, seed) for seed in range(8)]
    server_process.start()
    syncing = sync_until_photos_arrive(field, 4)
    syncing.send_signal(signal.SIGKILL)
    syncing.wait(timeout=10)
    field.json("status")  # the store opens cleanly
    field.run("sync")
    assert_server_has(server_process, field, uuids)


def test_kill_the_field_client_mid_photo_import(ready, server_process, field, tmp_path) -> None:
    uuid = field.json("new", "--site", str(ready), "--checklist", "coal-and-boilers")["id"]
    folder = tmp_path / "camera"
    folder.mkdir()
    for seed in range(12):
        camera_photo(folder / f"IMG_{seed:04d}.jpg", 500 + seed, size=(4000, 3000))
    importing = field.spawn("photo", uuid, "CB-18", str(folder))
    time.sleep(1.0)
    importing.send_signal(signal.SIGKILL)
    importing.wait(timeout=10)
    shown = field.json("show", uuid)  # the store opens cleanly
    attached = next(item for item in shown["items"] if item["item"] == "CB-18")["photos"]
    for sha in attached:  # whatever was recorded is whole on disk
        assert sha256_file(field.home / "photos" / sha[:2] / f"{sha}.jpg") == sha
    assert not list((field.home / "photos").glob("**/.import-*"))
    # Finish the inspection and sync: everything recorded arrives.
    for item, value in NO_BOILER_ANSWERS:
        field.run("answer", uuid, item, value)
    field.run(
        "answer",
        uuid,
        "CB-18",
        "non_compliant",
        "--photo",
        str(camera_photo(tmp_path / "late.jpg", 999)),
    )
    field.run("finish", uuid)
    server_process.start()
    field.run("sync")
    assert_server_has(server_process, field, [uuid])


@pytest.mark.parametrize("kind", ["text", "truncated", "bomb", "missing"])
# One engine is enough: the server is stopped once `ready` has pulled, and what is asserted
# (the field client refuses a bad file and its local store stays as it was) happens offline,
# where the server's database plays no part. The pull itself runs on both engines in every
# other test of this module. Saves four PostgreSQL runs, each a server start and a pull.
@pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True, scope="session")
def test_bad_photos_are_refused_and_nothing_is_added(ready, field, tmp_path, kind) -> None:
    from PIL import Image

    uuid = field.json("new", "--site", str(ready), "--checklist", "coal-and-boilers")["id"]
    path = tmp_path / f"{kind}.jpg"
    if kind == "text":
        path.write_text("这不是照片 / this is not a photo\n" * 20, encoding="utf-8")
    elif kind == "truncated":
        whole = camera_photo(tmp_path / "whole.jpg", 7).read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif kind == "bomb":
        Image.new("L", (20_000, 20_000)).save(path.with_suffix(".png"))
        path = path.with_suffix(".png")
    before = field.json("show", uuid)
    photos_before = sorted(p.name for p in (field.home / "photos").glob("**/*"))
    result = field.run("photo", uuid, "CB-18", str(path), expect=None)
    assert result.returncode == 1
    assert "错误 / error" in result.stderr and len(result.stderr.strip()) > 20
    assert field.json("show", uuid) == before
    assert sorted(p.name for p in (field.home / "photos").glob("**/*")) == photos_before
    answered = field.run(
        "answer", uuid, "CB-18", "non_compliant", "--photo", str(path), expect=None
    )
    assert answered.returncode == 1
    assert field.json("show", uuid) == before


def test_finish_refuses_until_complete(ready, field, tmp_path) -> None:
    uuid = field.json("new", "--site", str(ready), "--checklist", "coal-and-boilers")["id"]
    field.run("answer", uuid, "CB-09", "yes")
    field.run("answer", uuid, "CB-10", "12")  # fails in Shuozhou: needs a photo
    refused = field.run("finish", uuid, expect=1)
    assert "CB-10" in refused.stderr and "photo evidence" in refused.stderr
    assert "CB-01" in refused.stderr and "not answered" in refused.stderr
    assert field.json("show", uuid)["state"] == "draft"


def test_returned_inspection_is_revised_and_resent(
    ready, server_process, field, tmp_path, client, headers
) -> None:
    uuid = boiler_inspection(field, ready, tmp_path, 1)
    server_process.start()
    field.run("sync")
    response = client.post(
        f"/api/v1/inspections/{uuid}/review",
        json={"decision": "return", "comment": "CB-18 请注明标准条款"},
        headers=headers["supervisor"],
    )
    assert response.status_code == 200
    report = field.json("sync")
    assert report["returned"] == [uuid]
    shown = field.json("show", uuid)
    assert shown["state"] == "returned" and "标准条款" in shown["review_comment"]
    field.run("answer", uuid, "CB-18", "non_compliant", "--note", "超过DB14/1929-2019限值")
    field.run("finish", uuid)
    report = field.json("sync")
    assert report["synced"] == [uuid]
    record = client.get(f"/api/v1/inspections/{uuid}", headers=headers["supervisor"]).get_json()
    assert record["revision"] == 2 and record["status"] == "submitted"
    note = next(a["note"] for a in record["answers"] if a["item"] == "CB-18")
    assert "DB14" in note
    assert server_counts()[1] == 2


def test_login_stores_a_token_not_the_password(ready, server_process, field) -> None:
    saved = field.home / "credentials.json"
    assert saved.stat().st_mode & 0o777 == 0o600
    text = saved.read_text(encoding="utf-8")
    assert PASSWORD not in text and json.loads(text)["token"]
    server_process.start()
    wrong = field.run(
        "login",
        "--server",
        server_process.url,
        "--user",
        "insp",
        "--password",
        "wrong-password",
        expect=1,
    )
    assert "wrong username or password" in wrong.stderr
