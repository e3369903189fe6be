"""Kinto as the benchmarks serve it: run inside Kinto's own virtualenv, never the project's.

Settings come from the environment (BENCH_KINTO_BACKEND = memory | postgresql,
BENCH_KINTO_DATABASE_URL, BENCH_KINTO_DUMP_DIR). Authentication is Kinto's basicauth policy
(an HMAC of user:password, the cheapest it has), and every authenticated user may write the
`bench` bucket, so each request pays for authentication and permissions as ours does.

With the memory backend each gunicorn worker holds its own data, so each worker creates the
bucket, the collections and the checklist record itself when it starts (with a fixed
timestamp, so every worker gives the checklist the same ETag), and writes the ids of the
records it stored to BENCH_KINTO_DUMP_DIR when it exits: that is how the benchmark counts
what the memory backend really holds.

`python kinto_app.py migrate` creates the PostgreSQL schema (what `kinto migrate` does).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import kinto

BUCKET = "bench"
INSPECTIONS = f"/buckets/{BUCKET}/collections/inspections"
CHECKLISTS = f"/buckets/{BUCKET}/collections/checklists"
# A fixed record timestamp (ms), so that every memory worker serves the same ETag.
FIXED_TIMESTAMP = 1_800_000_000_000


def settings() -> dict[str, str]:
    backend = os.environ.get("BENCH_KINTO_BACKEND", "memory")
    values = {
        "kinto.userid_hmac_secret": "lantian-bench",
        "multiauth.policies": "basicauth",
        "kinto.bucket_create_principals": "system.Authenticated",
        # Granted in settings, so Kinto asks no permission backend on these requests.
        "kinto.record_create_principals": "system.Authenticated",
        "kinto.record_read_principals": "system.Authenticated",
        "kinto.record_write_principals": "system.Authenticated",
        "kinto.cache_backend": "kinto.core.cache.memory",
    }
    if backend == "memory":
        values["kinto.storage_backend"] = "kinto.core.storage.memory"
        values["kinto.permission_backend"] = "kinto.core.permission.memory"
    else:
        url = os.environ["BENCH_KINTO_DATABASE_URL"]
        values["kinto.storage_backend"] = "kinto.core.storage.postgresql"
        values["kinto.storage_url"] = url
        values["kinto.permission_backend"] = "kinto.core.permission.postgresql"
        values["kinto.permission_url"] = url
    return values


def _seed_memory(registry: Any) -> None:
    storage = registry.storage
    storage.create("bucket", "", {"id": BUCKET})
    for name in ("inspections", "checklists"):
        storage.create("collection", f"/buckets/{BUCKET}", {"id": name})
    checklist = json.loads(Path(os.environ["BENCH_KINTO_CHECKLIST"]).read_text(encoding="utf-8"))
    checklist["last_modified"] = FIXED_TIMESTAMP
    storage.create("record", CHECKLISTS, checklist)


def build() -> Any:
    app = kinto.main({}, **settings())
    if os.environ.get("BENCH_KINTO_BACKEND", "memory") == "memory":
        _seed_memory(app.registry)
    return app


application = build()


def on_worker_exit() -> None:
    """Write the ids of the records this worker holds (memory backend only)."""
    dump_dir = os.environ.get("BENCH_KINTO_DUMP_DIR")
    if not dump_dir or os.environ.get("BENCH_KINTO_BACKEND", "memory") != "memory":
        return
    # The memory backend keeps objects in nested dicts: parent id → resource → id → object.
    ids = list(application.registry.storage._store[INSPECTIONS]["record"])
    (Path(dump_dir) / f"{os.getpid()}.json").write_text(json.dumps(ids), encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:2] == ["migrate"]:
    application.registry.storage.initialize_schema()
    application.registry.permission.initialize_schema()
