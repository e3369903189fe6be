"""Server CPU per 30-answer PUT in process: ours against the bare Flask endpoint, same body.

Run: `.venv/bin/python -m bench.put_cpu [--backend sqlite|postgresql] [--profile]`.

Both apps are driven through Flask's test client in this one process (no gunicorn, no
network), so what is measured is the application's own work per request: for ours the
token check, loading and validating the body, evaluating the 30 rules, storing the
inspection, revision, answers and audit entry in one transaction, and the response; for
the bare endpoint parsing the JSON and storing it as one row. Each request has a fresh
UUID. Time is CPU time of this process (`time.process_time`), so on PostgreSQL the
server's own work is not in it (it is reported separately as wall time per PUT).

Time drifts with the machine's load; the instruction count does not. `--callgrind N1 N2`
counts instructions under `valgrind --tool=callgrind` with instrumentation switched on
after start-up and warm-up, for N1 and N2 PUTs, and reports the difference / (N2 - N1):
start-up, warm-up and exit cancel out. (`perf stat -e instructions` would be cheaper, but
this VM exposes no hardware counters: `perf stat -e instructions true` says
"not supported".)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import server_setup
from bench.common import BENCH, OUT, ROOT, create_database, drop_database, tagged
from bench.results import Row

PROFILES = OUT / "profiles"
WARMUP = 20
HOLDS: dict[str, list[float]] = {}


def database_name(system: str) -> str:
    """This run's own PostgreSQL database for `system` (several engineers may bench at once)."""
    return tagged(f"lantian_bench_cpu_{system}")


@dataclass
class Target:
    """One app in process, ready to take PUTs: `put()` sends one and checks the answer."""

    name: str
    put: Callable[[], None]
    # Wall ms from taking the audit counter's row lock to the end of the commit, per PUT
    # (ours only): while one transaction holds it, no other can append to the chain.
    lock_holds: list[float] = field(default_factory=list)


def ours(scratch: Path, database_url: str | None) -> Target:
    from server import create_app

    prepared = server_setup.prepare(scratch / "ours", database_url)
    config: dict[str, Any] = {
        "DATA_DIR": prepared.env["LANTIAN_DATA_DIR"],
        "SECRET_KEY": server_setup.SECRET,
    }
    if database_url:
        config["DATABASE_URL"] = database_url
    app = create_app(config)
    client = app.test_client()
    body = server_setup.inspection_body(
        prepared.boiler_site, prepared.checklists["bench-thirty"], server_setup.thirty_answers()
    )
    holds: list[float] = []
    _time_audit_lock(app, holds)
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = {
        "Authorization": f"Bearer {prepared.tokens['inspector1']}",
        "Content-Type": "application/json",
    }

    def put() -> None:
        response = client.put(f"/api/v1/inspections/{uuid.uuid4()}", data=payload, headers=headers)
        if response.status_code != 201:
            raise RuntimeError(f"ours answered {response.status_code}: {response.data[:300]!r}")

    return Target("ours", put, holds)


def _time_audit_lock(app: Any, holds: list[float]) -> None:
    """Time each hold of the audit counter's row lock: from the UPDATE that takes it to the
    end of the commit that releases it."""
    from sqlalchemy import event

    from server.extensions import db

    taken: list[float] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CHANGE_COUNTERS"):
            taken.append(time.perf_counter())

    def committed(_session: Any) -> None:
        if taken:
            holds.append((time.perf_counter() - taken[0]) * 1000)
            taken.clear()

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.session, "after_commit", committed)


def bare(scratch: Path, database_url: str | None) -> Target:
    if database_url is None:
        (scratch / "bare").mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{(scratch / 'bare' / 'bare.sqlite3').resolve()}"
    os.environ["BENCH_BARE_DATABASE_URL"] = database_url
    sys.path.insert(0, str(BENCH))
    import bare_flask_app

    document = server_setup.checklist_document()
    bare_flask_app.init(document["id"], document["version"], document)
    client = bare_flask_app.create_app().test_client()
    body = server_setup.inspection_body(4, "bench", server_setup.thirty_answers())
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}

    def put() -> None:
        response = client.put(f"/records/{uuid.uuid4()}", data=payload, headers=headers)
        if response.status_code != 201:
            raise RuntimeError(f"bare answered {response.status_code}")

    return Target("bare", put)


