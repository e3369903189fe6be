"""The audit log covers every column a person relies on, and says why it skips the rest.

Every column of every table is either recorded by an audit snapshot or exempt with a reason
(`server.services.audit.snapshots.EXEMPT`). The tampering tests are generated from the
covered list itself: for each recorded column, one row is edited directly in the database
(behind the application's back, on a connection of its own) and `audit verify` must fail
naming that column; and a backup holding the edits (its manifest computed over the edited
data, as a forger would recompute it) must fail to restore, naming each.
"""

from __future__ import annotations

import json
import uuid as uuid_module
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from server.cli import main
from server.extensions import db
from server.models import AuditEntry, User, utcnow
from server.models.types import UTCDateTime
from server.services import accounts, audit, inspectors
from server.storage import photo_store
from tests.draw_helpers import draw_and_issue
from tests.helpers import PASSWORD, failing_inspection_body, new_id
from tests.server.history import full_history
from tests.server.test_alerts import REDUCTION_LIST, orange_for_shuozhou

COVERED = audit.covered_columns()


def primary_key(table: str, column: str) -> bool:
    return db.metadata.tables[table].columns[column].primary_key


# Key columns are covered as the row's identity: a row whose key changes is reported as
# missing (and other rows' keys point at it), so they are not edited one by one here.
EDITED = sorted(key for key in COVERED if not primary_key(*key))


def uncovered(metadata: MetaData) -> list[str]:
    """Columns neither recorded by a snapshot nor exempt."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if (table.name, column.name) not in COVERED
        and table.name not in audit.EXEMPT
        and f"{table.name}.{column.name}" not in audit.EXEMPT
    ]


def test_every_column_is_audited_or_exempt_with_a_reason() -> None:
    assert uncovered(db.metadata) == []
    columns = {
        f"{table.name}.{column.name}"
        for table in db.metadata.sorted_tables
        for column in table.columns
    }
    for name, reason in audit.EXEMPT.items():
        assert name in db.metadata.tables or name in columns, f"{name} is not in the schema"
        assert len(reason) > 20, f"{name} needs a reason"
        table, _, column = name.partition(".")
        assert (table, column) not in COVERED, f"{name} is both covered and exempt"
    for table, column in COVERED:
        assert f"{table}.{column}" in columns, (
            f"a snapshot records {table}.{column}: no such column"
        )


def test_a_new_column_fails_the_coverage_check() -> None:
    """The check above is not vacuous: a column added to a model and to no snapshot fails it."""
    metadata = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["inspections"].append_column(Column("weather", String(20)))
    assert uncovered(metadata) == ["inspections.weather"]


# --- A record with a row in every audited table, with alternatives for every reference --------


def run(app: Flask, *args: str) -> Result:
    with app.app_context():
        return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def history(client: FlaskClient, headers: dict, registry: dict) -> dict[str, Any]:
    """The full history, plus a second inspection (so rows can be moved to another one) and
    an answer without photos (so a photo can be moved to it)."""
    made = full_history(client, headers, registry)
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    put = client.put(f"/api/v1/inspections/{new_id()}", json=body, headers=headers["inspector"])
    assert put.status_code == 201, put.get_json()
    answer = {"text": "已整改", "photos": []}
    posted = client.post(
        f"/api/v1/findings/{made['findings'][1]}/responses",
        json=answer,
        headers=headers["enterprise"],
    )
    assert posted.status_code == 201, posted.get_json()
    # A declared alert and an enterprise's reduction list, so their columns can be edited.
    alert = client.post("/api/v1/alerts", json=orange_for_shuozhou(), headers=headers["supervisor"])
    assert alert.status_code == 201, alert.get_json()
    listed = client.put(
        f"/api/v1/enterprises/{registry['shuozhou'].id}/reduction-list",
        json=REDUCTION_LIST,
        headers=headers["supervisor"],
    )
    assert listed.status_code == 200, listed.get_json()
    # A task and a clue: every column of theirs, and of the task's sites and inspectors.
    pair = [
        row.id
        for row in db.session.scalars(
            select(User).where(User.role == "inspector").order_by(User.id)
        )
    ][:2]
    task = client.post(
        "/api/v1/tasks",
        json={
            "site_ids": [registry["sites"]["SZ-boiler_house"].id],
            "checklist_id": "coal-and-boilers",
            "due_on": (utcnow() + timedelta(days=30)).date().isoformat(),
            "inspector_ids": pair,
        },
        headers=headers["supervisor"],
    )
    assert task.status_code == 201, task.get_json()
    clue = client.post(
        "/api/v1/clues",
        json={"kind": "grid_alarm", "lat": 39.331, "lon": 112.431, "description": "PM2.5高值"},
        headers=headers["supervisor"],
    )
    assert clue.status_code == 201, clue.get_json()
    # A 双随机 draw issued (its tasks too), certified inspectors and a declared conflict.
    inspectors.certify("insp", "晋执30001")
    inspectors.certify("insp2", "晋执30002")
    inspectors.declare_conflict("insp2", registry["changzhi"].credit_code, "曾任职")
    db.session.commit()
    made = client.post(
        "/api/v1/draws",
        json={
            "site_ids": [registry["sites"]["SZ-boiler_house"].id],
            "count": 1,
            "checklist_id": "coal-and-boilers",
            "due_date": (date.today() + timedelta(days=30)).isoformat(),
        },
        headers=headers["supervisor"],
    )
    assert made.status_code == 201, made.get_json()
    draw_and_issue(client, headers["supervisor"], made.get_json())
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["notice.issued"]}
    registered = client.post("/api/v1/webhooks", json=hook, headers=headers["admin"])
    assert registered.status_code == 201, registered.get_json()
    assert audit.verify(photo_store()).ok
    db.session.remove()
    return made


def candidates(connection: Any, column: Column, value: Any) -> list[Any]:
    """Values to put in place of `value`: another row it may point at, or a changed value."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column
        query = select(target).order_by(target)
        if value is not None:
            query = query.where(target != value)
        others = list(connection.scalars(query))
        return others + ([None] if column.nullable and value is not None else [])
    kind = column.type
    if isinstance(kind, Boolean):
        return [not value]
    if isinstance(kind, UTCDateTime):
        return [(value or utcnow()) + timedelta(seconds=1)]
    if isinstance(kind, Date):
        return [(value or utcnow().date()) + timedelta(days=1)]
    if isinstance(kind, Float):
        return [(value or 0.0) + 0.001]
    if isinstance(kind, Integer):
        return [(value or 0) + 1000]
    if isinstance(kind, Uuid):
        return [uuid_module.uuid4()]
    if isinstance(kind, JSON):
        return [{"tampered": value}]
    if isinstance(kind, String | Text):
        if value is None:
            return ["篡改"]
        length = getattr(kind, "length", None)
        if length is None or len(value) < length:
            return [value + "x"]
        return [value[:-1] + ("y" if value.endswith("x") else "x")]
    raise AssertionError(f"no way to edit a {kind!r} column: teach this test")


