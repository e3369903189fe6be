"""The fidelity checker itself is tested: each mutation of the rules must be caught.

Each test copies the shipped checklists and plan texts to a temporary directory, applies one
mutation and runs `check_directory` on the copy; a problem naming the mutated item (or plan
file) must be reported. The unmutated copy must pass, so every test here can fail both ways.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def _set_clause(code: str, source_prefix: str, clause: str) -> Mutation:
    def mutate(directory: Path) -> str:
        def change(item: dict) -> None:
            basis = next(b for b in item["basis"] if b["source"].startswith(source_prefix))
            basis["clause"] = clause

        _edit_item(directory, code, change)
        return code

    return mutate


def _bound_kind(code: str, source_prefix: str, old: str, new: str) -> Mutation:
    """E.g. `above: 10` (10 t/h and below are phased out) turned into `min: 10` (10 allowed)."""

    def mutate(directory: Path) -> str:
        def change(item: dict) -> None:
            limit = next(
                x for x in item["answer"]["limits"] if x["source"].startswith(source_prefix)
            )
            limit[new] = limit.pop(old)

        _edit_item(directory, code, change)
        return code

    return mutate


MUTATIONS: dict[str, Mutation] = {
    "quote-outside-its-clause": _quote_from_elsewhere,
    "clause-nine-nine-99": _unknown_clause,
    "clause-004-heading-that-does-not-exist": _wrong_004_clause,
    "ash-16-to-17": _set_limit("CB-05", "000_", "max", 16, 17),
    "sulphur-1-to-3": _set_limit("CB-06", "003_", "max", 1, 3),
    "scr-2.5-to-25": _set_limit("CB-21", "000_", "max", 2.5, 25),
    "sncr-8-to-2.5": _set_limit("CB-22", "001_", "max", 8, 2.5),
    "phase-out-10-to-100": _set_limit("CB-10", "000_", "above", 10, 100),
    "scr-2.5-to-8": _set_limit("CB-21", "001_", "max", 2.5, 8),
    "phase-out-bound-kind-above-to-min": _bound_kind("CB-10", "000_", "above", "min"),
    "phase-out-bound-kind-min-to-above": _bound_kind("CB-10", "001_", "min", "above"),
    "ash-bound-kind-max-to-above": _bound_kind("CB-05", "003_", "max", "above"),
    "condition-65-to-100": _threshold,
    "neighbouring-task": _set_clause("CB-04", "000_", "三、（二）8"),
    "sub-section-instead-of-task": _set_clause("CD-02", "003_", "二、（四）"),
    "004-lead-phrase-cut-short": _set_clause("SV-09", "004_", "三、完善“散乱污”企业"),
    "004-other-paragraph": _set_clause("CD-20", "004_", "三、严防散煤复烧"),
    "source-byte-changed": _source_byte,
    "source-file-missing": lambda directory: _delete(
        directory / "sources" / "004_8505c0e03fd7d1e2.txt"
    ),
}


def _delete(path: Path) -> str:
    path.unlink()
    return path.name


def test_the_unmutated_copy_passes(tmp_path: Path) -> None:
    assert check_directory(_copy(tmp_path)) == []


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_each_mutation_is_caught(tmp_path: Path, mutation: str) -> None:
    directory = _copy(tmp_path)
    named = MUTATIONS[mutation](directory)
    problems = check_directory(directory)
    assert any(named in problem for problem in problems), problems


def test_python_m_checklists_exits_non_zero_naming_the_problem(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    clean = subprocess.run(
        [sys.executable, "-m", "checklists", str(directory)], capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    named = MUTATIONS["sncr-8-to-2.5"](directory)
    broken = subprocess.run(
        [sys.executable, "-m", "checklists", str(directory)], capture_output=True, text=True
    )
    assert broken.returncode == 1 and named in broken.stdout, broken.stdout + broken.stderr
