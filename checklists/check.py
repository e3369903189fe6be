"""Validate every checklist and prove every quote occurs verbatim in its plan."""

from __future__ import annotations

from pathlib import Path

from checklists.errors import ChecklistError
from checklists.loader import CHECKLISTS_DIR, load_file
from checklists.model import AnswerType
from checklists.plausible import plausible_range
from checklists.sources import quote_found


def check_directory(directory: Path = CHECKLISTS_DIR) -> list[str]:
    """Every problem found, one line each; an empty list means all checklists are sound."""
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        return [f"{directory}: no checklist files"]
    for path in files:
        try:
            checklist = load_file(path)
        except ChecklistError as error:
            problems.extend(f"{path.name}: {problem}" for problem in error.problems)
            continue
        for item in checklist.items:
            if item.answer_type is AnswerType.NUMBER and plausible_range(item.unit) is None:
                problems.append(
                    f"{path.name}: {item.code}: unit {item.unit!r} has no plausible range "
                    "in checklists/plausible.py"
                )
            for basis in item.basis:
                if not quote_found(basis.source, basis.quote):
                    problems.append(
                        f"{path.name}: {item.code}: quote not found in {basis.source}: "
                        f"{basis.quote[:40]}…"
                    )
    return problems
