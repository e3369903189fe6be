"""Profile our ingest PUT and checklist 304 in process, with pyinstrument.

Run: `.venv/bin/python -m bench.profile_ingest [--database-url postgresql://…]`. Needs
pyinstrument in the project's virtualenv, for profiling only (not a dependency):
`.venv/bin/pip install pyinstrument`. The requests go through the Flask test client, so the
profile shows the app alone (no gunicorn, no network); CPU ms per request are printed.
Writes bench/out/profiles/ingest.txt and refresh.txt (pyinstrument's call trees).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import server_setup
from bench.common import OUT

PROFILES = OUT / "profiles"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a lantian_bench_* PostgreSQL database (empty)")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("needs pyinstrument: .venv/bin/pip install pyinstrument") from None
    from server import create_app

    scratch = OUT / "profile-ingest"
    shutil.rmtree(scratch, ignore_errors=True)
    prepared = server_setup.prepare(scratch, args.database_url)
    config = {"DATA_DIR": str(scratch.resolve()), "SECRET_KEY": server_setup.SECRET}
    if args.database_url:
        config["DATABASE_URL"] = args.database_url
    client = create_app(config).test_client()
    body = server_setup.inspection_body(
        prepared.boiler_site, prepared.checklists["bench-thirty"], server_setup.thirty_answers()
    )
    payload = json.dumps(body, ensure_ascii=False)
    headers = {
        "Authorization": f"Bearer {prepared.tokens['inspector1']}",
        "Content-Type": "application/json",
    }

    def put() -> None:
        response = client.put(f"/api/v1/inspections/{uuid.uuid4()}", data=payload, headers=headers)
        assert response.status_code == 201, response.get_json()

    etag = client.get("/api/v1/checklists/coal-and-boilers", headers=headers).headers["ETag"]

    def refresh() -> None:
        response = client.get(
            "/api/v1/checklists/coal-and-boilers", headers={**headers, "If-None-Match": etag}
        )
        assert response.status_code == 304

    PROFILES.mkdir(parents=True, exist_ok=True)
    for name, request, count in (
        ("ingest", put, args.requests),
        ("refresh", refresh, args.requests * 5),
    ):
        for _ in range(5):  # warm up: imports, caches, the first connection
            request()
        profiler = Profiler(interval=0.0005)
        cpu = time.process_time()
        profiler.start()
        for _ in range(count):
            request()
        profiler.stop()
        spent = (time.process_time() - cpu) / count * 1000
        print(f"{name}: {spent:.1f} ms CPU per request (with the profiler running)")
        text = profiler.output_text(unicode=True, color=False, show_all=True)
        (PROFILES / f"{name}.txt").write_text(text, encoding="utf-8")
    print(f"wrote {PROFILES}/ingest.txt and refresh.txt")


if __name__ == "__main__":
    main()
