"""Fixtures: the app on real SQLite and real PostgreSQL, schema made by the migrations.

Every database test runs once per engine. The schema is built once per engine by running
the Alembic migrations; each test starts from empty tables (truncated), so tests that
start real server processes see the same data the test wrote.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from server import create_app
from server.extensions import db
from server.models import Site, User
from server.services import accounts, audit, checklists
from server.services.credit_code import make_credit_code
from server.services.registry import save_enterprise, save_site
from server.storage import photo_store
from tests.helpers import (
    FAST_HASH,
    PASSWORD,
    TODAY,
    login,
    submit_failing_inspection,
)

PG_URL = os.environ.get("LANTIAN_TEST_DATABASE_URL", "")


def _engines() -> list[Any]:
    if PG_URL:
        return ["sqlite", "postgresql"]
    if os.environ.get("CI"):
        raise pytest.UsageError("CI needs LANTIAN_TEST_DATABASE_URL: PostgreSQL is not optional")
    return [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skip(
                reason="LANTIAN_TEST_DATABASE_URL not set (make test sets it when PostgreSQL runs)"
            ),
        ),
    ]


def reset_postgres(url: str) -> None:
    """Drop everything in the public schema so the migrations start from empty."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=_engines())
def engine_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(engine_name: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of the engine under test."""
    if engine_name == "postgresql":
        reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp_path_factory.mktemp("mig"))})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


TEST_WEBHOOK_NETWORKS = "127.0.0.0/8,::1/128"


@pytest.fixture(scope="session")
def session_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    data_dir = tmp_path_factory.mktemp("data")
    return create_app(
        {
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "TESTING": True,
            "PASSWORD_HASH_METHOD": FAST_HASH,
            "SECRET_KEY": "test-secret",
            # Jobs stay queued in memory unless a test runs them (tests/server/notify/).
            "JOBS_IN_PROCESS_WORKER": False,
            # The tests' webhook receivers listen on loopback (refused by default: SSRF).
            "WEBHOOK_ALLOW_NETWORKS": TEST_WEBHOOK_NETWORKS,
        }
    )


# The sequences the emptied tables own (ids, the audit log's numbers), each with its start.
_OWNED_SEQUENCES = text(
    "SELECT c.oid::regclass::text, s.seqstart FROM pg_sequence s"
    " JOIN pg_class c ON c.oid = s.seqrelid"
    " JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass"
    " AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE t.relname = ANY(:tables)"
)


def truncate_all() -> None:
    """Empty every table but the feed counters, which go back to zero as after migrating.

    Rows go with DELETE, children first, on both engines. On PostgreSQL that is what
    `TRUNCATE ... RESTART IDENTITY` did, but TRUNCATE gives each of the tables new files
    and syncs them at commit: 0.7-1 s per test on this machine, where deleting the few rows a
    test leaves takes milliseconds. The tables' own sequences then start again, as RESTART
    IDENTITY made them.
    """
    tables = [t.name for t in db.metadata.sorted_tables if t.name != "change_counters"]
    for table in reversed(tables):
        db.session.execute(text(f"DELETE FROM {table}"))
    if db.engine.dialect.name == "postgresql":
        sequences = db.session.execute(_OWNED_SEQUENCES, {"tables": tables}).all()
        for name, start in sequences:
            db.session.execute(text(f"ALTER SEQUENCE {name} RESTART WITH {int(start)}"))
    db.session.execute(text("UPDATE change_counters SET value = 0"))
    db.session.commit()


@pytest.fixture
def app(session_app: Flask, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app with empty tables, the checklists loaded and an empty photo store.

    After the test, `audit verify` must pass: whatever the application changed, it recorded.
    A test that tampers on purpose is marked `tampers_audit`.
    """
    store_root = Path(session_app.config["PHOTO_DIR"])
    with session_app.app_context():
        truncate_all()
        # Tokens this process trusted belong to users just truncated away.
        session_app.extensions.pop(accounts.TOKENS_CHECKED, None)
        for path in store_root.glob("??/??/*"):
            path.unlink()
        checklists.load_rule_files()
        yield session_app
        db.session.remove()
        if request.node.get_closest_marker("tampers_audit") is None:
            report = audit.verify(photo_store())
            db.session.remove()
            if not report.ok:
                problems = "\n".join(f"{p.entry}: {p.reason}" for p in report.problems[:10])
                pytest.fail(f"audit verify fails after the test:\n{problems}", pytrace=False)


class FreshContextClient(FlaskClient):
    """Each request in its own app context, as in a real server.

    The test itself holds an app context (to use db.session); without this, Flask would
    reuse it for every request, sharing `g` and the session between requests.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = FreshContextClient
    return app.test_client()


@pytest.fixture
def registry(app: Flask) -> dict[str, Any]:
    """Two enterprises in different cities with a site of every kind used in the tests."""
    shuozhou = save_enterprise(
        {
            "credit_code": make_credit_code("91140600MA0TE0001"),
            "name": "朔州测试煤业有限公司",
            "city": "朔州",
            "district": "朔城区",
            "industry": "煤炭",
            "contact_name": "王工",
            "contact_phone": "13900000001",
        }
    )
    changzhi = save_enterprise(
        {
            "credit_code": make_credit_code("91140400MA0TE0002"),
            "name": "长治测试建设有限公司",
            "city": "长治",
            "district": "潞州区",
            "industry": "建筑",
            "contact_name": "李工",
            "contact_phone": "13900000002",
        }
    )
    sites: dict[str, Site] = {}
    for enterprise, prefix in ((shuozhou, "SZ"), (changzhi, "CZ")):
        for kind in ("construction", "boiler_house", "closed_enterprise", "industrial"):
            sites[f"{prefix}-{kind}"] = save_site(
                enterprise,
                {
                    "code": f"{prefix}-{kind}",
                    "name": f"{enterprise.name}{kind}",
                    "kind": kind,
                    "address": "测试路1号",
                    "lat": 39.33,
                    "lon": 112.43,
                    "radius_m": 300.0,
                    "active": True,
                },
            )
    db.session.commit()
    return {"shuozhou": shuozhou, "changzhi": changzhi, "sites": sites}


@pytest.fixture
def users(app: Flask, registry: dict[str, Any]) -> dict[str, User]:
    """One user per role, plus a second inspector and a second enterprise."""
    made = {
        "inspector": accounts.add_user("insp", "inspector", PASSWORD),
        "inspector2": accounts.add_user("insp2", "inspector", PASSWORD),
        "supervisor": accounts.add_user("sup", "supervisor", PASSWORD),
        "admin": accounts.add_user("adm", "admin", PASSWORD),
        "enterprise": accounts.add_user(
            "ent", "enterprise", PASSWORD, enterprise_id=registry["shuozhou"].id
        ),
        "enterprise2": accounts.add_user(
            "ent2", "enterprise", PASSWORD, enterprise_id=registry["changzhi"].id
        ),
    }
    db.session.commit()
    return made


@pytest.fixture
def headers(client: FlaskClient, users: dict[str, User]) -> dict[str, dict[str, str]]:
    """Authorization headers for every role, from real tokens."""
    return {role: login(client, user.username) for role, user in users.items()}


@pytest.fixture
def clock(app: Flask):  # type: ignore[no-untyped-def]
    app.config["CLOCK_TODAY"] = TODAY.isoformat()
    yield app.config
    app.config.pop("CLOCK_TODAY", None)


@pytest.fixture
def approved(client: FlaskClient, headers, registry, clock) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A submitted (not yet approved) boiler-house inspection in Shuozhou with two findings,
    CB-10 and CB-18; the tests approve it when they need to."""
    inspection_id, findings = submit_failing_inspection(
        client, headers, registry["sites"]["SZ-boiler_house"]
    )
    return {
        "inspection": inspection_id,
        "findings": findings,
        "enterprise_id": registry["shuozhou"].id,
    }


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tampers_audit: the test edits stored data behind the application's back on purpose, "
        "so `audit verify` is not expected to pass after it",
    )
