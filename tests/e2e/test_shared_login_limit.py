"""With Redis configured, failed logins are counted across server processes (several
gunicorn workers or machines behind a load balancer), not per process."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from flask import Flask

from server.extensions import db
from server.services import accounts
from tests.e2e.conftest import ServerProcess
from tests.helpers import PASSWORD

REDIS_URL = os.environ.get("LANTIAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is needed for this test in CI: {error}")
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")


def test_two_processes_share_one_allowance(app: Flask, users, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    require_redis()
    name = f"guess-{uuid.uuid4().hex[:12]}"
    accounts.add_user(name, "inspector", PASSWORD)
    db.session.commit()
    servers = []
    for index in range(2):
        server = ServerProcess(
            app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / f"data{index}", tmp_path / "log"
        )
        server.env["LANTIAN_RATELIMIT_STORAGE_URI"] = REDIS_URL
        server.start()
        servers.append(server)
    try:
        wrong = {"username": name, "password": "wrong-password"}
        for attempt in range(10):  # five refusals on each process
            server = servers[attempt % 2]
            response = httpx.post(f"{server.url}/api/v1/auth/token", json=wrong, timeout=10)
            assert response.status_code == 401
        right = {"username": name, "password": PASSWORD}
        for server in servers:
            response = httpx.post(f"{server.url}/api/v1/auth/token", json=right, timeout=10)
            assert response.status_code == 429, response.text
    finally:
        for server in servers:
            server.stop()
