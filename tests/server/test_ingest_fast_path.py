"""The ingest hot path (issue 18): a new inspection stored with plain inserts and answered
from what was in hand must be what the ORM path stored, audited exactly, and a resend must
still be recognised when the body would no longer validate."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import AuditEntry, Site
from server.services import audit
from tests.helpers import current_version, inspection_body, new_id

PHOTO = "ab" * 32
OTHER_PHOTO = "cd" * 32


@pytest.fixture
def coal_body(client: FlaskClient, headers, registry) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    version = current_version(client, headers["inspector"], "coal-and-boilers")
    site = registry["sites"]["SZ-boiler_house"]
    return inspection_body(
        site.id,
        "coal-and-boilers",
        version,
        [
            {"item": "CB-04", "value": "yes", "note": "", "photos": []},
            {"item": "CB-05", "value": 18.5, "note": "抽检灰分18.5%", "photos": [PHOTO, PHOTO]},
            {"item": "CB-06", "value": 0.6, "note": "", "photos": []},
            {"item": "CB-09", "value": "yes", "note": "", "photos": []},
            {"item": "CB-10", "value": 20, "note": "铭牌", "photos": [OTHER_PHOTO, PHOTO]},
        ],
    )


def put(client: FlaskClient, headers: dict[str, str], inspection_id: str, body: dict) -> Any:
    return client.put(f"/api/v1/inspections/{inspection_id}", json=body, headers=headers)


def test_the_answer_to_a_put_is_what_a_later_get_reads(client, headers, coal_body) -> None:  # type: ignore[no-untyped-def]
    """Answered from memory, read back from the database: the same document."""
    inspection_id = new_id()
    created = put(client, headers["inspector"], inspection_id, coal_body)
    assert created.status_code == 201, created.get_json()
    db.session.remove()
    read = client.get(f"/api/v1/inspections/{inspection_id}", headers=headers["inspector"])
    assert read.status_code == 200
    assert created.get_json() == read.get_json()
    assert created.headers["ETag"] == read.headers["ETag"]
    answers = created.get_json()["answers"]
    # Duplicate photo hashes in one answer are linked once, in first-cited order.
    assert answers[1]["photos"] == [PHOTO] and answers[4]["photos"] == [OTHER_PHOTO, PHOTO]
    assert [f["item"] for f in created.get_json()["findings"]] == ["CB-05", "CB-10"]


def test_the_entry_records_every_row_created_and_verifies(client, headers, coal_body) -> None:  # type: ignore[no-untyped-def]
    inspection_id = new_id()
    assert put(client, headers["inspector"], inspection_id, coal_body).status_code == 201
    entry = db.session.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
    assert entry is not None and entry.action == "inspection.submitted"
    assert entry.subject_id == inspection_id
    change = json.loads(entry.change)
    assert audit.canonical_json(change) == entry.change  # the spliced body left it canonical
    assert {kind: len(ids) for kind, ids in change["created"].items()} == {
        "inspection": 1,
        "revision": 1,
        "answer": 5,
        "finding": 2,
    }
    assert change["photos"] == sorted([PHOTO, OTHER_PHOTO])
    revision = change["records"]["revision"][0]
    assert audit.sha256_hex(audit.canonical_json(revision["body"])) == revision["body_hash"]
    assert audit.entry_hash(entry) == entry.entry_hash
    report = audit.verify(_store())
    assert report.ok, report.problems


def _store():  # type: ignore[no-untyped-def]
    from server.services.photos import current_store

    return current_store()


@pytest.mark.parametrize(
    ("actor_id", "action", "subject_id", "change"),
    [
        (None, "checklist.loaded", "coal", {"v": 2, "records": {}, "x": [1.5, 1e16, None]}),
        (7, "inspection.submitted", "u-1", {"note": '现场 "引号" \\ \n', "n": -0.0}),
        (12345, "a", "", {}),
    ],
)
def test_the_spliced_hash_is_the_hash_verify_recomputes(
    actor_id: int | None, action: str, subject_id: str, change: dict[str, Any]
) -> None:
    values = {
        "seq": 42,
        "at": datetime(2026, 11, 29, 7, 30, 1, 123456, tzinfo=UTC),
        "actor_id": actor_id,
        "action": action,
        "subject_type": "inspection",
        "subject_id": subject_id,
        "change": audit.canonical_json(change),
        "prev_hash": "f" * 64,
    }
    assert audit.entry_hash_of(values) == audit.entry_hash(AuditEntry(**values))


def test_a_resend_is_recognised_after_its_site_was_closed(client, headers, coal_body) -> None:  # type: ignore[no-untyped-def]
    """The first send no longer validates (the site is inactive now): a resend of it is
    still a harmless 200, and a different body still a 409, as when the id was read first."""
    inspection_id = new_id()
    assert put(client, headers["inspector"], inspection_id, coal_body).status_code == 201
    site = db.session.get(Site, coal_body["site_id"])
    assert site is not None
    site.active = False
    audit.record_registry(site)
    db.session.commit()
    assert put(client, headers["inspector"], inspection_id, coal_body).status_code == 200
    changed = copy.deepcopy(coal_body)
    changed["answers"][0]["note"] = "改了"
    assert put(client, headers["inspector"], inspection_id, changed).status_code == 409
    # A new id with that body is refused as it always was.
    assert put(client, headers["inspector"], new_id(), coal_body).status_code == 422
