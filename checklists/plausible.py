"""What a number answer may plausibly be, by its unit.

A typo or a joke (`1e9` trucks a day, `-5` tonnes an hour) would otherwise be stored, judged
and printed on a notice. Every unit the rules use has a range here; a number outside it is
refused as an answer (on the device and on the server alike), and counted units take whole
numbers only. The upper bounds are generous on purpose: they stop nonsense, not rare truths.
`checklists check` and the tests insist that every number item's unit is listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    low: float
    high: float
    whole: bool = False  # counts: trucks, months


RANGES: dict[str, Range] = {
    "%": Range(0, 100),
    "m²": Range(0, 100_000_000),  # 100 km²: larger than any single site
    "mg/m³": Range(0, 100_000),  # raw flue gas stays far below 100 g/m³
    "t/h": Range(0, 10_000),  # the largest utility boilers make about 3,000 t/h
    "月": Range(0, 1_200, whole=True),  # a century of months
    "辆/日": Range(0, 100_000, whole=True),
    "kW": Range(0, 10_000_000),  # a production line's metered load: far below 10 GW
    "m": Range(0, 1_000),  # a gas generator's diameter, a stack's height: far below 1 km
}


def plausible_range(unit: str | None) -> Range | None:
    return RANGES.get(unit or "")


def range_problem(unit: str | None, value: float) -> str | None:
    """Why `value` cannot be an answer in `unit` (zh / en), or None when it can."""
    bounds = plausible_range(unit)
    if bounds is None:
        return None
    if value < bounds.low:
        if bounds.low == 0:
            return f"不能为负数 / must not be negative ({unit})"
        return f"不能小于 {bounds.low:g} {unit} / must be at least {bounds.low:g} {unit}"
    if value > bounds.high:
        return f"不能大于 {bounds.high:g} {unit} / must be at most {bounds.high:g} {unit}"
    if bounds.whole and value != int(value):
        return f"须为整数（{unit}）/ must be a whole number of {unit}"
    return None
