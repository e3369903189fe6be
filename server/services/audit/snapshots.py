"""What the audit log records of each audited row: one declared list of fields per table.

Recording and verifying build a row's snapshot through the same `Kind`, so what was hashed
and what is compared can never drift apart. Every column of every table is either a field
of some kind's snapshot or listed in `EXEMPT` with the reason it needs no audit; a test
walks the models and fails on a column that is neither, so a new column cannot be left out
silently.

The snapshot format is versioned (`FORMAT_VERSION`, the entry's "v"; entries written
before versioning have none and are format 1). Each field names the format that first
recorded it, so an old entry is compared on the fields it did record, and a database
audited before a field was added does not raise a false alarm.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Uuid, tuple_
from sqlalchemy.orm import selectinload

from server.models import (
    Alert,
    Answer,
    ChecklistVersion,
    Clue,
    Draw,
    Enterprise,
    Finding,
    FindingEvent,
    FindingResponse,
    Inspection,
    InspectionReview,
    InspectionRevision,
    InspectorConflict,
    Notice,
    Photo,
    ReductionList,
    Site,
    Task,
    TaskInspector,
    TaskSite,
    User,
    WebhookEndpoint,
)
from server.services.audit.hashing import canonical_json, day_text, sha256_hex, utc_text

# Format 1: the fields recorded before versioning. Format 2 added every time and place,
# the remaining finding columns, credentials, tokens, photos and checklist versions.
# Format 3 added the user's 执法证号 (badge_no) and an alert's request id; format 4 the
# user's email address (where notices and reminders are mailed).
FORMAT_VERSION = 4
FORMATS = (1, 2, 3, 4)


def _same(value: Any) -> Any:
    return value


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _content_hash(content: Any) -> str:
    """A checklist version's content is recorded by its hash: the log stays small, and any
    edit of the stored content changes it."""
    return sha256_hex(canonical_json(content))


@dataclass(frozen=True)
class Field:
    """One column as recorded: its name in the snapshot, its JSON form, since which format."""

    column: str
    key: str
    form: Callable[[Any], Any] = _same
    since: int = 1


@dataclass(frozen=True)
class Derived:
    """A snapshot value read from related rows (e.g. an answer's photos, in order).

    `carries` names the columns of other tables whose contents this value records.
    """

    key: str
    read: Callable[[Any], Any]
    carries: dict[str, tuple[str, ...]]
    since: int = 1


def field(column: str, key: str | None = None, form: Callable[[Any], Any] = _same) -> Field:
    """A field recorded since format 1, under its old snapshot name when it has one."""
    return Field(column, key or column, form, 1)


def added(column: str, form: Callable[[Any], Any] = _same, since: int = 2) -> Field:
    """A field recorded since format 2 (or the later format `since`), under its column's
    name."""
    return Field(column, column, form, since)


@dataclass(frozen=True)
class Kind:
    """An audited table: its model, its key, the fields and derived values of a snapshot."""

    model: type
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ("id",)
    derived: tuple[Derived, ...] = ()
    load: tuple[Any, ...] = ()

    @property
    def table(self) -> str:
        return self.model.__table__.name  # type: ignore[attr-defined, no-any-return]

    @property
    def numbered(self) -> bool:
        """Rows keyed by an increasing integer: rows made later have larger keys."""
        return self.key == ("id",)

    def ident(self, row: Any) -> Any:
        """The snapshot's "id": the key, as text for a UUID, joined by "@" when composite."""
        values = [getattr(row, column) for column in self.key]
        if len(values) > 1:
            return "@".join(str(value) for value in values)
        value = values[0]
        return str(value) if isinstance(value, uuid_module.UUID) else value

    def parse_key(self, text: str) -> tuple[Any, ...]:
        """The key column values named by a snapshot's "id"; ValueError when it names none."""
        parts = text.split("@") if len(self.key) > 1 else [text]
        if len(parts) != len(self.key):
            raise ValueError(f"not a {self.table} key: {text!r}")
        columns = self.model.__table__.columns  # type: ignore[attr-defined]
        values: list[Any] = []
        for name, part in zip(self.key, parts, strict=True):
            column_type = columns[name].type
            if isinstance(column_type, Uuid):
                values.append(uuid_module.UUID(part))
            elif isinstance(column_type, Integer):
                values.append(int(part))
            else:
                values.append(part)
        return tuple(values)

    def key_in(self, keys: list[tuple[Any, ...]]) -> ColumnElement[bool]:
        columns = [getattr(self.model, name) for name in self.key]
        if len(columns) == 1:
            return columns[0].in_([key[0] for key in keys])  # type: ignore[no-any-return]
        return tuple_(*columns).in_(keys)

    def snapshot(self, row: Any, version: int = FORMAT_VERSION) -> dict[str, Any]:
        """The row as the log records it in format `version` (older formats hold fewer fields)."""
        snapshot: dict[str, Any] = {"id": self.ident(row)}
        for item in self.fields:
            if item.since <= version:
                snapshot[item.key] = item.form(getattr(row, item.column))
        for value in self.derived:
            if value.since <= version:
                snapshot[value.key] = value.read(row)
        return snapshot

    def covers(self) -> dict[tuple[str, str], str]:
        """(table, column) -> the snapshot key that records it."""
        covered = {(self.table, column): "id" for column in self.key}
        covered.update({(self.table, item.column): item.key for item in self.fields})
        for value in self.derived:
            for table, columns in value.carries.items():
                covered.update({(table, column): value.key for column in columns})
        return covered


def _answer_photos(row: Answer) -> list[str]:
    return row.photos


def _response_photos(row: FindingResponse) -> list[str]:
    return row.photos


def _notice_findings(row: Notice) -> list[int]:
    return [finding.id for finding in row.findings]


KINDS: dict[str, Kind] = {
    "inspection": Kind(
        Inspection,
        (
            field("site_id"),
            field("checklist_id"),
            field("checklist_version"),
            field("inspector_id"),
            field("status"),
            field("revision"),
            field("clock_skew_s"),
            added("started_at", utc_text),
            added("finished_at", utc_text),
            added("device_time", utc_text),
            added("received_at", utc_text),
            added("lat"),
            added("lon"),
            added("accuracy_m"),
            # The law it was judged under: city, day and governing plans (what it cites).
            added("scope"),
        ),
        key=("uuid",),
    ),
    "revision": Kind(
        InspectionRevision,
        (
            field("inspection_uuid", "inspection", _text),
            field("number"),
            field("body"),
            field("body_hash"),
            field("submitted_by"),
            added("received_at", utc_text),
        ),
    ),
    "answer": Kind(
        Answer,
        (
            field("inspection_uuid", "inspection", _text),
            field("revision_number", "revision"),
            field("position"),
            field("item_code", "item"),
            field("value"),
            field("note"),
            field("verdict"),
        ),
        derived=(
            Derived("photos", _answer_photos, {"answer_photos": ("answer_id", "photo_sha256")}),
        ),
        load=(selectinload(Answer.evidence),),
    ),
    "finding": Kind(
        Finding,
        (
            field("inspection_uuid", "inspection", _text),
            field("answer_id"),
            field("item_code", "item"),
            field("checklist_id"),
            field("severity"),
            field("status"),
            field("enterprise_id"),
            field("site_id"),
            field("notice_id"),
            field("due_date", form=day_text),
            field("closed_at", form=utc_text),
            field("closed_by"),
            added("days_to_rectify"),
            added("city"),
            added("district"),
            added("created_at", utc_text),
        ),
    ),
    "event": Kind(
        FindingEvent,
        (
            field("finding_id"),
            field("from_status", "from"),
            field("to_status", "to"),
            field("actor_id"),
            field("reason"),
            added("created_at", utc_text),
        ),
    ),
    "response": Kind(
        FindingResponse,
        (
            field("finding_id"),
            field("user_id"),
            field("text"),
            added("created_at", utc_text),
        ),
        derived=(
            Derived(
                "photos", _response_photos, {"response_photos": ("response_id", "photo_sha256")}
            ),
        ),
        load=(selectinload(FindingResponse.evidence),),
    ),
    "review": Kind(
        InspectionReview,
        (
            field("inspection_uuid", "inspection", _text),
            field("revision_number", "revision"),
            field("decision"),
            field("comment"),
            field("reviewer_id"),
            added("created_at", utc_text),
        ),
    ),
    "notice": Kind(
        Notice,
        (
            field("number"),
            field("city"),
            field("year"),
            field("seq"),
            field("enterprise_id"),
            field("issued_by"),
            field("issued_at", form=utc_text),
            field("deadline", form=day_text),
            added("portal_token"),
        ),
        derived=(Derived("findings", _notice_findings, {"findings": ("notice_id",)}),),
        load=(selectinload(Notice.findings),),
    ),
    "user": Kind(
        User,
        (
            field("username"),
            field("display_name"),
            field("role"),
            field("enterprise_id"),
            field("city"),
            field("active"),
            added("password_hash"),
            added("created_at", utc_text),
            added("badge_no", since=3),
            added("email", since=4),
        ),
    ),
    "enterprise": Kind(
        Enterprise,
        (
            field("credit_code"),
            field("name"),
            field("city"),
            field("district"),
            field("industry"),
            field("contact_name"),
            field("contact_phone"),
            added("created_at", utc_text),
            added("city_code"),
        ),
    ),
    "site": Kind(
        Site,
        (
            field("code"),
            field("enterprise_id"),
            field("name"),
            field("kind"),
            field("address"),
            field("lat"),
            field("lon"),
            field("radius_m"),
            field("active"),
            added("qr_token"),
            # Which city's plans govern the site: what its inspections are judged under.
            added("city_code"),
            added("district_code"),
        ),
    ),
    "photo": Kind(
        Photo,
        (
            added("size"),
            added("content_type"),
            added("width"),
            added("height"),
            added("taken_at", utc_text),
            added("lat"),
            added("lon"),
            added("uploaded_by"),
            added("received_at", utc_text),
        ),
        key=("sha256",),
    ),
    "checklist": Kind(
        ChecklistVersion,
        (
            added("checklist_id"),
            added("version"),
            added("title_zh"),
            added("title_en"),
            Field("content", "content_sha256", _content_hash, 2),
            added("current"),
            added("loaded_at", utc_text),
        ),
        key=("checklist_id", "version"),
    ),
}
KINDS["alert"] = Kind(
    Alert,
    (
        added("level"),
        added("city_codes"),
        added("starts_at", utc_text),
        added("ends_at", utc_text),
        added("declared_by"),
        added("reason"),
        added("created_at", utc_text),
        added("request_id", _text, since=3),
    ),
)
KINDS["reduction_list"] = Kind(
    ReductionList,
    (
        added("performance_grade"),
        added("lines"),
        added("updated_by"),
        added("version"),
    ),
    key=("enterprise_id",),
)
KINDS["webhook_endpoint"] = Kind(
    WebhookEndpoint,
    (
        added("url"),
        added("events"),
        added("description"),
        added("active"),
        added("created_by"),
        added("created_at", utc_text),
    ),
)
KINDS["task"] = Kind(
    Task,
    (
        added("reason"),
        added("status"),
        added("checklist_id"),
        added("city"),
        added("due_on", day_text),
        added("note"),
        added("source_ref"),
        added("open_key"),
        added("finding_id"),
        added("compare_inspection_uuid", _text),
        added("version"),
        added("created_by"),
        added("created_at", utc_text),
        added("fulfilled_at", utc_text),
        added("cancelled_at", utc_text),
        added("cancelled_by"),
        added("cancel_reason"),
    ),
)
KINDS["task_site"] = Kind(
    TaskSite,
    (added("position"), added("inspection_uuid", _text)),
    key=("task_id", "site_id"),
)
KINDS["task_inspector"] = Kind(
    TaskInspector,
    (added("position"), added("active")),
    key=("task_id", "user_id"),
)
KINDS["clue"] = Kind(
    Clue,
    (
        added("kind"),
        added("status"),
        added("lat"),
        added("lon"),
        added("description"),
        added("external_ref"),
        added("city"),
        added("received_at", utc_text),
        added("respond_by", utc_text),
        added("matches"),
        added("radius_m"),
        added("reported_by"),
        added("created_at", utc_text),
        added("responded_at", utc_text),
        added("responded_by"),
        added("dismiss_reason"),
        added("task_id"),
    ),
)


def _text_hash(value: Any) -> str | None:
    """Long or secret text recorded by its SHA-256: a draw's candidate list (kept small in
    the log) and its secret (which must not be readable in the log before it is issued)."""
    return None if value is None else sha256_hex(str(value))


KINDS["draw"] = Kind(
    Draw,
    (
        added("status"),
        added("title"),
        added("city"),
        added("criteria"),
        added("sample_count"),
        added("sample_percent"),
        added("checklist_id"),
        added("due_date", day_text),
        Field("candidates", "candidates_sha256", _text_hash, 2),
        added("candidate_hash"),
        Field("secret", "secret_text_sha256", _text_hash, 2),
        added("secret_hash"),
        added("created_by"),
        added("created_at", utc_text),
        added("draw_value"),
        added("witness"),
        added("seed"),
        added("result"),
        added("drawn_by"),
        added("drawn_at", utc_text),
        added("issued_by"),
        added("issued_at", utc_text),
        added("task_ids"),
        added("abandoned_by"),
        added("abandoned_at", utc_text),
        added("abandon_reason"),
    ),
)
KINDS["inspector_conflict"] = Kind(
    InspectorConflict,
    (added("user_id"), added("enterprise_id"), added("reason"), added("declared_at", utc_text)),
)
KIND_OF_MODEL: dict[type, str] = {kind.model: name for name, kind in KINDS.items()}
# Kinds whose rows cite photos, under "photos" in their snapshot.
PHOTO_KINDS = ("answer", "response")

# The fields a registry save can change (what `enterprise.updated` lists as changed).
ENTERPRISE_FIELDS = tuple(item.column for item in KINDS["enterprise"].fields if item.since == 1)
SITE_FIELDS = tuple(item.column for item in KINDS["site"].fields if item.since == 1)

# Columns no snapshot records, each with why that is safe. A table named alone is exempt as
# a whole. Everything else a person relies on is in a snapshot above.
EXEMPT: dict[str, str] = {
    "audit_log": "the log itself: its entries are checked by the hash chain, not by snapshots",
    "change_counters": "counters handed out under a row lock: the audit counter is checked "
    "against the end of the chain; the others only number sync feeds and notices, and each "
    "number they gave is recorded where it was used (notices.seq)",
    "api_tokens": "bearer sessions: one row per login and logout, which are not audited "
    "changes; only the tokens' SHA-256 digests are stored, and revocations by an "
    "administrator are recorded as user.revoked",
    "photo_uploads": "who has sent a photo's bytes: an access rule (it lets that user cite and "
    "read the photo), not a fact of the evidence; the photo's own facts, its first uploader "
    "included, are recorded as photo.received",
    "uploads": "progress of resumable photo uploads; the photo an upload completes is "
    "recorded as photo.received with all its facts",
    "inspections.updated_at": "bookkeeping time of the last write; the entry's own time is "
    "the audited one",
    "inspections.review_seq": "the review feed's cursor: numbers the outcome for devices' "
    "sync, states no fact (the decision itself is in the review)",
    "findings.updated_at": "bookkeeping time of the last write; events and entries hold the "
    "audited times",
    "enterprises.updated_at": "bookkeeping time of the last write",
    "sites.updated_at": "bookkeeping time of the last write",
    "reduction_lists.updated_at": "bookkeeping time of the last write; the entry's own time is "
    "the audited one",
    "tasks.updated_at": "bookkeeping time of the last write; the entry's own time is the "
    "audited one",
    "clues.updated_at": "bookkeeping time of the last write; the entry's own time is the "
    "audited one",
    "sites.change_seq": "the sites feed's cursor: numbers a change for devices' sync, states "
    "no fact",
    "answer_photos.position": "only orders an answer's photos; the order itself is recorded "
    "in the answer's photos list",
    "response_photos.position": "only orders a response's photos; the order itself is "
    "recorded in the response's photos list",
    "outbox_events": "announcements of changes already recorded by their own entries "
    "(notice.issued, finding.answered…): delivery bookkeeping, states no new fact",
    "notifications": "mails sent about changes already recorded by their own entries; the "
    "table itself is the record of what was mailed, to whom and when",
    "webhook_deliveries": "delivery state of an announced event to an endpoint; the event's "
    "change and the endpoint's registration are audited",
    "webhook_attempts": "the log of each POST of a delivery (status code, error): "
    "operational, states no fact about inspections or people",
    "webhook_endpoints.secret": "the endpoint's signing key: recording it would publish it to "
    "everyone who may read the log",
}


def covered_columns() -> dict[tuple[str, str], tuple[str, str]]:
    """(table, column) -> (kind, snapshot key) for every column some snapshot records."""
    covered: dict[tuple[str, str], tuple[str, str]] = {}
    for name, kind in KINDS.items():
        for column, key in kind.covers().items():
            covered.setdefault(column, (name, key))
    return covered
