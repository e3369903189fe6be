"""Fidelity of the rules to the plans: pinned bytes, the clause locator and the limit wording."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from checklists import CHECKLISTS_DIR, load_all
from checklists.clauses import ClauseError, chinese_number, chinese_numeral, outline, plan_outline
from checklists.fidelity import check_numbers, check_pins
from checklists.sources import SOURCES_DIR

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / ".." / "shared" / "seeds"
PLAN_004 = "004_8505c0e03fd7d1e2.txt"


def test_plan_texts_are_byte_identical_to_the_shared_seeds() -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"no seed directory at {SEEDS} (e.g. an installed wheel): nothing to compare")
    texts = sorted(SOURCES_DIR.glob("*.txt"))
    assert [path.name for path in texts] == sorted(path.name for path in SEEDS.glob("*.txt"))
    for path in texts:
        assert path.read_bytes() == (SEEDS / path.name).read_bytes(), path.name


def test_every_plan_is_pinned_and_matches_its_pin() -> None:
    raw = yaml.safe_load((SOURCES_DIR / "sources.yaml").read_text(encoding="utf-8"))
    assert all(len(entry.get("sha256", "")) == 64 for entry in raw["sources"])
    assert check_pins(SOURCES_DIR) == []


def test_a_missing_pin_is_a_problem(tmp_path: Path) -> None:
    raw = yaml.safe_load((SOURCES_DIR / "sources.yaml").read_text(encoding="utf-8"))
    del raw["sources"][2]["sha256"]
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    for entry in raw["sources"]:
        (tmp_path / entry["file"]).write_bytes((SOURCES_DIR / entry["file"]).read_bytes())
    assert check_pins(tmp_path) == [f"sources.yaml: {raw['sources'][2]['file']}: no sha256 pin"]


@pytest.mark.parametrize("number", [1, 9, 10, 11, 17, 20, 23, 99])
def test_chinese_numerals_round_trip(number: int) -> None:
    assert chinese_number(chinese_numeral(number)) == number


TOY = """标题
一、总体要求
正文。
二、重点任务
（
一
）调整结构
1.优化布局。禁止新建。
2.严控产能。数值 3.5 在句中，
3.
不是标题的一行：
3. 控制在2.5以内。
(二)能源
4.清洁取暖。
三、保障
第一段开头，正文〔责任单位：甲〕
第二段开头。正文
〔责任单
位：乙〕
二、重复的副本
1.不属于任何条款。
"""


def test_headings_are_accepted_only_in_sequence_and_may_be_split() -> None:
    plan = outline(TOY)
    assert set(plan.leaves) == {
        "一、",
        "二、（一）1",
        "二、（一）2",
        "二、（一）3",
        "二、（二）4",
        "三、",
    }
    assert "控制在2.5以内" in plan.locate("二、（一）3").text  # "3." alone is out of sequence
    assert "不属于任何条款" not in plan.locate("二、（二）4").text  # a repeated copy ends the text
    assert plan.locate("二、(一)1") == plan.locate(" 二、（一）\n1")  # ASCII parens, whitespace


@pytest.mark.parametrize(
    "clause",
    ["九、（九）99", "二、（一）", "二、", "二、（二）5", "三、第一段", "三、正文", "二、优化布局"],
)
def test_unknown_or_too_wide_clauses_are_refused(clause: str) -> None:
    with pytest.raises(ClauseError):
        outline(TOY).locate(clause)


def test_lead_phrase_clauses_name_one_paragraph() -> None:
    plan = outline(TOY)
    assert plan.locate("三、第一段开头").text == "第一段开头，正文〔责任单位：甲〕"
    assert plan.locate("三、第二段开头").text.endswith("〔责任单位：乙〕")
    ambiguous = outline(TOY.replace("第二段开头。", "第一段开头。"))
    with pytest.raises(ClauseError, match="2 paragraphs"):
        ambiguous.locate("三、第一段开头")


def test_004_paragraphs_are_found_by_their_lead_phrase() -> None:
    plan = plan_outline(PLAN_004)
    assert "持续开展“禁煤区”内燃煤和燃煤设施双清零工作" in plan.locate("三、严防散煤复烧").text
    boiler = plan.locate(
        "三、依法依规加大燃煤锅炉（含茶水炉、经营性炉灶、储粮烘干设备等燃煤设施）淘汰整治力度"
    )
    assert "35蒸吨以下" in boiler.text and "焦化产能压减" not in boiler.text
    for heading in ("三、（严防散煤复烧）", "三、严防散煤", "三、（一）1", "三、"):
        with pytest.raises(ClauseError):
            plan.locate(heading)


def _item(text: str, quote: str, limits: list[dict] | None = None, **condition) -> list[str]:
    """Problems check_numbers finds in a one-item checklist (plus the item it depends on)."""
    from checklists import parse_checklist

    source = "000_32c90d3c411fd51f.txt"
    items = [
        {
            "code": "T-00",
            "text": {"zh": "面积", "en": "area"},
            "answer": {"type": "number", "unit": "m2"},
            "severity": "minor",
            "remedy": {"zh": "无", "en": "none"},
            "days_to_rectify": 0,
            "basis": [{"source": source, "clause": "x", "quote": "x"}],
        },
        {
            "code": "T-01",
            "text": {"zh": text, "en": "t"},
            "answer": {"type": "number", "unit": "%", "limits": limits or []},
            "severity": "minor",
            "remedy": {"zh": "无", "en": "none"},
            "days_to_rectify": 0,
            "basis": [{"source": source, "clause": "x", "quote": quote}],
            **({"condition": {"item": "T-00", **condition}} if condition else {}),
        },
    ]
    checklist = parse_checklist(
        {"id": "t", "title": {"zh": "t", "en": "t"}, "site_kinds": ["industrial"], "items": items}
    )
    return check_numbers(checklist)


S = "000_32c90d3c411fd51f.txt"


@pytest.mark.parametrize(
    ("quote", "bound", "value", "ok"),
    [
        ("灰分≤16%", "max", 16, True),
        ("灰分不超过16%", "max", 16, True),
        ("灰分小于等于16%", "max", 16, True),
        ("控制在16%以内", "max", 16, True),
        ("禁止燃用灰分大于16%的煤", "max", 16, True),
        ("禁止燃用灰分不高于16%的煤", "max", 16, False),  # 不高于 is not 高于
        ("灰分大于16%", "max", 16, False),  # "大于" only sets a max in a ban
        ("灰分≤16%", "max", 1.6, False),
        ("灰分≤16%", "max", 6, False),
        ("淘汰10蒸吨及以下燃煤锅炉", "above", 10, True),
        ("淘汰10蒸吨及以下燃煤锅炉", "min", 10, False),  # 及以下 includes 10
        ("淘汰35蒸吨以下燃煤锅炉", "min", 35, True),
        ("淘汰35蒸吨以下燃煤锅炉", "above", 35, False),  # 以下 excludes 35
        ("对35蒸吨/小时及以下燃煤锅炉动态清零", "above", 35, True),
        ("锅炉达到65蒸吨及以上", "min", 65, True),
        # A bare 以上/以下 is read in the enterprise's favour: a requirement includes the
        # number (民法典 art. 1259), a ban excludes it; the other reading is refused.
        ("使用率达到90%以上", "min", 90, True),
        ("使用率达到90%以上", "above", 90, False),  # would fail exactly 90 %
        ("含硫量控制在0.5%以下", "max", 0.5, True),
        ("禁止使用硫分1%以上的煤", "max", 1, True),  # exactly 1 % is not banned
        ("淘汰35蒸吨以下燃煤锅炉", "max", 35, False),
    ],
)
def test_limit_wording_table(quote: str, bound: str, value: float, ok: bool) -> None:
    problems = _item("锅炉", quote, [{"source": S, bound: value}])
    assert (problems == []) is ok, problems


@pytest.mark.parametrize(
    ("quote", "test", "value", "ok"),
    [
        ("5000平方米及以上建筑工地", "at_least", 5000, True),
        ("5000平方米以上建筑工地", "at_least", 5000, False),  # would bind exactly 5000
        ("5000平方米以下建筑工地", "below", 5000, True),  # 以下 excludes 5000: fewer bound
        ("少于3个月的", "below", 3, True),
        ("3个月及以上的", "below", 3, False),
        ("禁止5000平方米及以上", "at_least", 500, False),
        ("严禁5000平方米及以上工地…", "at_least", 5000, True),  # a condition names whom, ban or not
    ],
)
def test_condition_threshold_wording(quote: str, test: str, value: float, ok: bool) -> None:
    problems = _item("工地", quote, **{test: value})
    assert (problems == []) is ok, problems


RESPECTIVELY = "SCR和SNCR脱硝系统，氨逃逸指标分别控制在2.5mg/m3、8mg/m3以内"


@pytest.mark.parametrize(
    ("text", "value", "ok"),
    [
        ("SCR氨逃逸", 2.5, True),
        ("SNCR氨逃逸", 8, True),
        ("SCR氨逃逸", 8, False),
        ("SNCR氨逃逸", 2.5, False),
        ("氨逃逸", 2.5, False),  # the item must say whose number it is
    ],
)
def test_respectively_lists_give_each_subject_its_own_number(
    text: str, value: float, ok: bool
) -> None:
    problems = _item(text, RESPECTIVELY, [{"source": S, "max": value}])
    assert (problems == []) is ok, problems


def test_a_respectively_list_without_its_subjects_is_not_evidence() -> None:
    assert _item(
        "SCR氨逃逸", "氨逃逸指标分别控制在2.5mg/m3、8mg/m3以内", [{"source": S, "max": 2.5}]
    )


def test_every_004_citation_names_a_paragraph_lead() -> None:
    citations = [
        basis.clause
        for checklist in load_all(CHECKLISTS_DIR).values()
        for item in checklist.items
        for basis in item.basis
        if basis.source == PLAN_004
    ]
    # 21 before CD-21 (not a site duty as written) was removed; +4 with permits-and-monitoring,
    # +8 with kilns-and-small-coal, +2 with heavy-pollution-response (HP-03, HP-50)
    assert len(citations) == 34
    plan = plan_outline(PLAN_004)
    assert all(plan.locate(clause) for clause in citations)
