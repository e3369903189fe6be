"""The law in force: items scoped by city, date, obligation strength and conditions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from checklists import ChecklistError, Verdict, evaluate_all, load_all
from checklists.evaluate import served_items
from checklists.governance import load_governance, parse_governance
from checklists.model import Obligation
from checklists.scope import Scope
from checklists.scope_table import scope_table

RULES = load_all()
GOVERNANCE = load_governance()
TODAY = date(2026, 11, 29)
EXPECTED_TABLE = Path(__file__).with_name("expected_scope_table.md")


def served(checklist_id: str, city: str, on: date = TODAY) -> set[str]:
    scope = Scope.of(GOVERNANCE, city, on)
    return {item.code for item in served_items(RULES[checklist_id], scope)}


def test_the_city_by_item_table_matches_the_reviewed_copy() -> None:
    """Any change of scope shows up here; regenerate with `lantian-server rules table`."""
    assert scope_table(RULES, GOVERNANCE) == EXPECTED_TABLE.read_text(encoding="utf-8")


def test_an_item_from_one_citys_plan_is_not_served_in_another_city() -> None:
    # CD-11 三不进 and CD-14/CD-19 come only from 朔政发〔2024〕14号.
    for code in ("CD-11", "CD-14", "CD-19"):
        assert code in served("construction-dust", "朔州")
        for city in ("太原", "长治", "高平"):
            assert code not in served("construction-dust", city), (code, city)


def test_an_item_is_not_served_before_its_plan_was_issued() -> None:
    for code in ("CD-11", "CD-14", "CD-19"):
        assert code not in served("construction-dust", "朔州", date(2024, 3, 29))
        assert code in served("construction-dust", "朔州", date(2024, 3, 30))


def test_a_campaign_plan_governs_only_its_season() -> None:
    assert "SV-09" in served("shutdown-verification", "高平", date(2021, 1, 15))
    assert served("shutdown-verification", "高平", date(2021, 4, 1)) == set()


def test_an_unknown_city_is_served_nothing() -> None:
    assert Scope.of(GOVERNANCE, "大同", TODAY).sources == frozenset()
    assert served("construction-dust", "大同") == set()


@pytest.mark.parametrize("name", ["朔州", "朔州市", "Shuozhou", " shuozhou ", "140600"])
def test_city_names_and_codes_map_to_one_city(name: str) -> None:
    city = GOVERNANCE.city(name)
    assert city is not None and city.code == "140600"


def test_an_encouraged_measure_is_an_observation_never_a_violation() -> None:
    # FE-10 rests only on 002 "推动重点企业…安装…在线监控及视频监控系统".
    scope = Scope.of(GOVERNANCE, "朔州", TODAY)
    results = evaluate_all(RULES["fugitive-emissions"], {"FE-10": "non_compliant"}, scope)
    assert results["FE-10"].obligation is Obligation.ADVISORY
    assert results["FE-10"].verdict is Verdict.OBSERVATION


def test_video_at_every_taiyuan_site_but_only_advice_for_large_shuozhou_sites() -> None:
    dust = RULES["construction-dust"]
    small = {"CD-01": 800, "CD-09": "non_compliant", "CD-10": "non_compliant"}
    taiyuan = evaluate_all(dust, small, Scope.of(GOVERNANCE, "太原", TODAY))
    assert taiyuan["CD-09"].verdict is Verdict.NON_COMPLIANT
    assert taiyuan["CD-10"].verdict is Verdict.NON_COMPLIANT
    shuozhou_small = evaluate_all(dust, small, Scope.of(GOVERNANCE, "朔州", TODAY))
    assert shuozhou_small["CD-10"].applicable is False
    assert "CD-09" not in served("construction-dust", "朔州")
    large = {**small, "CD-01": 6000}
    shuozhou_large = evaluate_all(dust, large, Scope.of(GOVERNANCE, "朔州", TODAY))
    assert shuozhou_large["CD-10"].verdict is Verdict.OBSERVATION


def test_key_industry_duties_bind_only_the_industries_the_plan_names() -> None:
    fugitive = RULES["fugitive-emissions"]
    changzhi = Scope.of(GOVERNANCE, "长治", TODAY)
    steel = evaluate_all(fugitive, {"FE-00": "steel", "FE-09": "non_compliant"}, changzhi)
    other = evaluate_all(fugitive, {"FE-00": "other", "FE-09": "non_compliant"}, changzhi)
    assert steel["FE-09"].verdict is Verdict.NON_COMPLIANT
    assert other["FE-09"].applicable is False
    # 朔州's 2020 list has no steel, but its 2024 plan promotes video at key enterprises.
    shuozhou = Scope.of(GOVERNANCE, "朔州", TODAY)
    steel_sz = evaluate_all(fugitive, {"FE-00": "steel", "FE-09": "non_compliant"}, shuozhou)
    assert steel_sz["FE-09"].verdict is Verdict.OBSERVATION


def test_a_finding_cites_only_the_bases_in_force_for_the_site() -> None:
    scope = Scope.of(GOVERNANCE, "朔州", TODAY)
    results = evaluate_all(RULES["construction-dust"], {"CD-03": "non_compliant"}, scope)
    cited = {basis.source for basis in results["CD-03"].bases}
    assert cited == {"000_32c90d3c411fd51f.txt", "002_57e86a6bcd0130fd.txt"}


def test_each_citys_rule_stands_alone_fe13_is_split() -> None:
    assert "FE-13" in served("fugitive-emissions", "朔州")
    assert "FE-21" not in served("fugitive-emissions", "朔州")
    assert "FE-21" in served("fugitive-emissions", "长治")
    assert "FE-13" not in served("fugitive-emissions", "长治")


def test_governance_refuses_a_plan_of_another_city() -> None:
    raw = {
        "cities": [
            {
                "code": "140600",
                "name": "朔州",
                "name_en": "Shuozhou",
                "plans": [{"source": "003_840288ea7541093f.txt", "from": "2019-01-01"}],
            }
        ]
    }
    with pytest.raises(ChecklistError, match="cannot govern"):
        parse_governance(raw)


def test_governance_refuses_a_plan_in_force_before_it_was_issued() -> None:
    raw = {
        "cities": [
            {
                "code": "140100",
                "name": "太原",
                "name_en": "Taiyuan",
                "plans": [{"source": "003_840288ea7541093f.txt", "from": "2018-01-01"}],
            }
        ]
    }
    with pytest.raises(ChecklistError, match="before the plan was issued"):
        parse_governance(raw)


def test_governance_refuses_one_name_for_two_cities() -> None:
    raw = {
        "cities": [
            {"code": "140100", "name": "太原", "name_en": "Taiyuan", "plans": []},
            {"code": "140600", "name": "朔州", "name_en": "Shuozhou", "aliases": ["太原"]},
        ]
    }
    with pytest.raises(ChecklistError, match="also used by"):
        parse_governance(raw)


def test_every_boiler_is_judged_on_its_own() -> None:
    """CB-11 (≥65 t/h ultra-low) reads its own boiler's capacity, not the smallest one."""
    coal = RULES["coal-and-boilers"]
    taiyuan = Scope.of(GOVERNANCE, "太原", TODAY)
    answers = {"CB-09": "yes", "CB-10": 40, "CB-10#2": 70, "CB-11#2": "non_compliant"}
    results = evaluate_all(coal, answers, taiyuan)
    assert results["CB-10"].verdict is Verdict.COMPLIANT
    assert results["CB-10#2"].verdict is Verdict.COMPLIANT
    assert results["CB-11"].applicable is False  # the 40 t/h boiler
    assert results["CB-11#2"].applicable is True
    assert results["CB-11#2"].verdict is Verdict.NON_COMPLIANT
    small_second = evaluate_all(coal, {"CB-09": "yes", "CB-10": 70, "CB-10#2": 20}, taiyuan)
    assert small_second["CB-10"].verdict is Verdict.COMPLIANT
    assert small_second["CB-10#2"].verdict is Verdict.NON_COMPLIANT  # below 35: phase out
    assert small_second["CB-11#2"].applicable is False


