"""Alerts on the device: which are in force offline, which sites come first, what a line's
measure note says, and when a stopped line's meter reading is flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from field_client import alerts
from field_client.store import Store

NOW = datetime.now(UTC)  # the alerts are placed around the real now: order_sites reads the clock
LINE = {
    "name": "1号熟料线",
    "normal_load_kw": 420,
    "measures": {
        "yellow": {"action": "limit", "limit_percent": 70, "text": ""},
        "orange": {"action": "stop", "text": "窑炉保温"},
    },
}


def _alert(level: str, codes: list[str], start_h: float, end_h: float) -> dict[str, Any]:
    return {
        "level": level,
        "city_codes": codes,
        "starts_at": (NOW + timedelta(hours=start_h)).isoformat(),
        "ends_at": (NOW + timedelta(hours=end_h)).isoformat(),
    }


def _store(tmp_path: Path, held: list[dict[str, Any]]) -> Store:
    store = Store(tmp_path / "home")
    store.set_meta(alerts.META_KEY, json.dumps(held))
    return store


def test_the_strictest_alert_in_force_for_the_city_governs(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        [
            _alert("yellow", ["140600"], -2, 10),
            _alert("red", ["140600"], 1, 10),  # not begun yet
            _alert("orange", ["140600", "140100"], -1, 5),
            _alert("red", ["140400"], -1, 5),
        ],
    )
    assert alerts.level_for(store, "140600", NOW) == "orange"
    assert alerts.level_for(store, "140600", NOW + timedelta(hours=2)) == "red"
    assert alerts.level_for(store, "140600", NOW + timedelta(hours=11)) is None  # ended offline
    assert alerts.level_for(store, "140581", NOW) is None


def test_plants_with_a_list_under_an_alert_come_first(tmp_path: Path) -> None:
    store = _store(tmp_path, [_alert("orange", ["140600"], -1, 5)])
    listed = {"lines": [LINE], "performance_grade": "C", "version": 1}
    sites = [
        {"id": 1, "kind": "construction", "city_code": "140600", "reduction_list": listed},
        {"id": 2, "kind": "industrial", "city_code": "140400", "reduction_list": listed},
        {"id": 3, "kind": "industrial", "city_code": "140600", "reduction_list": None},
        {"id": 4, "kind": "industrial", "city_code": "140600", "reduction_list": listed},
    ]
    ordered = alerts.order_sites(store, sites)
    assert [site["id"] for site in ordered] == [4, 1, 2, 3]
    assert ordered[0]["alert_checklist"] == "heavy-pollution-response"
    assert all("alert_level" not in site for site in ordered[1:])


def test_the_note_quotes_the_plants_own_measure() -> None:
    assert alerts.measure_note(LINE, "orange") == (
        "一厂一策（橙色预警）：1号熟料线 停产——窑炉保温；正常负荷 420 kW"
    )
    assert "限产至正常负荷的70%" in alerts.measure_note(LINE, "yellow")
    assert "无措施" in alerts.measure_note(LINE, "red")


def test_a_stopped_line_is_flagged_only_above_standby_power() -> None:
    assert alerts.draws_power_while_stopped(310, 420)
    assert not alerts.draws_power_while_stopped(15, 420)  # lighting and frost protection
