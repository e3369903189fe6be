"""Recording: services call one `record_*` function per state change, inside its transaction.

The entry is built at once (the snapshot of every audited row the change created or
touched, with the SHA-256 of every photo cited) and appended when that transaction
commits, from a `before_commit` hook that `create_app` registers (`register_hooks`): a
change that is rolled back leaves no entry, and an entry never exists without its change.

Each entry goes to the chain of its subject (`chain_of`, `AUDIT_CHAINS` chains). Appends to
one chain are serialised by that chain's counter row (`audit`, `audit.1`, …), locked until
commit; the entry reads its predecessor's hash only after taking that lock, so concurrent
writers on PostgreSQL cannot fork a chain, and writers to different chains never wait for
each other. Taking the locks last, just before commit and in chain order, keeps them held
briefly and always after any feed counter, so no two transactions can wait on each other's
counters.
"""

from __future__ import annotations

import hashlib
import uuid as uuid_module
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, event, func, insert, select, text, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from server.extensions import db
from server.models import (
    GENESIS_HASH,
    AuditEntry,
    ChangeCounter,
    ChecklistVersion,
    Enterprise,
    Finding,
    Inspection,
    Notice,
    Photo,
    Site,
    User,
    utcnow,
)
from server.services.audit.hashing import canonical_json, entry_hash_of
from server.services.audit.snapshots import (
    ENTERPRISE_FIELDS,
    FORMAT_VERSION,
    KIND_OF_MODEL,
    KINDS,
    PHOTO_KINDS,
    SITE_FIELDS,
)
from server.services.feeds import next_change_seq

AUDIT_COUNTER = "audit"
CHECKPOINT_ACTION = "audit.checkpoint"
_PENDING = "lantian_audit_pending"
_INSERT_ENTRY = insert(AuditEntry.__table__)
_COUNTERS = ChangeCounter.__table__
_TAKE_LINKS = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + bindparam("count"))
    .returning(_COUNTERS.c.value)
)
_ENTRIES = AuditEntry.__table__
_HEAD_BELOW = (
    select(_ENTRIES.c.entry_hash)
    .where(_ENTRIES.c.chain == bindparam("chain"), _ENTRIES.c.link < bindparam("link"))
    .order_by(_ENTRIES.c.link.desc())
    .limit(1)
)
_NEXT_SEQ_PG = text("SELECT nextval('audit_log_seq')")
_NEXT_SEQ_SQLITE = select(func.coalesce(func.max(_ENTRIES.c.seq), 0) + 1)


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
    created: Iterable[Any] = (),
) -> None:
    """Queue an entry for the current transaction.

    The entry holds every audited row this transaction created since the last entry (still
    pending in the session, or named in `created` when something flushed it already) and
    the rows `touched` returns once they are flushed, each as its snapshot. Rows created
    here are listed under "created", which lets `verify` notice rows that appear later
    without an entry. `subject` is an audited row, or a (type, id) pair for a subject that
    is not one.
    """
    fresh = [row for row in db.session.new if type(row) in KIND_OF_MODEL]
    fresh += [row for row in created if row not in fresh]
    db.session.flush()
    rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    created_ids: dict[str, list[Any]] = defaultdict(list)
    for row in fresh:
        kind = KIND_OF_MODEL[type(row)]
        snapshot = KINDS[kind].snapshot(row)
        rows[kind][str(snapshot["id"])] = snapshot
        created_ids[kind].append(snapshot["id"])
    for row in touched():
        kind = KIND_OF_MODEL[type(row)]
        snapshot = KINDS[kind].snapshot(row)
        rows[kind][str(snapshot["id"])] = snapshot
    if isinstance(subject, tuple):
        subject_type, subject_id = subject
    else:
        subject_type = KIND_OF_MODEL[type(subject)]
        subject_id = KINDS[subject_type].ident(subject)
    photos = {
        sha
        for kind in PHOTO_KINDS
        for snap in rows.get(kind, {}).values()
        for sha in snap["photos"]
    }
    change: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "records": {kind: list(snapshots.values()) for kind, snapshots in rows.items()},
        "created": dict(created_ids),
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


