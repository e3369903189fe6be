"""The local inspection's lifecycle: Store transition methods, and nothing else, write its
state; each move happens only from its source states. And the client branches on the
server's machine codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

import checklists as rules
from field_client.api import SyncApi
from field_client.errors import FieldError, NotLoggedIn, ServerRefused
from field_client.store import MOVES, LocalState, Store
from tests.field_client.test_capture_cli import SITE

FIELD_CLIENT = Path(__file__).resolve().parents[2] / "field_client"


def test_only_the_store_writes_an_inspections_state() -> None:
    """Outside store.py no SQL statement inserts into or updates the inspections table."""
    writes = re.compile(r"(UPDATE\s+inspections|INSERT\s+INTO\s+inspections)", re.IGNORECASE)
    offenders = [
        path.name
        for path in sorted(FIELD_CLIENT.glob("*.py"))
        if path.name != "store.py" and writes.search(path.read_text())
    ]
    assert offenders == []


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path)
    checklist = rules.load_all()["coal-and-boilers"]
    store.save_checklist({**checklist.content, "version": checklist.version}, '"etag"')
    store.save_sites([SITE], "1")
    return store


def _state(store: Store, uuid: str) -> str:
    return store.inspection(uuid)["state"]


def test_each_move_happens_only_from_its_sources(store: Store) -> None:
    checklist = store.checklist("coal-and-boilers")
    store.start_draft("a", SITE["id"], checklist, (None, None, None))
    assert _state(store, "a") == LocalState.DRAFT
    with pytest.raises(FieldError):
        store.begin_upload("a")  # a draft is not in the outbox
    with pytest.raises(FieldError):
        store.mark_synced("a", "etag")
    assert _state(store, "a") == LocalState.DRAFT

    store.queue("a", (39.3, 112.4, 5.0))
    assert _state(store, "a") == LocalState.QUEUED
    with pytest.raises(FieldError):
        store.queue("a", (None, None, None))  # frozen: queued once
    with pytest.raises(FieldError):
        store.mark_synced("a", "etag")  # not confirmed before it was sent
    with store.transaction() as db:
        assert not store.mark_returned(db, "a", "etag", "")  # only a synced one comes back
    with pytest.raises(FieldError), store.transaction() as db:
        store.touch_editable(db, "a")  # an edit of a queued inspection is rolled back

    store.begin_upload("a")
    store.requeue("a", "服务器拒绝 / refused")
    assert store.inspection("a")["last_error"] == "服务器拒绝 / refused"
    store.begin_upload("a")
    store.mark_synced("a", "a-r1")
    row = store.inspection("a")
    assert row["state"] == LocalState.SYNCED and row["server_etag"] == "a-r1"

    with store.transaction() as db:
        assert store.mark_returned(db, "a", "a-r1", "补拍")
    row = store.inspection("a")
    assert row["state"] == LocalState.RETURNED and row["revising"] == "a-r1"
    store.queue("a", (39.3, 112.4, 5.0))  # a returned inspection is queued again, revised
    assert _state(store, "a") == LocalState.QUEUED


def test_the_transition_table_names_real_states() -> None:
    for sources, target in MOVES.values():
        assert target in LocalState and all(source in LocalState for source in sources)


def _api(handler) -> SyncApi:  # type: ignore[no-untyped-def]
    from field_client.api import RetryPolicy

    return SyncApi(
        "http://server",
        "token",
        policy=RetryPolicy(attempts=1, base=0, cap=0),
        transport=httpx.MockTransport(handler),
    )


def _error(status: int, code: str, message: str = "") -> httpx.Response:
    body = {"code": status, "status": "", "error": code, "message": message}
    return httpx.Response(
        status, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )


def test_401s_are_told_apart_by_their_code() -> None:
    api = _api(lambda request: _error(401, "auth.bad_credentials"))
    with pytest.raises(FieldError) as wrong:
        api.login("insp", "nope")
    assert not isinstance(wrong.value, NotLoggedIn) and "wrong username" in str(wrong.value)

    api = _api(lambda request: _error(401, "auth.token_expired"))
    with pytest.raises(NotLoggedIn):
        api.get_json("/api/v1/checklists")


def test_a_refusal_carries_its_code() -> None:
    api = _api(lambda request: _error(412, "inspection.stale_revision", "过时 / stale"))
    with pytest.raises(ServerRefused) as refused:
        api.put_inspection("id", {}, "id-r1")
    assert refused.value.code == "inspection.stale_revision"
    assert "inspection.stale_revision" in str(refused.value)


def test_a_tus_offset_conflict_resumes_where_the_server_stands() -> None:
    patches: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.headers["Upload-Offset"])
        patches.append(offset)
        if offset == 0:
            response = _error(409, "upload.offset_conflict")
            response.headers["Upload-Offset"] = "3"
            return response
        return httpx.Response(204, headers={"Upload-Offset": "5"})

    api = _api(handler)
    api._tus_send("http://server/api/v1/uploads/x", b"12345", 0)
    assert patches == [0, 3]

    other = _api(lambda request: _error(409, "upload.invalid"))
    with pytest.raises(ServerRefused):
        other._tus_send("http://server/api/v1/uploads/x", b"12345", 0)
