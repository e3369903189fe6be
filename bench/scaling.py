"""Ingest against the number of gunicorn workers, on PostgreSQL: ours, Kinto and bare Flask.

Run alone: `.venv/bin/python -m bench.scaling [--quick]` (or in `make bench`).

Each system serves one database throughout; for each worker count (1, 2, 4, 8) every
system is restarted with that many workers (gthread, the production settings) and takes
the same bounded load of 8 concurrent clients, the systems in turn and their order
rotating between rounds. What is compared is how each system's rate grows from 1 to 2
workers (the machine has 2 cores) and whether it holds from 2 to 8: a write path that
serialises on one row (the audit chain's head) would stop growing at 1 worker's rate
however many workers share the load. After the run every acknowledged id is looked up.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ingest
from bench.common import OUT, drop_database, run_load, tagged
from bench.results import Row

WORKER_COUNTS = (1, 2, 4, 8)
CLIENTS = 8
DATABASES = ("lantian_bench_ours", "lantian_bench_bare", "lantian_bench_kinto")


@dataclass
class Settings:
    rounds: int = 2
    per_client: int = 30  # requests per client at each worker count, per round

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=1, per_client=10)


@dataclass
class Scaled:
    rates: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    # (system, workers) -> [samples, active backends summed, backends waiting on a lock]
    lock_waits: dict[tuple[str, int], list[int]] = field(default_factory=dict)


class LockSampler:
    """Samples pg_stat_activity of one database every few milliseconds during a load: how
    many of its backends were running a statement, and how many of those waited on a
    lock. Ingest takes one contended lock, the audit counter's row: the share waiting on it
    is what the chain's serialisation costs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples = 0
        self.active = 0
        self.waiting = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        name = self.url.rsplit("/", 1)[1]
        query = (
            "SELECT count(*) FILTER (WHERE state = 'active'), "
            "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
            "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.wait(0.005):
                active, waiting = connection.execute(query, (name,)).fetchone()  # type: ignore[misc]
                self.samples += 1
                self.active += active
                self.waiting += waiting

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)


def measure(settings: Settings, scratch: Path) -> Scaled:
    scaled = Scaled()
    systems: list[ingest.System] = []
    try:
        for make in (ingest.ours, ingest.kinto, ingest.bare):
            systems.append(make("postgresql", scratch, 1))
        for workers in WORKER_COUNTS:
            for system in systems:
                if workers != 1:
                    system.restart(workers)
                # warm every worker: imports, caches, connections
                run_load(system.server.url, system.ingest, CLIENTS, 3, system.headers)
            for number in range(settings.rounds):
                shift = number % len(systems)
                for system in systems[shift:] + systems[:shift]:
                    sampler = LockSampler(system.database) if system.database else None
                    with sampler or contextlib.nullcontext():
                        load = run_load(
                            system.server.url,
                            system.ingest,
                            CLIENTS,
                            settings.per_client,
                            system.headers,
                        )
                    if sampler is not None and sampler.samples:
                        waits = scaled.lock_waits.setdefault((system.key, workers), [0, 0, 0])
                        waits[0] += sampler.samples
                        waits[1] += sampler.active
                        waits[2] += sampler.waiting
                    system.acked.update(load.acked)
                    scaled.rates.setdefault((system.key, workers), []).append(load.rate)
                    if load.failures:
                        scaled.failures[system.label] = scaled.failures.get(system.label, 0) + len(
                            load.failures
                        )
            print(f"  scaling: {workers} worker(s) done", flush=True)
    finally:
        for system in systems:
            system.server.stop()
    for system in systems:
        stored = system.stored()
        scaled.labels[system.key] = system.label
        scaled.acked[system.label] = len(system.acked)
        scaled.missing[system.label] = len(system.acked - stored)
    return scaled


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def run(settings: Settings, scratch: Path) -> tuple[list[Row], str]:
    """Rows: ours' 1→2 scaling against bare Flask's; ours 8 workers against 2. Notes: the
    whole table."""
    try:
        scaled = measure(settings, scratch)
    finally:
        for name in DATABASES:
            drop_database(tagged(name))
    ours, bare, kinto = "postgresql:ours", "postgresql:bare", "postgresql:kinto"

    def gain(key: str, low: int, high: int) -> list[float]:
        """Rate at `high` workers over the rate at `low`, per round (same round's runs)."""
        a, b = scaled.rates.get((key, low), []), scaled.rates.get((key, high), [])
        return [y / x for x, y in zip(a, b, strict=False) if x]

    rows = [
        Row(
            "ingest scaling 1 → 2 workers, PostgreSQL, 8 clients",
            "ours: rate at 2 / rate at 1",
            gain(ours, 1, 2),
            "bare Flask: rate at 2 / rate at 1",
            gain(bare, 1, 2),
            "×",
            0.8,
            digits=2,
        ),
        Row(
            "ingest 2 → 8 workers, PostgreSQL, 8 clients",
            "ours at 8 workers",
            scaled.rates.get((ours, 8), []),
            "ours at 2 workers",
            scaled.rates.get((ours, 2), []),
            "records/s",
            1.0,
        ),
    ]
    header = "| system | " + " | ".join(f"{w} worker{'s' * (w > 1)}" for w in WORKER_COUNTS)
    lines = [header + " | 1 → 2 |", "|---" * (len(WORKER_COUNTS) + 2) + "|"]
    for key in (ours, kinto, bare):
        cells = []
        for workers in WORKER_COUNTS:
            values = scaled.rates.get((key, workers), [])
            cells.append(f"{_median(values):.0f}" if values else "–")
        ratio = gain(key, 1, 2)
        scaling = f"{_median(ratio):.2f}×" if ratio else "–"
        lines.append(f"| {scaled.labels.get(key, key)} | {' | '.join(cells)} | {scaling} |")
    waits = ["| system | " + " | ".join(f"{w}" for w in WORKER_COUNTS) + " |"]
    waits.append("|---" * (len(WORKER_COUNTS) + 1) + "|")
    for key in (ours, kinto, bare):
        cells = []
        for workers in WORKER_COUNTS:
            samples, active, waiting = scaled.lock_waits.get((key, workers), [0, 0, 0])
            cells.append(f"{active / samples:.1f} / {waiting / samples:.2f}" if samples else "–")
        waits.append(f"| {scaled.labels.get(key, key)} | {' | '.join(cells)} |")
    integrity = "\n".join(
        f"| {label} | {scaled.acked[label]} | {scaled.missing[label]} |" for label in scaled.acked
    )
    failures = (
        "; ".join(f"{label}: {count} failed requests" for label, count in scaled.failures.items())
        or "no request failed"
    )
    notes = f"""
Ingest (30-answer PUT, each a fresh id) on PostgreSQL, {CLIENTS} concurrent clients,
{settings.per_client} requests each per run, {settings.rounds} round(s) per worker count,
median records/s; every system restarted with the given number of gunicorn workers
(gthread, 4 threads each):

{chr(10).join(lines)}

Backends of each system's database running a statement / of those, waiting on a lock
(means over samples every 5 ms during the timed loads, by number of workers): ours
takes one contended lock on ingest: its audit chain's counter row.

{chr(10).join(waits)}

| system | acknowledged | acknowledged but missing |
|---|---|---|
{integrity}

{failures}.
"""
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    settings = Settings.quick() if args.quick else Settings()
    scratch = OUT / "scaling"
    shutil.rmtree(scratch, ignore_errors=True)
    rows, notes = run(settings, scratch)
    from bench.results import table

    print(table(rows))
    print(notes)


if __name__ == "__main__":
    main()
