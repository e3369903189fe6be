"""Verification: walk the hash chain, then compare the rows and photos it vouches for.

`verify` checks the chain (each entry_hash recomputed, each prev_hash linked, seq gap-free
and matching the counter) and then the stored records: the last recorded state of every
audited row must equal the row now, compared in the snapshot format that entry was written
in, and every photo cited must hash to its name.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import GENESIS_HASH, AuditEntry, ChangeCounter, Photo
from server.services.audit.hashing import canonical_json, entry_hash, sha256_hex
from server.services.audit.recording import AUDIT_COUNTER, CHECKPOINT_ACTION
from server.services.audit.snapshots import FORMATS, KINDS
from server.storage import PhotoStore


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
    # chain -> (its last link, that entry's hash)
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
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
        # (kind, id) -> (seq, label, snapshot, format) of the last entry that recorded the row
        self.latest: dict[tuple[str, str], tuple[int, str, dict[str, Any], int]] = {}
        self.created: dict[str, set[str]] = defaultdict(set)
        self.photos: dict[str, tuple[int, str]] = {}
        # (chain, link) -> entry hash, and the checkpoints met: (seq, label, details)
        self.linked: dict[tuple[int, int], str] = {}
        self.checkpoints: list[tuple[int, str, Any]] = []

    def problem(self, seq: int | None, entry: str, reason: str, stage: int = 1) -> None:
        self.report.problems.append(Problem(seq, entry, reason, stage))

    def _broken(self, seq: int | None, entry: str, reason: str) -> None:
        self.problem(seq, entry, reason, stage=0)

    def chain(self, anchors: dict[int, str]) -> None:
        """Walk the whole log in `seq` order, each entry checked against the one before it
        in its own chain: its link is the next number there, its prev_hash that entry's
        hash, its own hash recomputed. Then every chain's counter against its last link."""
        # chain -> (the link expected next, the hash it must link to)
        expected: dict[int, tuple[int, str]] = {}
        query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=500)
        for entry in db.session.scalars(query):
            label = _label(entry)
            self.report.entries += 1
            chain = entry.chain or 0
            want_link, want_prev = expected.get(chain, (1, GENESIS_HASH))
            where = "" if chain == 0 else f"chain {chain}: "
            if entry.link > want_link:
                self._broken(
                    entry.seq,
                    label,
                    f"序号不连续 / {where}entries {want_link}–{entry.link - 1} are missing",
                )
            elif entry.link < want_link:
                self._broken(
                    entry.seq,
                    label,
                    f"顺序错乱 / {where}entry {entry.link} comes after entry {want_link - 1}: "
                    "entries were reordered or repeated",
                )
            if entry.prev_hash != want_prev:
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
                expected[chain] = (max(entry.link, want_link) + 1, entry.entry_hash)
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
            if entry.action == CHECKPOINT_ACTION:
                self.checkpoints.append((entry.seq, label, change.get("details") or {}))
            self.linked[(chain, entry.link)] = entry.entry_hash
            expected[chain] = (max(entry.link, want_link) + 1, entry.entry_hash)
            self.report.heads[chain] = (entry.link, entry.entry_hash)
            self.report.head_seq, self.report.head_hash = entry.seq, entry.entry_hash
        for seq in anchors:
            reason = "日志中没有此条 / the anchored entry is not in the log"
            self._broken(seq, f"#{seq} (missing)", reason)
        counters = db.session.scalars(
            select(ChangeCounter).where(
                (ChangeCounter.name == AUDIT_COUNTER)
                | ChangeCounter.name.like(f"{AUDIT_COUNTER}.%")
            )
        )
        for counter in counters:
            chain = 0 if counter.name == AUDIT_COUNTER else int(counter.name.split(".", 1)[1])
            last = expected.get(chain, (1, GENESIS_HASH))[0] - 1
            if counter.value != last:
                where = "the log" if chain == 0 else f"chain {chain}"
                self._broken(
                    self.report.head_seq + 1,
                    f"#{self.report.head_seq + 1} (missing)",
                    f"日志末尾缺失 / the counter has issued {counter.value} entries but "
                    f"{where} ends at #{last}: entries were removed from the end",
                )
        self._checkpoints()

    def _checkpoints(self) -> None:
        """Each checkpoint's heads must be entries of the log as it is: a chain rewritten
        after a checkpoint (or one anchored through it) no longer matches it."""
        for seq, label, details in self.checkpoints:
            heads = details.get("heads") if isinstance(details, dict) else None
            if not isinstance(heads, dict):
                self._broken(seq, label, "检查点格式不符 / the checkpoint names no heads")
                continue
            for chain, head in heads.items():
                try:
                    link, digest = int(head[0]), str(head[1])
                    found = self.linked.get((int(chain), link))
                except (TypeError, ValueError, IndexError, KeyError):
                    self._broken(seq, label, "检查点格式不符 / a checkpoint head is malformed")
                    continue
                if found != digest:
                    self._broken(
                        seq,
                        label,
                        f"检查点不符 / chain {chain} entry {link} is not the one this checkpoint "
                        "bound: the chain was rewritten",
                    )

    def _note(self, seq: int, label: str, change: Any) -> None:
        """Take in what an entry says; an entry of the wrong shape is itself a problem."""
        try:
            # Entries written before the format was versioned have no "v": format 1.
            version = change.get("v", 1)
            if version not in FORMATS:
                raise ValueError(f"unknown snapshot format {version!r}")
            records = change.get("records") or {}
            created = change.get("created") or {}
            photos = change.get("photos") or []
            for kind, snapshots in records.items():
                for snapshot in snapshots:
                    key = str(snapshot["id"])
                    if kind in KINDS:
                        KINDS[kind].parse_key(key)
                    self.latest[(kind, key)] = (seq, label, snapshot, version)
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
                query = select(spec.model).where(spec.key_in([spec.parse_key(k) for k in chunk]))
                for row in db.session.scalars(query.options(*spec.load)):
                    found[str(spec.ident(row))] = row
            for key in keys:
                seq, label, recorded, version = self.latest[(kind, key)]
                self.report.rows_checked += 1
                if key not in found:
                    self.problem(seq, label, f"{kind} {key} 已不在数据库中 / is missing")
                    continue
                # Compared in the entry's own format: an old entry on the fields it recorded.
                actual = spec.snapshot(found[key], version)
                differences = _differences(recorded, _normal(actual))
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
            if spec is None or not spec.numbered:
                continue
            numeric = [int(value) for value in ids if value.isdigit()]
            if not numeric:
                continue
            first = min(numeric)
            key_column = spec.model.__table__.c["id"]  # type: ignore[attr-defined]
            for key in db.session.scalars(select(key_column).where(key_column >= first)):
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
