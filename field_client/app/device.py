"""What the app's page reports of the device's position (the browser's Geolocation API).

The positions themselves are kept and sent by `field_client.positions`; this module reads
the hidden fields the page's script fills, and names them for the views.
"""

from __future__ import annotations

import math
from typing import Any

from field_client.positions import (
    INSPECTION,
    SCHEMA,
    STATUSES,
    Position,
    ensure_schema,
    positions,
    record,
)

MAX_ACCURACY_M = 20_000_000  # the server's bound: about the Earth's size

__all__ = [
    "INSPECTION",
    "SCHEMA",
    "STATUSES",
    "Position",
    "ensure_schema",
    "position_from_form",
    "positions",
    "record",
]


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
    if accuracy is not None and not (math.isfinite(accuracy) and 0 <= accuracy <= MAX_ACCURACY_M):
        accuracy = None  # unknown, rather than a number the server must refuse
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return Position("unavailable")
    return Position("ok", lat, lon, accuracy)
