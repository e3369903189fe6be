"""heavy-pollution-response: the alert level in force decides which duties bind."""

from __future__ import annotations

from datetime import date

from checklists import Verdict, evaluate_all, load_all
from checklists.governance import load_governance
from checklists.scope import Scope

RULES = load_all()
CHECKLIST = RULES["heavy-pollution-response"]
SHUOZHOU = Scope.of(load_governance(), "朔州", date(2026, 11, 29))
STOPPED_LINE = {
    "HP-01": "industrial",
    "HP-02": "yes",
    "HP-10": "1号熟料线",
    "HP-11": "stop",
    "HP-12": "non_compliant",
    "HP-13": 310,
    "HP-14": 420,
    "HP-15": "non_compliant",
}


def test_a_stopped_line_drawing_power_during_an_orange_alert_is_a_violation() -> None:
    results = evaluate_all(CHECKLIST, {"HP-00": "orange", **STOPPED_LINE}, SHUOZHOU)
    assert results["HP-15"].verdict is Verdict.NON_COMPLIANT
    assert results["HP-12"].verdict is Verdict.NON_COMPLIANT
    assert results["HP-13"].verdict is Verdict.RECORDED


def test_without_an_alert_no_reduction_duty_binds() -> None:
    results = evaluate_all(CHECKLIST, {"HP-00": "none", **STOPPED_LINE}, SHUOZHOU)
    assert results["HP-15"].verdict is not Verdict.NON_COMPLIANT
    assert results["HP-12"].verdict is not Verdict.NON_COMPLIANT


def test_each_line_is_judged_against_its_own_measure() -> None:
    answers = {
        "HP-00": "red",
        **STOPPED_LINE,
        "HP-10#2": "2号线",
        "HP-11#2": "limit",
        "HP-12#2": "compliant",
        "HP-13#2": 200,
        "HP-14#2": 400,
    }
    results = evaluate_all(CHECKLIST, answers, SHUOZHOU)
    assert results["HP-15"].verdict is Verdict.NON_COMPLIANT
    assert results["HP-12#2"].verdict is Verdict.COMPLIANT
    assert results["HP-15#2"].applicable is False


def test_earthwork_halt_binds_in_shuozhou_only_during_an_alert() -> None:
    site = {"HP-01": "construction", "HP-30": "non_compliant"}
    during = evaluate_all(CHECKLIST, {"HP-00": "yellow", **site}, SHUOZHOU)
    assert during["HP-30"].verdict is Verdict.NON_COMPLIANT
    calm = evaluate_all(CHECKLIST, {"HP-00": "none", **site}, SHUOZHOU)
    assert calm["HP-30"].verdict is not Verdict.NON_COMPLIANT
    taiyuan = Scope.of(load_governance(), "太原", date(2026, 11, 29))
    assert "HP-30" not in {
        code
        for code, result in evaluate_all(CHECKLIST, {"HP-00": "red", **site}, taiyuan).items()
        if result.verdict is Verdict.NON_COMPLIANT
    }


def test_a_plant_not_stably_compliant_must_stop_only_where_the_gaoping_campaign_governed() -> None:
    answers = {"HP-00": "orange", "HP-01": "industrial", "HP-03": "no", "HP-50": "non_compliant"}
    season = Scope.of(load_governance(), "高平", date(2021, 1, 15))
    assert evaluate_all(CHECKLIST, answers, season)["HP-50"].verdict is Verdict.NON_COMPLIANT
    calm = evaluate_all(CHECKLIST, {**answers, "HP-00": "none"}, season)
    assert calm["HP-50"].verdict is not Verdict.NON_COMPLIANT
    assert evaluate_all(CHECKLIST, answers, SHUOZHOU)["HP-50"].verdict is not Verdict.NON_COMPLIANT
