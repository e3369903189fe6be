"""`make bench`: every benchmark in one run, one table, bench/RESULTS.md rewritten.

Run: `.venv/bin/python -m bench.run_all [--quick] [--only NAME ...]`. Loopback only; each
benchmark is bounded by request counts and deadlines; the full run takes about 25–30
minutes on 2 cores, most of it the shift sync over a shaped rural 3G link (bandwidth-bound).
Benchmark databases (lantian_bench_*) are dropped at the end and everything else lives under
bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import growth, ingest, photo_pipeline, put_cpu, scaling, sync_e2e, sync_link
from bench.common import (
    OUT,
    busy_processes,
    drop_database,
    machine_load,
    pg_reachable,
    pg_url,
    tagged,
)
from bench.results import Row, table, write_results

BENCHMARKS = ("cpu", "ingest", "scaling", "photo", "sync", "link", "growth")
DATABASES = (
    "lantian_bench_ours",
    "lantian_bench_bare",
    "lantian_bench_kinto",
    growth.DATABASE,
)
PROFILE_NOTES = Path(__file__).with_name("profile_notes.md")


def postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect(pg_url("postgres"), connect_timeout=3) as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    except Exception:
        return "unreachable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for development")
    parser.add_argument("--only", choices=BENCHMARKS, action="append")
    args = parser.parse_args()
    chosen = args.only or list(BENCHMARKS)
    began = time.monotonic()
    load_before, busy_before = machine_load(), busy_processes()
    postgres = pg_reachable()
    rows: list[Row] = []
    sections: list[tuple[str, str]] = []
    skipped: list[str] = []
    scratch = OUT / "run"
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        if "cpu" in chosen:
            print("== server CPU per PUT in process", flush=True)
            found, notes = put_cpu.run(
                args.quick, ("sqlite", "postgresql") if postgres else ("sqlite",)
            )
            rows += found
            sections.append(("Server CPU per inspection PUT", notes))
        if "ingest" in chosen:
            settings = ingest.Settings.quick() if args.quick else ingest.Settings()
            if not postgres:
                settings.backends = ("sqlite",)
                skipped.append("ingest on PostgreSQL (no PostgreSQL at 127.0.0.1:5432)")
            print("== ingest and checklist refresh", flush=True)
            found, notes = ingest.run(settings, scratch / "ingest")
            rows += found
            sections.append(("Ingest and checklist refresh", notes))
        if "scaling" in chosen:
            if postgres:
                print("== ingest scaling with workers", flush=True)
                settings_scaling = scaling.Settings.quick() if args.quick else scaling.Settings()
                found, notes = scaling.run(settings_scaling, scratch / "scaling")
                rows += found
                sections.append(("Ingest scaling with gunicorn workers (PostgreSQL)", notes))
            else:
                skipped.append("scaling (no PostgreSQL at 127.0.0.1:5432)")
        if "photo" in chosen:
            print("== photo pipeline", flush=True)
            found, notes = photo_pipeline.run(3 if args.quick else 7)
            rows += found
            sections.append(("Photo pipeline", notes))
        if "sync" in chosen:
            print("== end-to-end sync", flush=True)
            settings_sync = sync_e2e.Settings.quick() if args.quick else sync_e2e.Settings()
            found, notes = sync_e2e.run(settings_sync, scratch / "sync")
            rows += found
            sections.append(("End-to-end sync", notes))
        if "link" in chosen:
            print("== shift sync over a shaped link", flush=True)
            settings_link = sync_link.Settings.quick() if args.quick else sync_link.Settings()
            found, notes = sync_link.run(settings_link, scratch / "link")
            rows += found
            sections.append((sync_link.TITLE, notes))
        if "growth" in chosen:
            if postgres:
                print("== growth of finding queries", flush=True)
                settings_growth = growth.Settings.quick() if args.quick else growth.Settings()
                found, notes = growth.run(settings_growth, scratch / "growth")
                rows += found
                sections.append(("Growth of finding queries", notes))
            else:
                skipped.append("growth (no PostgreSQL at 127.0.0.1:5432)")
    finally:
        if postgres:
            for name in DATABASES:
                drop_database(tagged(name))
        shutil.rmtree(scratch, ignore_errors=True)
    minutes = (time.monotonic() - began) / 60
    busy_after = busy_processes()
    others = sorted({entry.rsplit(" ", 1)[0] for entry in busy_before + busy_after})
    context = [
        f"PostgreSQL {postgres_version()} on 127.0.0.1:5432; Kinto {ingest.KINTO_VERSION} "
        f"from {ingest.kinto_home()}; {platform.python_implementation()}",
        f"`make bench`{' --quick' if args.quick else ''} took {minutes:.1f} min; "
        f"{load_before} before, {machine_load()} after",
        "other work on the machine during the run (busiest processes, sampled at start and "
        f"end): {', '.join(others) if others else 'none seen'}",
    ]
    if others:
        context.append(
            "**Other work was running on this 2-core machine during the run** (other "
            "engineers' test suites): absolute numbers are lower and noisier than on an idle "
            "machine; the ratios compare systems measured in alternation within this run."
        )
    if skipped:
        context.append(f"skipped: {'; '.join(skipped)}")
    if PROFILE_NOTES.exists():
        sections.append(("What the profiles showed", PROFILE_NOTES.read_text(encoding="utf-8")))
    print()
    print(table(rows))
    if args.only and len(args.only) < len(BENCHMARKS):
        print("\n(--only: bench/RESULTS.md left as it was)")
        return
    write_results(rows, sections, context)
    print(f"\nwritten to bench/RESULTS.md ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
