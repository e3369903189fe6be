"""Load test: simulated inspectors syncing inspections with photos to gunicorn + PostgreSQL.

Run: `make load`, or `.venv/bin/python bench/load_test.py [--users 100] [--seconds 120]`.
Loopback only, bounded in time (the load itself, plus setup and teardown of about a
minute). It sets everything up the way `make serve` would: a fresh PostgreSQL database
`lantian_load_<time>`, `lantian-server db upgrade`, `lantian-server demo` (checklists and
a registry of 24 sites in four cities), one inspector account per simulated user, then
gunicorn with `deploy/gunicorn.conf.py` (`LANTIAN_BIND`, `LANTIAN_WORKERS`).

Why a client of our own (threads + httpx, in `bench/load_client.py`) rather than locust:
the check that matters is not only speed but that nothing is lost or duplicated, so each
simulated inspector keeps a ledger of what the server acknowledged, and afterwards the
database must hold exactly that — rows and photo files. That needs the shared checklist
rules on the client side, which the project venv already has.

It reports requests/s and p50/p95/p99 latency per request kind and overall, every distinct
error (there must be none), and the row counts against the acknowledgements; it writes
the "Load test" section of bench/RESULTS.md for a full-size run (or with --write). The
database and the photos are dropped afterwards unless --keep; logs stay in bench/out/.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_client import KINDS, Acknowledged, Inspector, Ledger, Mix, Recorder  # noqa: E402
from bench.results import write_section  # noqa: E402

BIN = Path(sys.executable).parent
OUT = ROOT / "bench" / "out"
CITIES = ("朔州", "长治", "太原", "高平")  # the demo registry's cities
SECTION = "Load test"


# ---- setup and teardown ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_connect(admin_url: str) -> psycopg.Connection:
    return psycopg.connect(admin_url, autocommit=True, connect_timeout=5)


def create_database(admin_url: str, name: str) -> str:
    """A fresh, empty database for this run only; returns its URL."""
    with admin_connect(admin_url) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


def drop_database(admin_url: str, name: str) -> None:
    # WITH (FORCE): a leftover connection (a killed worker's) must not keep it alive.
    with admin_connect(admin_url) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def pg_version(admin_url: str) -> str:
    with admin_connect(admin_url) as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def server_cli(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(BIN / "lantian-server"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise SystemExit(f"lantian-server {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def add_inspectors(database_url: str, data_dir: Path, count: int, password: str) -> list[str]:
    """One inspector per simulated user, each limited to one of the demo cities.

    Through the service layer in one process: `lantian-server users add` a hundred times
    would start a hundred interpreters. The hash is the production default (scrypt), so
    logins cost what they cost in production.
    """
    from server import create_app
    from server.extensions import db
    from server.services.accounts import add_user

    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": str(data_dir)})
    names = [f"load-inspector-{number:03d}" for number in range(1, count + 1)]
    with app.app_context():
        for index, name in enumerate(names):
            add_user(name, "inspector", password, city=CITIES[index % len(CITIES)])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return names


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    access_log: Path
    error_log: Path


def start_server(env: dict[str, str], run_dir: Path, workers: int) -> Server:
    """gunicorn exactly as `make serve` starts it, on a free loopback port."""
    port = free_port()
    env = {**env, "LANTIAN_BIND": f"127.0.0.1:{port}", "LANTIAN_WORKERS": str(workers)}
    access_log, error_log = run_dir / "access.log", run_dir / "server.log"
    with access_log.open("wb") as out, error_log.open("wb") as err:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "server:create_app()"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group, so teardown can reach stragglers
        )
    server = Server(process, f"http://127.0.0.1:{port}", access_log, error_log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{error_log.read_text()[-3000:]}")
        booted = error_log.read_text(errors="replace").count("Booting worker")
        try:
            healthy = httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            healthy = False
        if healthy and booted >= workers:
            time.sleep(2)  # the last workers build their app after the "Booting" line
            return server
        time.sleep(0.3)
    stop_server(server)
    raise SystemExit("gunicorn did not become healthy within 90 s")


def stop_server(server: Server) -> None:
    """SIGTERM (graceful, as a deploy would), then the whole group if anything lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(timeout=10)


# ---- CPU accounting -------------------------------------------------------------------


def _ticks(pid: int, fields: slice) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    values = stat.rsplit(")", 1)[1].split()
    return sum(int(v) for v in values[fields])