def tamper(app: Flask, table_name: str, column_name: str) -> Callable[[], None]:
    """Edit one column of one row of a table, on a connection of its own: the first row (by
    key) for which some other value is accepted by the schema's constraints. Returns what
    puts the old value back."""
    table: Table = db.metadata.tables[table_name]
    column = table.columns[column_name]
    keys = list(table.primary_key.columns)
    with app.app_context(), db.engine.connect() as connection:
        with connection.begin():
            rows = connection.execute(select(table).order_by(*keys)).all()
            tries = [
                (row, candidates(connection, column, row._mapping[column_name])) for row in rows
            ]
        for row, values in tries:
            where = [key == row._mapping[key.name] for key in keys]
            for value in values:
                try:
                    with connection.begin():
                        changed = connection.execute(
                            update(table).where(*where).values({column_name: value})
                        )
                        assert changed.rowcount == 1
                except IntegrityError:
                    continue  # e.g. the other inspection has an answer for this item
                old = row._mapping[column_name]

                def restore(where: list[Any] = where, old: Any = old) -> None:
                    with app.app_context(), db.engine.begin() as again:
                        again.execute(update(table).where(*where).values({column_name: old}))

                return restore
    raise AssertionError(f"could not edit {table_name}.{column_name}")


def named(output: str, table: str, column: str) -> bool:
    kind, key = COVERED[(table, column)]
    return any(
        f"{kind} " in line and "differs from the log: " in line and f"{key}: " in line
        for line in output.splitlines()
    )


@pytest.mark.tampers_audit
def test_verify_catches_each_direct_edit(
    app: Flask, history: dict[str, Any], subtests: pytest.Subtests
) -> None:
    """One case per covered column, generated from the covered list: the column is edited,
    `audit verify` must fail naming it, and the edit is undone before the next one (so each
    failure is that column's alone; one history serves them all)."""
    for table, column in EDITED:
        with subtests.test(column=f"{table}.{column}"):
            restore = tamper(app, table, column)
            try:
                result = run(app, "audit", "verify")
                assert result.exit_code == 1, result.output
                assert named(result.output, table, column), result.output
            finally:
                restore()
    clean = run(app, "audit", "verify")
    assert clean.exit_code == 0, clean.output  # every edit undone: each failure was its own


@pytest.mark.tampers_audit
def test_restore_refuses_a_backup_with_direct_edits(
    app: Flask,
    history: dict[str, Any],
    target: Flask,
    tmp_path: Path,
    subtests: pytest.Subtests,
) -> None:
    """Every covered column edited in one backup (a backup and a restore per column took
    half an hour on PostgreSQL); the restore fails, and its verification names each edit."""
    for table, column in EDITED:
        tamper(app, table, column)
    backup_dir = tmp_path / "backup"
    made = run(app, "backup", str(backup_dir))  # a backup copies what it finds
    assert made.exit_code == 0, made.output
    restored = run(target, "restore", str(backup_dir))
    assert restored.exit_code == 1, restored.output
    assert "MISMATCH" in restored.output
    with target.app_context():
        reasons = "\n".join(problem.reason for problem in audit.verify(photo_store()).problems)
        db.session.remove()
    for table, column in EDITED:
        with subtests.test(column=f"{table}.{column}"):
            assert named(reasons, table, column), reasons


