"""What only the app knows about an inspection: where the device was, and that it was asked.

The browser reports a position with its accuracy, or that the user refused it, or that none
was available. The sync API carries the inspection's position only, so the rest (a refusal,
each photo's position when it was taken) stays on the device, in tables of its own in the
same SQLite file, created here without touching the store's schema or version.
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


def position_from_form(form: Any) -> Position:
    """What the page's script put in the hidden fields; anything unreadable is unavailable."""
    status = form.get("pos_status", "unavailable")
    if status not in STATUSES:
        status = "unavailable"
    if status != "ok":
        return Position(status)
    try:
        lat = float(form.get("lat", ""))
        lon = float(form.get("lon", ""))
        accuracy = float(form["accuracy"]) if form.get("accuracy") else None
    except ValueError:
        return Position("unavailable")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return Position("unavailable")
    return Position("ok", lat, lon, accuracy)


def ensure_schema(store: Store) -> None:
    store.db.execute(SCHEMA)


def record(store: Store, uuid: str, subject: str, position: Position) -> None:
    """Keep the position (or its absence) for the inspection or for one photo hash."""
    with store.transaction() as db:
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
