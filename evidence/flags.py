"""What the evidence checks share on the device and on the server: a flag, and distances.

The field app flags on the device, before sync, what the server's evidence checks will flag
after it; both measure with these, so they agree to the metre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

# Cameras stamp whole seconds and phones may start a photo just before "start" is pressed.
PHOTO_TIME_TOLERANCE = timedelta(minutes=2)
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Flag:
    """One thing a reviewer should look at: a stable code, the words, and the photo if any."""

    code: str
    message: str
    photo: str | None = None


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine); metres are plenty precise for a site radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))  # rounding past 1 near antipodes