# --- Entries written before the snapshot format was versioned --------------------------------

# The fields format 1 recorded, as the audit module of 0004 wrote them (before "v").
FORMAT_1 = {
    "inspection": {
        "id",
        "site_id",
        "checklist_id",
        "checklist_version",
        "inspector_id",
        "status",
        "revision",
        "clock_skew_s",
    },
    "revision": {"id", "inspection", "number", "body", "body_hash", "submitted_by"},
    "answer": {
        "id",
        "inspection",
        "revision",
        "position",
        "item",
        "value",
        "note",
        "verdict",
        "photos",
    },
    "finding": {
        "id",
        "inspection",
        "answer_id",
        "item",
        "checklist_id",
        "severity",
        "status",
        "enterprise_id",
        "site_id",
        "notice_id",
        "due_date",
        "closed_at",
        "closed_by",
    },
    "event": {"id", "finding_id", "from", "to", "actor_id", "reason"},
    "response": {"id", "finding_id", "user_id", "text", "photos"},
    "review": {"id", "inspection", "revision", "decision", "comment", "reviewer_id"},
    "notice": {
        "id",
        "number",
        "city",
        "year",
        "seq",
        "enterprise_id",
        "issued_by",
        "issued_at",
        "deadline",
        "findings",
    },
    "user": {"id", "username", "display_name", "role", "enterprise_id", "city", "active"},
    "enterprise": {
        "id",
        "credit_code",
        "name",
        "city",
        "district",
        "industry",
        "contact_name",
        "contact_phone",
    },
    "site": {
        "id",
        "code",
        "enterprise_id",
        "name",
        "kind",
        "address",
        "lat",
        "lon",
        "radius_m",
        "active",
    },
}


def rewrite_as_format_1() -> None:
    """Turn the log into what a database audited before versioning holds: no "v", each
    snapshot with the format-1 fields only, kinds format 1 did not know left out; then
    chain it again, as it was written: one chain (chain 0, link = seq, as migration 0013
    finds an old log), numbered by the `audit` counter alone."""
    prev = "0" * 64
    db.session.execute(text("DELETE FROM change_counters WHERE name LIKE 'audit.%'"))
    db.session.execute(
        text(
            "UPDATE change_counters SET value = (SELECT count(*) FROM audit_log) "
            "WHERE name = 'audit'"
        )
    )
    db.session.execute(text("UPDATE audit_log SET link = -seq"))  # (chain, link) stays unique
    db.session.execute(text("UPDATE audit_log SET chain = 0, link = seq"))
    db.session.expire_all()
    for seq, entry in enumerate(
        db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)), start=1
    ):
        assert entry.seq == seq
        change = json.loads(entry.change)
        del change["v"]
        change["records"] = {
            kind: [{k: v for k, v in snap.items() if k in FORMAT_1[kind]} for snap in snaps]
            for kind, snaps in change["records"].items()
            if kind in FORMAT_1
        }
        change["created"] = {k: v for k, v in change["created"].items() if k in FORMAT_1}
        entry.change = audit.canonical_json(change)
        entry.prev_hash = prev
        entry.entry_hash = audit.entry_hash(entry)
        prev = entry.entry_hash
    db.session.commit()


def test_format_1_is_the_fields_recorded_before_versioning() -> None:
    for kind, fields in FORMAT_1.items():
        spec = audit.KINDS[kind]
        declared = {"id"} | {f.key for f in spec.fields if f.since == 1}
        declared |= {d.key for d in spec.derived if d.since == 1}
        assert declared == fields, kind


@pytest.mark.tampers_audit
def test_entries_of_the_old_format_still_verify(app: Flask, history: dict[str, Any]) -> None:
    rewrite_as_format_1()
    report = audit.verify(photo_store())
    assert report.ok, report.problems
    # A new change is written in the current format and chains on the old entries.
    accounts.add_user("new", "inspector", PASSWORD)
    db.session.commit()
    last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert last is not None and json.loads(last.change)["v"] == audit.FORMAT_VERSION
    report = audit.verify(photo_store())
    assert report.ok, report.problems
    # An old entry is still compared on the fields it recorded.
    tamper(app, "findings", "severity")
    db.session.expire_all()
    report = audit.verify(photo_store())
    assert [p.reason for p in report.problems if "severity: " in p.reason], report.problems


@pytest.mark.tampers_audit
def test_an_unknown_format_is_a_broken_entry(app: Flask, history: dict[str, Any]) -> None:
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None
    change = json.loads(entry.change)
    change["v"] = 99
    db.session.execute(
        text("UPDATE audit_log SET change = :c WHERE seq = :s"),
        {"c": audit.canonical_json(change), "s": entry.seq},
    )
    db.session.commit()
    report = audit.verify(photo_store())
    assert any("expected shape" in problem.reason for problem in report.problems)
