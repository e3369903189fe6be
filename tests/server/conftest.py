"""Fixtures shared by the server tests that need a rectification loop already under way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql

from server import create_app
from server.extensions import db
from tests.helpers import FAST_HASH, failing_inspection_body, new_id


@pytest.fixture
def world(client: FlaskClient, headers, registry, app: Flask) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Something stored at every endpoint's target, so a refusal could harm it.

    Inspection A (approved) has findings CB-10 (answered) and CB-18 (notified, on a notice);
    inspection B is submitted and waits for review; inspection C (approved) has findings
    still open, for a notice.
    """
    app.config["CLOCK_TODAY"] = date(2026, 11, 23).isoformat()
    body = failing_inspection_body(client, headers, registry["sites"]["SZ-boiler_house"])
    approved, waiting, spare = new_id(), new_id(), new_id()
    for inspection_id in (approved, waiting, spare):
        response = client.put(
            f"/api/v1/inspections/{inspection_id}", json=body, headers=headers["inspector"]
        )
        assert response.status_code == 201, response.get_json()
    for inspection_id in (approved, spare):
        review = client.post(
            f"/api/v1/inspections/{inspection_id}/review",
            json={"decision": "approve"},
            headers=headers["supervisor"],
        )
        assert review.status_code == 200
    open_finding = client.get(f"/api/v1/inspections/{spare}", headers=headers["supervisor"])
    found = client.get(f"/api/v1/inspections/{approved}", headers=headers["supervisor"])
    finding_ids = {f["item"]: f["id"] for f in found.get_json()["findings"]}
    notice = client.post(
        "/api/v1/notices",
        json={"enterprise_id": registry["shuozhou"].id, "finding_ids": list(finding_ids.values())},
        headers=headers["supervisor"],
    )
    assert notice.status_code == 201, notice.get_json()
    answered = client.post(
        f"/api/v1/findings/{finding_ids['CB-10']}/responses",
        json={"text": "已整改", "photos": []},
        headers=headers["enterprise"],
    )
    assert answered.status_code == 201, answered.get_json()
    yield {
        "inspection_body": body,
        "approved": approved,
        "waiting": waiting,
        "answered": finding_ids["CB-10"],
        "notified": finding_ids["CB-18"],
        "open": open_finding.get_json()["findings"][0]["id"],
        "enterprise_id": registry["shuozhou"].id,
        "headers": headers,
        "username": "insp",
    }
    app.config.pop("CLOCK_TODAY", None)


@pytest.fixture
def target(engine_name: str, database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An empty instance to restore into: a new data directory, on PostgreSQL a new database."""
    data_dir = tmp_path / "target"
    admin = name = ""
    if engine_name == "postgresql":
        name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"] + "_restore"
        admin = psycopg.conninfo.make_conninfo(database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        url = database_url.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{data_dir / 'lantian.sqlite3'}"
    app = create_app(
        {
            "DATABASE_URL": url,
            "DATA_DIR": str(data_dir),
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "SECRET_KEY": "restore-test",
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if name:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
