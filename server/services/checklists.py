"""Checklist versions in the database: load the rule files, serve any version ever loaded."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import select

import checklists as rules
from server.extensions import db
from server.models import ChecklistVersion
from server.services import audit
from server.services.app_state import per_app
from server.services.errors import ErrorCode, NotFound


def load_rule_files(directory: Path = rules.CHECKLISTS_DIR) -> list[tuple[str, str, bool]]:
    """Store the current version of every checklist file; older versions stay.

    Returns (id, version, newly stored) for each checklist. Raises ChecklistError on a bad file.
    """
    loaded = []
    for checklist in rules.load_all(directory).values():
        row = db.session.get(ChecklistVersion, (checklist.id, checklist.version))
        fresh = row is None
        if fresh:
            row = ChecklistVersion(
                checklist_id=checklist.id,
                version=checklist.version,
                title_zh=checklist.title.zh,
                title_en=checklist.title.en,
                content=checklist.content,
            )
            db.session.add(row)
        changed = []
        for other in db.session.scalars(
            select(ChecklistVersion).where(ChecklistVersion.checklist_id == checklist.id)
        ):
            current = other.version == checklist.version
            if other.current != current:
                other.current = current
                changed.append(other)
        if fresh or changed:
            audit.record_checklist(row, changed, created=fresh)
        loaded.append((checklist.id, checklist.version, fresh))
    db.session.commit()
    _versions_seen().clear()
    return loaded


def current_versions() -> list[ChecklistVersion]:
    """The version of each checklist that devices should use now."""
    query = select(ChecklistVersion).where(ChecklistVersion.current.is_(True))
    return list(db.session.scalars(query.order_by(ChecklistVersion.checklist_id)))


def titles() -> dict[str, str]:
    """The Chinese title of every current checklist, by id, for pages and reports."""
    return {row.checklist_id: row.title_zh for row in current_versions()}


def current_version_of(checklist_id: str) -> str:
    """The current version id of one checklist."""
    version = db.session.scalar(
        select(ChecklistVersion.version).where(
            ChecklistVersion.checklist_id == checklist_id, ChecklistVersion.current.is_(True)
        )
    )
    if version is None:
        raise NotFound(
            ErrorCode.CHECKLIST_NOT_FOUND, f"检查表不存在 / no checklist {checklist_id!r}"
        )
    return version


_VERSIONS_LOCK = threading.Lock()
VERSIONS_SEEN = "lantian.current_checklist_versions"  # in app.extensions


def _versions_seen() -> TTLCache[str, str]:
    """This app's recently read current versions; a time of 0 keeps nothing."""
    ttl = max(0.0, current_app.config["CHECKLIST_VERSION_CACHE_S"])
    return per_app(VERSIONS_SEEN, lambda: TTLCache(maxsize=256, ttl=ttl))


def recent_current_version_of(checklist_id: str) -> str:
    """The current version id as this process read it at most CHECKLIST_VERSION_CACHE_S ago.

    Devices ask for every checklist at each pull and nearly always get a 304, while a new
    version comes only with `lantian-server checklists load`, a few times a year. Trusting
    the last answer for a few seconds saves a query on every refresh; a new version reaches
    devices at most that much later (at once when loaded by this process).
    """
    seen = _versions_seen()
    with _VERSIONS_LOCK:
        version = seen.get(checklist_id)
    if version is None:
        version = current_version_of(checklist_id)
        with _VERSIONS_LOCK:
            seen[checklist_id] = version
    return version


@lru_cache(maxsize=256)
def _parsed(checklist_id: str, version: str) -> rules.Checklist:
    """Parse a stored version once per process: a version's content never changes."""
    row = get_version(checklist_id, version)
    return rules.parse_checklist(row.content, f"{checklist_id}@{version}", stored=True)


def get_version(checklist_id: str, version: str | None) -> ChecklistVersion:
    """One stored version (the current one when `version` is None)."""
    version = version or current_version_of(checklist_id)
    row = db.session.get(ChecklistVersion, (checklist_id, version))
    if row is None:
        raise NotFound(
            ErrorCode.CHECKLIST_NOT_FOUND,
            f"检查表版本不存在 / no version {version!r} of checklist {checklist_id!r}",
        )
    return row


def get_rules(checklist_id: str, version: str) -> rules.Checklist:
    """The parsed rules of a stored version; versions are immutable, so they are cached."""
    return _parsed(checklist_id, version)


def describe(row: ChecklistVersion) -> dict[str, Any]:
    """The full document served to devices, with the sources its items cite."""
    sources = rules.load_sources()
    cited = sorted(
        {basis["source"] for item in row.content.get("items", []) for basis in item["basis"]}
    )
    return {
        **row.content,
        "version": row.version,
        "sources": [
            {
                "file": sources[name].file,
                "city": sources[name].city,
                "number": sources[name].number,
                "date": sources[name].date.isoformat(),
                "title": sources[name].title,
            }
            for name in cited
        ],
    }
