"""Real processes: `lantian-server` on a loopback port against the test database, and the
`lantian-field` command in its own data directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask

from tests.conftest import TEST_WEBHOOK_NETWORKS
from tests.helpers import PASSWORD

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalProcess:
    """A real process of ours on a loopback port, ready when `ready_path` answers 200; it can
    be killed (-9) and started again on the same port and data."""

    name = "process"
    ready_path = "/healthz"

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = env
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        output = self.log.open("a")
        self.process = subprocess.Popen(
            self.command(), env=self.env, stdout=output, stderr=subprocess.STDOUT
        )
        output.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}{self.ready_path}", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """kill -9: no chance to finish anything."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class ServerProcess(LocalProcess):
    """The real server; it can be killed and started again on the same port and data."""

    name = "server"

    def __init__(self, database_url: str, data_dir: Path, log: Path) -> None:
        super().__init__(log, dict(os.environ))
        self.env.update(
            {
                "LANTIAN_DATABASE_URL": database_url,
                "LANTIAN_DATA_DIR": str(data_dir),
                "LANTIAN_SECRET_KEY": "e2e-secret",
                "LANTIAN_PUBLIC_URL": self.url,
                "LANTIAN_WEBHOOK_ALLOW_NETWORKS": TEST_WEBHOOK_NETWORKS,
            }
        )

    def command(self) -> list[str]:
        """How the server is started; a subclass may serve the same app another way."""
        return [
            str(BIN / "lantian-server"),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-reload",
            "--no-debugger",
        ]


@pytest.fixture
def server_process(app: Flask, tmp_path: Path) -> Iterator[ServerProcess]:
    """The real server on the database the test wrote to (not started yet)."""
    server = ServerProcess(
        app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "server-data", tmp_path / "server.log"
    )
    # One photo store for the test and the server, as the servers of a deployment share
    # theirs: the `audit verify` run after each test hashes the photos the server stored.
    server.env["LANTIAN_PHOTO_DIR"] = app.config["PHOTO_DIR"]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def live_server(server_process: ServerProcess) -> ServerProcess:
    server_process.start()
    return server_process


class Field:
    """The real `lantian-field` command with its own data directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "LANTIAN_FIELD_HOME": str(home),
            "LANTIAN_FIELD_RETRY_BASE": "0.05",
            "LANTIAN_FIELD_RETRY_CAP": "0.5",
            "LANTIAN_FIELD_RETRY_ATTEMPTS": "4",
            "LANTIAN_FIELD_TIMEOUT": "10",
        }

    def command(self, *args: str) -> list[str]:
        return [str(BIN / "lantian-field"), *args]

    def run(
        self, *args: str, input: str | None = None, expect: int | None = 0
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self.command(*args),
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if expect is not None:
            assert result.returncode == expect, (args, result.stdout, result.stderr)
        return result

    def json(self, *args: str, expect: int | None = 0) -> Any:
        result = self.run("--json", *args, expect=expect)
        return json.loads(result.stdout)

    def in_process(self) -> InProcessField:
        return InProcessField(self.home, self.env)

    def spawn(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


class InProcessField(Field):
    """The same commands through click's runner: the command code without a new process."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env

    def run(
        self, *args: str, input: str | None = None, expect: int | None = 0
    ) -> subprocess.CompletedProcess:
        from click.testing import CliRunner

        from field_client.cli import main

        result = CliRunner().invoke(main, list(args), input=input, env=self.env)
        if expect is not None:
            assert result.exit_code == expect, (args, result.output)
        return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def field(tmp_path: Path) -> Field:
    return Field(tmp_path / "field-home")


@pytest.fixture
def ready(server_process: ServerProcess, field: Field, users, registry):  # type: ignore[no-untyped-def]
    """A logged-in field client with checklists and sites pulled, then the server stopped."""
    server_process.start()
    field.run("login", "--server", server_process.url, "--user", "insp", "--password", PASSWORD)
    pulled = field.json("pull")
    assert "coal-and-boilers" in pulled["checklists_updated"] and pulled["sites_changed"] == 8
    server_process.stop()
    return registry["sites"]["SZ-boiler_house"].id
