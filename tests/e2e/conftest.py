"""A real `lantian-server` process on a loopback port, against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from flask import Flask


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready in {timeout}s: {log.read_text()[-2000:]}")


@pytest.fixture
def live_server(app: Flask, tmp_path: Path) -> Iterator[LiveServer]:
    """Start the real server on the same database the test wrote to; stop it afterwards."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "LANTIAN_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "LANTIAN_DATA_DIR": str(tmp_path / "server-data"),
        "LANTIAN_SECRET_KEY": "e2e-secret",
        "LANTIAN_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        str(Path(sys.executable).parent / "lantian-server"),
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-reload",
        "--no-debugger",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield LiveServer(url=url, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