def make(system: str, backend: str, scratch: Path) -> Target:
    url = create_database(database_name(system)) if backend == "postgresql" else None
    return (ours if system == "ours" else bare)(scratch / backend, url)


def measure(target: Target, count: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per PUT over `count` PUTs."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        target.put()
    return (
        (time.process_time() - cpu) / count * 1000,
        (time.perf_counter() - wall) / count * 1000,
    )


def run_inline(
    backends: tuple[str, ...], rounds: int, count: int, profile: bool
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Ours and bare alternating in one process, `rounds` × `count` PUTs each."""
    scratch = OUT / "put-cpu"
    shutil.rmtree(scratch, ignore_errors=True)
    found: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        for backend in backends:
            targets = [make(system, backend, scratch) for system in ("ours", "bare")]
            HOLDS[backend] = targets[0].lock_holds
            for target in targets:
                for _ in range(WARMUP):
                    target.put()
            for number in range(rounds):
                order = targets if number % 2 == 0 else targets[::-1]
                for target in order:
                    found.setdefault((target.name, backend), []).append(measure(target, count))
            if profile:
                PROFILES.mkdir(parents=True, exist_ok=True)
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(count):
                    targets[0].put()
                profiler.disable()
                path = PROFILES / f"put-{backend}.pstats"
                profiler.dump_stats(path)
                stats = pstats.Stats(str(path))
                with (PROFILES / f"put-{backend}.txt").open("w") as handle:
                    stats.stream = handle  # type: ignore[attr-defined]
                    stats.sort_stats("cumulative").print_stats(80)
                    stats.sort_stats("tottime").print_stats(40)
                print(f"profile: {PROFILES}/put-{backend}.txt", flush=True)
    finally:
        if "postgresql" in backends:
            for system in ("ours", "bare"):
                drop_database(database_name(system))
    return found


# ---- instruction counts under callgrind


def _child(system: str, backend: str, count: int) -> None:
    """Run inside valgrind: warm up, say "ready", wait, then send `count` PUTs."""
    scratch = OUT / "put-cpu-callgrind" / f"{system}-{count}"
    shutil.rmtree(scratch, ignore_errors=True)
    target = make(system, backend, scratch)
    for _ in range(WARMUP):
        target.put()
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(count):
        target.put()
    print("done", flush=True)
    sys.stdin.readline()


def _instructions(system: str, backend: str, count: int) -> int:
    """Instructions executed between "ready" and exit, for `count` PUTs."""
    directory = OUT / "callgrind"
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{system}-{backend}-{count}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.put_cpu",
        "--child",
        system,
        backend,
        str(count),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None

        def wait_for(word: str) -> None:
            for line in process.stdout:  # type: ignore[union-attr]
                if line.strip() == word:
                    return
            raise RuntimeError(f"callgrind child ended before {word!r}")

        wait_for("ready")
        subprocess.run(
            ["callgrind_control", "-i", "on", str(process.pid)], check=True, capture_output=True
        )
        process.stdin.write("go\n")
        process.stdin.flush()
        wait_for("done")
        subprocess.run(
            ["callgrind_control", "-i", "off", str(process.pid)], check=True, capture_output=True
        )
        process.stdin.write("exit\n")
        process.stdin.flush()
        process.wait(timeout=600)
    text = out.read_text(errors="replace")
    totals = re.findall(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if not totals:
        raise RuntimeError(f"no totals in {out}")
    return int(totals[-1])


def callgrind(backends: tuple[str, ...], low: int, high: int) -> dict[tuple[str, str], float]:
    """Instructions per PUT: (count at `high` − count at `low`) / (high − low)."""
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise RuntimeError("valgrind is not installed")
    found: dict[tuple[str, str], float] = {}
    try:
        for backend in backends:
            for system in ("ours", "bare"):
                first = _instructions(system, backend, low)
                second = _instructions(system, backend, high)
                found[(system, backend)] = (second - first) / (high - low)
    finally:
        if "postgresql" in backends:
            for system in ("ours", "bare"):
                drop_database(database_name(system))
    return found


def run(quick: bool, backends: tuple[str, ...]) -> tuple[list[Row], str]:
    """For `make bench`: time in process (ours and bare alternating) on each backend, and
    instructions under callgrind on SQLite (PostgreSQL's own work is another process)."""
    rounds, count = (2, 40) if quick else (5, 100)
    found = run_inline(backends, rounds, count, profile=False)
    counts: dict[tuple[str, str], float] = {}
    low, high = (3, 13) if quick else (10, 60)
    note = ""
    try:
        counts = callgrind(("sqlite",), low, high)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        note = f"\nInstruction counts not taken: {error}.\n"
    rows: list[Row] = []
    lines = []
    for backend in backends:
        engine = "SQLite" if backend == "sqlite" else "PostgreSQL"
        ours_cpu = [v[0] for v in found.get(("ours", backend), [])]
        bare_cpu = [v[0] for v in found.get(("bare", backend), [])]
        rows.append(
            Row(
                f"server CPU per 30-answer PUT in process, {engine}",
                "ours",
                ours_cpu,
                "target",
                [2.0],
                "ms",
                1.0,
                higher_is_better=False,
                digits=2,
            )
        )
        rows.append(
            Row(
                f"server CPU per 30-answer PUT in process, {engine}",
                "ours",
                ours_cpu,
                "bare Flask (same body)",
                bare_cpu,
                "ms",
                None,
                higher_is_better=False,
                digits=2,
            )
        )
        wall = {
            system: [v[1] for v in found.get((system, backend), [])] for system in ("ours", "bare")
        }
        held = sorted(HOLDS.get(backend, []))
        lines.append(
            f"| {engine} | {_median(ours_cpu):.2f} | {_median(wall['ours']):.2f} | "
            f"{_median(bare_cpu):.2f} | {_median(wall['bare']):.2f} | "
            + (f"{held[len(held) // 2]:.2f} |" if held else "– |")
        )
    if counts:
        rows.append(
            Row(
                "instructions per 30-answer PUT in process (callgrind), SQLite",
                "ours",
                [counts[("ours", "sqlite")] / 1e6],
                "bare Flask (same body)",
                [counts[("bare", "sqlite")] / 1e6],
                "M instructions",
                None,
                higher_is_better=False,
                digits=1,
            )
        )
    notes = f"""
`bench/put_cpu.py`: both apps in this one process through Flask's test client (no gunicorn,
no network), {rounds} rounds of {count} PUTs each, ours and bare alternating, after
{WARMUP} warm-up PUTs; medians. CPU is this process's (`time.process_time`), so on
PostgreSQL the database server's own work is not in it (wall time is). "Audit lock held" is
the wall time from the UPDATE that takes the audit chain's counter row lock to the end of
the commit that releases it.

| engine | ours CPU ms | ours wall ms | bare CPU ms | bare wall ms | audit lock held ms |
|---|---|---|---|---|---|
{chr(10).join(lines)}

Instructions: `valgrind --tool=callgrind --instr-atstart=no`, switched on with
`callgrind_control -i on` after start-up and warm-up; ({high} PUTs − {low} PUTs) / {high - low},
so start-up, warm-up and exit cancel out. They do not drift with the machine's load (`perf
stat -e instructions` would be cheaper, but this VM exposes no hardware counters).{note}
"""
    return rows, notes


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile ours afterwards")
    parser.add_argument("--callgrind", nargs=2, type=int, metavar=("N1", "N2"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], int(args.child[2]))
        return
    backends = tuple(args.backend or ("sqlite", "postgresql"))
    if args.callgrind:
        for (system, backend), count in callgrind(backends, *args.callgrind).items():
            print(f"{system:5} {backend:10} {count / 1e6:8.2f} M instructions per PUT")
        return
    found = run_inline(backends, args.rounds, args.count, args.profile)
    for (system, backend), values in found.items():
        if system == "ours" and backend in HOLDS and HOLDS[backend]:
            held = sorted(HOLDS[backend])
            print(
                f"ours  {backend:10} audit lock held {held[len(held) // 2]:.2f} ms per PUT "
                f"(median of {len(held)}; p90 {held[int(len(held) * 0.9)]:.2f})"
            )
        cpu = sorted(v[0] for v in values)
        wall = sorted(v[1] for v in values)
        print(
            f"{system:5} {backend:10} CPU {cpu[len(cpu) // 2]:6.2f} ms/PUT "
            f"({cpu[0]:.2f}–{cpu[-1]:.2f}), wall {wall[len(wall) // 2]:6.2f} ms"
        )


if __name__ == "__main__":
    main()