def record_created(
    actor: User | None,
    action: str,
    subject: tuple[str, str],
    records: dict[str, list[dict[str, Any]]],
    spliced: dict[tuple[str, int, str], str] | None = None,
) -> None:
    """Queue an entry for rows inserted without the ORM (`inspection_rows`): `records` are
    their snapshots by kind, made with `KINDS[kind].snapshot`, and every one of them was
    created here.

    `spliced` maps (kind, index, key) to the canonical JSON text of that snapshot value,
    already made by the caller (a revision's body, for its hash): it goes into the entry as
    is instead of being encoded a second time. The text must be `canonical_json` of the
    value, which `verify` checks against the revision's body_hash.
    """
    marks: dict[str, str] = {}
    if spliced:
        records = {kind: list(snapshots) for kind, snapshots in records.items()}
        for (kind, index, key), text in spliced.items():
            mark = f"@@lantian-splice-{uuid_module.uuid4().hex}@@"
            records[kind][index] = {**records[kind][index], key: mark}
            marks[canonical_json(mark)] = text
    photos = {
        sha for kind in PHOTO_KINDS for snap in records.get(kind, ()) for sha in snap["photos"]
    }
    change: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "records": records,
        "created": {kind: [snap["id"] for snap in snaps] for kind, snaps in records.items()},
        "photos": sorted(photos),
    }
    text = canonical_json(change)
    for mark, value in marks.items():
        text = text.replace(mark, value, 1)
    db.session.info.setdefault(_PENDING, []).append(
        _Pending(
            actor_id=actor.id if actor is not None else None,
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            change=text,
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


def record_photo(user: User, photo: Photo) -> None:
    """A photo received, with every fact read from it (time, place, size); call before the
    flush. The same bytes uploaded again add no row and no entry."""
    _record(user, "photo.received", photo, lambda: [photo])


def record_checklist(
    current: ChecklistVersion, changed: Iterable[ChecklistVersion], created: bool
) -> None:
    """A checklist version stored (`created`) or made current again, with every version
    whose `current` flag this load changed. The rows may already be flushed."""
    changed = list(changed)
    _record(
        None,
        "checklist.loaded",
        ("checklist", current.checklist_id),
        lambda: [current, *changed],
        created=[current] if created else (),
    )


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


def chain_of(subject_type: str, subject_id: str, chains: int) -> int:
    """The chain an entry goes to: by its subject, so one subject's entries share a chain
    and any number of chains spreads concurrent writers evenly."""
    if chains <= 1:
        return 0
    digest = hashlib.sha256(f"{subject_type}:{subject_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % chains


def counter_name(chain: int) -> str:
    """The counter whose row lock orders a chain: `audit` (the first, as ever), `audit.N`."""
    return AUDIT_COUNTER if chain == 0 else f"{AUDIT_COUNTER}.{chain}"


def _chains() -> int:
    try:
        return int(current_app.config.get("AUDIT_CHAINS", 1))
    except RuntimeError:  # outside an app (never in the server): one chain
        return 1


def _append_pending(session: Session) -> None:
    """Write the transaction's queued entries, each under its chain's counter lock."""
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    # The transaction's own rows go first, so the counters' locks are held only for the
    # entries (commit would flush them after this hook, under the locks).
    session.flush()
    # Statements on the session's connection, in its transaction, as Core: the ORM's
    # execution layer cost more than the statements on an ingest (bench/profile_notes.md).
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    chains = _chains()
    placed = [(chain_of(item.subject_type, item.subject_id, chains), item) for item in pending]
    counts: dict[int, int] = {}
    for chain, _ in placed:
        counts[chain] = counts.get(chain, 0) + 1
    # Every lock this transaction needs first, in chain order, so two transactions
    # appending to the same two chains cannot wait for each other.
    heads: dict[int, str] = {}
    links: dict[int, int] = {}
    for chain in sorted(counts):
        name = counter_name(chain)
        last = connection.execute(_TAKE_LINKS, {"counter": name, "count": counts[chain]}).scalar()
        if last is None:  # the counter's first use: made (race-safe) by the feeds module
            last = next_change_seq(name) + counts[chain] - 1
            if counts[chain] > 1:
                connection.execute(_TAKE_LINKS, {"counter": name, "count": counts[chain] - 1})
        links[chain] = last - counts[chain] + 1
        # The chain's latest entry below ours: normally the link before. Should entries
        # have been removed, the chain still goes on (verify reports the gap) rather than
        # refusing every change from then on. Read only now, under the counter's lock.
        heads[chain] = (
            connection.execute(_HEAD_BELOW, {"chain": chain, "link": links[chain]}).scalar()
            or GENESIS_HASH
        )
    # Then the entries in the order they were recorded: a row recorded twice in one
    # transaction is read from the later entry.
    for chain, item in placed:
        link = links[chain]
        links[chain] += 1
        # The whole log's order, taken under every lock this transaction holds, so an
        # entry that had to wait for another's row (or chain) comes after it.
        if postgres:
            seq = connection.execute(_NEXT_SEQ_PG).scalar_one()
        else:  # SQLite: one writer at a time, so the next number is the largest + 1
            seq = connection.execute(_NEXT_SEQ_SQLITE).scalar_one()
        values: dict[str, Any] = {
            "seq": seq,
            "chain": chain,
            "link": link,
            "at": utcnow(),
            "actor_id": item.actor_id,
            "action": item.action,
            "subject_type": item.subject_type,
            "subject_id": item.subject_id,
            "change": item.change,
            "prev_hash": heads[chain],
        }
        # The change is canonical JSON already: spliced into the hashed text, not decoded
        # and encoded again (verify recomputes it the long way, `entry_hash`).
        values["entry_hash"] = entry_hash_of(values)
        connection.execute(_INSERT_ENTRY, values)
        heads[chain] = values["entry_hash"]


def _forget_pending(session: Session, transaction: Any) -> None:
    """A transaction that ends without committing takes its queued entries with it."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def register_hooks() -> None:
    """Append queued entries at commit: called by `create_app`, once however many apps."""
    for name, hook in (
        ("before_commit", _append_pending),
        ("after_transaction_end", _forget_pending),
    ):
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)


def record_checkpoint() -> None:
    """A checkpoint: the head (last link and its hash) of every chain as committed now,
    recorded as an entry of its own chain. `verify` holds each chain to every checkpoint,
    so anchoring a checkpoint's hash vouches for every chain up to the heads it names."""
    entries = AuditEntry.__table__
    last = (
        select(entries.c.chain, func.max(entries.c.link).label("link"))
        .group_by(entries.c.chain)
        .subquery()
    )
    rows = db.session.execute(
        select(entries.c.chain, entries.c.link, entries.c.entry_hash).join(
            last, (entries.c.chain == last.c.chain) & (entries.c.link == last.c.link)
        )
    )
    heads = {str(chain): [link, digest] for chain, link, digest in rows}
    _record(None, CHECKPOINT_ACTION, ("audit", "checkpoint"), details={"heads": heads})


def record_action(
    actor: User | None,
    action: str,
    subject: tuple[str, str],
    details: dict[str, Any],
    *,
    created: Iterable[Any] = (),
    touched: Iterable[Any] = (),
) -> None:
    """A change recorded with its content as `details` (a declared alert, a saved reduction
    list), the rows it `created` or `touched` snapshotted like every audited row."""
    rows = list(touched)
    _record(actor, action, subject, lambda: rows, details=details, created=created)
