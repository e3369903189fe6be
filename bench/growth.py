"""Growth: supervisor finding queries at 10k, 100k and 1M findings on PostgreSQL.

Run alone: `.venv/bin/python -m bench.growth [--quick]` (or all benchmarks: `make bench`).

A fresh database is migrated with our migrations, then grown in steps with
`INSERT … SELECT generate_series` in the shape our server writes: 2,000 enterprises with
a site each over the four cities, inspections of five failed items each (revision,
answers citing a photo, findings), notices for 70 % of inspections with the findings'
history, and a spread of statuses and due dates, so filters select what they would in a
district office that has worked for some years. After each step (and VACUUM ANALYZE, as
autovacuum would do) the findings API `GET /api/v1/findings` is timed through our
gunicorn server, page 1 and page 50 of each filter, the shapes interleaved. The API counts
the matches only up to its cap (`FINDINGS_COUNT_CAP`, "10,000+"); the table's matching
counts are exact, counted in SQL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import server_setup
from bench.common import (
    OUT,
    create_database,
    drop_database,
    percentile,
    start_gunicorn,
    tagged,
)
from bench.results import Row
from server.config import DEFAULT_FINDINGS_COUNT_CAP

DATABASE = "lantian_bench_growth"
FINDINGS_PER_INSPECTION = 5
ENTERPRISES = 2000
TODAY = "2026-11-25"
SHAPES: tuple[tuple[str, dict[str, str]], ...] = (
    ("city=朔州", {"city": "朔州"}),
    ("status=open", {"status": "open"}),
    ("overdue=true", {"overdue": "true"}),
)
PAGES = (1, 50)
COUNT_CAP = DEFAULT_FINDINGS_COUNT_CAP  # set for the server, whatever the environment says

# Cities of the demo with three districts each; the enterprises spread over them.
CITIES = ("朔州", "长治", "太原", "高平")
DISTRICTS = ("一区", "二区", "三区")
ITEMS = ("CB-02", "CB-03", "CB-07", "CB-08", "CB-18")

REGISTRY_SQL = """
INSERT INTO enterprises (name, credit_code, city, district, industry, contact_name,
                         contact_phone, created_at, updated_at)
SELECT '基准企业' || n, 'BENCH' || lpad(n::text, 13, '0'),
       (ARRAY{cities})[1 + n % 4], (ARRAY{cities})[1 + n % 4] || (ARRAY{districts})[1 + n % 3],
       '热力供应', '张工', '139' || lpad(n::text, 8, '0'), now(), now()
FROM generate_series(1, {count}) AS n;

INSERT INTO sites (code, enterprise_id, name, kind, address, lat, lon, radius_m, qr_token,
                   active, change_seq, updated_at)
SELECT 'BENCH-' || e.id, e.id, e.name || '锅炉房', 'boiler_house', '基准路' || e.id || '号',
       37.0 + (e.id % 100) * 0.01, 112.0 + (e.id % 100) * 0.01, 300, md5('qr' || e.id),
       true, 0, now()
FROM enterprises e WHERE e.credit_code LIKE 'BENCH%';
"""

# One step: inspections number {first}..{last}. Status, dates and ids follow from the
# inspection number n and the item position k, so every statement can join by id.
STEP_SQL = """
CREATE TEMP TABLE step AS
SELECT n, md5('bench-inspection-' || n)::uuid AS uuid, s.id AS site_id,
       s.enterprise_id, e.city, e.district,
       (timestamptz '{today}' - make_interval(days => (n * 37) % 1100)
        - make_interval(mins => n % 600)) AS at
FROM generate_series({first}, {last}) AS n
JOIN sites s ON s.code = 'BENCH-' || ({first_enterprise} + (n * 7919) % {enterprises})
JOIN enterprises e ON e.id = s.enterprise_id;

INSERT INTO inspections (uuid, site_id, checklist_id, checklist_version, inspector_id, status,
                         revision, started_at, finished_at, device_time, received_at,
                         updated_at, lat, lon, accuracy_m)
SELECT uuid, site_id, 'coal-and-boilers', '{version}', {inspector}, 'approved', 1,
       at, at + interval '40 min', at + interval '41 min', at + interval '1 hour',
       at + interval '1 hour', 37.5, 112.5, 8
FROM step;

INSERT INTO inspection_revisions (inspection_uuid, number, body, body_hash, submitted_by,
                                  received_at)
SELECT uuid, 1, jsonb_build_object('site_id', site_id, 'checklist_id', 'coal-and-boilers'),
       md5(uuid::text) || md5(n::text), {inspector}, at + interval '1 hour'
FROM step;

INSERT INTO notices (id, number, city, year, seq, enterprise_id, issued_by, issued_at,
                     deadline, portal_token)
