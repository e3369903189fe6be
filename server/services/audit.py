"""Tamper evidence: the append-only, hash-chained audit log, and its verification.

Services call one `record_*` function per state change, inside the transaction of the
change. The entry is built at once (the canonical JSON of every audited row the change
created or touched, with the SHA-256 of every photo cited) and appended when that
transaction commits, from a `before_commit` hook: a change that is rolled back leaves no
entry, and an entry never exists without its change.

Appends are serialised by the `audit` counter row, locked by `feeds.next_change_seq` until
commit; the entry reads its predecessor's hash only after taking that lock, so concurrent
writers on PostgreSQL cannot fork the chain. Taking the lock last, just before commit,
keeps it held briefly and always after any feed counter, so no two transactions can wait
on each other's counters.

`verify` walks the chain (each entry_hash recomputed, each prev_hash linked, seq gap-free
and matching the counter) and then the stored records: the last recorded state of every
audited row must equal the row now, and every photo cited must hash to its name.
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuid_module
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, selectinload

from server.extensions import db
from server.models import (
    GENESIS_HASH,
    Answer,
    AuditEntry,
    ChangeCounter,
    Enterprise,
    Finding,
    FindingEvent,
    FindingResponse,
    Inspection,
    InspectionReview,
    InspectionRevision,
    Notice,
    Photo,
    Site,
    User,
    utcnow,
)
from server.services.feeds import next_change_seq
from server.storage import PhotoStore

AUDIT_COUNTER = "audit"
CLI_ACTOR = "cli"
_PENDING = "lantian_audit_pending"


def canonical_json(value: Any) -> str:
    """The one text form that is hashed: sorted keys, no whitespace, UTF-8 kept readable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _time(value: datetime | None) -> str | None:
    """A fixed-width UTC form, so a stored time always hashes the same way."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


# --- What is recorded of each audited row -------------------------------------------------
# One function per kind turns a row into plain JSON; recording and verifying use the same
# function, so what was hashed and what is compared can never drift apart.


def _inspection(row: Inspection) -> dict[str, Any]:
    return {
        "id": str(row.uuid),
        "site_id": row.site_id,
        "checklist_id": row.checklist_id,
        "checklist_version": row.checklist_version,
        "inspector_id": row.inspector_id,
        "status": row.status,
        "revision": row.revision,
        "clock_skew_s": row.clock_skew_s,
    }


def _revision(row: InspectionRevision) -> dict[str, Any]:
    return {
        "id": row.id,
        "inspection": str(row.inspection_uuid),
        "number": row.number,
        "body": row.body,
        "body_hash": row.body_hash,
        "submitted_by": row.submitted_by,
    }


def _answer(row: Answer) -> dict[str, Any]:
    return {
        "id": row.id,
        "inspection": str(row.inspection_uuid),
        "revision": row.revision_number,
        "position": row.position,
        "item": row.item_code,
        "value": row.value,
        "note": row.note,
        "verdict": row.verdict,
        "photos": row.photos,
    }


def _finding(row: Finding) -> dict[str, Any]:
    return {
        "id": row.id,
        "inspection": str(row.inspection_uuid),
        "answer_id": row.answer_id,
        "item": row.item_code,
        "checklist_id": row.checklist_id,
        "severity": row.severity,
        "status": row.status,
        "enterprise_id": row.enterprise_id,
        "site_id": row.site_id,
        "notice_id": row.notice_id,
        "due_date": _day(row.due_date),
        "closed_at": _time(row.closed_at),
        "closed_by": row.closed_by,
    }


def _event(row: FindingEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "finding_id": row.finding_id,
        "from": row.from_status,
        "to": row.to_status,
        "actor_id": row.actor_id,
        "reason": row.reason,
    }


def _response(row: FindingResponse) -> dict[str, Any]:
    return {
        "id": row.id,
        "finding_id": row.finding_id,
        "user_id": row.user_id,
        "text": row.text,
        "photos": row.photos,
    }


def _review(row: InspectionReview) -> dict[str, Any]:
    return {
        "id": row.id,
        "inspection": str(row.inspection_uuid),
        "revision": row.revision_number,
        "decision": row.decision,
        "comment": row.comment,
        "reviewer_id": row.reviewer_id,
    }


def _notice(row: Notice) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "city": row.city,
        "year": row.year,
        "seq": row.seq,
        "enterprise_id": row.enterprise_id,
        "issued_by": row.issued_by,
        "issued_at": _time(row.issued_at),
        "deadline": _day(row.deadline),
        "findings": [finding.id for finding in row.findings],
    }


def _user(row: User) -> dict[str, Any]:
    return {
        "id": row.id,
        "username": row.username,
        "display_name": row.display_name,
        "role": row.role,
        "enterprise_id": row.enterprise_id,
        "city": row.city,
        "active": row.active,
    }


ENTERPRISE_FIELDS = (
    "credit_code",
    "name",
    "city",
    "district",
    "industry",
    "contact_name",
    "contact_phone",
)
SITE_FIELDS = (
    "code",
    "enterprise_id",
    "name",
    "kind",
    "address",
    "lat",
    "lon",
    "radius_m",
    "active",
)


def _enterprise(row: Enterprise) -> dict[str, Any]:
    return {"id": row.id, **{name: getattr(row, name) for name in ENTERPRISE_FIELDS}}


def _site(row: Site) -> dict[str, Any]:
    return {"id": row.id, **{name: getattr(row, name) for name in SITE_FIELDS}}


@dataclass(frozen=True)
class Kind:
    """An audited table: its model, its key column, how to snapshot a row of it."""

    model: type
    key: Any
    snapshot: Callable[[Any], dict[str, Any]]
    load: tuple[Any, ...] = ()

    def parse_key(self, value: str) -> Any:
        return uuid_module.UUID(value) if self.model is Inspection else int(value)


KINDS: dict[str, Kind] = {
    "inspection": Kind(Inspection, Inspection.uuid, _inspection),
    "revision": Kind(InspectionRevision, InspectionRevision.id, _revision),
    "answer": Kind(Answer, Answer.id, _answer, (selectinload(Answer.evidence),)),
    "finding": Kind(Finding, Finding.id, _finding),
    "event": Kind(FindingEvent, FindingEvent.id, _event),
    "response": Kind(
        FindingResponse, FindingResponse.id, _response, (selectinload(FindingResponse.evidence),)
    ),
    "review": Kind(InspectionReview, InspectionReview.id, _review),
    "notice": Kind(Notice, Notice.id, _notice, (selectinload(Notice.findings),)),
    "user": Kind(User, User.id, _user),
    "enterprise": Kind(Enterprise, Enterprise.id, _enterprise),
    "site": Kind(Site, Site.id, _site),
}
KIND_OF_MODEL = {kind.model: name for name, kind in KINDS.items()}
# Kinds whose rows cite photos, under "photos" in their snapshot.
PHOTO_KINDS = ("answer", "response")


# --- Recording ------------------------------------------------------------------------------


@dataclass
class _Pending:
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: str
    change: str


def _record(
    actor: User | None,
    action: str,
    subject: Any,
    touched: Callable[[], Iterable[Any]] = tuple,
    details: dict[str, Any] | None = None,
) -> None:
    """Queue an entry for the current transaction.

    The entry holds every audited row this transaction created since the last entry (still
    pending in the session) and the rows `touched` returns once they are flushed, each as
    its snapshot. Rows created here are listed under "created", which lets `verify` notice
    rows that appear later without an entry. `subject` is an audited row, or a
    (type, id) pair for a subject that is not one.
    """
    fresh = [row for row in db.session.new if type(row) in KIND_OF_MODEL]
    db.session.flush()
    rows: dict[str, dict[str, Any]] = defaultdict(dict)
    created: dict[str, list[Any]] = defaultdict(list)
    for row in fresh:
        kind = KIND_OF_MODEL[type(row)]
        snapshot = KINDS[kind].snapshot(row)
        rows[kind][str(snapshot["id"])] = snapshot
        created[kind].append(snapshot["id"])
    for row in touched():
        kind = KIND_OF_MODEL[type(row)]
        snapshot = KINDS[kind].snapshot(row)
        rows[kind][str(snapshot["id"])] = snapshot
    if isinstance(subject, tuple):
        subject_type, subject_id = subject
    else:
        subject_type = KIND_OF_MODEL[type(subject)]
        subject_id = KINDS[subject_type].snapshot(subject)["id"]
    photos = {
        sha
        for kind in PHOTO_KINDS
        for snap in rows.get(kind, {}).values()
        for sha in snap["photos"]
    }
    change: dict[str, Any] = {
        "records": {kind: list(snapshots.values()) for kind, snapshots in rows.items()},
        "created": dict(created),
        "photos": sorted(photos),
    }
    if details:
        change["details"] = details
    db.session.info.setdefault(_PENDING, []).append(
        _Pending(
            actor_id=actor.id if actor is not None else None,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            change=canonical_json(change),
        )
    )


def record_revision(user: User, inspection: Inspection) -> None:
    """An inspection submitted (revision 1) or revised: its body, answers and findings.

    Call before the revision is flushed, so that the findings it creates count as created
    here; findings it withdraws or moves to a new answer are recorded too.
    """
    action = "inspection.submitted" if inspection.revision == 1 else "inspection.revised"

    # A new inspection and every finding it has are created in this entry, unless something
    # flushed them before it (then they are no longer new, and are read back as touched).
    created_here = inspection in db.session.new

    def touched() -> list[Any]:
        if created_here:
            return []
        query = select(Finding).where(Finding.inspection_uuid == inspection.uuid)
        return [inspection, *db.session.scalars(query)]

    _record(user, action, inspection, touched)


def record_review(user: User, inspection: Inspection) -> None:
    """A supervisor approved or returned an inspection."""
    _record(user, "inspection.reviewed", inspection, lambda: [inspection])


def record_notice(user: User, notice: Notice) -> None:
    """A notice issued, with the findings it carries (now notified, with due dates)."""

    def touched() -> list[Any]:
        return [notice, *db.session.scalars(select(Finding).where(Finding.notice_id == notice.id))]

    _record(user, "notice.issued", notice, touched)


def record_finding(user: User, action: str, finding: Finding) -> None:
    """A finding answered by its enterprise (with the response) or verified by a supervisor."""
    _record(user, action, finding, lambda: [finding])


def record_user(action: str, user: User, actor: User | None = None, **details: Any) -> None:
    """A user added (call before the flush), or a user's tokens revoked (`details`: how many)."""
    _record(actor, action, user, lambda: [user], details)


