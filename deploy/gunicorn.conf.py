"""gunicorn settings for Lantian Inspect in production: `make serve`, or

    gunicorn -c deploy/gunicorn.conf.py 'server:create_app()'

Every setting a deployment may want to change comes from a `LANTIAN_*` variable, so the
same file serves a laptop, a systemd unit and a container. The app is stateless (data in
the database, photos in the photo store), so workers and machines can be added freely.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    """Cores this process may use (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


wsgi_app = "server:create_app()"
proc_name = "lantian-server"

# Loopback by default: put a reverse proxy or load balancer in front, or set
# LANTIAN_BIND=0.0.0.0:8000 (several addresses: comma-separated; unix:/run/lantian.sock).
bind = [
    part.strip()
    for part in (os.environ.get("LANTIAN_BIND") or "127.0.0.1:8000").split(",")
    if part.strip()
]

# Processes: gunicorn's rule of thumb, 2 × cores + 1.
workers = _int("LANTIAN_WORKERS", 2 * _cores() + 1)
# Threads per process. Inspectors upload 20 MiB photos over slow mobile links; with plain
# sync workers one slow upload would hold a whole process. Each thread may hold a
# database connection: keep machines × workers × threads below PostgreSQL's
# max_connections.
worker_class = "gthread"
threads = _int("LANTIAN_THREADS", 4)

# A worker whose main loop is silent this long is killed and replaced (with gthread a
# long request does not count as silence).
timeout = _int("LANTIAN_TIMEOUT", 60)
# On SIGTERM (a deploy, a scale-in), requests in flight get this long to finish.
graceful_timeout = 30
# How long an idle connection is kept. It must be longer than any client's idle pool: the
# field client keeps one 10 s (field_client/api.py, POOL_KEEPALIVE_S); with both at 5 s a
# connection idle ~4.5 s between inspections was closed as the client reused it, and the
# client took the reset for a broken link. Behind a load balancer, set this above the
# balancer's idle timeout too (e.g. 75 for 60), or it may send a request on a connection
# gunicorn has just closed: a spurious 502. Idle connections cost a socket, not a thread.
keepalive = _int("LANTIAN_KEEPALIVE", 30)
# Recycle a worker after a while to bound memory growth from image decoding. The jitter is
# wide on purpose: an evenly balanced load brings every worker to the same count at once,
# and with a narrow jitter they all restarted within seconds, leaving nothing to serve for
# about ten (seen in bench/load_test.py). Spread over half the range, they take turns.
max_requests = 1000
max_requests_jitter = 500

# Logs to stdout/stderr for journald, docker or kubectl logs. %(M)s: duration in ms.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LANTIAN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Preload off: each worker builds its own app after the fork, so no database connection,
# SQLite handle or S3 connection pool is ever shared between processes, whatever a
# future create_app() opens. The cost is a second or so of start-up per worker. It needs
# one SECRET_KEY for all: set LANTIAN_SECRET_KEY (`make serve` also creates the key file
# in `db upgrade`, before any worker starts).
preload_app = False

# The heartbeat file on a RAM disk: a disk-backed /tmp can stall it in containers.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# Recent gunicorn opens a control socket at a fixed per-user path by default, which two
# instances on one host would contend for; signals (HUP, TTIN, TTOU, TERM) do the job.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """The worker has built its app: move everything made so far (modules, the app and its
    configured ORM mappers, the schemas) out of the garbage collector's sight.

    Those objects live as long as the worker, yet every full collection walked all of them
    again: in a profile of checklist 304s, 13 % of the app's time was collections that
    happened to start on one of the request's allocations. Start-up garbage is collected
    first, then `gc.freeze()` leaves the rest out of future collections; objects made by
    requests (the checklist rules parsed on first use among them) are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
