"""Where the device was: when an inspection started and when each photo was taken.

The app records the browser's position with its accuracy, or that the user refused it, or
that none was available (never an invented one), in a table of its own in the store's
SQLite file. They travel with the inspection as `positions`, so the server can flag a photo
the device took away from the site, and a position refused is on record as refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from field_client.store import Store, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS app_positions (
    inspection_uuid TEXT NOT NULL, subject TEXT NOT NULL, status TEXT NOT NULL,
    lat REAL, lon REAL, accuracy_m REAL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (inspection_uuid, subject)
)
"""
STATUSES = ("ok", "refused", "unavailable")
INSPECTION = "inspection"  # the subject of the position taken when the inspection started


@dataclass(frozen=True)
class Position:
    """A device position, or why there is none (`status` refused / unavailable)."""

    status: str
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None

    @property
    def known(self) -> bool:
        return self.status == "ok"

    def as_location(self) -> tuple[float, float, float | None] | None:
        """The shape `capture.start` takes: only a real position, never an invented one."""
        if not self.known or self.lat is None or self.lon is None:
            return None
        return (self.lat, self.lon, self.accuracy_m)


def ensure_schema(store: Store) -> None:
    store.db.execute(SCHEMA)


def record(store: Store, uuid: str, subject: str, position: Position) -> None:
    """Keep the position (or its absence) for the inspection or for one photo hash.

    The positions travel in the inspection's body, so like an answer this is refused
    (FieldError, nothing kept) once the inspection is frozen: a finish between a photo's
    attach and its position must not change a body that may already have been sent."""
    with store.transaction() as db:
        store.touch_editable(db, uuid)
        db.execute(
            "INSERT INTO app_positions (inspection_uuid, subject, status, lat, lon, accuracy_m, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (inspection_uuid, subject) "
            "DO NOTHING",
            (
                uuid,
                subject,
                position.status,
                position.lat,
                position.lon,
                position.accuracy_m,
                now_iso(),
            ),
        )


def positions(store: Store, uuid: str) -> dict[str, Position]:
    """Subject (INSPECTION or a photo hash) → the position recorded for it."""
    rows = store.db.execute(
        "SELECT subject, status, lat, lon, accuracy_m FROM app_positions WHERE inspection_uuid = ?",
        (uuid,),
    )
    return {row[0]: Position(row[1], row[2], row[3], row[4]) for row in rows}


def wire(store: Store, uuid: str, cited: list[str]) -> dict[str, Any] | None:
    """The positions in the sync API's shape, for the photos the inspection cites (None:
    the device recorded none, e.g. an inspection made with the CLI)."""
    exists = store.db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'app_positions'"
    ).fetchone()
    held = positions(store, uuid) if exists else {}
    if not held:
        return None

    def one(position: Position) -> dict[str, Any]:
        return {
            "status": position.status,
            "lat": position.lat,
            "lon": position.lon,
            "accuracy_m": position.accuracy_m,
        }

    start = held.get(INSPECTION)
    return {
        "inspection": one(start) if start is not None else None,
        "photos": {sha: one(held[sha]) for sha in cited if sha in held},
    }
