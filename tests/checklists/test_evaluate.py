"""Evaluation: the same verdicts on device and server, limits by city and plan date."""

from __future__ import annotations

from datetime import date

import pytest

from checklists import (
    AnswerError,
    Verdict,
    evaluate,
    evaluate_all,
    limit_in_force,
    load_all,
    missing_parts,
)

RULES = load_all()
COAL = RULES["coal-and-boilers"]
DUST = RULES["construction-dust"]


def item_with(checklist, predicate):
    return next(item for item in checklist.items if predicate(item))


def boiler_item():
    return item_with(COAL, lambda i: i.unit == "t/h" and len(i.limits) >= 4)


def ash_item():
    return item_with(COAL, lambda i: i.unit == "%" and "灰分" in i.text.zh)


def test_check_answers_map_to_verdicts() -> None:
    item = item_with(DUST, lambda i: i.answer_type.value == "check")
    assert evaluate(item, "compliant") is Verdict.COMPLIANT
    assert evaluate(item, "non_compliant") is Verdict.NON_COMPLIANT
    assert evaluate(item, "not_applicable") is Verdict.NOT_APPLICABLE
    assert evaluate(item, None) is Verdict.UNANSWERED
    with pytest.raises(AnswerError):
        evaluate(item, "yes")
    with pytest.raises(AnswerError):
        evaluate(item, 3)


def test_numbers_are_checked_for_type() -> None:
    item = ash_item()
    for bad in ("16", True, [1], {"v": 1}, float("nan")):
        with pytest.raises(AnswerError):
            evaluate(item, bad, "朔州")


def test_household_coal_ash_limit_is_16_percent() -> None:
    item = ash_item()
    assert evaluate(item, 15.9, "朔州", date(2026, 1, 1)) is Verdict.COMPLIANT
    assert evaluate(item, 16, "朔州", date(2026, 1, 1)) is Verdict.COMPLIANT
    assert evaluate(item, 18.2, "朔州", date(2026, 1, 1)) is Verdict.NON_COMPLIANT
    # A city whose plans set no limit of their own uses the item's default.
    assert evaluate(item, 18.2, "长治", date(2026, 1, 1)) is Verdict.NON_COMPLIANT


def test_a_later_plan_of_the_same_city_supersedes_the_earlier() -> None:
    item = boiler_item()
    under_2020_plan = limit_in_force(item, "朔州", date(2021, 6, 1))
    under_2024_plan = limit_in_force(item, "朔州", date(2025, 6, 1))
    assert under_2020_plan is not None and under_2020_plan.source.startswith("000_")
    assert under_2024_plan is not None and under_2024_plan.source.startswith("002_")
    # A 20 t/h boiler was allowed in Shuozhou under 2020's 10 t/h threshold, not after 2024.
    assert evaluate(item, 20, "朔州", date(2021, 6, 1)) is Verdict.COMPLIANT
    assert evaluate(item, 20, "朔州", date(2025, 6, 1)) is Verdict.NON_COMPLIANT
    # Shuozhou phases out "及以下" (at or below): exactly 35 t/h fails there, not in Changzhi.
    assert evaluate(item, 35, "朔州", date(2025, 6, 1)) is Verdict.NON_COMPLIANT
    assert evaluate(item, 35, "长治", date(2025, 6, 1)) is Verdict.COMPLIANT
    for city in ("长治", "太原", "高平"):
        assert evaluate(item, 20, city, date(2025, 6, 1)) is Verdict.NON_COMPLIANT
        assert evaluate(item, 40, city, date(2025, 6, 1)) is Verdict.COMPLIANT


def test_the_item_says_which_plan_supersedes_which() -> None:
    note = boiler_item().limit_note
    assert note is not None and "2024" in note.zh and "2020" in note.zh


def test_conditions_make_items_not_applicable() -> None:
    area = item_with(DUST, lambda i: i.answer_type.value == "number" and not i.limits)
    dependent = [i for i in DUST.items if i.condition and i.condition.item == area.code]
    assert dependent, "monitoring items depend on the site area"
    small = evaluate_all(DUST, {area.code: 1200}, "长治")
    large = evaluate_all(DUST, {area.code: 8000}, "长治")
    unknown = evaluate_all(DUST, {}, "长治")
    for item in dependent:
        assert small[item.code].applicable is False
        assert small[item.code].verdict is Verdict.NOT_APPLICABLE
        assert large[item.code].applicable is True
        assert unknown[item.code].applicable is None


def test_missing_parts_lists_unanswered_items_and_missing_photos() -> None:
    first = DUST.items[0]
    answers = {item.code: "compliant" for item in DUST.items if item.answer_type.value == "check"}
    failing = next(i for i in DUST.items if i.evidence.value == "on_fail")
    answers[failing.code] = "non_compliant"
    missing = missing_parts(DUST, answers, {}, "长治")
    codes = {m.code for m in missing}
    assert failing.code in codes
    assert first.code in codes  # the area (a number) was not answered
    photos = {failing.code: ["a" * 64]}
    assert failing.code not in {m.code for m in missing_parts(DUST, answers, photos, "长治")}


def test_conditions_chain() -> None:
    # CB-11 (65 t/h and above) depends on CB-10 (capacity), which depends on CB-09 (a boiler?).
    no_boiler = evaluate_all(COAL, {"CB-09": "no"}, "朔州")
    assert no_boiler["CB-10"].applicable is False
    assert no_boiler["CB-11"].applicable is False
    big = evaluate_all(COAL, {"CB-09": "yes", "CB-10": 70}, "朔州")
    assert big["CB-11"].applicable is True
    pending = evaluate_all(COAL, {"CB-09": "yes"}, "朔州")
    assert pending["CB-11"].applicable is None
