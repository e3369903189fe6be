"""Backup and restore: the database and the photo store, checked against a manifest.

A backup directory holds the database (SQLite: a copy made with SQLite's online backup
API, consistent while the server keeps writing; PostgreSQL: a `pg_dump` custom-format
archive), the photos in the local store's layout, and `manifest.json`, written last, so a
directory without one is an unfinished backup. The database is copied before the photos:
a photo's bytes are stored before its row, so every photo the copied database knows of is
already in the store when the photos are copied.

Restore checks everything first (the manifest, the dump's SHA-256, every photo's bytes
against its name) and changes nothing when any of it is wrong; it refuses a target that
already holds data unless told to replace it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from server.extensions import db
from server.models import utcnow
from server.services import audit
from server.services.errors import DomainError, ErrorCode
from server.storage import LocalPhotoStore, PhotoStore

FORMAT = "lantian-backup/1"
MANIFEST = "manifest.json"
PHOTOS = "photos"
DUMPS = {"sqlite": "lantian.sqlite3", "postgresql": "lantian.pgdump"}


class BackupError(DomainError):
    """A backup or restore that cannot go ahead; the message says why and what to do.

    Its code is `backup.invalid` unless the site says otherwise (`backup.tampered` when the
    contents do not match what the manifest recorded)."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.BACKUP_INVALID) -> None:
        super().__init__(code, message)


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    photos: int
    revision: str | None
    head_revision: str
    notes: list[str] = field(default_factory=list)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _kind() -> str:
    name = db.engine.dialect.name
    if name not in DUMPS:
        raise BackupError(f"不支持的数据库 / unsupported database: {name}")
    return name


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份 / an in-memory SQLite database has no file")
    return Path(database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump / pg_restore, the password in the environment (not in `ps`)."""
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(tool: str, *args: str, env: dict[str, str]) -> None:
    path = shutil.which(tool)
    if path is None:
        raise BackupError(
            f"未找到 {tool} / {tool} is not installed (the PostgreSQL client tools are needed)"
        )
    result = subprocess.run([path, *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{tool} 失败 / {tool} failed: {result.stderr.strip()[-2000:]}")


def _sqlite_scalar(connection: sqlite3.Connection, sql: str) -> Any:
    try:
        row = connection.execute(sql).fetchone()
    except sqlite3.DatabaseError:
        return None
    return row if row is None else tuple(row)


def _backup_sqlite(dump: Path) -> tuple[str | None, tuple[int, str] | None]:
    source = sqlite3.connect(_sqlite_path())
    try:
        target = sqlite3.connect(dump)
        try:
            source.backup(target)
            # One self-contained file, not a WAL database with side files.
            target.execute("PRAGMA journal_mode=DELETE")
            check = target.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"数据库副本损坏 / the copy fails its integrity check: {check}")
            revision = _sqlite_scalar(target, "SELECT version_num FROM alembic_version")
            head = _sqlite_scalar(
                target, "SELECT seq, entry_hash FROM audit_log ORDER BY seq DESC LIMIT 1"
            )
        finally:
            target.close()
    finally:
        source.close()
    return (revision[0] if revision else None), (head if head else None)


def _current_revision() -> str | None:
    if "alembic_version" not in inspect(db.engine).get_table_names():
        return None
    return db.session.scalar(text("SELECT version_num FROM alembic_version"))


def backup(target: Path, store: PhotoStore) -> dict[str, Any]:
    """Back up the database and the photos into `target` (new or empty); the manifest."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(
            f"目标目录非空 / {target} exists and is not empty: choose a new one",
            ErrorCode.BACKUP_TARGET_NOT_EMPTY,
        )
    kind = _kind()
    if _current_revision() is None:
        raise BackupError("数据库尚未迁移 / the database has no schema: run `db upgrade` first")
    db.session.rollback()
    target.mkdir(parents=True, exist_ok=True)
    dump = target / DUMPS[kind]
    created_at = utcnow()
    if kind == "sqlite":
        revision, head = _backup_sqlite(dump)
    else:
        # Read before the dump, so the dump is sure to hold this entry.
        revision = _current_revision()
        seq, entry_hash = audit.head()
        head = (seq, entry_hash) if seq else None
        db.session.rollback()
        conninfo, env = _libpq(db.engine.url)
        _run(
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={dump}",
            f"--dbname={conninfo}",
            env=env,
        )
    copy = LocalPhotoStore(target / PHOTOS)
    names: list[str] = []
    mismatched: list[str] = []
    for sha in store.iter_hashes():
        data = store.get(sha)
        if hashlib.sha256(data).hexdigest() != sha:
            mismatched.append(sha)  # copied as found: a backup does not judge, verify does
        copy.put(sha, data)
        names.append(sha)
    manifest = {
        "format": FORMAT,
        "created_at": created_at.isoformat(),
        "database": kind,
        "dump": dump.name,
        "dump_bytes": dump.stat().st_size,
        "dump_sha256": _file_sha256(dump),
        "alembic_revision": revision,
        "photo_count": len(names),
        "photos_sha256": audit.sha256_hex("\n".join(sorted(names))),
        "photos_not_matching_their_name": sorted(mismatched),
        "audit_head": {"seq": head[0], "entry_hash": head[1]} if head else None,
    }
    temporary = target / f".{MANIFEST}.tmp"
    temporary.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    os.replace(temporary, target / MANIFEST)
    return manifest


MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "created_at": (str,),
    "database": (str,),
    "dump": (str,),
    "dump_sha256": (str,),
    "alembic_revision": (str,),
    "photo_count": (int,),
    "photos_sha256": (str,),
    "photos_not_matching_their_name": (list,),
    "audit_head": (dict, type(None)),
}


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup directory, checked for shape; BackupError when unusable."""
    if not source.is_dir():
        raise BackupError(f"备份目录不存在 / no backup directory at {source}")
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(
            f"不是完整的备份：缺少 {MANIFEST} / {source} holds no {MANIFEST} "
            "(not a backup, or an unfinished one)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(f"备份清单损坏 / corrupt manifest {path}: {error}") from error
    if not isinstance(manifest, dict):
        raise BackupError(f"备份清单损坏 / corrupt manifest {path}: not a JSON object")
    problems = [
        f"{name}: expected {' or '.join(t.__name__ for t in types)}"
        for name, types in MANIFEST_FIELDS.items()
        if not isinstance(manifest.get(name), types) or isinstance(manifest.get(name), bool)
    ]
    if not problems and manifest["format"] != FORMAT:
        problems.append(f"format: {manifest['format']!r} is not {FORMAT!r}")
    if not problems and manifest["dump"] != DUMPS.get(manifest["database"]):
        problems.append(f"dump: {manifest['dump']!r} does not fit database {manifest['database']}")
    if problems:
        raise BackupError(f"备份清单损坏 / corrupt manifest {path}: " + "; ".join(problems))
    return manifest


def _known_revisions() -> tuple[set[str], str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", current_app.extensions["migrate"].directory)
    scripts = ScriptDirectory.from_config(config)
    return {script.revision for script in scripts.walk_revisions()}, str(scripts.get_current_head())


def _check_photos(source: Path, manifest: dict[str, Any]) -> list[str]:
    """Every photo of the backup, each read and hashed; BackupError on any mismatch."""
    folder = source / PHOTOS
    names = sorted(LocalPhotoStore(folder).iter_hashes()) if folder.is_dir() else []
    known_bad = set(manifest["photos_not_matching_their_name"])
    reader = LocalPhotoStore(folder) if names else None
    damaged = [
        sha
        for sha in names
        if sha not in known_bad and hashlib.sha256(reader.get(sha)).hexdigest() != sha  # type: ignore[union-attr]
    ]
    if damaged:
        raise BackupError(
            f"备份中的照片已损坏 / {len(damaged)} photo(s) in the backup do not hash to their "
            f"names, e.g. {damaged[0]}",
            ErrorCode.BACKUP_TAMPERED,
        )
    if len(names) != manifest["photo_count"] or (
        audit.sha256_hex("\n".join(names)) != manifest["photos_sha256"]
    ):
        raise BackupError(
            f"备份中的照片与清单不符 / the backup holds {len(names)} photo(s), the manifest "
            f"lists {manifest['photo_count']} (or other ones)",
            ErrorCode.BACKUP_TAMPERED,
        )
    return names


def restore(source: Path, store: PhotoStore, force: bool = False) -> RestoreResult:
    """Restore a backup into the configured database and photo store.

    Refuses a target that already has tables or photos unless `force`, in which case the
    database is replaced (PostgreSQL: its public schema is dropped first) and the photos
    are added to the store, any stored under the same name with other bytes overwritten.
    """
    manifest = read_manifest(source)
    kind = _kind()
    if manifest["database"] != kind:
        raise BackupError(
            f"备份为 {manifest['database']}，目标为 {kind} / the backup is of a "
            f"{manifest['database']} database, the target is {kind}"
        )
    dump = source / manifest["dump"]
    if not dump.is_file():
        raise BackupError(f"备份缺少数据库文件 / the backup lacks {dump.name}")
    if _file_sha256(dump) != manifest["dump_sha256"]:
        raise BackupError(
            f"数据库文件与清单不符 / {dump.name} does not hash to the manifest's dump_sha256: "
            "the backup is damaged",
            ErrorCode.BACKUP_TAMPERED,
        )
    known, head_revision = _known_revisions()
    if manifest["alembic_revision"] not in known:
        raise BackupError(
            f"备份来自更新的版本 / the backup's schema revision {manifest['alembic_revision']} "
            "is unknown to this version of the server: restore it with a newer one"
        )
    names = _check_photos(source, manifest)
    tables = inspect(db.engine).get_table_names()
    has_photos = next(iter(store.iter_hashes()), None) is not None
    if (tables or has_photos) and not force:
        held = []
        if tables:
            held.append(f"the database has {len(tables)} table(s)")
        if has_photos:
            held.append("the photo store has photos")
        raise BackupError(
            "目标非空，未恢复 / the target is not empty (" + ", ".join(held) + "): nothing "
            "restored; use --force to replace it"
        )

    # Photos first, as uploads do: once the rows are back, their bytes are there.
    backup_store = LocalPhotoStore(source / PHOTOS) if names else None
    for sha in names:
        data = backup_store.get(sha)  # type: ignore[union-attr]
        if store.exists(sha):
            if hashlib.sha256(store.get(sha)).hexdigest() == sha:
                continue
            store.delete(sha)
        store.put(sha, data)

    db.session.remove()
    db.engine.dispose()
    if kind == "sqlite":
        source_db = sqlite3.connect(f"{dump.resolve().as_uri()}?mode=ro", uri=True)
        try:
            target_db = sqlite3.connect(_sqlite_path())
            try:
                source_db.backup(target_db)
                target_db.execute("PRAGMA journal_mode=WAL")
            finally:
                target_db.close()
        finally:
            source_db.close()
    else:
        if tables:
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
            db.engine.dispose()
        conninfo, env = _libpq(db.engine.url)
        _run(
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={conninfo}",
            str(dump),
            env=env,
        )

    revision = _current_revision()
    result = RestoreResult(manifest, len(names), revision, head_revision)
    if revision != manifest["alembic_revision"]:
        raise BackupError(
            f"恢复后的版本不符 / restored schema revision {revision}, the manifest says "
            f"{manifest['alembic_revision']}"
        )
    expected = manifest["audit_head"]
    if expected:
        found = db.session.scalar(
            text("SELECT entry_hash FROM audit_log WHERE seq = :seq"), {"seq": expected["seq"]}
        )
        if found != expected["entry_hash"]:
            raise BackupError(
                f"恢复后的审计日志不符 / restored audit entry #{expected['seq']} does not carry "
                "the hash the manifest recorded",
                ErrorCode.BACKUP_TAMPERED,
            )
    if revision != head_revision:
        result.notes.append(
            f"数据库版本为 {revision}，请运行 db upgrade / the schema is at {revision}; run "
            "`lantian-server db upgrade` to bring it to " + head_revision
        )
    return result
