"""Shared pieces of the benchmarks: servers under gunicorn, PostgreSQL databases, a load client.

Everything here talks to 127.0.0.1 only. Every load is bounded by a request count and a
deadline, and every server a benchmark starts is stopped by its own process group id when
the benchmark ends, whatever happens in between.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
BIN = Path(sys.executable).parent
GUNICORN_CONF = BENCH / "gunicorn_bench.py"
PG_HOST = "127.0.0.1:5432"
PG_PREFIX = "lantian_bench_"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- PostgreSQL: our own databases only, all named lantian_bench_*


def pg_url(name: str) -> str:
    return f"postgresql://postgres@{PG_HOST}/{name}"


def _admin_execute(statement: str) -> None:
    import psycopg

    with psycopg.connect(pg_url("postgres"), autocommit=True) as connection:
        connection.execute(statement)  # type: ignore[arg-type]


def tagged(name: str) -> str:
    """A benchmark database name with this run's `LANTIAN_BENCH_TAG`, if set, so several
    engineers benchmarking on one PostgreSQL never drop each other's databases."""
    tag = os.environ.get("LANTIAN_BENCH_TAG", "").strip()
    if not tag:
        return name
    return f"{PG_PREFIX}{tag}_{name.removeprefix(PG_PREFIX)}"


def create_database(name: str) -> str:
    """A fresh, empty database (dropped first if a previous run left it); returns its URL."""
    if not name.startswith(PG_PREFIX):
        raise ValueError(f"benchmark databases are named {PG_PREFIX}*, not {name}")
    drop_database(name)
    _admin_execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    if not name.startswith(PG_PREFIX):
        raise ValueError(f"refusing to drop {name}: not a benchmark database")
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(pg_url("postgres"), connect_timeout=3):
            return True
    except Exception:
        return False


# ---- servers


@dataclass
class Server:
    """A server process group started by a benchmark, reachable at `url`."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM to the group gunicorn leads (graceful: workers run their exit hooks)."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_gunicorn(
    name: str,
    app: str,
    env: dict[str, str],
    *,
    gunicorn: Path | None = None,
    health: str = "/healthz",
    workers: int = 4,
    port: int | None = None,
) -> Server:
    """Serve `app` with the production gunicorn settings (bench/gunicorn_bench.py).

    The settings come from deploy/gunicorn.conf.py, so every server in a comparison gets
    the same worker class, threads, timeouts and logging; only bind and workers are set
    here, through the same LANTIAN_BIND / LANTIAN_WORKERS variables a deployment uses.
    """
    port = port or free_port()
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    full_env = {
        **os.environ,
        **env,
        "LANTIAN_BIND": f"127.0.0.1:{port}",
        "LANTIAN_WORKERS": str(workers),
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT)]),
    }
    command = [str(gunicorn or BIN / "gunicorn"), "-c", str(GUNICORN_CONF), app]
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=full_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start; see {log}")
        try:
            if httpx.get(server.url + health, timeout=2).status_code < 500:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} did not answer within 90 s; see {log}")


@contextmanager
def running(servers: list[Server]) -> Iterator[list[Server]]:
    """Stop every listed server on the way out, even after an error."""
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


# ---- a bounded load client: threads, one keep-alive httpx client each


class Refused(Exception):
    """A request the benchmark counts as failed (wrong status, no acknowledgement)."""


@dataclass
class Load:
    """What one bounded load did: wall time, acknowledgements and failures."""

    clients: int
    seconds: float
    acked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.acked) / self.seconds if self.seconds else 0.0


Request = Callable[[httpx.Client, int], str]


def run_load(
    base_url: str,
    request: Request,
    clients: int,
    per_client: int,
    headers: dict[str, str] | None = None,
    deadline_s: float = 60.0,
) -> Load:
    """`clients` threads each send `per_client` requests back to back, all starting at once.

    `request(http, n)` sends request number n and returns what the server acknowledged (an
    id), or raises. A load stops early at `deadline_s`, so no run can hang the benchmark.
    """
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()
    load = Load(clients=clients, seconds=0.0)
    stop_at = [0.0]

    def client(number: int) -> None:
        acked: list[str] = []
        failures: list[str] = []
        latencies: list[float] = []
        with httpx.Client(base_url=base_url, headers=headers or {}, timeout=30) as http:
            start.wait()
            for index in range(per_client):
                if time.perf_counter() > stop_at[0]:
                    failures.append("deadline")
                    break
                began = time.perf_counter()
                try:
                    acked.append(request(http, number * per_client + index))
                except (Refused, httpx.HTTPError) as error:
                    failures.append(f"{type(error).__name__}: {error}"[:300])
                latencies.append((time.perf_counter() - began) * 1000)
        with lock:
            load.acked.extend(acked)
            load.failures.extend(failures)
            load.latencies_ms.extend(latencies)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + deadline_s
    start.wait()
    for thread in threads:
        thread.join(deadline_s + 60)
    load.seconds = time.perf_counter() - began
    return load


# ---- statistics and the machine


@dataclass
class Sample:
    """Repeated measurements of one thing; the table shows the median and the range."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    def span(self, digits: int = 0) -> str:
        if not self.values:
            return "–"
        return f"{min(self.values):.{digits}f}–{max(self.values):.{digits}f}"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: p95 of 40 samples is the 38th smallest."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def machine_load() -> str:
    """Load averages and what else was busy, so a reader can judge the numbers."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    ticks: dict[int, tuple[str, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        ticks[int(stat.parent.name)] = (name, int(fields[11]) + int(fields[12]))
    return ticks


def busy_processes(seconds: float = 1.0, threshold: float = 10.0) -> list[str]:
    """Processes using more than `threshold` % of a core right now (sampled over
    `seconds`), other than this one: the other work sharing the machine."""
    first = _cpu_ticks()
    time.sleep(seconds)
    second = _cpu_ticks()
    hertz = os.sysconf("SC_CLK_TCK")
    busy = []
    for pid, (name, ticks) in second.items():
        if pid == os.getpid() or pid not in first:
            continue
        share = (ticks - first[pid][1]) / hertz / seconds * 100
        if share >= threshold:
            busy.append((share, f"{name} {share:.0f}%"))
    return [entry for _, entry in sorted(busy, reverse=True)]


def json_or_empty(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
