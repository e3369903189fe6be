"""The device scopes items offline exactly as the server does, from the declaration it pulled."""

from __future__ import annotations

from pathlib import Path

import pytest

import checklists as rules
from checklists.governance import load_governance
from field_client import capture
from field_client.errors import FieldError
from field_client.store import Store
from tests.field_client.test_capture_cli import CONSTRUCTION, SITE


def _store(tmp_path: Path, with_governance: bool = True) -> Store:
    store = Store(tmp_path)
    for checklist in rules.load_all().values():
        store.save_checklist({**checklist.content, "version": checklist.version}, '"etag"')
    shuozhou_site = {**CONSTRUCTION, "id": 9, "code": "SZ-C-01", "city": "朔州", "qr_token": "t9"}
    store.save_sites([SITE, CONSTRUCTION, shuozhou_site], "3")
    if with_governance:
        store.save_governance(load_governance().to_dict(), '"g"')
    return store


def test_an_item_of_another_citys_plan_is_refused_on_the_device(tmp_path: Path) -> None:
    store = _store(tmp_path)
    changzhi = capture.start(store, CONSTRUCTION["id"], "construction-dust")
    with pytest.raises(FieldError, match="not in force"):
        capture.answer(store, changzhi, "CD-11", "compliant")  # 朔政发〔2024〕14号 only
    shuozhou = capture.start(store, 9, "construction-dust")
    assert capture.answer(store, shuozhou, "CD-11", "compliant") is rules.Verdict.COMPLIANT


def test_the_device_gives_an_observation_for_an_encouraged_measure(tmp_path: Path) -> None:
    store = _store(tmp_path)
    shuozhou = capture.start(store, 9, "construction-dust")
    capture.answer(store, shuozhou, "CD-01", "8000")
    verdict = capture.answer(store, shuozhou, "CD-10", "non_compliant")
    assert verdict is rules.Verdict.OBSERVATION
    _ctx, results = capture.results(store, shuozhou)
    assert {b.source for b in results["CD-10"].bases} == {"002_57e86a6bcd0130fd.txt"}


def test_a_device_that_never_pulled_the_declaration_is_told_to_pull(tmp_path: Path) -> None:
    store = _store(tmp_path, with_governance=False)
    with pytest.raises(FieldError, match="lantian-field pull"):
        capture.start(store, 9, "construction-dust")


def test_the_device_refuses_a_declaration_it_cannot_use(tmp_path: Path) -> None:
    store = _store(tmp_path)
    bad = {
        "cities": [
            {
                "code": "140600",
                "name": "朔州",
                "name_en": "S",
                "plans": [{"source": "003_840288ea7541093f.txt", "from": "2019-01-01"}],
            }
        ]
    }
    with pytest.raises(rules.ChecklistError):
        store.save_governance(bad, '"x"')
    assert store.governance().city("朔州") is not None  # the good one is kept


def test_a_second_boiler_is_answered_and_judged_on_the_device(tmp_path: Path) -> None:
    store = _store(tmp_path)
    inspection = capture.start(store, SITE["id"], "coal-and-boilers")  # 朔州 boiler house
    capture.answer(store, inspection, "CB-09", "yes")
    assert capture.answer(store, inspection, "CB-10", "40") is rules.Verdict.COMPLIANT
    assert capture.answer(store, inspection, "CB-10#2", "20") is rules.Verdict.NON_COMPLIANT
    _ctx, results = capture.results(store, inspection)
    assert results["CB-10#2"].verdict is rules.Verdict.NON_COMPLIANT
    with pytest.raises(FieldError):
        capture.answer(store, inspection, "CB-05#2", "10")