def record_registry(row: Enterprise | Site, actor: User | None = None) -> None:
    """An enterprise or site created or changed; nothing when a save changed nothing.

    Call before the row is flushed: the changed fields are read from its unflushed history.
    """
    kind = KIND_OF_MODEL[type(row)]
    state = sa_inspect(row)
    fields = ENTERPRISE_FIELDS if kind == "enterprise" else SITE_FIELDS
    changed = [name for name in fields if state.attrs[name].history.has_changes()]
    created = state.pending or state.transient
    if not created and not changed:
        return
    action = f"{kind}.{'created' if created else 'updated'}"
    _record(actor, action, row, lambda: [row], None if created else {"changed": changed})


def record_import(digest: str, enterprises: int, sites: int) -> None:
    """A registry file imported: which file (by SHA-256) and how many rows it held."""
    details = {"enterprises": enterprises, "sites": sites}
    _record(None, "registry.imported", ("import", digest), details=details)


def entry_hash(entry: AuditEntry, change: str | None = None) -> str:
    """sha256(prev_hash + canonical JSON of the entry); `change` replaces the entry's own
    (what a forger would hash)."""
    content = {
        "seq": entry.seq,
        "at": _time(entry.at),
        "actor": CLI_ACTOR if entry.actor_id is None else entry.actor_id,
        "action": entry.action,
        "subject": {"type": entry.subject_type, "id": entry.subject_id},
        "change": json.loads(entry.change if change is None else change),
    }
    return sha256_hex(entry.prev_hash + canonical_json(content))