def gunicorn_cpu_seconds(pid: int) -> float:
    """Master + live workers + workers already reaped (recycled after max_requests)."""
    try:
        total = _ticks(pid, slice(11, 15))  # utime, stime, cutime, cstime
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            try:
                total += _ticks(int(child), slice(11, 13))
            except OSError:
                continue
    except OSError:
        return math.nan
    return total / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, other engineers' work included."""
    parts = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def client_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---- checking the database against the acknowledgements --------------------------------


def merge(ledgers: list[Ledger]) -> Ledger:
    merged = Ledger()
    for ledger in ledgers:
        merged.inspections.update(ledger.inspections)
        merged.photos |= ledger.photos
        merged.photo_bytes += ledger.photo_bytes
    return merged


def verify(
    database_url: str, photo_dir: Path, ledger: Ledger
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and photo files the server must hold, side by side with what it holds."""
    acked: list[Acknowledged] = list(ledger.inspections.values())
    with psycopg.connect(database_url, connect_timeout=5) as connection:

        def scalar(query: str) -> int:
            row = connection.execute(query).fetchone()
            return int(row[0]) if row else 0

        stored_ids = {str(r[0]) for r in connection.execute("SELECT uuid FROM inspections")}
        stored_photos = {r[0] for r in connection.execute("SELECT sha256 FROM photos")}
        rows = [
            ("inspections", len(acked), len(stored_ids)),
            (
                "inspection_revisions",
                len(acked),
                scalar("SELECT count(*) FROM inspection_revisions"),
            ),
            ("answers", sum(a.answers for a in acked), scalar("SELECT count(*) FROM answers")),
            (
                "answer_photos",
                sum(a.answer_photos for a in acked),
                scalar("SELECT count(*) FROM answer_photos"),
            ),
            ("findings", sum(a.findings for a in acked), scalar("SELECT count(*) FROM findings")),
            ("photos", len(ledger.photos), len(stored_photos)),
        ]
    problems = []
    lost = set(ledger.inspections) - stored_ids
    extra = stored_ids - set(ledger.inspections)
    if lost:
        problems.append(
            f"{len(lost)} acknowledged inspection(s) not in the database: {sorted(lost)[:5]}"
        )
    if extra:
        # Possible only if a response was lost after the commit; reported, not hidden.
        problems.append(
            f"{len(extra)} stored inspection(s) no client saw acknowledged: {sorted(extra)[:5]}"
        )
    if ledger.photos - stored_photos:
        problems.append(f"acknowledged photos missing: {sorted(ledger.photos - stored_photos)[:5]}")
    files, bad = 0, []
    for path in photo_dir.glob("??/??/*"):
        if path.name.startswith("."):
            continue
        files += 1
        if hashlib.sha256(path.read_bytes()).hexdigest() != path.name:
            bad.append(path.name)
    rows.append(("photo files in the store", len(ledger.photos), files))
    if bad:
        problems.append(f"{len(bad)} photo file(s) do not hash to their name: {bad[:5]}")
    leftovers = list(photo_dir.glob("??/??/.upload-*"))
    if leftovers:
        problems.append(f"{len(leftovers)} temporary upload file(s) left in the store")
    table = [{"what": w, "acknowledged": e, "stored": s, "ok": e == s} for w, e, s in rows]
    problems += [
        f"{r['what']}: acknowledged {r['acknowledged']}, stored {r['stored']}"
        for r in table
        if not r["ok"]
    ]
    return table, problems


def server_log_problems(server: Server) -> list[str]:
    """What the server itself logged: tracebacks, 5xx answers, timed-out workers."""
    problems = []
    log = server.error_log.read_text(errors="replace")
    tracebacks = log.count("Traceback (most recent call last)")
    if tracebacks:
        first = log[log.index("Traceback (most recent call last)") :][:3000]
        problems.append(f"server log: {tracebacks} traceback(s); the first:\n{first}")
    for marker in ("WORKER TIMEOUT", "was sent SIGKILL", "Worker failed to boot"):
        if marker in log:
            problems.append(f"server log: {log.count(marker)} × {marker!r}")
    five = 0
    for line in server.access_log.read_text(errors="replace").splitlines():
        parts = line.split('" ')
        if len(parts) > 1 and parts[1][:1] == "5":
            five += 1
    if five:
        problems.append(f"access log: {five} response(s) with a 5xx status")
    return problems


# ---- the report -----------------------------------------------------------------------


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (the value a request actually took)."""
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


SYNC_KINDS = tuple(k for k in KINDS if k.startswith(("photo", "inspection")))


def latency_rows(recorder: Recorder, seconds: float) -> list[list[str]]:
    """One row per request kind, then the sync requests together, then everything."""
    kinds = [k for k in KINDS if recorder.latencies.get(k)]
    errors_by_kind = {
        k: sum(n for key, n in recorder.errors.items() if key.startswith(f"{k}: ")) for k in KINDS
    }
    groups: list[tuple[str, list[str]]] = [(k, [k]) for k in kinds]
    groups.append(("**sync** (photos + inspections)", [k for k in kinds if k in SYNC_KINDS]))
    groups.append(("**all**", kinds))
    rows = []
    for label, members in groups:
        values = sorted(v for k in members for v in recorder.latencies[k])
        errors = sum(errors_by_kind[k] for k in members)
        if label == "**all**":
            errors = sum(recorder.errors.values())  # client-side failures included
        rows.append(
            [
                label,
                str(len(values)),
                f"{len(values) / seconds:.1f}",
                *(f"{percentile(values, q) * 1000:.0f}" for q in (0.50, 0.95, 0.99)),
                f"{values[-1] * 1000:.0f}" if values else "–",
                str(errors),
            ]
        )
    return rows


def stall_text(run: LoadRun, server_log: Path) -> str:
    """The longest time in which no response at all arrived, and when workers recycled.

    A percentile says how many requests were slow, not whether they were slow together;
    a stretch with no response means the whole server stopped, which is worth knowing
    apart from a slow request.
    """
    moments = sorted(moment for moment, _ in run.recorder.finished)
    if len(moments) < 2:
        return ""
    gap, at = max((b - a, a) for a, b in itertools.pairwise(moments))
    restarts = []
    for line in server_log.read_text(errors="replace").splitlines():
        if "Autorestarting worker" in line:
            logged = datetime.strptime(line[1:26], "%Y-%m-%d %H:%M:%S %z").timestamp()
            restarts.append(f"{logged - run.wall_started:.0f}")
    recycled = (
        f"; gunicorn recycled workers (max_requests) at {', '.join(restarts)} s" if restarts else ""
    )
    return (
        f"The longest stretch with no response at all: {gap:.1f} s, from "
        f"{at - run.started:.0f} s into the run{recycled}."
    )


def full_load_rates(run: LoadRun) -> str:
    """Throughput once every inspector is in, until the deadline: the steady state."""
    window = run.deadline - run.all_in
    if window <= 0:
        return ""
    inside = Counter(
        kind for moment, kind in run.recorder.finished if run.all_in <= moment <= run.deadline
    )
    total = sum(inside.values())
    photos = inside["photo PUT"] + inside["photo PUT (retry race)"] / 2
    inspections = sum(inside[k] for k in KINDS if k.startswith("inspection"))
    return (
        f"With all {len(run.ledgers)} inspectors in (the {window:.0f} s after the ramp): "
        f"{total / window:.1f} requests/s, of which {photos / window:.1f} photo uploads/s and "
        f"{inspections / window:.1f} inspection PUTs/s."
    )


def reflow(markdown: str, width: int = 92) -> str:
    """Rewrap paragraphs and list items (not tables) after the numbers were filled in."""
    blocks = []
    for block in markdown.strip().split("\n\n"):
        if block.lstrip().startswith("|"):
            blocks.append(block)
            continue
        items = re.split(r"\n(?=- )", block)
        wrapped = []
        for item in items:
            bullet = item.startswith("- ")
            words = " ".join(item.removeprefix("- ").split())
            lines = textwrap.wrap(words, width - 2 if bullet else width, break_on_hyphens=False)
            if bullet:
                lines = ["- " + lines[0], *("  " + line for line in lines[1:])]
            wrapped.append("\n".join(lines))
        blocks.append("\n".join(wrapped))
    return "\n\n".join(blocks) + "\n"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    args: argparse.Namespace,
    workers: int,
    run: LoadRun,
    ledger: Ledger,
    counts: list[dict[str, Any]],
    problems: list[str],
    cpu: dict[str, Any],
    server_log: Path,
) -> str:
    """The RESULTS.md section: setup, latency table, errors, the row check, CPU."""
    recorder = run.recorder
    sizes = sorted(recorder.photo_sizes)
    size_text = (
        f"{len(sizes)} photos, {sizes[0] / 1024:.0f}–{sizes[-1] / 1024:.0f} kB "
        f"(median {percentile(sizes, 0.5) / 1024:.0f} kB), {ledger.photo_bytes / 1e6:.1f} MB in all"
        if sizes
        else "no photos"
    )
    latency = markdown_table(
        ["request / 请求", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"],
        latency_rows(recorder, run.seconds),
    )
    data = markdown_table(
        ["rows / 数据", "acknowledged to clients / 已确认", "in the database / 库中", "equal"],
        [
            [c["what"], str(c["acknowledged"]), str(c["stored"]), "yes" if c["ok"] else "**NO**"]
            for c in counts
        ],
    )
    if recorder.errors or problems:
        errors = "\n\n" + "\n".join(
            [f"- {n} × `{key}`" for key, n in recorder.errors.most_common()]
            + [f"- {p.splitlines()[0]}" for p in problems]
        )
    else:
        errors = "none / 无"
    override = os.environ.get("GUNICORN_CMD_ARGS")
    note = f" `GUNICORN_CMD_ARGS={override}` was set and overrides it." if override else ""
    return reflow(f"""
`bench/load_test.py` (`make load`), loopback, everything on one machine:

- **Server / 服务端**: gunicorn with `deploy/gunicorn.conf.py` ({workers} workers ×
  {args.threads} threads, gthread; workers recycled after ~1000 requests: {cpu["restarts"]:.0f}
  restarts during the run).{note} PostgreSQL {cpu["pg_version"]}, a fresh database
  (`db upgrade`, `demo`: the checklists, 44 sites in 4 cities), local photo directory.
- **Inspectors / 检查员**: {args.users} accounts (scrypt, the production hash; one login
  each), each limited to one city; started over {args.ramp:.0f} s, then all of them for
  {args.seconds:.0f} s: fill an inspection offline (random answers judged by the shared
  rules), HEAD + PUT each of its photos, PUT the inspection; a pause of 0–{2 * args.think:.0f} s
  between inspections. {args.resend:.0%} of inspections are resent after the
  acknowledgement (must be 200 and unchanged); {args.race_inspection:.0%} of inspection PUTs
  and {args.race_photo:.0%} of photo PUTs are sent twice at the same moment on two
  connections, as a retry after a timeout would (must be one 201 + one 200; both are
  counted in the race rows).
- **Photos / 照片**: {size_text}; distinct 640×480 JPEGs made with Pillow, with EXIF time
  and GPS.

Requests over the {run.seconds:.0f} s from the first login to the last response
(请求与延迟):

{latency}

{full_load_rates(run)} {stall_text(run, server_log)}

Every distinct error / 全部错误: {errors}

What the server acknowledged to the clients against what it holds afterwards
(服务器确认的与库中实际的):

{data}

CPU during the load: gunicorn {cpu["server"]:.0f} s, the load client {cpu["client"]:.0f} s;
the machine was {cpu["machine_busy"]:.0%} busy (PostgreSQL and other users included; load
average {cpu["loadavg"]:.1f} before the run), so latencies include waiting for a core.
""")


# ---- main -----------------------------------------------------------------------------


@dataclass
class LoadRun:
    """What the load produced, with the moments that delimit its phases (monotonic)."""

    recorder: Recorder
    ledgers: list[Ledger]
    started: float  # the first inspector starts
    wall_started: float  # the same moment by the wall clock, to place server log lines
    all_in: float  # the last one has started: full load from here
    deadline: float  # no inspection is begun after this
    finished: float  # the last response
    stuck: int  # threads still running long after the deadline

    @property
    def seconds(self) -> float:
        return self.finished - self.started


def run_load(server: Server, names: list[str], password: str, args: argparse.Namespace) -> LoadRun:
    """All inspectors, each in its own thread, started over the ramp, then `--seconds` of
    full load; joins are bounded, so a stuck request is reported rather than waited for."""
    recorder = Recorder()
    mix = Mix(
        resend=args.resend,
        race_inspection=args.race_inspection,
        race_photo=args.race_photo,
        think=args.think,
    )
    started, wall_started = time.monotonic(), time.time()
    deadline = started + args.ramp + args.seconds
    inspectors = []
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="retry-twin") as twins:
        threads = []
        for index, name in enumerate(names):
            inspector = Inspector(
                index + 1, server.url, name, password, recorder, deadline, mix, twins
            )
            inspectors.append(inspector)
            thread = threading.Thread(target=inspector.run, name=name, daemon=True)
            thread.start()
            threads.append(thread)
            if index + 1 < len(names):
                time.sleep(args.ramp / (len(names) - 1))
        all_in = time.monotonic()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline + 90 - time.monotonic()))
        stuck = sum(thread.is_alive() for thread in threads)
    return LoadRun(
        recorder=recorder,
        ledgers=[i.ledger for i in inspectors],
        started=started,
        wall_started=wall_started,
        all_in=all_in,
        deadline=deadline,
        finished=max((t for t, _ in recorder.finished), default=time.monotonic()),
        stuck=stuck,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100, help="simulated inspectors")
    parser.add_argument(
        "--seconds", type=float, default=120, help="full load, after the ramp (seconds)"
    )
    parser.add_argument("--ramp", type=float, default=20, help="seconds over which users start")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between inspections")
    parser.add_argument("--resend", type=float, default=0.10)
    parser.add_argument("--race-inspection", type=float, default=0.05)
    parser.add_argument("--race-photo", type=float, default=0.03)
    parser.add_argument("--workers", type=int, help="LANTIAN_WORKERS (default: 2 × cores + 1)")
    parser.add_argument("--threads", type=int, default=4, help="LANTIAN_THREADS")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "LANTIAN_LOAD_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL role that may create and drop databases",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and photos")
    parser.add_argument(
        "--write", action="store_true", help="write RESULTS.md even for a shorter run"
    )
    args = parser.parse_args()
    workers = args.workers or 2 * len(os.sched_getaffinity(0)) + 1
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    run_dir = OUT / f"load-{stamp}"
    data_dir = run_dir / "data"
    data_dir.mkdir(parents=True)
    name = f"lantian_load_{stamp}"
    print(f"run directory {run_dir}; database {name}", flush=True)
    database_url = create_database(args.admin_url, name)
    server: Server | None = None
    try:
        env = {
            **os.environ,
            "LANTIAN_DATABASE_URL": database_url,
            "LANTIAN_DATA_DIR": str(data_dir),
            "LANTIAN_SECRET_KEY": secrets.token_urlsafe(32),
            "LANTIAN_THREADS": str(args.threads),
        }
        server_cli(env, "db", "upgrade")
        server_cli(env, "demo", "--no-inspections")
        password = f"load-{secrets.token_urlsafe(12)}"
        names = add_inspectors(database_url, data_dir, args.users, password)
        server = start_server(env, run_dir, workers)
        print(
            f"gunicorn {workers}×{args.threads} at {server.url}; load for {args.seconds:.0f} s",
            flush=True,
        )
        loadavg = os.getloadavg()[0]
        cpu_server, cpu_client, machine = (
            gunicorn_cpu_seconds(server.process.pid),
            client_cpu_seconds(),
            machine_ticks(),
        )
        run = run_load(server, names, password, args)
        recorder = run.recorder
        busy, total = (b - a for a, b in zip(machine, machine_ticks(), strict=True))
        cpu = {
            "server": gunicorn_cpu_seconds(server.process.pid) - cpu_server,
            "client": client_cpu_seconds() - cpu_client,
            "machine_busy": busy / total if total else math.nan,
            "restarts": server.error_log.read_text(errors="replace").count("Booting worker")
            - workers,
            "loadavg": loadavg,
            "pg_version": pg_version(args.admin_url),
        }
        stop_server(server)
        ledger = merge(run.ledgers)
        counts, problems = verify(database_url, data_dir / "photos", ledger)
        problems += server_log_problems(server)
        if run.stuck:
            problems.append(
                f"{run.stuck} inspector thread(s) still running 90 s after the deadline"
            )
        body = report(args, workers, run, ledger, counts, problems, cpu, server.error_log)
        print(body)
        for key, count in recorder.errors.most_common():
            print(f"\n{count} × {key}\n  e.g. {recorder.examples[key]}")
        for problem in problems:
            print(f"\nPROBLEM: {problem}")
        (run_dir / "result.json").write_text(
            json.dumps(
                {
                    "latencies_ms": {
                        k: [round(v * 1000, 2) for v in vs] for k, vs in recorder.latencies.items()
                    },
                    "errors": dict(recorder.errors),
                    "examples": recorder.examples,
                    "counts": counts,
                    "problems": problems,
                    "cpu": cpu,
                },
                ensure_ascii=False,
            )
        )
        full = args.users >= 100 and args.seconds >= 120
        if full or args.write:
            write_section(SECTION, body)
            print(f"written to bench/RESULTS.md, section {SECTION!r}")
        else:
            print("shorter than the full run: bench/RESULTS.md left as it was (--write to force)")
        return 1 if recorder.errors or problems else 0
    finally:
        if server is not None:
            stop_server(server)
        if args.keep:
            print(f"kept: database {database_url}, data {data_dir}")
        else:
            drop_database(args.admin_url, name)
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
