"""Checks on the evidence of an inspection, for supervisors: they flag, they never reject.

An inspection record is evidence in an enforcement case, and the plans warn against
falsified records (弄虚作假). These checks point a reviewer at what deserves a second look:
a device clock far from the server's, photos taken outside the inspection's own start–end
window, an inspection or photos placed outside the site's radius, photos without GPS.

The enterprise's rectification photos get the same photo checks: taken at the site, between
the inspection that found the problem and the answer that sends them (a photo from years
ago, or from another country, proves no rectification).

They are derived from facts stored with the inspection (its times, its location, and the
clock difference measured in the transaction that received it) and with each photo (EXIF
capture time and GPS, read on arrival), and computed whenever they are shown, because
photos may arrive after the inspection they belong to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from evidence.flags import PHOTO_TIME_TOLERANCE, Flag, distance_m
from server.models import Finding, FindingResponse, Inspection, Photo, Site
from server.services import alerts

CLOCK_SKEW_LIMIT = timedelta(minutes=5)


def _clock(inspection: Inspection) -> list[Flag]:
    if inspection.clock_skew_s is None:
        return []
    skew = timedelta(seconds=inspection.clock_skew_s)
    if abs(skew) <= CLOCK_SKEW_LIMIT:
        return []
    minutes = round(inspection.clock_skew_s / 60)
    direction = "慢" if minutes > 0 else "快"
    return [
        Flag(
            "clock_skew",
            f"设备时钟比服务器{direction}{abs(minutes)}分钟 / the device clock was "
            f"{abs(minutes)} min {'behind' if minutes > 0 else 'ahead of'} the server's",
        )
    ]


NO_POSITION = {
    "refused": "检查员拒绝设备定位 / the inspector refused the device position",
    "unavailable": "设备无法定位 / the device could not get a position",
}


def _place(inspection: Inspection, site: Site) -> list[Flag]:
    if inspection.lat is None or inspection.lon is None:
        status = ((inspection.device_positions or {}).get("inspection") or {}).get("status")
        why = f"（{NO_POSITION[status]}）" if status in NO_POSITION else ""
        return [Flag("no_location", f"检查未记录位置 / the inspection has no location{why}")]
    if site.lat is None or site.lon is None:
        return []
    away = distance_m(inspection.lat, inspection.lon, site.lat, site.lon)
    if away <= site.radius_m + (inspection.accuracy_m or 0):
        return []
    return [
        Flag(
            "outside_site",
            f"检查位置距场所{away:.0f}米，超出{site.radius_m:.0f}米范围 / the inspection was "
            f"recorded {away:.0f} m from the site, outside its {site.radius_m:.0f} m radius",
        )
    ]


INSPECTION_WINDOW = (
    "照片拍摄时间不在检查时段内 / photo taken outside the inspection's start–end window"
)
RECTIFICATION_WINDOW = (
    "整改照片拍摄时间不在检查之后、答复之前 / rectification photo not taken between the "
    "inspection and the answer"
)


def _photo(
    site: Site, photo: Photo, start: datetime, end: datetime, outside_window: str
) -> list[Flag]:
    """A photo's own time and place against the window it should fall in and the site."""
    flags = []
    sha = photo.sha256
    early, late = start - PHOTO_TIME_TOLERANCE, end + PHOTO_TIME_TOLERANCE
    if photo.taken_at is not None and not early <= photo.taken_at <= late:
        flags.append(Flag("photo_time_outside", outside_window, sha))
    if photo.lat is None or photo.lon is None:
        flags.append(Flag("photo_without_gps", "照片无GPS位置 / photo without GPS", sha))
    elif site.lat is not None and site.lon is not None:
        away = distance_m(photo.lat, photo.lon, site.lat, site.lon)
        if away > site.radius_m:
            flags.append(
                Flag(
                    "photo_outside_site",
                    f"照片拍摄于距场所{away:.0f}米处 / photo taken {away:.0f} m from the site "
                    f"(radius {site.radius_m:.0f} m)",
                    sha,
                )
            )
    return flags


