"""The shipped checklists: every file validates and every quote is the plan's own words."""

from __future__ import annotations

import pytest

from checklists import (
    CHECKLISTS_DIR,
    EvidenceRule,
    load_all,
    load_sources,
    quote_found,
)
from checklists.check import check_directory

ALL = load_all()
BASES = [
    pytest.param(basis, id=f"{checklist.id}:{item.code}:{index}")
    for checklist in ALL.values()
    for item in checklist.items
    for index, basis in enumerate(item.basis)
]


def test_the_four_required_checklists_exist() -> None:
    assert {
        "construction-dust",
        "fugitive-emissions",
        "shutdown-verification",
        "coal-and-boilers",
    } <= set(ALL)


def test_every_checklist_validates_and_every_quote_is_found() -> None:
    assert check_directory(CHECKLISTS_DIR) == []


@pytest.mark.parametrize("basis", BASES)
def test_quote_occurs_verbatim_in_its_plan(basis) -> None:
    assert basis.source in load_sources()
    assert quote_found(basis.source, basis.quote), basis.quote


def test_quote_check_ignores_only_whitespace() -> None:
    # 000 breaks "2.5mg/m" and "3" over two lines in the extracted text.
    assert quote_found("003_840288ea7541093f.txt", "周边围挡、物料堆放覆盖")
    assert quote_found("003_840288ea7541093f.txt", "周边 围挡、\n物料堆放覆盖")
    assert not quote_found("003_840288ea7541093f.txt", "周边围挡，物料堆放覆盖")  # comma differs
    assert not quote_found("003_840288ea7541093f.txt", "   ")


def test_six_hundred_percent_rules_are_all_covered() -> None:
    texts = " ".join(item.text.zh for item in ALL["construction-dust"].items)
    for rule in ("围挡", "覆盖", "湿法", "硬化", "冲洗", "密闭"):
        assert rule in texts, rule


def test_shutdown_verification_always_needs_a_photo() -> None:
    items = ALL["shutdown-verification"].items
    assert items and all(item.evidence is EvidenceRule.ALWAYS for item in items)


def test_every_limit_cites_its_plan_in_the_item_basis() -> None:
    for checklist in ALL.values():
        for item in checklist.items:
            cited = {basis.source for basis in item.basis}
            for limit in item.limits:
                assert limit.source in cited, f"{item.code}: {limit.source}"
