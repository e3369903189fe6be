"""The field client after a failure in the middle of a sync: nothing stays stuck, and the
summary says what really went."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from server.extensions import db
from server.models import Upload
from server.storage import LocalPhotoStore
from tests.e2e.conftest import Field, ServerProcess
from tests.e2e.field_helpers import boiler_inspection, login, noise_photo
from tests.e2e.test_field_sync import assert_server_has, server_counts


class ServerThatNeverFinalisesLate(ServerProcess):
    """The real app as a server from before the fix: HEAD only reports the held bytes and
    an empty PATCH is refused, so a complete upload it failed to finalise stays so."""

    def command(self) -> list[str]:
        script = f"""
from werkzeug.serving import run_simple
from server import create_app
from server.services import uploads
from server.services.errors import BadRequest, ErrorCode

chunk_only = uploads.append_chunk

def refuse_empty(store, upload, at, chunk):
    if not chunk:
        raise BadRequest(ErrorCode.UPLOAD_INVALID, "empty chunk")
    return chunk_only(store, upload, at, chunk)

uploads.settle = lambda store, user, upload, max_bytes: uploads.offset(store, upload)
uploads.append_chunk = refuse_empty
run_simple("127.0.0.1", {self.port}, create_app(), threaded=True)
"""
        return [sys.executable, "-c", script]


@pytest.mark.parametrize("restarted", ["this-server", "older-server"])
def test_a_server_killed_between_last_chunk_and_finalising_does_not_block_sync(
    ready, server_process, field, tmp_path, restarted
) -> None:
    """The server dies after writing a photo's last tus chunk, before turning it into a
    photo: the upload then says every byte is held, and the next sync must still end with
    the photo stored. This server finalises when asked; with an older one that does not,
    the client starts that upload over."""
    uuid = boiler_inspection(field, ready, tmp_path, 1, make_photo=noise_photo)
    server_process.env["LANTIAN_TEST_EXIT_BEFORE_FINALISE"] = "1"
    server_process.start()
    failed = field.run("sync", expect=None)
    assert failed.returncode == 1 and "cannot reach" in failed.stdout + failed.stderr
    assert server_process.process is not None
    assert server_process.process.wait(timeout=30) == 70  # it died exactly there
    partials = list(
        (
            Path(
                server_process.env.get("LANTIAN_PHOTO_DIR")
                or Path(server_process.env["LANTIAN_DATA_DIR"]) / "photos"
            )
        ).glob(".partial/*")
    )
    # Up to three photos go at once: the one the server died finalising holds every byte,
    # the others what had arrived.
    assert partials and max(part.stat().st_size for part in partials) > 1024 * 1024
    assert server_counts() == (0, 0, 0)

    del server_process.env["LANTIAN_TEST_EXIT_BEFORE_FINALISE"]
    if restarted == "older-server":
        older = ServerThatNeverFinalisesLate(
            server_process.env["LANTIAN_DATABASE_URL"],
            Path(server_process.env["LANTIAN_DATA_DIR"]),
            tmp_path / "older-server.log",
        )
        older.port, older.url = server_process.port, server_process.url
        older.env["LANTIAN_PHOTO_DIR"] = server_process.env["LANTIAN_PHOTO_DIR"]
        server_process = older
    server_process.start()
    try:
        report = field.json("sync")
    finally:
        server_process.stop()
    assert report["synced"] == [uuid] and report["left"]["photos"] == 0
    assert_server_has(server_process, field, [uuid])
    if restarted == "this-server":
        store = LocalPhotoStore(
            Path(
                server_process.env.get("LANTIAN_PHOTO_DIR")
                or Path(server_process.env["LANTIAN_DATA_DIR"]) / "photos"
            )
        )
        # A photo whose creation the dead server never answered may be sent again as a new
        # upload (the client never learnt the first one's address): what is left of the first
        # is an unfinished upload, removed by the expiry sweep, never a second photo.
        db.session.expire_all()
        unfinished = {u.id for u in db.session.query(Upload) if u.completed_at is None}
        left = {part.name for part in store.root.glob(".partial/*")}
        assert left <= unfinished, (left, unfinished)


class ServerRefusingInspections(ServerProcess):
    """The real app, except that every inspection PUT answers 503: photos go, the
    inspections they belong to do not, so a sync stops after sending photos."""

    def command(self) -> list[str]:
        script = f"""
from werkzeug.serving import run_simple
from server import create_app

app = create_app()

def refusing(environ, start_response):
    if environ["REQUEST_METHOD"] == "PUT" and environ["PATH_INFO"].startswith(
        "/api/v1/inspections/"
    ):
        start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/json")])
        return [b'{{"code": 503, "message": "unavailable"}}']
    return app(environ, start_response)

run_simple("127.0.0.1", {self.port}, refusing, threaded=True)
"""
        return [sys.executable, "-c", script]


def test_sync_summary_counts_photos_sent_before_an_interruption(
    ready, server_process, field, tmp_path
) -> None:
    for seed in range(2):
        boiler_inspection(field, ready, tmp_path, seed)
    assert field.json("status")["outbox"]["photos"] == 6
    refusing = ServerRefusingInspections(
        server_process.env["LANTIAN_DATABASE_URL"],
        Path(server_process.env["LANTIAN_DATA_DIR"]),
        tmp_path / "refusing-server.log",
    )
    refusing.port, refusing.url = server_process.port, server_process.url
    refusing.start()
    try:
        report = field.json("sync", expect=1)
        text = field.run("sync", expect=1)
    finally:
        refusing.stop()
    assert report["synced"] == [] and report["error"]
    # Three uploads are in flight at once across the shift, so when the first inspection's
    # PUT is refused, some of the second inspection's photos may already be on their way
    # and get confirmed: at least the first inspection's three went, and every photo is
    # either counted as sent in this run or still in the outbox, never both or neither.
    assert report["photos_sent"] >= 3  # what left the outbox in this run
    assert report["photos_sent"] + report["left"]["photos"] == 6, report
    # The rerun stops at the same inspection: it sends nothing, and says so. Photos of the
    # second inspection that went in parallel before the stop are found on the server by the
    # batch question, not sent again: every photo is left or already there.
    assert "synced: 0 inspection(s), 0 photo(s)" in text.stdout
    left = re.search(r"left: 2 inspection\(s\), (\d+) photo\(s\)", text.stdout)
    there = re.search(r"already on the server: (\d+) photo\(s\)", text.stdout)
    assert left is not None, text.stdout
    assert int(left[1]) + (int(there[1]) if there else 0) == report["left"]["photos"], text.stdout


def test_sync_summary_names_photos_the_server_already_held(
    ready, server_process, field, tmp_path
) -> None:
    """Photos that leave the outbox without being sent (the server already held them) are
    reported as such, not silently dropped from the summary."""
    (tmp_path / "one").mkdir()
    boiler_inspection(field, ready, tmp_path / "one", 0)
    server_process.start()
    assert field.json("sync")["photos_sent"] == 3
    # A second device of the same inspector with the very same photos (same bytes, same hashes).
    other = Field(tmp_path / "other-home")
    login(other, server_process.url)
    other.run("pull")
    boiler_inspection(other, ready, tmp_path / "one", 0, make_photo=lambda path, _seed: path)
    report = other.json("sync")
    assert report["photos_sent"] == 0 and report["photos_already_there"] == 3
    assert len(report["synced"]) == 1