def _append_pending(session: Session) -> None:
    """Write the transaction's queued entries, under the audit counter's lock."""
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    prev_hash: str | None = None
    for item in pending:
        seq = next_change_seq(AUDIT_COUNTER)
        if prev_hash is None:
            # The latest entry below ours: normally seq - 1. Should entries have been
            # removed, the chain still goes on (verify reports the gap) rather than
            # refusing every change from then on.
            prev_hash = (
                session.scalar(
                    select(AuditEntry.entry_hash)
                    .where(AuditEntry.seq < seq)
                    .order_by(AuditEntry.seq.desc())
                    .limit(1)
                )
                or GENESIS_HASH
            )
        entry = AuditEntry(
            seq=seq,
            at=utcnow(),
            actor_id=item.actor_id,
            action=item.action,
            subject_type=item.subject_type,
            subject_id=item.subject_id,
            change=item.change,
            prev_hash=prev_hash,
        )
        entry.entry_hash = entry_hash(entry)
        session.add(entry)
        prev_hash = entry.entry_hash


def _forget_pending(session: Session, transaction: Any) -> None:
    """A transaction that ends without committing takes its queued entries with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


event.listen(db.session, "before_commit", _append_pending)
event.listen(db.session, "after_transaction_end", _forget_pending)


# --- Verifying ------------------------------------------------------------------------------


@dataclass
class Problem:
    """Something that does not match; `seq` is the entry it concerns (None: no entry).

    `stage` orders the report: the log's own integrity (0) before the records it vouches
    for (1), before rows the log knows nothing of (2). Once the chain is broken, record
    mismatches are consequences, not causes.
    """

    seq: int | None
    entry: str
    reason: str
    stage: int = 1


@dataclass
class Report:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    rows_checked: int = 0
    photos_checked: int = 0
    photos_pending: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _label(entry: AuditEntry) -> str:
    return f"#{entry.seq} {entry.action} {entry.subject_type}:{entry.subject_id}"


def _normal(value: Any) -> Any:
    """Plain JSON values, as they would read back from the log."""
    return json.loads(canonical_json(value))


def _short(value: Any) -> str:
    text = canonical_json(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _differences(recorded: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    keys = sorted(set(recorded) | set(actual))
    return [
        f"{key}: {_short(actual.get(key))} (log: {_short(recorded.get(key))})"
        for key in keys
        if recorded.get(key) != actual.get(key)
    ]


def _chunks(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Walk:
    """State of one verification: the chain as read so far and what it says of the rows."""

    def __init__(self, store: PhotoStore, strict: bool) -> None:
        self.store = store
        self.strict = strict
        self.report = Report()
        # (kind, id) -> (seq, label, snapshot) of the last entry that recorded the row
        self.latest: dict[tuple[str, str], tuple[int, str, dict[str, Any]]] = {}
        self.created: dict[str, set[str]] = defaultdict(set)
        self.photos: dict[str, tuple[int, str]] = {}

    def problem(self, seq: int | None, entry: str, reason: str, stage: int = 1) -> None:
        self.report.problems.append(Problem(seq, entry, reason, stage))

    def _broken(self, seq: int | None, entry: str, reason: str) -> None:
        self.problem(seq, entry, reason, stage=0)

    def chain(self, anchors: dict[int, str]) -> None:
        expected_seq, expected_prev = 1, GENESIS_HASH
        query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500)
        for entry in db.session.scalars(query):
            label = _label(entry)
            self.report.entries += 1
            if entry.seq != expected_seq:
                self._broken(
                    entry.seq,
                    label,
                    f"序号不连续 / entries {expected_seq}–{entry.seq - 1} are missing",
                )
            if entry.prev_hash != expected_prev:
                self._broken(
                    entry.seq,
                    label,
                    "前一条哈希不符 / prev_hash does not match the entry before it",
                )
            try:
                change = json.loads(entry.change)
                canonical = canonical_json(change) == entry.change
            except ValueError:
                self._broken(entry.seq, label, "内容不是JSON / the change is not JSON")
                expected_seq, expected_prev = entry.seq + 1, entry.entry_hash
                continue
            if not canonical or entry_hash(entry) != entry.entry_hash:
                self._broken(
                    entry.seq,
                    label,
                    "条目哈希不符，条目被改动 / entry_hash does not match the entry's contents: "
                    "the entry was edited",
                )
            if entry.seq in anchors and anchors.pop(entry.seq) != entry.entry_hash:
                self._broken(
                    entry.seq, label, "与记下的哈希不符 / differs from the anchor hash given"
                )
            self._note(entry.seq, label, change)
            expected_seq, expected_prev = entry.seq + 1, entry.entry_hash
            self.report.head_seq, self.report.head_hash = entry.seq, entry.entry_hash
        for seq in anchors:
            reason = "日志中没有此条 / the anchored entry is not in the log"
            self._broken(seq, f"#{seq} (missing)", reason)
        counter = db.session.get(ChangeCounter, AUDIT_COUNTER)
        taken = counter.value if counter is not None else 0
        if taken != self.report.head_seq:
            self._broken(
                self.report.head_seq + 1,
                f"#{self.report.head_seq + 1} (missing)",
                f"日志末尾缺失 / the counter has issued {taken} entries but the log ends at "
                f"#{self.report.head_seq}: entries were removed from the end",
            )

    def _note(self, seq: int, label: str, change: Any) -> None:
        """Take in what an entry says; an entry of the wrong shape is itself a problem."""
        try:
            records = change.get("records") or {}
            created = change.get("created") or {}
            photos = change.get("photos") or []
            for kind, snapshots in records.items():
                for snapshot in snapshots:
                    key = str(snapshot["id"])
                    if kind in KINDS:
                        KINDS[kind].parse_key(key)
                    self.latest[(kind, key)] = (seq, label, snapshot)
                    if kind == "revision" and sha256_hex(
                        canonical_json(snapshot.get("body"))
                    ) != snapshot.get("body_hash"):
                        self.problem(seq, label, "修订内容与其哈希不符 / revision body ≠ its hash")
            for kind, ids in created.items():
                self.created[kind].update(str(value) for value in ids)
            for sha in photos:
                self.photos.setdefault(str(sha), (seq, label))
        except (AttributeError, KeyError, TypeError, ValueError):
            self._broken(
                seq, label, "条目格式不符 / the entry's change is not in the expected shape"
            )

    def rows(self) -> None:
        by_kind: dict[str, list[str]] = defaultdict(list)
        for kind, key in self.latest:
            by_kind[kind].append(key)
        for kind, keys in by_kind.items():
            spec = KINDS.get(kind)
            if spec is None:
                continue
            found: dict[str, Any] = {}
            for chunk in _chunks(keys):
                query = select(spec.model).where(spec.key.in_([spec.parse_key(k) for k in chunk]))
                for row in db.session.scalars(query.options(*spec.load)):
                    snapshot = spec.snapshot(row)
                    found[str(snapshot["id"])] = snapshot
            for key in keys:
                seq, label, recorded = self.latest[(kind, key)]
                self.report.rows_checked += 1
                if key not in found:
                    self.problem(seq, label, f"{kind} {key} 已不在数据库中 / is missing")
                    continue
                differences = _differences(recorded, _normal(found[key]))
                if differences:
                    self.problem(
                        seq,
                        label,
                        f"{kind} {key} 与日志不符 / differs from the log: "
                        + "; ".join(differences),
                    )

    def stored_photos(self) -> None:
        for sha, (seq, label) in self.photos.items():
            try:
                present = self.store.exists(sha)
            except ValueError:
                self.problem(seq, label, f"照片名无效 / not a photo hash: {sha[:80]!r}")
                continue
            if not present:
                if db.session.get(Photo, sha) is not None:
                    self.problem(
                        seq, label, f"照片文件缺失 / photo {sha} is missing from the store"
                    )
                elif self.strict:
                    self.problem(seq, label, f"照片尚未上传 / photo {sha} was never uploaded")
                else:
                    self.report.photos_pending.append(sha)
                continue
            digest = hashlib.sha256(self.store.get(sha)).hexdigest()
            self.report.photos_checked += 1
            if digest != sha:
                self.problem(
                    seq,
                    label,
                    f"照片文件被替换 / photo {sha}: its bytes now hash to {digest}",
                )

    def coverage(self) -> None:
        """Rows created after the log began must each be in it: find any that is not."""
        recorded: dict[str, set[str]] = defaultdict(set)
        for kind, key in self.latest:
            recorded[kind].add(key)
        for kind, ids in self.created.items():
            spec = KINDS.get(kind)
            if spec is None or spec.model is Inspection:
                continue
            numeric = [int(value) for value in ids if value.isdigit()]
            if not numeric:
                continue
            first = min(numeric)
            for key in db.session.scalars(select(spec.key).where(spec.key >= first)):
                if str(key) not in recorded[kind]:
                    self.problem(
                        None,
                        f"{kind} {key}",
                        f"不在审计日志中 / {kind} {key} was created without an audit entry",
                        stage=2,
                    )


def verify(
    store: PhotoStore, strict: bool = False, anchors: dict[int, str] | None = None
) -> Report:
    """Check the chain and the records it vouches for; problems come sorted by entry.

    `strict` also fails photos cited but never uploaded (normally they are still on their
    way from a device and only listed). `anchors` are entry hashes written down earlier,
    which the log must still contain: a log rewritten from scratch cannot match them.
    """
    walk = _Walk(store, strict)
    walk.chain(dict(anchors or {}))
    walk.rows()
    walk.stored_photos()
    walk.coverage()
    walk.report.problems.sort(key=lambda p: (p.stage, p.seq or 0))
    return walk.report


def head() -> tuple[int, str]:
    """The last entry's seq and hash (0 and the genesis hash for an empty log)."""
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    return (entry.seq, entry.entry_hash) if entry is not None else (0, GENESIS_HASH)


def entries(last: int, subject: tuple[str, str] | None = None) -> list[AuditEntry]:
    """The most recent entries, oldest first, optionally of one subject."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(last)
    if subject is not None:
        query = query.where(
            AuditEntry.subject_type == subject[0], AuditEntry.subject_id == subject[1]
        )
    return list(reversed(db.session.scalars(query).all()))


def record_action(
    actor: User | None, action: str, subject: tuple[str, str], details: dict[str, Any]
) -> None:
    """A change to a row the chain does not snapshot (a declared alert, a reduction list):
    who did it, to what, and the content it left as `details`, hash-chained like the rest."""
    _record(actor, action, subject, details=details)