def test_only_unit_items_repeat_and_unit_numbers_are_strict() -> None:
    coal = RULES["coal-and-boilers"]
    assert coal.item("CB-10#2") is coal.item("CB-10")
    for key in ("CB-05#2", "CB-10#1", "CB-10#0", "CB-10#02", "CB-10#x", "CB-10#51"):
        assert coal.item(key) is None, key


def test_the_device_verdict_of_one_answer_reads_the_conditions_too() -> None:
    from checklists import evaluate

    fe09 = RULES["fugitive-emissions"].item("FE-09")
    changzhi = Scope.of(GOVERNANCE, "长治", TODAY)
    assert evaluate(fe09, "non_compliant", changzhi, {"FE-00": "other"}) is Verdict.NOT_APPLICABLE
    assert evaluate(fe09, "non_compliant", changzhi, {"FE-00": "steel"}) is Verdict.NON_COMPLIANT


def test_a_limit_before_its_deadline_says_by_when() -> None:
    boiler = RULES["coal-and-boilers"]
    results = evaluate_all(
        boiler, {"CB-09": "yes", "CB-10": 8}, Scope.of(GOVERNANCE, "朔州", date(2020, 5, 1))
    )
    assert results["CB-10"].verdict is Verdict.DUE
    assert results["CB-10"].due_by == date(2020, 9, 1)


def test_a_plan_kept_past_its_stated_period_must_say_why() -> None:
    entry = {
        "code": "140400",
        "name": "长治",
        "name_en": "Changzhi",
        "plans": [{"source": "001_7ea1cdfab6f18ecc.txt", "from": "2020-03-31"}],
    }
    with pytest.raises(ChecklistError, match="beyond_period"):
        parse_governance({"cities": [entry]})
    ended = {**entry, "plans": [{**entry["plans"][0], "until": "2020-12-31"}]}
    assert parse_governance({"cities": [ended]}).governing("140400", date(2021, 1, 1)) == ()
    kept = {**entry, "plans": [{**entry["plans"][0], "beyond_period": "no newer plan yet"}]}
    assert parse_governance({"cities": [kept]}).governing("140400", date(2021, 1, 1))


def test_each_store_dust_point_and_exit_is_judged_on_its_own() -> None:
    fugitive = RULES["fugitive-emissions"]
    shuozhou = Scope.of(GOVERNANCE, "朔州", TODAY)
    answers = {"FE-00": "coal", "FE-01": "compliant", "FE-01#2": "non_compliant"}
    results = evaluate_all(fugitive, answers, shuozhou)
    assert results["FE-01"].verdict is Verdict.COMPLIANT
    assert results["FE-01#2"].verdict is Verdict.NON_COMPLIANT
    assert fugitive.unit_of("FE-09") is fugitive.unit_of("FE-05")
    dust = RULES["construction-dust"]
    exits = evaluate_all(dust, {"CD-07": "compliant", "CD-07#2": "non_compliant"}, shuozhou)
    assert exits["CD-07#2"].verdict is Verdict.NON_COMPLIANT
