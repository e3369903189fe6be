"""A new inspection stored with plain inserts: the ingest hot path (issue 18).

The first revision of an inspection creates rows only — the inspection, its revision, one
answer per item, the answers' photo links and a finding per non-compliant item — so the
ORM's unit of work (identity map, attribute history, cascades, dependency sort) buys
nothing here and cost most of a PUT (bench/profile_notes.md). These are written with one
Core INSERT per table, the answers and links each as one executemany (one multi-row
INSERT … RETURNING on both engines), in the caller's transaction.

What the audit entry records of each row is built from the values inserted, through the
same `Kind` snapshots `audit verify` recomputes from the stored rows, and the revision's
canonical body text (already made for its hash) is spliced into the entry instead of
being encoded again. The response is answered from a transient `Inspection` holding the
values in hand, so nothing is read back after the commit.

Revisions of a returned inspection (rare: a supervisor returned it) keep the ORM path in
`inspections._store_revision`, which also moves and withdraws existing findings.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm.attributes import set_committed_value

import checklists as rules
from server.extensions import db
from server.models import (
    Answer,
    AnswerPhoto,
    Finding,
    FindingStatus,
    Inspection,
    InspectionRevision,
    InspectionStatus,
    Site,
    User,
    utcnow,
)
from server.services import audit

_INSPECTIONS = Inspection.__table__
_REVISIONS = InspectionRevision.__table__
_ANSWERS = Answer.__table__
_ANSWER_PHOTOS = AnswerPhoto.__table__
_FINDINGS = Finding.__table__

# Built once: the statements are the same for every inspection (their compiled forms are
# cached by SQLAlchemy under these objects). The multi-row inserts return each new id with a
# column that says which row it is (the answer's position, the finding's answer), instead of
# asking for the ids in parameter order: SQLAlchemy can keep that order on SQLite only by
# sending one INSERT per row (30 statements for 30 answers), while an unordered RETURNING is
# one multi-row INSERT on both engines.
_INSERT_INSPECTION = insert(_INSPECTIONS)
_INSERT_REVISION = insert(_REVISIONS).returning(_REVISIONS.c.id)
_INSERT_ANSWERS = insert(_ANSWERS).returning(_ANSWERS.c.id, _ANSWERS.c.position)
_INSERT_ANSWER_PHOTOS = insert(_ANSWER_PHOTOS)
_INSERT_FINDINGS = insert(_FINDINGS).returning(_FINDINGS.c.id, _FINDINGS.c.answer_id)


class Row:
    """Column values as attributes: what a `Kind` snapshot reads from an ORM row."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


@dataclass(slots=True)
class StoredAnswer:
    """An answer as stored, for the response (AnswerOut and the evidence checks)."""

    id: int
    item_code: str
    value: Any
    note: str
    verdict: str
    photos: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StoredFinding:
    """A finding as stored, for the response (FindingBrief)."""

    id: int
    item_code: str
    severity: str
    status: str
    days_to_rectify: int
    created_at: datetime


@dataclass(slots=True)
class StoredRevision:
    """The revision's number and body, for `Inspection.record` in the response."""

    number: int
    body: dict[str, Any]


