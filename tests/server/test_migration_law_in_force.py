"""Migration 0007: existing enterprises and sites get their city's GB/T 2260 code."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import text

from server.extensions import db
from tests.server.test_migrations import drop_scratch_postgres, fresh_app


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
        upgrade()
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
