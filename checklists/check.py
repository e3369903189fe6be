"""Validate every checklist and prove it says what the pinned plans say.

`check_directory` runs the schema check, the verbatim-quote check and the fidelity checks of
`checklists.fidelity` (pinned plan bytes, clause citations, limit and threshold wording).
"""

from __future__ import annotations

from pathlib import Path

from checklists.errors import ChecklistError
from checklists.fidelity import check_citations, check_numbers, check_pins
from checklists.loader import CHECKLISTS_DIR, load_file
from checklists.model import AnswerType
from checklists.plausible import plausible_range
from checklists.sources import SOURCES_DIR, quote_found


def check_directory(directory: Path = CHECKLISTS_DIR) -> list[str]:
    """Every problem found, one line each; an empty list means all checklists are sound.

    The plan texts are read from `directory/sources` when it exists (a copy of the rules with
    its own plans), else from the package's own `sources`.
    """
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        return [f"{directory}: no checklist files"]
    sources = directory / "sources" if (directory / "sources").is_dir() else SOURCES_DIR
    problems.extend(check_pins(sources))
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
                if not (sources / basis.source).is_file():
                    continue  # check_pins reports the missing file
                if not quote_found(basis.source, basis.quote, sources):
                    problems.append(
                        f"{path.name}: {item.code}: quote not found in {basis.source}: "
                        f"{basis.quote[:40]}…"
                    )
        problems.extend(
            f"{path.name}: {problem}" for problem in check_citations(checklist, sources)
        )
        problems.extend(f"{path.name}: {problem}" for problem in check_numbers(checklist))
    return problems
