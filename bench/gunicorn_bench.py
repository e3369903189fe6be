"""gunicorn settings for every server the benchmarks compare: ours, bare Flask and Kinto.

They are the production settings of deploy/gunicorn.conf.py (gthread, its threads,
timeouts and access log; bind and workers from LANTIAN_BIND / LANTIAN_WORKERS), read from
that file so a change there changes the benchmark too. Two things differ, the same for
every server:

- no worker recycling (`max_requests = 0`): a restart in the middle of a timed round
  would measure start-up, not the request path, and hit whichever server had it by chance;
- a `worker_exit` hook, so a Kinto worker with the in-memory backend can report what it
  stored before its memory goes away (bench/kinto_app.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
exec(compile(_DEPLOY.read_text(encoding="utf-8"), str(_DEPLOY), "exec"))

max_requests = 0
max_requests_jitter = 0


def worker_exit(server: Any, worker: Any) -> None:
    """Let an app that keeps its data in the worker's memory write it down first."""
    module = sys.modules.get("kinto_app")
    if module is not None:
        module.on_worker_exit()
