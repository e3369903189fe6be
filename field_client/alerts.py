"""Heavy-pollution alerts on the device: pulled with the rest, read offline.

During an alert the sites whose enterprise has a reduction list (一厂一策) come first, with
the heavy-pollution-response checklist; starting that checklist prefills what the device
already knows — the alert level in force (HP-00), whether the plant has a list (HP-02) and,
line by line, each line's name, its measure for the level (with the list's own words as the
note) and its normal load (HP-10, HP-11, HP-14) — so the finding cites the plant's measure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from field_client import capture
from field_client.api import SyncApi
from field_client.store import Store

CHECKLIST_ID = "heavy-pollution-response"
LEVEL_RANK = {"yellow": 1, "orange": 2, "red": 3}
LEVEL_LABELS = {"yellow": "黄色预警", "orange": "橙色预警", "red": "红色预警"}
ACTION_LABELS = {"stop": "停产", "limit": "限产", "measures": "具体减排措施", "none": "无措施"}
# A line the list stops may still draw lighting and frost-protection power; above this share
# of its normal load it is taken to be producing (HP-15's guidance and the server's evidence
# check stopped_line_power use the same share).
STOPPED_LINE_POWER_SHARE = 0.05
META_KEY = "alerts_in_force"
# The site kinds whose production lines a reduction list names (the plant's own places, not
# its construction sites or boiler houses).
PLANT_KINDS = ("industrial", "coal_yard", "mine")


def pull_alerts(store: Store, api: SyncApi) -> int:
    """The alerts in force for the inspector's city, replacing those held; returns how many."""
    alerts, _ = api.get_json("/api/v1/alerts", params={"in_force": "1"})
    store.set_meta(META_KEY, json.dumps(alerts or [], ensure_ascii=False))
    return len(alerts or [])


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def alerts_in_force(store: Store, at: datetime | None = None) -> list[dict[str, Any]]:
    """The pulled alerts still in force at `at` (now): one that has ended since the pull
    no longer counts, offline too."""
    moment = at or datetime.now(UTC)
    held = json.loads(store.meta(META_KEY) or "[]")
    return [
        alert for alert in held if _moment(alert["starts_at"]) <= moment < _moment(alert["ends_at"])
    ]


def level_for(store: Store, city_code: str | None, at: datetime | None = None) -> str | None:
    """The strictest level in force for a city, or None."""
    levels = [
        alert["level"]
        for alert in alerts_in_force(store, at)
        if city_code and city_code in alert["city_codes"]
    ]
    return max(levels, key=LEVEL_RANK.__getitem__) if levels else None


def order_sites(store: Store, sites: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sites with a reduction list under an alert first, each marked with the checklist to use
    and the level; the others after, in their own order."""
    first, rest = [], []
    for site in sites:
        level = level_for(store, site.get("city_code"))
        if level and site.get("reduction_list") and site["kind"] in PLANT_KINDS:
            first.append({**site, "alert_level": level, "alert_checklist": CHECKLIST_ID})
        else:
            rest.append(site)
    first.sort(key=lambda site: -LEVEL_RANK[site["alert_level"]])
    return first + rest


def measure_note(line: dict[str, Any], level: str) -> str:
    """The plant's own measure for the level, as the finding will cite it."""
    measure = line["measures"].get(level) or {"action": "none"}
    words = ACTION_LABELS[measure["action"]]
    if measure["action"] == "limit" and measure.get("limit_percent") is not None:
        words += f"至正常负荷的{measure['limit_percent']}%"
    text = (measure.get("text") or "").strip()
    return (
        f"一厂一策（{LEVEL_LABELS[level]}）：{line['name']} {words}"
        + (f"——{text}" if text else "")
        + f"；正常负荷 {line['normal_load_kw']:g} kW"
    )


def draws_power_while_stopped(reading_kw: float, normal_load_kw: float) -> bool:
    """Whether a stopped line's meter shows production load."""
    return reading_kw > STOPPED_LINE_POWER_SHARE * normal_load_kw


def _code(base: str, index: int) -> str:
    return base if index == 0 else f"{base}#{index + 1}"


def prefill(store: Store, uuid: str) -> dict[str, str]:
    """Answer what the device knows for a heavy-pollution-response inspection; returns the
    items answered. Without an alert in force it records "none" and nothing binds."""
    row = store.inspection(uuid)
    site = store.site(row["site_id"])
    level = level_for(store, site.get("city_code")) or "none"
    answered: dict[str, str] = {}

    def put(code: str, value: Any, note: str | None = None) -> None:
        capture.answer(store, uuid, code, str(value), note)
        answered[code] = str(value)

    put("HP-00", level)
    if site["kind"] == "construction":
        put("HP-01", "construction")
        return answered
    put("HP-01", "industrial")
    reduction = site.get("reduction_list")
    put("HP-02", "yes" if reduction and reduction["lines"] else "no")
    if not reduction or level == "none":
        return answered
    for index, line in enumerate(reduction["lines"]):
        measure = line["measures"].get(level) or {"action": "none"}
        note = measure_note(line, level)
        put(_code("HP-10", index), line["name"], note)
        put(_code("HP-11", index), measure["action"], note)
        if measure["action"] in ("stop", "limit"):
            put(_code("HP-14", index), line["normal_load_kw"], note)
    return answered


def _line_of(store: Store, uuid: str, item_code: str) -> tuple[dict[str, Any], str] | None:
    """The reduction-list line and level a per-line item of this inspection is about."""
    row = store.inspection(uuid)
    if row["checklist_id"] != CHECKLIST_ID:
        return None
    base, _, number = item_code.partition("#")
    if base not in ("HP-10", "HP-11", "HP-12", "HP-13", "HP-14", "HP-15"):
        return None
    site = store.site(row["site_id"])
    level = level_for(store, site.get("city_code"))
    lines = (site.get("reduction_list") or {}).get("lines") or []
    index = int(number) - 1 if number else 0
    if level is None or not 0 <= index < len(lines):
        return None
    return lines[index], level


def default_note(store: Store, uuid: str, item_code: str) -> str | None:
    """For a per-line item, the plant's own measure for the level in force, so the answer
    (and any finding made of it) cites it; None for other items."""
    found = _line_of(store, uuid, item_code)
    return measure_note(*found) if found else None


def power_warning(store: Store, uuid: str, item_code: str, value: str) -> str | None:
    """A meter reading (HP-13) of a line the list stops that shows production load."""
    if item_code.partition("#")[0] != "HP-13":
        return None
    found = _line_of(store, uuid, item_code)
    if found is None:
        return None
    line, level = found
    if (line["measures"].get(level) or {}).get("action") != "stop":
        return None
    try:
        reading = float(value)
    except ValueError:
        return None
    if not draws_power_while_stopped(reading, float(line["normal_load_kw"])):
        return None
    return (
        f"停产线仍在用电：{line['name']} 读数 {reading:g} kW，正常负荷 "
        f"{line['normal_load_kw']:g} kW / a stopped line is drawing production power"
    )
