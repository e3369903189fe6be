"""The device's local store: SQLite in WAL mode plus photo files named by their SHA-256.

Every state change is one transaction, and photo files are written to a temporary name,
fsynced and renamed before the row that cites them is committed; a process killed at any
moment leaves either the old state or the new one, never half of either. Nothing is deleted
or marked synced until the server has confirmed it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import checklists as rules
from checklists.governance import Governance, parse_governance
from field_client.errors import FieldError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE checklists (
    id TEXT NOT NULL, version TEXT NOT NULL, content TEXT NOT NULL, etag TEXT,
    current INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (id, version)
);
CREATE TABLE sites (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    enterprise_name TEXT NOT NULL, credit_code TEXT NOT NULL, city TEXT NOT NULL,
    district TEXT NOT NULL, address TEXT NOT NULL, qr_token TEXT NOT NULL,
    active INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX sites_qr ON sites (qr_token);
CREATE TABLE inspections (
    uuid TEXT PRIMARY KEY, site_id INTEGER NOT NULL, checklist_id TEXT NOT NULL,
    checklist_version TEXT NOT NULL, state TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, device_time TEXT, lat REAL, lon REAL, accuracy_m REAL,
    server_etag TEXT, revising TEXT, review_status TEXT, review_comment TEXT,
    last_error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, synced_at TEXT
);
CREATE TABLE answers (
    inspection_uuid TEXT NOT NULL REFERENCES inspections (uuid), item_code TEXT NOT NULL,
    value TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL,
    PRIMARY KEY (inspection_uuid, item_code)
);
CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY, original_sha256 TEXT NOT NULL, size INTEGER NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, taken_at TEXT, lat REAL, lon REAL,
    source_name TEXT NOT NULL, imported_at TEXT NOT NULL, uploaded INTEGER NOT NULL DEFAULT 0,
    upload_url TEXT
);
CREATE TABLE answer_photos (
    inspection_uuid TEXT NOT NULL REFERENCES inspections (uuid), item_code TEXT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES photos (sha256), position INTEGER NOT NULL,
    PRIMARY KEY (inspection_uuid, item_code, sha256)
);
"""


class LocalState(StrEnum):
    """A local inspection's state; only the Store's transition methods below change it.

    draft ──queue──▶ queued ──begin_upload──▶ uploading ──mark_synced──▶ synced
      ▲                ▲  └──────────────────────┘ requeue (refused)       │
      └─ (start)       └──────queue── returned ◀──mark_returned (pulled)───┘
    """

    DRAFT = "draft"
    QUEUED = "queued"
    UPLOADING = "uploading"
    SYNCED = "synced"
    RETURNED = "returned"


