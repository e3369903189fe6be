"""The production way to serve: gunicorn with deploy/gunicorn.conf.py, as `make serve` does.

A fresh data directory (SQLite, local photos) is migrated by `lantian-server db upgrade`,
then gunicorn serves it with two workers on a free loopback port; the settings come from
the same LANTIAN_* variables an operator would set.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import BIN, ServerProcess
from tests.helpers import PASSWORD

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


class GunicornProcess(ServerProcess):
    """The same server process, served by gunicorn instead of the Flask CLI."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        super().__init__(f"sqlite:///{data_dir / 'lantian.sqlite3'}", data_dir, log)
        self.env.update(
            {
                "LANTIAN_BIND": f"127.0.0.1:{self.port}",
                "LANTIAN_WORKERS": "2",
                "LANTIAN_THREADS": "2",
                "LANTIAN_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            }
        )

    def command(self) -> list[str]:
        return [str(BIN / "gunicorn"), "-c", str(CONFIG), "server:create_app()"]

    def cli(self, *args: str) -> None:
        """`lantian-server` with this server's settings, as an operator runs it beside it."""
        subprocess.run(
            [str(BIN / "lantian-server"), *args],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[GunicornProcess]:
    server = GunicornProcess(tmp_path / "data", tmp_path / "gunicorn.log")
    try:
        server.cli("db", "upgrade")
        server.cli("users", "add", "wang", "--role", "inspector", "--password", PASSWORD)
        server.start()
        yield server
    finally:
        server.stop()


def test_gunicorn_serves_the_app_with_several_workers(gunicorn: GunicornProcess) -> None:
    health = httpx.get(f"{gunicorn.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "photos": "ok"}
    assert health.headers["Server"] == "gunicorn"

    token = httpx.post(
        f"{gunicorn.url}/api/v1/auth/token",
        json={"username": "wang", "password": PASSWORD},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    auth = {"Authorization": f"Bearer {token.json()['token']}"}
    # Each request on a new connection, so both workers answer some: nothing is kept in a
    # worker that another would lack.
    for _ in range(8):
        assert httpx.get(f"{gunicorn.url}/api/v1/checklists", headers=auth).status_code == 200
    refused = httpx.get(f"{gunicorn.url}/api/v1/checklists", timeout=10)
    assert refused.status_code == 401 and refused.json()["code"] == 401

    log = gunicorn.log.read_text()
    assert log.count("Booting worker with pid") == 2
    assert "Using worker: gthread" in log
    assert '"GET /healthz HTTP/1.1" 200' in log  # the access log goes to stdout

    # A deploy or scale-in sends SIGTERM: gunicorn finishes and exits cleanly.
    gunicorn.stop()
    assert gunicorn.process is not None and gunicorn.process.returncode == 0
    assert "Shutting down: Master" in gunicorn.log.read_text()
