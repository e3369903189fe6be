"""Configuration from environment variables prefixed `LANTIAN_`.

Only what is read here is configuration; everything has a default that works for the
embedded demo (SQLite and a photo directory inside the data directory).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

DEFAULT_MAX_PHOTO_BYTES = 20 * 1024 * 1024
DEFAULT_FINDINGS_COUNT_CAP = 10_000
# Chains of the audit log: enough that 2–16 concurrent writers rarely share one.
DEFAULT_AUDIT_CHAINS = 8
"""How many matches the findings list counts, at most, for its total (`FINDINGS_COUNT_CAP`).

An exact `count(*)` reads every matching row, so the list's time grew with the number of
findings (bench/growth.py: p95 2.2× per 10× findings at 1M). Counting stops at the cap + 1;
past it the API reports the cap as a lower bound and the page shows "10,000+". Nobody pages
through 10,000 findings: past that, a filter is what helps. The ledger and the dashboard
still count exactly.
"""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"LANTIAN_{name}")
    return value if value not in (None, "") else default


def _persistent_secret(data_dir: Path) -> str:
    """A random secret kept in the data directory, so a restart keeps sessions valid."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret


def _positive(name: str, default: float) -> float:
    """A positive number from `LANTIAN_<name>`, or the default; anything else is refused
    at start-up rather than misread later."""
    raw = _env(name)
    value = float(raw) if raw else default
    if not value > 0:
        raise ValueError(f"LANTIAN_{name} must be a positive number, not {raw!r}")
    return value


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The app's configuration: defaults, then `LANTIAN_*` variables, then `overrides`."""
    overrides = dict(overrides or {})
    data_dir = Path(overrides.pop("DATA_DIR", None) or _env("DATA_DIR") or instance_path)
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = (
        overrides.pop("DATABASE_URL", None)
        or _env("DATABASE_URL")
        or f"sqlite:///{data_dir / 'lantian.sqlite3'}"
    )
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    public_url = _env("PUBLIC_URL") or ""  # unset: links follow the request's host and port
    web_hours = int(_env("WEB_SESSION_HOURS") or 12)
    max_photo = int(_env("MAX_PHOTO_BYTES") or DEFAULT_MAX_PHOTO_BYTES)
    count_cap = int(_env("FINDINGS_COUNT_CAP") or DEFAULT_FINDINGS_COUNT_CAP)
    decode_pixels = int(_env("MAX_DECODE_PIXELS") or 60_000_000)
    if decode_pixels < 1:
        raise ValueError(f"LANTIAN_MAX_DECODE_PIXELS must be at least 1, not {decode_pixels}")
    for network in (_env("WEBHOOK_ALLOW_NETWORKS") or "").split(","):
        if network.strip():
            ipaddress.ip_network(network.strip(), strict=False)  # a typo fails at start-up
    max_unfinished = int(_env("MAX_UNFINISHED_UPLOADS") or 10)
    expiry_hours = float(_env("UPLOAD_EXPIRY_HOURS") or 72)
    if max_unfinished < 1 or expiry_hours <= 0:
        raise ValueError(
            "LANTIAN_MAX_UNFINISHED_UPLOADS must be at least 1 and LANTIAN_UPLOAD_EXPIRY_HOURS "
            "positive"
        )
    if count_cap < 1:
        raise ValueError(f"LANTIAN_FINDINGS_COUNT_CAP must be at least 1, not {count_cap}")
    audit_chains = int(_env("AUDIT_CHAINS") or DEFAULT_AUDIT_CHAINS)
    if not 1 <= audit_chains <= 256:
        raise ValueError(f"LANTIAN_AUDIT_CHAINS must be 1 to 256, not {audit_chains}")
    config: dict[str, Any] = {
        "DATA_DIR": str(data_dir),
        "PHOTO_DIR": _env("PHOTO_DIR") or str(data_dir / "photos"),
        # Where photos live: "local" (PHOTO_DIR) or "s3" (a bucket shared by every server).
        "PHOTO_STORE": (_env("PHOTO_STORE") or "local").lower(),
        "S3_BUCKET": _env("S3_BUCKET"),
        # Unset for AWS itself; e.g. http://minio.internal:9000 for MinIO.
        "S3_ENDPOINT_URL": _env("S3_ENDPOINT_URL"),
        "S3_PREFIX": _env("S3_PREFIX") or "",
        # Unset: boto3's own AWS_REGION / AWS_DEFAULT_REGION / ~/.aws/config.
        "S3_REGION": _env("S3_REGION"),
        # "path" or "virtual"; unset: path with a custom endpoint, boto3's choice on AWS.
        "S3_ADDRESSING_STYLE": _env("S3_ADDRESSING_STYLE"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SECRET_KEY": _env("SECRET_KEY") or _persistent_secret(data_dir),
        "MAX_PHOTO_BYTES": max_photo,
        # The request limit leaves room for headers and multipart overhead.
        "MAX_CONTENT_LENGTH": max_photo + 1024 * 1024,
        # Unfinished tus uploads a user may hold at once (each is a partial file), and the
        # age after which an unfinished one is dropped (`uploads expire`, and on start-up).
        # Three days lets a device that lost its network over a weekend still resume.
        "MAX_UNFINISHED_UPLOADS": max_unfinished,
        "UPLOAD_EXPIRY_HOURS": expiry_hours,
        "UPLOAD_EXPIRY_ON_START": (_env("UPLOAD_EXPIRY_ON_START") or "1") != "0",
        # An upload body that brings no byte for this long is taken as cut off: its bytes
        # so far are kept and the upload is free for the client's resume (a phone that lost
        # the cell leaves a connection open that no data will ever come on).
        "UPLOAD_STALL_S": float(_env("UPLOAD_STALL_S") or 60),
        # Pixels a server process may hold decoded at once (upload checks, previews) and
        # how long a request waits for its turn before a 503: server/services/decode_budget.py.
        "MAX_DECODE_PIXELS": decode_pixels,
        "MAX_DECODE_WAIT_S": float(_env("MAX_DECODE_WAIT_S") or 120),
        # The findings list counts its matches up to this many (see above).
        "FINDINGS_COUNT_CAP": count_cap,
        # scrypt, werkzeug's memory-hard default; tests lower the cost, never production.
        "PASSWORD_HASH_METHOD": _env("PASSWORD_HASH_METHOD") or "scrypt",
        # How long a server process trusts the current version it last read for a checklist
        # (devices' refreshes are nearly all 304s): a newly loaded version reaches devices at
        # most this many seconds late. 0 reads it for every request.
        "CHECKLIST_VERSION_CACHE_S": float(_env("CHECKLIST_VERSION_CACHE_S") or 5),
        # How long a server process trusts a bearer token it found valid (every request
        # checks one): a revocation made by another process takes effect at most this many
        # seconds later; expiry is checked on every request. 0 reads the token every time.
        "TOKEN_CACHE_S": float(_env("TOKEN_CACHE_S") or 5),
        "TOKEN_TTL_HOURS": int(_env("TOKEN_TTL_HOURS") or 24 * 30),
        # How many hash chains the audit log appends to, by each entry's subject: writers
        # to different chains never wait for each other (README, audit log). Any number
        # may be set at any time; entries already written keep their chain.
        "AUDIT_CHAINS": audit_chains,
        "PUBLIC_URL": public_url,
        # Clues (线索): registered sites within this many metres of a clue's place are its
        # candidates; a clue should be turned into a task or dismissed within this many hours.
        "CLUE_RADIUS_M": _positive("CLUE_RADIUS_M", 500.0),
        "CLUE_RESPONSE_HOURS": _positive("CLUE_RESPONSE_HOURS", 48.0),
        # Re-visits of closed enterprises (两断三清): every this many days after the last
        # visit, with this many days to go.
        "REVISIT_INTERVAL_DAYS": int(_positive("REVISIT_INTERVAL_DAYS", 91)),
        "REVISIT_DUE_DAYS": int(_positive("REVISIT_DUE_DAYS", 30)),
        # Which plans govern each city from when (checklists/sources/governance.yaml unless
        # set): the deployment's declaration of the law in force.
        "GOVERNANCE_FILE": _env("GOVERNANCE_FILE"),
        # Links made outside any request (none yet) when PUBLIC_URL is unset.
        "PUBLIC_URL_FALLBACK": "http://127.0.0.1:5000",
        # Test hook, never for production: the process exits right after writing the last
        # chunk of a tus upload and before finalising it, as a server killed at that moment
        # would (the end-to-end test of a sync stuck there sets it).
        "TEST_EXIT_BEFORE_FINALISE": _env("TEST_EXIT_BEFORE_FINALISE") == "1",
        # Web pages: signed session cookies that hold an API token, so `users revoke` and
        # token expiry end browser sessions too.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": public_url.startswith("https://"),
        "WEB_SESSION_HOURS": web_hours,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=web_hours),
        # CSRF tokens are checked by the web blueprints themselves, not on every request.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,  # valid as long as the session
        # Failed logins allowed per client address and username.
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT") or "10 per minute;50 per hour",
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Background jobs (server/services/jobs.py): a redis:// URL sends them to Redis for
        # `lantian-server worker`; unset, they run in this process (embedded default).
        "BROKER_URL": _env("BROKER_URL"),
        # Prefix of every Redis key the broker uses: two deployments (or test runs) sharing
        # one Redis keep apart by it.
        "BROKER_NAMESPACE": _env("BROKER_NAMESPACE") or "lantian",
        "JOBS_IN_PROCESS_WORKER": (_env("JOBS_IN_PROCESS_WORKER") or "1") != "0",
        # Dramatiq's retries of a failed job: exponential backoff from min to max, with jitter.
        "JOB_MAX_RETRIES": int(_env("JOB_MAX_RETRIES") or 8),
        "JOB_MIN_BACKOFF_MS": int(_env("JOB_MIN_BACKOFF_MS") or 15_000),
        "JOB_MAX_BACKOFF_MS": int(_env("JOB_MAX_BACKOFF_MS") or 3_600_000),
        # A mail or webhook whose sender vanished mid-send may be claimed again after this.
        "SEND_LEASE_S": float(_env("SEND_LEASE_S") or 300),
        # Mail: unset SMTP_HOST keeps messages recorded and pending, nothing is sent.
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": int(_env("SMTP_PORT") or 25),
        "SMTP_FROM": _env("SMTP_FROM") or "蓝天巡检 Lantian Inspect <noreply@lantian.invalid>",
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": (_env("SMTP_STARTTLS") or "0") == "1",
        "SMTP_TIMEOUT_S": float(_env("SMTP_TIMEOUT_S") or 20),
        # Attempts at one mail or one webhook delivery before it is marked failed.
        "SEND_MAX_ATTEMPTS": int(_env("SEND_MAX_ATTEMPTS") or 9),
        "WEBHOOK_TIMEOUT_S": float(_env("WEBHOOK_TIMEOUT_S") or 10),
        # Internal networks a webhook may be sent to (comma-separated CIDRs, e.g. an intranet
        # receiver's 10.20.0.0/16); every other loopback, private, link-local (cloud metadata)
        # or reserved address is refused, so an endpoint cannot make the server probe its own
        # network (SSRF).
        "WEBHOOK_ALLOW_NETWORKS": _env("WEBHOOK_ALLOW_NETWORKS") or "",
        # Reminders: an enterprise is reminded this many days before a deadline.
        "REMINDER_DAYS_BEFORE": int(_env("REMINDER_DAYS_BEFORE") or 3),
        "API_TITLE": "Lantian Inspect 蓝天巡检 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/static/swagger-ui/",
    }
    config.update(overrides)
    return config
