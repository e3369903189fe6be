"""The checklists of issue 13 judge sites as their plans say: by city, date, industry, unit.

Each test answers the shipped rules as an inspector would and checks the verdict against the
plan's own words, so a wrong threshold, city, deadline or condition in a YAML file fails here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from checklists import Verdict, evaluate_all, load_all
from checklists.governance import load_governance
from checklists.model import Obligation
from checklists.scope import Scope

RULES = load_all()
GOVERNANCE = load_governance()


def judge(checklist: str, city: str, on: date, answers: dict[str, Any]):
    return evaluate_all(RULES[checklist], answers, Scope.of(GOVERNANCE, city, on))


def test_coal_boilers_within_30_km_bind_only_under_shuozhous_2024_plan() -> None:
    answers = {"KS-23": "within_30km", "KS-24": "non_compliant"}
    # 朔政发〔2024〕14号 三（二）9: 30 km.
    shuozhou = judge("kilns-and-small-coal", "朔州", date(2024, 6, 1), answers)
    assert shuozhou["KS-24"].verdict is Verdict.NON_COMPLIANT
    assert {b.source[:3] for b in shuozhou["KS-24"].bases} == {"002"}
    # 长治 (001 三（二）11) and 朔州 before 2024 (000 三（二）10) say 15 km.
    assert judge("kilns-and-small-coal", "长治", date(2024, 6, 1), answers)["KS-24"].verdict is (
        Verdict.NOT_APPLICABLE
    )
    assert judge("kilns-and-small-coal", "朔州", date(2021, 6, 1), answers)["KS-24"].verdict is (
        Verdict.NOT_APPLICABLE
    )


def test_boilers_within_15_km_are_due_until_the_2020_heating_season() -> None:
    answers = {"KS-23": "within_15km", "KS-24": "non_compliant"}
    before = judge("kilns-and-small-coal", "长治", date(2020, 10, 20), answers)["KS-24"]
    assert before.verdict is Verdict.DUE and before.due_by == date(2020, 11, 1)
    after = judge("kilns-and-small-coal", "长治", date(2020, 11, 2), answers)["KS-24"]
    assert after.verdict is Verdict.NON_COMPLIANT


def test_each_gas_generator_is_judged_on_its_own_hearth() -> None:
    answers = {
        "KS-00": "yes",
        "KS-01": "gas_generator",
        "KS-04": 2.5,  # 淘汰炉膛直径3米以下
        "KS-01#2": "gas_generator",
        "KS-04#2": 3.2,
    }
    results = judge("kilns-and-small-coal", "太原", date(2024, 6, 1), answers)
    assert results["KS-04"].verdict is Verdict.NON_COMPLIANT
    assert results["KS-04#2"].verdict is Verdict.COMPLIANT
    # 长治's plan sets no diameter: nothing is borrowed from 太原.
    assert judge("kilns-and-small-coal", "长治", date(2024, 6, 1), answers)["KS-04"].verdict in (
        Verdict.NOT_APPLICABLE,
        Verdict.RECORDED,
    )


def test_low_voc_share_is_due_before_july_2020_and_not_limited_in_taiyuan() -> None:
    answers = {"VC-00": "coating", "VC-01": 85}
    june = judge("vocs-control", "朔州", date(2020, 6, 15), answers)["VC-01"]
    assert june.verdict is Verdict.DUE
    july = judge("vocs-control", "朔州", date(2020, 7, 2), answers)["VC-01"]
    assert july.verdict is Verdict.NON_COMPLIANT
    assert judge("vocs-control", "朔州", date(2020, 7, 2), {**answers, "VC-01": 95})[
        "VC-01"
    ].verdict is (Verdict.COMPLIANT)
    # "达到90%以上": exactly 90 % complies (以上 includes the number, 民法典 art. 1259).
    for share, verdict in ((90, Verdict.COMPLIANT), (89.9, Verdict.NON_COMPLIANT)):
        judged = judge("vocs-control", "朔州", date(2020, 7, 2), {**answers, "VC-01": share})
        assert judged["VC-01"].verdict is verdict, share
    assert judge("vocs-control", "太原", date(2020, 7, 2), answers)["VC-01"].verdict is not (
        Verdict.NON_COMPLIANT
    )


def test_special_limits_bind_only_the_industries_003_names() -> None:
    cement = judge(
        "permits-and-monitoring",
        "太原",
        date(2024, 6, 1),
        {"PM-00": "cement", "PM-11": "non_compliant"},
    )
    assert cement["PM-11"].verdict is Verdict.NON_COMPLIANT
    other = judge(
        "permits-and-monitoring",
        "太原",
        date(2024, 6, 1),
        {"PM-00": "other", "PM-11": "non_compliant"},
    )
    assert other["PM-11"].verdict is Verdict.NOT_APPLICABLE


def test_a_measure_the_plan_only_promotes_is_an_observation() -> None:
    results = judge("permits-and-monitoring", "朔州", date(2024, 6, 1), {"PM-15": "non_compliant"})
    assert results["PM-15"].obligation is Obligation.ADVISORY
    assert results["PM-15"].verdict is Verdict.OBSERVATION


def test_staggered_production_binds_listed_industries_in_the_period_only() -> None:
    listed = {"SP-00": "foundry", "SP-01": "yes", "SP-02": "non_compliant"}
    assert judge("staggered-production", "朔州", date(2020, 12, 1), listed)["SP-02"].verdict is (
        Verdict.NON_COMPLIANT
    )
    out_of_period = {**listed, "SP-01": "no"}
    assert judge("staggered-production", "朔州", date(2020, 12, 1), out_of_period)[
        "SP-02"
    ].verdict is (Verdict.NOT_APPLICABLE)
    # 000 names foundry but not steel; 001 names steel.
    steel = {**listed, "SP-00": "steel"}
    assert judge("staggered-production", "朔州", date(2020, 12, 1), steel)["SP-02"].verdict is (
        Verdict.NOT_APPLICABLE
    )
    assert judge("staggered-production", "长治", date(2020, 12, 1), steel)["SP-02"].verdict is (
        Verdict.NON_COMPLIANT
    )


def test_outdoor_barbecue_is_banned_only_by_shuozhous_2024_plan() -> None:
    answers = {"MB-22": "non_compliant"}
    assert judge("mines-burning-catering", "朔州", date(2024, 6, 1), answers)["MB-22"].verdict is (
        Verdict.NON_COMPLIANT
    )
    for city in ("长治", "太原"):
        assert judge("mines-burning-catering", city, date(2024, 6, 1), answers)[
            "MB-22"
        ].verdict is (Verdict.NOT_APPLICABLE)