SELECT n, 'BENCH〔' || n || '〕', city, extract(year FROM at)::int, n, enterprise_id,
       {supervisor}, at + interval '2 days', (at + interval '32 days')::date,
       md5('notice-' || n)
FROM step WHERE n % 10 >= 3;

INSERT INTO answers (id, inspection_uuid, revision_number, position, item_code, value, note,
                     verdict)
SELECT n * {per} + k, uuid, 1, k, (ARRAY{items})[k + 1], '"non_compliant"'::jsonb,
       '现场发现问题', 'non_compliant'
FROM step, generate_series(0, {per} - 1) AS k;

INSERT INTO answer_photos (answer_id, photo_sha256, position)
SELECT n * {per} + k, md5('photo-' || n || '-' || k) || md5('bench-' || n || '-' || k), 0
FROM step, generate_series(0, {per} - 1) AS k;

INSERT INTO findings (id, inspection_uuid, answer_id, item_code, checklist_id, severity,
                      days_to_rectify, status, enterprise_id, site_id, city, district,
                      notice_id, due_date, closed_at, closed_by, created_at, updated_at)
SELECT n * {per} + k, uuid, n * {per} + k, (ARRAY{items})[k + 1], 'coal-and-boilers', 'major',
       30,
       CASE WHEN n % 10 < 3 THEN 'open'
            WHEN n % 50 = 3 AND k = 0 THEN 'withdrawn'
            ELSE (ARRAY['notified', 'answered', 'closed', 'closed', 'reopened'])[1 + (n + k) % 5]
       END,
       enterprise_id, site_id, city, district,
       CASE WHEN n % 10 >= 3 THEN n END,
       CASE WHEN n % 10 >= 3 THEN (at + interval '32 days')::date END,
       CASE WHEN n % 10 >= 3 AND (n + k) % 5 IN (2, 3) THEN at + interval '20 days' END,
       CASE WHEN n % 10 >= 3 AND (n + k) % 5 IN (2, 3) THEN {supervisor} END,
       at + interval '1 hour', at + interval '1 hour'
FROM step, generate_series(0, {per} - 1) AS k;

INSERT INTO finding_events (finding_id, from_status, to_status, actor_id, reason, created_at)
SELECT f.id, 'open', 'notified', {supervisor}, '', f.created_at + interval '2 days'
FROM findings f JOIN step ON f.inspection_uuid = step.uuid
WHERE f.status NOT IN ('open', 'withdrawn');

DROP TABLE step;
"""

SEQUENCES = ("answers", "findings", "notices", "finding_events")

# Each shape's matches, counted exactly (the table's "matching"). services/findings.py
# counts them only up to the cap (`capped_count_sql`) for the pagination total; the page
# itself is an index scan of the primary key with a filter.
UNRESOLVED = "('open', 'notified', 'answered', 'reopened')"
COUNTS = {
    "city=朔州": "SELECT count(*) FROM findings WHERE city = '朔州'",
    "status=open": "SELECT count(*) FROM findings WHERE status = 'open'",
    "overdue=true": f"SELECT count(*) FROM findings WHERE due_date < '{TODAY}' "
    f"AND status IN {UNRESOLVED}",
}
# The index this benchmark proposes (not a migration: see bench/RESULTS.md), tried on the
# largest database only.
PROPOSED_INDEX = "CREATE INDEX bench_proposed_status_due_date ON findings (status, due_date)"


@dataclass
class Settings:
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    repeats: int = 30  # timed requests per query shape and size
    warmup: int = 3  # untimed passes first

    @classmethod
    def quick(cls) -> Settings:
        return cls(sizes=(2_000, 20_000), repeats=8, warmup=1)


@dataclass
class Measured:
    latencies: dict[tuple[int, str, int], list[float]] = field(default_factory=dict)
    build_seconds: dict[int, float] = field(default_factory=dict)
    totals: dict[tuple[int, str], int] = field(default_factory=dict)  # exact, from SQL
    # The API's X-Pagination total as shown: "250" or, past the cap, "10,000+".
    reported: dict[tuple[int, str], str] = field(default_factory=dict)
    # At the largest size: the same requests with the proposed index, and the plans.
    indexed: dict[tuple[int, str, int], list[float]] = field(default_factory=dict)
    plans: dict[tuple[str, str], str] = field(default_factory=dict)


def page_sql(count_sql: str) -> str:
    """The page query of the same filter: page 50 of 10 (and one row more, which tells
    whether a next page exists), in id order."""
    return count_sql.replace("count(*)", "*") + " ORDER BY id LIMIT 11 OFFSET 490"


def capped_count_sql(count_sql: str) -> str:
    """The count services/findings.py makes for the pagination total: at most cap + 1 rows."""
    matches = count_sql.replace("count(*)", "id")
    return f"SELECT count(*) FROM ({matches} LIMIT {COUNT_CAP + 1}) AS capped"


def exact_counts(url: str) -> dict[str, int]:
    """Each shape's matching findings, counted exactly."""
    import psycopg

    with psycopg.connect(url) as connection:
        return {
            name: int(connection.execute(sql).fetchone()[0])  # type: ignore[arg-type,index]
            for name, sql in COUNTS.items()
        }


