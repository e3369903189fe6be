"""The fidelity checker itself is tested: each mutation of the rules must be caught.

Each test copies the shipped checklists and plan texts to a temporary directory, applies one
mutation and runs `check_directory` on the copy; a problem naming the mutated item (or plan
file) must be reported. The unmutated copy must pass, so every test here can fail both ways.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from checklists import CHECKLISTS_DIR
from checklists.check import check_directory

Mutation = Callable[[Path], str]  # applies itself to the copy, returns what must be named


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "checklists"
    target.mkdir()
    for path in CHECKLISTS_DIR.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    shutil.copytree(CHECKLISTS_DIR / "sources", target / "sources")
    return target


def _edit_item(directory: Path, code: str, change: Callable[[dict], None]) -> None:
    """Apply `change` to the raw item `code` in whichever checklist file holds it."""
    for path in directory.glob("*.yaml"):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        for item in content["items"]:
            if item["code"] == code:
                change(item)
                path.write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
                return
    raise AssertionError(f"no item {code}")


def _set_limit(code: str, source_prefix: str, bound: str, old: float, new: float) -> Mutation:
    def mutate(directory: Path) -> str:
        def change(item: dict) -> None:
            limits = [
                limit
                for limit in item["answer"]["limits"]
                if limit["source"].startswith(source_prefix)
            ]
            assert limits and limits[0][bound] == old, limits
            limits[0][bound] = new

        _edit_item(directory, code, change)
        return code

    return mutate


def _quote_from_elsewhere(directory: Path) -> str:
    """CB-05 cites 000 三、（二）9; give it a verbatim fragment of 000 from task 17 instead."""

    def change(item: dict) -> None:
        basis = next(b for b in item["basis"] if b["source"].startswith("000_"))
        basis["quote"] = "严格落实施工工地扬尘整治"  # verbatim in 000, but in 三、（四）17

    _edit_item(directory, "CB-05", change)
    return "CB-05"


def _unknown_clause(directory: Path) -> str:
    def change(item: dict) -> None:
        item["basis"][0]["clause"] = "九、（九）99"

    _edit_item(directory, "CD-03", change)
    return "CD-03"


def _wrong_004_clause(directory: Path) -> str:
    """A lead phrase that is not the opening of any 004 paragraph."""

    def change(item: dict) -> None:
        basis = next(b for b in item["basis"] if b["source"].startswith("004_"))
        basis["clause"] = "三、（燃煤锅炉淘汰整治）"

    _edit_item(directory, "CB-18", change)
    return "CB-18"


def _threshold(directory: Path) -> str:
    def change(item: dict) -> None:
        assert item["condition"] == {"item": "CB-10", "at_least": 65}
        item["condition"]["at_least"] = 100

    _edit_item(directory, "CB-11", change)
    return "CB-11"


def _source_byte(directory: Path) -> str:
    path = directory / "sources" / "003_840288ea7541093f.txt"
    data = bytearray(path.read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    return "003_840288ea7541093f.txt"


MUTATIONS: dict[str, Mutation] = {
    "quote-outside-its-clause": _quote_from_elsewhere,
    "clause-nine-nine-99": _unknown_clause,
    "clause-004-heading-that-does-not-exist": _wrong_004_clause,
    "ash-16-to-17": _set_limit("CB-05", "000_", "max", 16, 17),
    "sulphur-1-to-3": _set_limit("CB-06", "003_", "max", 1, 3),
    "scr-2.5-to-25": _set_limit("CB-21", "000_", "max", 2.5, 25),
    "sncr-8-to-2.5": _set_limit("CB-22", "001_", "max", 8, 2.5),
    "phase-out-10-to-100": _set_limit("CB-10", "000_", "above", 10, 100),
    "phase-out-bound-kind-above-to-max": lambda d: _bound_kind(d),
    "condition-65-to-100": _threshold,
    "source-byte-changed": _source_byte,
}


def _bound_kind(directory: Path) -> str:
    """`above: 10` (10 t/h and below are phased out) turned into `min: 10` (10 allowed)."""

    def change(item: dict) -> None:
        limit = next(x for x in item["answer"]["limits"] if x["source"].startswith("000_"))
        limit["min"] = limit.pop("above")

    _edit_item(directory, "CB-10", change)
    return "CB-10"


def test_the_unmutated_copy_passes(tmp_path: Path) -> None:
    assert check_directory(_copy(tmp_path)) == []


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_each_mutation_is_caught(tmp_path: Path, mutation: str) -> None:
    directory = _copy(tmp_path)
    named = MUTATIONS[mutation](directory)
    problems = check_directory(directory)
    assert any(named in problem for problem in problems), problems