def _photo_device_place(site: Site, sha: str, position: Mapping[str, Any] | None) -> list[Flag]:
    """Where the device was when the app took the photo (its own GPS, apart from the EXIF):
    outside the site's radius, allowing for the position's accuracy."""
    if not position or position.get("status") != "ok" or site.lat is None or site.lon is None:
        return []
    away = distance_m(position["lat"], position["lon"], site.lat, site.lon)
    if away <= site.radius_m + (position.get("accuracy_m") or 0):
        return []
    return [
        Flag(
            "photo_device_outside_site",
            f"拍照时设备距场所{away:.0f}米 / the device was {away:.0f} m from the site when the "
            f"photo was taken (radius {site.radius_m:.0f} m)",
            sha,
        )
    ]


def _alert_level(inspection: Inspection, site: Site) -> list[Flag]:
    """A heavy-pollution-response inspection whose alert level (HP-00) is not the one the
    server had declared in force for the site's city when it started: every reduction duty
    reads that answer, so a wrong level silently changes what binds."""
    if inspection.checklist_id != alerts.CHECKLIST_ID:
        return []
    answered = next((a.value for a in inspection.answers if a.item_code == "HP-00"), None)
    city_code = site.city_code or site.enterprise.city_code
    declared = alerts.level_in_force(city_code, inspection.started_at) or "none"
    if answered is None or answered == declared:
        return []
    return [
        Flag(
            "alert_level_mismatch",
            f"预警级别填报为{answered}，检查开始时在用预警为{declared} / the alert level answered "
            f"({answered}) is not the one in force when the inspection started ({declared})",
        )
    ]


def _stopped_lines(inspection: Inspection) -> list[Flag]:
    """A line its list stops (HP-11 stop) whose meter (HP-13) shows more than standby power
    against its normal load (HP-14), yet answered as drawing none (HP-15 compliant)."""
    if inspection.checklist_id != alerts.CHECKLIST_ID:
        return []
    answers = {a.item_code: a.value for a in inspection.answers}
    found = []
    for code, value in answers.items():
        base, _, unit = code.partition("#")
        if base != "HP-11" or value != "stop":
            continue
        suffix = f"#{unit}" if unit else ""
        reading, normal = answers.get(f"HP-13{suffix}"), answers.get(f"HP-14{suffix}")
        if not isinstance(reading, int | float) or not isinstance(normal, int | float):
            continue
        if answers.get(f"HP-15{suffix}") == "compliant" and reading > (
            alerts.STOPPED_LINE_POWER_SHARE * normal
        ):
            found.append(
                Flag(
                    "stopped_line_power",
                    f"停产线{suffix or '#1'}分表读数{reading:g} kW（正常负荷{normal:g} kW）"
                    "却判为无生产用电 / "
                    f"line {suffix or '#1'} is listed as stopped and reads {reading:g} kW of "
                    f"{normal:g} kW, yet HP-15 says it draws no production power",
                )
            )
    return found


def flags(inspection: Inspection, stored: Mapping[str, Photo]) -> list[Flag]:
    """Everything about this inspection's evidence a reviewer should look at twice.

    `stored` is `inspections.stored_photos(inspection)`; photos not yet uploaded are
    listed as missing elsewhere."""
    site = inspection.site
    found = _clock(inspection) + _place(inspection, site) + _alert_level(inspection, site)
    found += _stopped_lines(inspection)
    device = (inspection.device_positions or {}).get("photos") or {}
    for sha in inspection.cited_photos:
        found += _photo_device_place(site, sha, device.get(sha))
        if sha in stored:
            found += _photo(
                site, stored[sha], inspection.started_at, inspection.finished_at, INSPECTION_WINDOW
            )
    return found


def response_flags(
    finding: Finding, response: FindingResponse, stored: Mapping[str, Photo]
) -> list[Flag]:
    """What a supervisor should look at twice in an enterprise's answer: each photo taken at
    the site, after the inspection began and before the answer was sent."""
    inspection = finding.inspection
    found: list[Flag] = []
    for sha in response.photos:
        if sha in stored:
            found += _photo(
                inspection.site,
                stored[sha],
                inspection.started_at,
                response.created_at,
                RECTIFICATION_WINDOW,
            )
    return found
