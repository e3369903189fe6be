"""Evaluation: the same verdicts on device and server, in the scope of a city and a day."""

from __future__ import annotations

from datetime import date

import pytest

from checklists import AnswerError, Verdict, evaluate, evaluate_all, load_all, missing_parts
from checklists.governance import load_governance
from checklists.scope import Scope, limit_in_force

RULES = load_all()
COAL = RULES["coal-and-boilers"]
DUST = RULES["construction-dust"]
TODAY = date(2026, 11, 29)


def scope(city: str, on: date = TODAY) -> Scope:
    return Scope.of(load_governance(), city, on)


def item(checklist, code):
    found = checklist.item(code)
    assert found is not None, code
    return found


def test_check_answers_map_to_verdicts() -> None:
    hoarding = item(DUST, "CD-03")
    here = scope("太原")
    assert evaluate(hoarding, "compliant", here) is Verdict.COMPLIANT
    assert evaluate(hoarding, "non_compliant", here) is Verdict.NON_COMPLIANT
    assert evaluate(hoarding, "not_applicable", here) is Verdict.NOT_APPLICABLE
    assert evaluate(hoarding, None, here) is Verdict.UNANSWERED
    with pytest.raises(AnswerError):
        evaluate(hoarding, "yes", here)
    with pytest.raises(AnswerError):
        evaluate(hoarding, 3, here)


def test_numbers_are_checked_for_type() -> None:
    ash = item(COAL, "CB-05")
    for bad in ("16", True, [1], {"v": 1}, float("nan")):
        with pytest.raises(AnswerError):
            evaluate(ash, bad, scope("朔州"))


def test_household_coal_ash_limit_is_16_percent_where_a_governing_plan_sets_it() -> None:
    ash = item(COAL, "CB-05")
    assert evaluate(ash, 15.9, scope("朔州")) is Verdict.COMPLIANT
    assert evaluate(ash, 16, scope("朔州")) is Verdict.COMPLIANT
    assert evaluate(ash, 18.2, scope("朔州")) is Verdict.NON_COMPLIANT
    assert evaluate(ash, 18.2, scope("太原")) is Verdict.NON_COMPLIANT
    # 长治's plan sets no figure: no limit is borrowed from another city.
    assert limit_in_force(ash, scope("长治")) is None
    assert evaluate(ash, 18.2, scope("长治")) is Verdict.RECORDED


def test_a_later_plan_of_the_same_city_supersedes_the_earlier() -> None:
    boiler = item(COAL, "CB-10")
    under_2020_plan = limit_in_force(boiler, scope("朔州", date(2021, 6, 1)))
    under_2024_plan = limit_in_force(boiler, scope("朔州", date(2025, 6, 1)))
    assert under_2020_plan is not None and under_2020_plan.source.startswith("000_")
    assert under_2024_plan is not None and under_2024_plan.source.startswith("002_")
    # A 20 t/h boiler was allowed in Shuozhou under 2020's 10 t/h threshold, not after 2024.
    assert evaluate(boiler, 20, scope("朔州", date(2021, 6, 1))) is Verdict.COMPLIANT
    assert evaluate(boiler, 20, scope("朔州", date(2025, 6, 1))) is Verdict.NON_COMPLIANT
    # Shuozhou phases out "及以下" (at or below): exactly 35 t/h fails there, not in Changzhi.
    assert evaluate(boiler, 35, scope("朔州", date(2025, 6, 1))) is Verdict.NON_COMPLIANT
    assert evaluate(boiler, 35, scope("长治", date(2025, 6, 1))) is Verdict.COMPLIANT
    for city in ("长治", "太原"):
        assert evaluate(boiler, 20, scope(city, date(2025, 6, 1))) is Verdict.NON_COMPLIANT
        assert evaluate(boiler, 40, scope(city, date(2025, 6, 1))) is Verdict.COMPLIANT


def test_a_limit_applies_from_its_plans_deadline_not_its_issue_date() -> None:
    boiler = item(COAL, "CB-10")
    # 太原 (003): phase out below 35 t/h "2020年10月1日前"; 朔州 2020: 10 t/h by end of August.
    assert evaluate(boiler, 20, scope("太原", date(2019, 5, 1))) is Verdict.DUE
    assert evaluate(boiler, 20, scope("太原", date(2020, 10, 1))) is Verdict.NON_COMPLIANT
    assert evaluate(boiler, 8, scope("朔州", date(2020, 8, 31))) is Verdict.DUE
    assert evaluate(boiler, 8, scope("朔州", date(2020, 9, 1))) is Verdict.NON_COMPLIANT


def test_the_item_says_which_plan_supersedes_which() -> None:
    note = item(COAL, "CB-10").limit_note
    assert note is not None and "2024" in note.zh and "2020" in note.zh


def test_a_quote_limited_to_large_sites_waits_for_the_area() -> None:
    video = item(DUST, "CD-10")
    # 朔州: only 002's encouraged rule for 5,000 m² sites.
    small = evaluate_all(DUST, {"CD-01": 1200}, scope("朔州"))
    large = evaluate_all(DUST, {"CD-01": 8000, video.code: "non_compliant"}, scope("朔州"))
    unknown = evaluate_all(DUST, {}, scope("朔州"))
    assert small[video.code].applicable is False
    assert small[video.code].verdict is Verdict.NOT_APPLICABLE
    assert large[video.code].applicable is True
    assert large[video.code].verdict is Verdict.OBSERVATION
    assert unknown[video.code].applicable is None


def test_missing_parts_lists_unanswered_items_and_missing_photos() -> None:
    here = scope("朔州")
    answers = {i.code: "compliant" for i in DUST.items if i.answer_type.value == "check"}
    answers["CD-03"] = "non_compliant"
    missing = missing_parts(DUST, answers, {}, here)
    codes = {m.code for m in missing}
    assert "CD-03" in codes
    assert "CD-01" in codes  # the area (a number) was not answered
    photos = {"CD-03": ["a" * 64]}
    assert "CD-03" not in {m.code for m in missing_parts(DUST, answers, photos, here)}


def test_conditions_chain() -> None:
    # CB-11 (65 t/h and above) depends on CB-10 (capacity), which depends on CB-09 (a boiler?).
    here = scope("太原")
    no_boiler = evaluate_all(COAL, {"CB-09": "no"}, here)
    assert no_boiler["CB-10"].applicable is False
    assert no_boiler["CB-11"].applicable is False
    big = evaluate_all(COAL, {"CB-09": "yes", "CB-10": 70}, here)
    assert big["CB-11"].applicable is True
    pending = evaluate_all(COAL, {"CB-09": "yes"}, here)
    assert pending["CB-11"].applicable is None
