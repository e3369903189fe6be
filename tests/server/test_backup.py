"""`lantian-server backup` / `restore`: SQLite by its online backup API, PostgreSQL by
pg_dump / pg_restore, the photo store alongside, all checked against a manifest.

A populated instance is backed up and restored into an empty one (a new data directory;
on PostgreSQL a new database); the rows and photos must come back identical and
`audit verify` must pass on the copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import inspect, select

from server import MIGRATIONS_DIR
from server.cli import main
from server.extensions import db
from server.storage import photo_store
from tests.server.history import full_history


def run(app: Flask, *args: str) -> Result:
    """The CLI on `app`; its context is pushed, as the CLI reuses whatever context is active."""
    with app.app_context():
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def history(client: FlaskClient, headers: dict, registry: dict) -> dict[str, Any]:
    return full_history(client, headers, registry)


def contents(app: Flask) -> tuple[dict[str, list[tuple]], dict[str, bytes]]:
    """Every row of every table, and every photo, of an instance."""
    with app.app_context():
        rows = {
            table.name: [
                tuple(row)
                for row in db.session.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).all()
            ]
            for table in db.metadata.sorted_tables
        }
        store = photo_store()
        photos = {sha: store.get(sha) for sha in store.iter_hashes()}
        db.session.remove()
    return rows, photos


def test_backup_and_restore_round_trip(
    app: Flask, history: dict[str, Any], target: Flask, tmp_path: Path, engine_name: str
) -> None:
    backup_dir = tmp_path / "backup"
    made = run(app, "backup", str(backup_dir))
    assert made.exit_code == 0, made.output
    manifest = json.loads((backup_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["database"] == engine_name
    assert manifest["alembic_revision"] == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert manifest["photo_count"] == 2
    dump = backup_dir / manifest["dump"]
    assert hashlib.sha256(dump.read_bytes()).hexdigest() == manifest["dump_sha256"]
    assert manifest["audit_head"]["seq"] > 0
    assert f"{manifest['audit_head']['seq']}:{manifest['audit_head']['entry_hash']}" in made.output

    restored = run(target, "restore", str(backup_dir))
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output and "the chain is intact" in restored.output
    verified = run(
        target,
        "audit",
        "verify",
        "--anchor",
        f"{manifest['audit_head']['seq']}:{manifest['audit_head']['entry_hash']}",
    )
    assert verified.exit_code == 0, verified.output
    source_rows, source_photos = contents(app)
    target_rows, target_photos = contents(target)
    assert target_rows == source_rows
    assert sorted(target_photos) == sorted(history["photos"])
    assert target_photos == source_photos

    # A second restore onto what is now a full instance is refused, unless forced.
    again = run(target, "restore", str(backup_dir))
    assert again.exit_code == 1 and "not empty" in again.output and "--force" in again.output
    forced = run(target, "restore", str(backup_dir), "--force")
    assert forced.exit_code == 0, forced.output
    assert contents(target) == (source_rows, source_photos)
    # A backup never writes into a directory that holds something.
    assert run(app, "backup", str(backup_dir)).exit_code == 1


def test_restore_refuses_bad_input(
    app: Flask, history: dict[str, Any], target: Flask, tmp_path: Path, engine_name: str
) -> None:
    good = tmp_path / "good"
    assert run(app, "backup", str(good)).exit_code == 0
    manifest = json.loads((good / "manifest.json").read_text(encoding="utf-8"))

    def broken(name: str) -> Path:
        copy = tmp_path / name
        shutil.copytree(good, copy)
        return copy

    def refused(path: Path, *words: str) -> None:
        result = run(target, "restore", str(path))
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        for word in words:
            assert word in result.output, result.output

    refused(tmp_path / "nowhere", "no backup directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(empty, "no manifest.json")
    garbled = broken("garbled")
    (garbled / "manifest.json").write_text('{"format": "lantian-backup/1", ', encoding="utf-8")
    refused(garbled, "corrupt manifest")
    incomplete = broken("incomplete")
    (incomplete / "manifest.json").write_text(
        json.dumps({k: v for k, v in manifest.items() if k != "photo_count"}), encoding="utf-8"
    )
    refused(incomplete, "corrupt manifest", "photo_count")
    damaged = broken("damaged")
    with (damaged / manifest["dump"]).open("ab") as handle:
        handle.write(b"\0")
    refused(damaged, "does not hash to the manifest's dump_sha256")
    bad_photo = broken("bad-photo")
    sha = history["photos"][0]
    (bad_photo / "photos" / sha[:2] / sha[2:4] / sha).write_bytes(b"not the photo")
    refused(bad_photo, "do not hash to their names", sha)
    other_kind = broken("other-kind")
    other = "sqlite" if engine_name == "postgresql" else "postgresql"
    dumps = {"sqlite": "lantian.sqlite3", "postgresql": "lantian.pgdump"}
    (other_kind / manifest["dump"]).rename(other_kind / dumps[other])
    (other_kind / "manifest.json").write_text(
        json.dumps({**manifest, "database": other, "dump": dumps[other]}), encoding="utf-8"
    )
    refused(other_kind, f"the backup is of a {other} database")

    # Nothing was written by any of these.
    with target.app_context():
        assert inspect(db.engine).get_table_names() == []
        assert list(photo_store().iter_hashes()) == []
        db.engine.dispose()