def explain(url: str, sql: str) -> str:
    """The plan's scan node and its execution time, from EXPLAIN ANALYZE."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(f"EXPLAIN ANALYZE {sql}").fetchall()  # type: ignore[arg-type]
    lines = [row[0] for row in rows]
    scans = (line for line in lines if "Scan" in line and "Subquery Scan" not in line)
    scan = next((line.strip(" ->") for line in scans), lines[0])
    scan = scan.split("  (cost")[0]
    total = next((line for line in lines if line.startswith("Execution Time")), "")
    return f"{scan}; {total.replace('Execution Time: ', '')}"


def sql_array(values: tuple[str, ...]) -> str:
    """A SQL array literal of our own constants (never of input)."""
    return "[" + ", ".join(f"'{value}'" for value in values) + "]"


def _ids(connection: object, prepared: server_setup.OurServer) -> dict[str, int]:
    def one(sql: str) -> int:
        return int(connection.execute(sql).fetchone()[0])  # type: ignore[attr-defined]

    return {
        "inspector": one("SELECT id FROM users WHERE username = 'inspector1'"),
        "supervisor": one("SELECT id FROM users WHERE username = 'supervisor'"),
        "first_enterprise": one("SELECT min(id) FROM enterprises WHERE credit_code LIKE 'BENCH%'"),
    }


def grow(url: str, prepared: server_setup.OurServer, have: int, want: int) -> None:
    """Add inspections until the database holds `want` findings."""
    import psycopg

    first = have // FINDINGS_PER_INSPECTION + 1
    last = want // FINDINGS_PER_INSPECTION
    with psycopg.connect(url) as connection:
        ids = _ids(connection, prepared)
        statement = STEP_SQL.format(
            first=first,
            last=last,
            per=FINDINGS_PER_INSPECTION,
            enterprises=ENTERPRISES,
            today=TODAY,
            version=prepared.checklists["coal-and-boilers"],
            items=sql_array(ITEMS),
            **ids,
        )
        connection.execute(statement)  # type: ignore[arg-type]
        for table in SEQUENCES:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # type: ignore[arg-type]
                f"(SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def build_registry(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as connection:
        connection.execute(
            REGISTRY_SQL.format(  # type: ignore[arg-type]
                cities=sql_array(CITIES),
                districts=sql_array(DISTRICTS),
                count=ENTERPRISES,
            )
        )


def measure(
    base: str, token: str, size: int, repeats: int, measured: Measured, warmup: int = 3
) -> None:
    """Every shape and page, interleaved, `repeats` times (after `warmup` untimed passes)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        for attempt in range(warmup + repeats):
            for name, params in SHAPES:
                for page in PAGES:
                    began = time.perf_counter()
                    response = http.get("/api/v1/findings", params={**params, "page": page})
                    elapsed = (time.perf_counter() - began) * 1000
                    if response.status_code != 200 or len(response.json()) == 0:
                        raise RuntimeError(f"{name} page {page}: {response.status_code}")
                    if attempt < warmup:
                        pagination = json.loads(response.headers.get("X-Pagination", "{}"))
                        bound = "+" if pagination.get("total_is_lower_bound") else ""
                        shown = f"{int(pagination.get('total', 0)):,}{bound}"
                        measured.reported[(size, name)] = shown
                        continue
                    measured.latencies.setdefault((size, name, page), []).append(elapsed)


def run(settings: Settings, scratch: Path) -> tuple[list[Row], str]:
    url = create_database(tagged(DATABASE))
    try:
        prepared = server_setup.prepare(scratch / "growth", url, thirty=False)
        build_registry(url)
        measured = Measured()
        have = 0
        for size in settings.sizes:
            began = time.perf_counter()
            grow(url, prepared, have, size)
            measured.build_seconds[size] = time.perf_counter() - began
            have = size
            print(
                f"  growth: {size:,} findings in {measured.build_seconds[size]:.0f} s", flush=True
            )
            for name, count in exact_counts(url).items():
                measured.totals[(size, name)] = count
            env = {
                **prepared.env,
                "LANTIAN_LOG_LEVEL": "warning",
                "LANTIAN_FINDINGS_COUNT_CAP": str(COUNT_CAP),
            }
            server = start_gunicorn(f"ours-growth-{size}", "server:create_app()", env)
            try:
                measure(
                    server.url,
                    prepared.tokens["supervisor"],
                    size,
                    settings.repeats,
                    measured,
                    settings.warmup,
                )
                if size == settings.sizes[-1]:
                    try_proposed_index(url, server.url, prepared, settings, measured)
            finally:
                server.stop()
    finally:
        drop_database(tagged(DATABASE))
    return report(settings, measured)