def insert_first_revision(
    user: User,
    inspection_id: uuid_module.UUID,
    body: dict[str, Any],
    body_text: str,
    digest: str,
    raw: dict[str, Any],
    site: Site,
    checklist: rules.Checklist,
    verdicts: dict[str, rules.Verdict],
    scope: dict[str, Any],
    device_clock: datetime | None,
) -> Inspection:
    """Insert a new inspection's rows and queue its audit entry; returns it for the answer.

    `body_text` is the canonical JSON of `body` whose SHA-256 is `digest`. Raises
    IntegrityError from the first insert when the id is stored already (the caller answers
    that as a resend). Nothing is committed here.
    """
    connection = db.session.connection()
    now = utcnow()
    location = raw.get("location") or {}
    inspection_values: dict[str, Any] = {
        "uuid": inspection_id,
        "site_id": site.id,
        "checklist_id": checklist.id,
        "checklist_version": checklist.version,
        "inspector_id": user.id,
        "status": InspectionStatus.SUBMITTED.value,
        "revision": 1,
        "started_at": raw["started_at"],
        "finished_at": raw["finished_at"],
        "device_time": raw["device_time"],
        "received_at": now,
        "updated_at": now,
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "accuracy_m": location.get("accuracy_m"),
        # How far the device's clock was from ours as this revision arrived (None: not sent).
        "clock_skew_s": None
        if device_clock is None
        else round((now - device_clock).total_seconds(), 1),
        "scope": scope,
        "review_seq": None,
    }
    connection.execute(_INSERT_INSPECTION, inspection_values)
    revision_values = {
        "inspection_uuid": inspection_id,
        "number": 1,
        "body": body,
        "body_hash": digest,
        "submitted_by": user.id,
        "received_at": now,
    }
    revision_values["id"] = connection.execute(_INSERT_REVISION, revision_values).scalar_one()

    answer_values: list[dict[str, Any]] = []
    answer_photos: list[list[str]] = []
    for position, answer in enumerate(body["answers"]):
        answer_values.append(
            {
                "inspection_uuid": inspection_id,
                "revision_number": 1,
                "position": position,
                "item_code": answer["item"],
                "value": answer["value"],
                "note": answer["note"],
                "verdict": verdicts[answer["item"]].value,
            }
        )
        answer_photos.append(list(dict.fromkeys(answer["photos"])))
    by_position = {
        position: answer_id
        for answer_id, position in connection.execute(_INSERT_ANSWERS, answer_values)
    }
    answer_ids = [by_position[position] for position in range(len(answer_values))]
    links = [
        {"answer_id": answer_id, "photo_sha256": sha, "position": index}
        for answer_id, photos in zip(answer_ids, answer_photos, strict=True)
        for index, sha in enumerate(photos)
    ]
    if links:
        connection.execute(_INSERT_ANSWER_PHOTOS, links)

    enterprise = site.enterprise
    finding_values: list[dict[str, Any]] = []
    for answer_id, values in zip(answer_ids, answer_values, strict=True):
        values["id"] = answer_id
        if values["verdict"] != rules.Verdict.NON_COMPLIANT.value:
            continue
        item = checklist.item(values["item_code"])
        assert item is not None
        finding_values.append(
            {
                "inspection_uuid": inspection_id,
                "answer_id": answer_id,
                "item_code": values["item_code"],
                "checklist_id": checklist.id,
                "severity": item.severity.value,
                "days_to_rectify": item.days_to_rectify,
                "status": FindingStatus.OPEN.value,
                "enterprise_id": enterprise.id,
                "site_id": site.id,
                "city": enterprise.city,
                "district": enterprise.district,
                "notice_id": None,
                "due_date": None,
                "closed_at": None,
                "closed_by": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    if finding_values:
        by_answer = {
            answer_id: finding_id
            for finding_id, answer_id in connection.execute(_INSERT_FINDINGS, finding_values)
        }
        for values in finding_values:
            values["id"] = by_answer[values["answer_id"]]

    _queue_audit(
        user,
        inspection_values,
        revision_values,
        body_text,
        answer_values,
        answer_photos,
        finding_values,
    )
    return _answered(
        inspection_values, revision_values, site, answer_values, answer_photos, finding_values
    )


def _queue_audit(
    user: User,
    inspection_values: dict[str, Any],
    revision_values: dict[str, Any],
    body_text: str,
    answer_values: list[dict[str, Any]],
    answer_photos: list[list[str]],
    finding_values: list[dict[str, Any]],
) -> None:
    """The `inspection.submitted` entry: every row created, as `record_revision` records it."""
    kinds = audit.KINDS
    records: dict[str, list[dict[str, Any]]] = {
        "inspection": [kinds["inspection"].snapshot(Row(inspection_values))],
        "revision": [kinds["revision"].snapshot(Row(revision_values))],
        "answer": [
            kinds["answer"].snapshot(Row({**values, "photos": photos}))
            for values, photos in zip(answer_values, answer_photos, strict=True)
        ],
    }
    if finding_values:
        records["finding"] = [kinds["finding"].snapshot(Row(v)) for v in finding_values]
    audit.record_created(
        user,
        "inspection.submitted",
        ("inspection", str(inspection_values["uuid"])),
        records,
        spliced={("revision", 0, "body"): body_text},
    )


def _answered(
    inspection_values: dict[str, Any],
    revision_values: dict[str, Any],
    site: Site,
    answer_values: list[dict[str, Any]],
    answer_photos: list[list[str]],
    finding_values: list[dict[str, Any]],
) -> Inspection:
    """A transient inspection holding what was stored, for the response; never added to
    the session (it would be inserted a second time)."""
    columns = {
        key: value
        for key, value in inspection_values.items()
        if key not in ("updated_at", "review_seq")
    }
    inspection = Inspection(**columns)
    set_committed_value(inspection, "site", site)
    set_committed_value(inspection, "reviews", [])
    set_committed_value(
        inspection,
        "revisions",
        [StoredRevision(revision_values["number"], revision_values["body"])],
    )
    set_committed_value(
        inspection,
        "answers",
        [
            StoredAnswer(
                values["id"],
                values["item_code"],
                values["value"],
                values["note"],
                values["verdict"],
                photos,
            )
            for values, photos in zip(answer_values, answer_photos, strict=True)
        ],
    )
    set_committed_value(
        inspection,
        "findings",
        [
            StoredFinding(
                values["id"],
                values["item_code"],
                values["severity"],
                values["status"],
                values["days_to_rectify"],
                values["created_at"],
            )
            for values in finding_values
        ],
    )
    return inspection
