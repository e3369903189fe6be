"""The city × item table: which items each city's governing plans serve, from when, how strongly.

It is generated from the rules and the governance declaration, printed by
`lantian-server rules table`, and compared in the tests with a reviewed copy
(tests/checklists/expected_scope_table.md), so that any change of scope is seen by a person.
"""

from __future__ import annotations

from checklists.governance import City, Governance
from checklists.model import Checklist, Item, Strength
from checklists.sources import load_sources


def _cell(item: Item, city: City) -> str:
    """One city's standing of one item: each governing plan quoting it, with its period."""
    sources = load_sources()
    parts = []
    for plan in city.plans:
        bases = [basis for basis in item.basis if basis.source == plan.source]
        if not bases:
            continue
        strengths = {basis.strength for basis in bases}
        word = "M" if Strength.MANDATORY in strengths else "E"
        if any(basis.when is not None for basis in bases):
            word += "?"
        deadlines = sorted(
            [b.from_ for b in bases if b.from_ is not None]
            + [x.from_ for x in item.limits if x.source == plan.source and x.from_ is not None]
        )
        if deadlines:
            word += f" from {deadlines[0].isoformat()}"
        until = plan.until.isoformat() if plan.until else ""
        parts.append(f"{sources[plan.source].file[:3]} {word} [{plan.from_.isoformat()}–{until}]")
    return "; ".join(parts) or "—"


def scope_table(checklists: dict[str, Checklist], governance: Governance) -> str:
    """Markdown: one row per item, one column per city."""
    header = ["item"] + [f"{city.name} {city.code}" for city in governance.cities]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for checklist in sorted(checklists.values(), key=lambda c: c.id):
        for item in checklist.items:
            cells = [_cell(item, city) for city in governance.cities]
            lines.append(f"| {item.code} | " + " | ".join(cells) + " |")
    legend = (
        "\nM: a duty; E: encouraged only (a “no” is an observation); ?: only where the quote's "
        "condition holds (area, industry, …); from DATE: the plan's deadline; [from–until]: when "
        "the plan governs the city; —: not served there (unless another item's condition "
        "asks it).\n"
    )
    return "\n".join(lines) + "\n" + legend