def try_proposed_index(
    url: str,
    base: str,
    prepared: server_setup.OurServer,
    settings: Settings,
    measured: Measured,
) -> None:
    """At the largest size: the capped count's and the page's plans as migrated, then with
    the proposed index."""
    import psycopg

    for name, sql in COUNTS.items():
        measured.plans[(name, "as migrated")] = explain(url, capped_count_sql(sql))
        measured.plans[(f"{name} page 50", "as migrated")] = explain(url, page_sql(sql))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(PROPOSED_INDEX)  # type: ignore[arg-type]
        connection.execute("VACUUM ANALYZE findings")
    for name, sql in COUNTS.items():
        measured.plans[(name, "with the proposed index")] = explain(url, capped_count_sql(sql))
        measured.plans[(f"{name} page 50", "with the proposed index")] = explain(url, page_sql(sql))
    size = settings.sizes[-1]
    with_index = Measured()
    measure(
        base, prepared.tokens["supervisor"], size, settings.repeats, with_index, settings.warmup
    )
    measured.indexed = with_index.latencies


def matching(measured: Measured, size: int, name: str) -> str:
    """The exact number of matches, and the API's total when it says something else."""
    exact = f"{measured.totals.get((size, name), 0):,}"
    reported = measured.reported.get((size, name), exact)
    return exact if reported == exact else f"{exact} ({reported})"


def report(settings: Settings, measured: Measured) -> tuple[list[Row], str]:
    rows: list[Row] = []
    sizes = settings.sizes
    for name, _ in SHAPES:
        for page in PAGES:
            for small, large in itertools.pairwise(sizes):
                p95_small = percentile(measured.latencies[(small, name, page)], 0.95)
                p95_large = percentile(measured.latencies[(large, name, page)], 0.95)
                rows.append(
                    Row(
                        f"findings ?{name} page {page}: p95 growth {small:,} → {large:,}",
                        f"at {large:,}",
                        [p95_large],
                        f"at {small:,}",
                        [p95_small],
                        "p95 ms",
                        2.0,
                        higher_is_better=False,
                        digits=1,
                    )
                )
    lines = []
    for name, _ in SHAPES:
        for page in PAGES:
            cells = []
            for size in sizes:
                values = measured.latencies[(size, name, page)]
                cells.append(f"{percentile(values, 0.5):.1f} / {percentile(values, 0.95):.1f}")
            totals = " / ".join(matching(measured, size, name) for size in sizes)
            lines.append(f"| ?{name} | {page} | {' | '.join(cells)} | {totals} |")
    largest = sizes[-1]
    for page in PAGES:
        key = (largest, "overdue=true", page)
        if key in measured.indexed:
            rows.append(
                Row(
                    f"findings ?overdue=true page {page} at {largest:,}: with the proposed "
                    "(status, due_date) index",
                    "with index",
                    [percentile(measured.indexed[key], 0.95)],
                    "as migrated",
                    [percentile(measured.latencies[key], 0.95)],
                    "p95 ms",
                    None,
                    higher_is_better=False,
                    digits=1,
                )
            )
    plans = "\n".join(
        f"| ?{name} | {variant} | {plan} |" for (name, variant), plan in measured.plans.items()
    )
    header_sizes = " | ".join(f"{size:,}: p50 / p95 ms" for size in sizes)
    build = ", ".join(
        f"{size:,} in {seconds:.0f} s" for size, seconds in measured.build_seconds.items()
    )
    notes = f"""
`GET /api/v1/findings` as the supervisor (every city), default page size, through our
gunicorn server on PostgreSQL; {settings.repeats} timed requests per shape and size after
{settings.warmup} untimed passes, the shapes interleaved. Matching findings last, counted
exactly in SQL; in brackets the API's `X-Pagination` total where it differs (it counts only
up to {COUNT_CAP:,}, then says "{COUNT_CAP:,}+").

| filter | page | {header_sizes} | matching |
|---|---|{"---|" * len(sizes)}---|
{chr(10).join(lines)}

Data built with `INSERT … SELECT generate_series` (cumulative): {build}.

The count behind the pagination total (at most {COUNT_CAP + 1:,} rows) and the page-50
query, at {largest:,} findings (EXPLAIN ANALYZE, first scan node):

| filter | indexes | plan; execution time |
|---|---|---|
{plans}
"""
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for development")
    args = parser.parse_args()
    settings = Settings.quick() if args.quick else Settings()
    rows, notes = run(settings, OUT / "growth")
    from bench.results import table

    print(table(rows))
    print(notes)


if __name__ == "__main__":
    main()