EDITABLE = (LocalState.DRAFT, LocalState.RETURNED)
OUTBOX = (LocalState.QUEUED, LocalState.UPLOADING)
STATES = tuple(LocalState)
# Each transition: the states it starts from and the state it ends in.
MOVES: dict[str, tuple[tuple[LocalState, ...], LocalState]] = {
    "queue": (EDITABLE, LocalState.QUEUED),
    "begin_upload": (OUTBOX, LocalState.UPLOADING),
    "mark_synced": ((LocalState.UPLOADING,), LocalState.SYNCED),
    "requeue": (OUTBOX, LocalState.QUEUED),
    "mark_returned": ((LocalState.SYNCED,), LocalState.RETURNED),
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@lru_cache(maxsize=64)
def _parse(content: str) -> rules.Checklist:
    # Versions come from the server as it stored them, perhaps before today's authoring rules.
    return rules.parse_checklist(json.loads(content), stored=True)


class Store:
    """The local database and photo directory of one device user."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.photo_dir = home / "photos"
        self.photo_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(home / "field.sqlite3", isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a flat battery must not lose a commit
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()
        self._sweep_temporary_files()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise FieldError(
                "数据目录来自更新版本的客户端 / the data directory is from a newer client"
            )
        with self.transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.db.execute(statement)
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _sweep_temporary_files(self) -> None:
        """Photo files half-written by a killed import are not evidence of anything."""
        for leftover in self.photo_dir.glob("**/.import-*"):
            leftover.unlink(missing_ok=True)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it commits, or none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- meta

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # ---- the law in force

    def save_governance(self, declaration: dict[str, Any], etag: str | None) -> None:
        """Keep the server's declaration of which plans govern which city, from when."""
        parse_governance(declaration, "server governance")  # refuse what cannot be used
        with self.transaction() as db:
            self.set_meta("governance", json.dumps(declaration, ensure_ascii=False), db)
            self.set_meta("governance_etag", etag or "", db)

    def governance(self) -> Governance:
        """The declaration last pulled; items are scoped with it offline, as on the server."""
        raw = self.meta("governance")
        if raw is None:
            raise FieldError(
                "本地没有现行计划声明 / this device has not pulled which plans are in force: "
                "run `lantian-field pull`"
            )
        return parse_governance(json.loads(raw), "server governance")

    # ---- checklists

    def save_checklist(self, content: dict[str, Any], etag: str | None) -> rules.Checklist:
        """Store a checklist version from the server and make it the current one."""
        version = content.pop("version")
        content.pop("sources", None)
        checklist = rules.parse_checklist(content, f"{content.get('id')}@{version}", stored=True)
        if checklist.version != version:
            raise FieldError(
                f"检查表内容与版本不符 / checklist {checklist.id} does not hash to {version}"
            )
        text = json.dumps(content, ensure_ascii=False, sort_keys=True)
        with self.transaction() as db:
            db.execute("UPDATE checklists SET current = 0 WHERE id = ?", (checklist.id,))
            db.execute(
                "INSERT INTO checklists (id, version, content, etag, current) "
                "VALUES (?, ?, ?, ?, 1) ON CONFLICT (id, version) DO UPDATE SET current = 1, "
                "etag = excluded.etag",
                (checklist.id, version, text, etag),
            )
        return checklist

    def checklist(self, checklist_id: str, version: str | None = None) -> rules.Checklist:
        """A stored version (the current one when `version` is None)."""
        if version is None:
            row = self.db.execute(
                "SELECT content FROM checklists WHERE id = ? AND current = 1", (checklist_id,)
            ).fetchone()
        else:
            row = self.db.execute(
                "SELECT content FROM checklists WHERE id = ? AND version = ?",
                (checklist_id, version),
            ).fetchone()
        if row is None:
            raise FieldError(
                f"本地没有检查表 {checklist_id} / checklist {checklist_id} is not on this "
                "device: run `lantian-field pull`"
            )
        return _parse(row[0])

    def checklist_etags(self) -> dict[str, tuple[str, str | None]]:
        """Current version and ETag of each stored checklist."""
        rows = self.db.execute("SELECT id, version, etag FROM checklists WHERE current = 1")
        return {row["id"]: (row["version"], row["etag"]) for row in rows}

    # ---- sites

    def save_sites(self, sites: list[dict[str, Any]], cursor: str) -> None:
        """Store a page of the sites feed and the cursor after it, together."""
        with self.transaction() as db:
            for site in sites:
                db.execute(
                    "INSERT INTO sites (id, code, name, kind, enterprise_name, credit_code, city, "
                    "district, address, qr_token, active, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                    "code = excluded.code, name = excluded.name, kind = excluded.kind, "
                    "enterprise_name = excluded.enterprise_name, "
                    "credit_code = excluded.credit_code, city = excluded.city, "
                    "district = excluded.district, address = excluded.address, "
                    "qr_token = excluded.qr_token, active = excluded.active, data = excluded.data",
                    (
                        site["id"],
                        site["code"],
                        site["name"],
                        site["kind"],
                        site["enterprise_name"],
                        site["credit_code"],
                        site["city"],
                        site["district"],
                        site["address"],
                        site["qr_token"],
                        int(site["active"]),
                        json.dumps(site, ensure_ascii=False),
                    ),
                )
            self.set_meta("sites_cursor", cursor, db)

    def site(self, site_id: int) -> dict[str, Any]:
        row = self.db.execute("SELECT data FROM sites WHERE id = ?", (site_id,)).fetchone()
        if row is None:
            raise FieldError(
                f"本地没有场所 {site_id} / site {site_id} is not on this device: run "
                "`lantian-field pull`"
            )
        return json.loads(row[0])

    def search_sites(self, query: str = "") -> list[dict[str, Any]]:
        """Active sites whose name, code, credit code, enterprise, city or district match."""
        like = f"%{query}%"
        rows = self.db.execute(
            "SELECT data FROM sites WHERE active = 1 AND (name LIKE ? OR code LIKE ? OR "
            "credit_code LIKE ? OR enterprise_name LIKE ? OR city LIKE ? OR district LIKE ?) "
            "ORDER BY city, code",
            (like, like, like, like, like, like),
        )
        return [json.loads(row[0]) for row in rows]

    def site_by_qr_token(self, token: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM sites WHERE qr_token = ?", (token,)).fetchone()
        return json.loads(row[0]) if row else None

    # ---- photos

    def photo_path(self, sha256: str) -> Path:
        return self.photo_dir / sha256[:2] / f"{sha256}.jpg"

    def write_photo_file(self, sha256: str, data: bytes) -> Path:
        """Write a processed photo under its hash: temporary name, fsync, rename."""
        path = self.photo_path(sha256)
        if path.is_file() and path.stat().st_size == len(data):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".import-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return path

    def photo(self, sha256: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM photos WHERE sha256 = ?", (sha256,)).fetchone()

    def remember_upload(self, sha256: str, url: str) -> None:
        """Keep the tus upload's URL, so an upload broken off resumes even after a restart."""
        with self.transaction() as db:
            db.execute("UPDATE photos SET upload_url = ? WHERE sha256 = ?", (url, sha256))

    def mark_uploaded(self, hashes: list[str]) -> None:
        """The server has confirmed these photos: one transaction for all of them."""
        if not hashes:
            return
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET uploaded = 1 WHERE sha256 = ?", [(h,) for h in hashes]
            )

    # ---- inspections

    def resolve(self, prefix: str) -> str:
        """The full id of an inspection from its id or a unique prefix of it."""
        rows = self.db.execute(
            "SELECT uuid FROM inspections WHERE uuid LIKE ? ORDER BY uuid", (f"{prefix}%",)
        ).fetchall()
        if not prefix or not rows:
            raise FieldError(f"没有检查 {prefix} / no inspection {prefix!r} on this device")
        if len(rows) > 1:
            raise FieldError(f"编号 {prefix} 不唯一 / {prefix!r} matches {len(rows)} inspections")
        return rows[0][0]

    def inspection(self, uuid: str) -> sqlite3.Row:
        row = self.db.execute("SELECT * FROM inspections WHERE uuid = ?", (uuid,)).fetchone()
        if row is None:
            raise FieldError(f"没有检查 {uuid} / no inspection {uuid}")
        return row

    def inspections(self, states: tuple[str, ...] = STATES) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(states))
        return self.db.execute(
            f"SELECT * FROM inspections WHERE state IN ({marks}) ORDER BY created_at, uuid",
            [str(state) for state in states],
        ).fetchall()

    # ---- the local inspection's lifecycle: the only statements that write its state

    def _move(self, db: sqlite3.Connection, move: str, uuid: str, values: dict[str, Any]) -> bool:
        """One transition as a conditional update: it happens only from its source states.
        False when the inspection is not in one of them (nothing changes)."""
        sources, target = MOVES[move]
        assignments = "".join(f", {column} = ?" for column in values)
        marks = ",".join("?" * len(sources))
        cursor = db.execute(
            f"UPDATE inspections SET state = ?{assignments} WHERE uuid = ? AND state IN ({marks})",
            [target.value, *values.values(), uuid, *(source.value for source in sources)],
        )
        return cursor.rowcount == 1

    def _refuse_move(self, move: str, uuid: str) -> FieldError:
        state = self.inspection(uuid)["state"]
        return FieldError(
            f"检查状态为 {state}，不能 {move} / the inspection is {state}: cannot {move}"
        )

    def touch_editable(self, db: sqlite3.Connection, uuid: str) -> None:
        """Inside the transaction that changes an answer or its photos: mark the change, and
        refuse it (rolling all of it back) unless the inspection is still editable, so a
        sync that froze it meanwhile never sends a body that changes afterwards."""
        marks = ",".join("?" * len(EDITABLE))
        cursor = db.execute(
            f"UPDATE inspections SET updated_at = ? WHERE uuid = ? AND state IN ({marks})",
            [now_iso(), uuid, *(state.value for state in EDITABLE)],
        )
        if cursor.rowcount != 1:
            state = self.inspection(uuid)["state"]
            raise FieldError(
                f"检查已完成（{state}），不能修改 / the inspection is {state} and can no "
                "longer be changed"
            )

    def start_draft(
        self,
        uuid: str,
        site_id: int,
        checklist: rules.Checklist,
        location: tuple[float | None, float | None, float | None],
    ) -> bool:
        """A new draft inspection with its checklist version pinned; False (and nothing
        written) when an inspection with this id already exists."""
        stamp = now_iso()
        lat, lon, accuracy = location
        with self.transaction() as db:
            inserted = db.execute(
                "INSERT INTO inspections (uuid, site_id, checklist_id, checklist_version, "
                "state, started_at, lat, lon, accuracy_m, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING",
                (
                    uuid,
                    site_id,
                    checklist.id,
                    checklist.version,
                    LocalState.DRAFT.value,
                    stamp,
                    lat,
                    lon,
                    accuracy,
                    stamp,
                    stamp,
                ),
            )
        return inserted.rowcount == 1

    def queue(self, uuid: str, location: tuple[float | None, float | None, float | None]) -> None:
        """draft/returned → queued: frozen as finished now, at its final location."""
        stamp = now_iso()
        lat, lon, accuracy = location
        values = {
            "finished_at": stamp,
            "device_time": stamp,
            "lat": lat,
            "lon": lon,
            "accuracy_m": accuracy,
            "last_error": None,
            "updated_at": stamp,
        }
        with self.transaction() as db:
            if not self._move(db, "queue", uuid, values):
                raise self._refuse_move("queue", uuid)

    def begin_upload(self, uuid: str) -> None:
        """queued → uploading: its photos and body are on their way."""
        with self.transaction() as db:
            if not self._move(db, "begin_upload", uuid, {}):
                raise self._refuse_move("begin_upload", uuid)

    def mark_synced(self, uuid: str, server_etag: str) -> None:
        """uploading → synced: the server confirmed the inspection and every photo."""
        stamp = now_iso()
        values = {
            "server_etag": server_etag,
            "revising": None,
            "last_error": None,
            "synced_at": stamp,
            "updated_at": stamp,
        }
        with self.transaction() as db:
            if not self._move(db, "mark_synced", uuid, values):
                raise self._refuse_move("mark_synced", uuid)

    def requeue(self, uuid: str, reason: str) -> None:
        """uploading → queued: the server refused it; the reason is kept for the user."""
        with self.transaction() as db:
            self._move(db, "requeue", uuid, {"last_error": reason})

    def mark_returned(
        self, db: sqlite3.Connection, uuid: str, server_etag: str, comment: str
    ) -> bool:
        """synced → returned (in the caller's transaction, with the feed's cursor): editable
        again, to be revised against `server_etag`. False when it is not synced here."""
        values = {
            "revising": server_etag,
            "server_etag": server_etag,
            "review_status": "returned",
            "review_comment": comment,
            "updated_at": now_iso(),
        }
        return self._move(db, "mark_returned", uuid, values)

    def note_approved(self, db: sqlite3.Connection, uuid: str, comment: str) -> None:
        """The supervisor approved it: kept with the comment; its state stays synced."""
        db.execute(
            "UPDATE inspections SET review_status = 'approved', review_comment = ?, "
            "updated_at = ? WHERE uuid = ?",
            (comment, now_iso(), uuid),
        )

    def answers(self, uuid: str) -> dict[str, tuple[Any, str]]:
        """Item code → (value, note)."""
        rows = self.db.execute(
            "SELECT item_code, value, note FROM answers WHERE inspection_uuid = ?", (uuid,)
        )
        return {row[0]: (json.loads(row[1]), row[2]) for row in rows}

    def photos_of(self, uuid: str) -> dict[str, list[str]]:
        """Item code → photo hashes, in the order they were attached."""
        photos: dict[str, list[str]] = {}
        rows = self.db.execute(
            "SELECT item_code, sha256 FROM answer_photos WHERE inspection_uuid = ? "
            "ORDER BY item_code, position",
            (uuid,),
        )
        for row in rows:
            photos.setdefault(row[0], []).append(row[1])
        return photos

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for row in self.db.execute("SELECT state, COUNT(*) FROM inspections GROUP BY state"):
            counts[row[0]] = row[1]
        return counts

    def pending_photos(self) -> list[str]:
        """Photos of inspections in the outbox that the server has not confirmed."""
        rows = self.db.execute(
            "SELECT DISTINCT p.sha256 FROM photos p JOIN answer_photos a ON a.sha256 = p.sha256 "
            "JOIN inspections i ON i.uuid = a.inspection_uuid "
            f"WHERE p.uploaded = 0 AND i.state IN ({','.join('?' * len(OUTBOX))})",
            [state.value for state in OUTBOX],
        )
        return [row[0] for row in rows]
