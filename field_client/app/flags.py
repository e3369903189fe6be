"""What the server's evidence checks would flag, shown on the device before sync.

The server flags, it never rejects: an inspection placed outside the site's radius, photos
taken outside the inspection's start–end window or away from the site, photos without GPS.
The same rules (and thresholds) are applied here to what the device holds, so the inspector
can take a better photo or note why while still on site. Poor position accuracy is flagged
too: the server widens the radius by the accuracy, so a vague fix hides a wrong place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evidence.flags import PHOTO_TIME_TOLERANCE, Flag, distance_m
from field_client.app.device import INSPECTION, Position
from field_client.store import Store, now_iso

POOR_ACCURACY_M = 100.0


def _site_place(site: dict[str, Any]) -> tuple[float, float, float] | None:
    if site.get("lat") is None or site.get("lon") is None:
        return None
    return site["lat"], site["lon"], float(site.get("radius_m") or 0)


def _inspection_flags(site: dict[str, Any], start: Position | None) -> list[Flag]:
    if start is None or not start.known or start.lat is None or start.lon is None:
        why = {"refused": "位置权限被拒绝 / position refused"}.get(
            start.status if start else "", "位置不可用 / position unavailable"
        )
        return [Flag("no_location", f"检查未记录位置（{why}）/ the inspection has no location")]
    found = []
    if start.accuracy_m is not None and start.accuracy_m > POOR_ACCURACY_M:
        found.append(
            Flag(
                "poor_accuracy",
                f"定位精度差（±{start.accuracy_m:.0f}米）/ poor position accuracy "
                f"(±{start.accuracy_m:.0f} m)",
            )
        )
    place = _site_place(site)
    if place is not None:
        away = distance_m(start.lat, start.lon, place[0], place[1])
        if away > place[2] + (start.accuracy_m or 0):
            found.append(
                Flag(
                    "outside_site",
                    f"检查位置距场所{away:.0f}米，超出{place[2]:.0f}米范围 / the inspection was "
                    f"recorded {away:.0f} m from the site, outside its {place[2]:.0f} m radius",
                )
            )
    return found


def _photo_flags(
    site: dict[str, Any], photo: Any, window: tuple[datetime, datetime], taken: Position | None
) -> list[Flag]:
    sha = photo["sha256"]
    found = []
    if photo["taken_at"]:
        when = datetime.fromisoformat(photo["taken_at"])
        if when.tzinfo is not None and not window[0] <= when <= window[1]:
            found.append(
                Flag(
                    "photo_time_outside",
                    "照片拍摄时间不在检查时段内 / photo taken outside the inspection's "
                    "start–end window",
                    sha,
                )
            )
    place = _site_place(site)
    if photo["lat"] is None or photo["lon"] is None:
        found.append(Flag("photo_without_gps", "照片无GPS位置 / photo without GPS", sha))
    elif place is not None:
        away = distance_m(photo["lat"], photo["lon"], place[0], place[1])
        if away > place[2]:
            found.append(
                Flag(
                    "photo_outside_site",
                    f"照片拍摄于距场所{away:.0f}米处 / photo taken {away:.0f} m from the site "
                    f"(radius {place[2]:.0f} m)",
                    sha,
                )
            )
    if taken is not None and taken.known and place is not None and taken.lat is not None:
        away = distance_m(taken.lat, taken.lon or 0.0, place[0], place[1])
        if away > place[2] + (taken.accuracy_m or 0):
            found.append(
                Flag(
                    "device_outside_site",
                    f"添加照片时设备距场所{away:.0f}米 / the device was {away:.0f} m from the "
                    "site when the photo was added",
                    sha,
                )
            )
    return found


def flags_for(store: Store, uuid: str, positions: dict[str, Position]) -> list[Flag]:
    """Every flag the device can see for this inspection now."""

    row = store.inspection(uuid)
    site = store.site(row["site_id"])
    start = positions.get(INSPECTION)
    if start is None and row["lat"] is not None:  # started from the CLI with --lat/--lon
        start = Position("ok", row["lat"], row["lon"], row["accuracy_m"])
    found = _inspection_flags(site, start)
    begin = datetime.fromisoformat(row["started_at"]) - PHOTO_TIME_TOLERANCE
    end = datetime.fromisoformat(row["finished_at"] or now_iso()) + PHOTO_TIME_TOLERANCE
    hashes = {sha for shas in store.photos_of(uuid).values() for sha in shas}
    for sha in sorted(hashes):
        photo = store.photo(sha)
        if photo is not None:
            found += _photo_flags(site, photo, (begin, end), positions.get(sha))
    return found
