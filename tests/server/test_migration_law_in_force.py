"""Migration 0007: existing enterprises and sites get their city's GB/T 2260 code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import JSON, DateTime, Uuid, column, select, table, text

from server.extensions import db
from tests.server.test_migrations import drop_scratch_postgres, fresh_app

OLD = uuid.UUID("6a1f7c1e-0000-4000-8000-000000000001")


def test_existing_registry_rows_get_city_codes(
    engine_name: str, database_url: str, tmp_path: Path
) -> None:
    app = fresh_app(engine_name, database_url, tmp_path)
    with app.app_context():
        upgrade(revision="0006")
        with db.engine.begin() as connection:
            for number, city in enumerate(("朔州市", "太原", "大同"), start=1):
                connection.execute(
                    text(
                        "INSERT INTO enterprises (id, name, credit_code, city, district, industry,"
                        " contact_name, contact_phone, created_at, updated_at) VALUES (:id, 'e',"
                        " :code, :city, '', '', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "code": f"CODE{number}", "city": city},
                )
                connection.execute(
                    text(
                        "INSERT INTO sites (id, code, enterprise_id, name, kind, address,"
                        " radius_m, qr_token, active, change_seq, updated_at) VALUES (:id, :code,"
                        " :id, 's', 'industrial', '', 300, :token, true, :id, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "code": f"S{number}", "token": f"token{number}"},
                )
            connection.execute(
                text(
                    "INSERT INTO users (id, username, display_name, password_hash, role, active,"
                    " created_at) VALUES (1, 'i', 'i', 'x', 'inspector', true, CURRENT_TIMESTAMP)"
                )
            )
            # 2024-03-30 01:30 in China (17:30 UTC the day before): 朔政发〔2024〕14号 governs.
            inspections = table(
                "inspections",
                column("uuid", Uuid()),
                column("site_id"),
                column("checklist_id"),
                column("checklist_version"),
                column("inspector_id"),
                column("status"),
                column("revision"),
                column("started_at", DateTime(timezone=True)),
                column("finished_at", DateTime(timezone=True)),
                column("device_time", DateTime(timezone=True)),
                column("received_at", DateTime(timezone=True)),
                column("updated_at", DateTime(timezone=True)),
            )
            moment = datetime(2024, 3, 29, 17, 30, tzinfo=UTC)
            connection.execute(
                inspections.insert().values(
                    uuid=OLD,
                    site_id=1,
                    checklist_id="construction-dust",
                    checklist_version="0" * 16,
                    inspector_id=1,
                    status="submitted",
                    revision=1,
                    started_at=moment,
                    finished_at=moment,
                    device_time=moment,
                    received_at=moment,
                    updated_at=moment,
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            scope = connection.execute(
                select(column("scope", JSON())).select_from(table("inspections"))
            ).scalar_one()
        assert scope == {
            "city_code": "140600",
            "on": "2024-03-30",
            "sources": ["000_32c90d3c411fd51f.txt", "002_57e86a6bcd0130fd.txt"],
        }
        with db.engine.connect() as connection:
            enterprises = dict(
                connection.execute(text("SELECT city, city_code FROM enterprises")).all()
            )
            sites = dict(connection.execute(text("SELECT code, city_code FROM sites")).all())
        assert enterprises == {"朔州市": "140600", "太原": "140100", "大同": ""}
        assert sites == {"S1": "140600", "S2": "140100", "S3": ""}
        db.engine.dispose()
    if engine_name == "postgresql":
        drop_scratch_postgres(database_url)
