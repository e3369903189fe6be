"""What binds one site on one day: the plans in force, and each item's obligation there.

An item applies to a site only if at least one of its quotes comes from a plan governing
the site's city on the inspection date. Among those quotes, the ones whose own conditions
(site area, capacity …) hold decide the obligation: mandatory when a duty is in force,
"due" when every duty starts at a deadline still ahead, advisory when the plans only
encourage the measure. Only a mandatory item's "no" is a violation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from checklists.governance import Governance
from checklists.model import Basis, Condition, Item, Limit, Obligation, Strength
from checklists.sources import load_sources


@dataclass(frozen=True)
class Scope:
    """A site's city (GB/T 2260 code) and a day, with the plans that govern it then."""

    city_code: str
    on: date
    sources: frozenset[str]

    @classmethod
    def of(cls, governance: Governance, city: str | None, on: date) -> Scope:
        """The scope of a city (code, name or alias) on a day; an unknown city has no plans."""
        found = governance.city(city)
        code = found.code if found else ""
        return cls(code, on, frozenset(governance.governing(code, on)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "city_code": self.city_code,
            "on": self.on.isoformat(),
            "sources": sorted(self.sources),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Scope:
        return cls(str(raw["city_code"]), date.fromisoformat(raw["on"]), frozenset(raw["sources"]))


def condition_met(condition: Condition, answers: Mapping[str, Any]) -> bool | None:
    """True or False once the controlling item is answered, None while it is not."""
    value = answers.get(condition.item)
    if value is None:
        return None
    if condition.in_ is not None:
        return value in condition.in_
    if condition.at_least is not None or condition.below is not None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if condition.at_least is not None:
            return value >= condition.at_least
        return value < condition.below  # type: ignore[operator]
    return value == condition.equals


def bases_in_force(item: Item, scope: Scope) -> tuple[Basis, ...]:
    """The item's quotes from plans governing the scope's city on its day."""
    return tuple(basis for basis in item.basis if basis.source in scope.sources)


def in_force(item: Item, scope: Scope) -> bool:
    """Whether any governing plan says this item itself (before any condition is read)."""
    return bool(bases_in_force(item, scope))


# served_codes per (items, scope): a pure function of frozen inputs, asked twice per
# inspection the server receives (what was served, and in evaluating it) and for each
# device pull, while a city has few scopes a day. The entry holds the items themselves, so
# their id cannot be reused while it is kept; the whole cache is dropped when it is full.
_SERVED: dict[tuple[int, Scope], tuple[tuple[Item, ...], frozenset[str]]] = {}
_SERVED_MAX = 512


def served_codes(items: tuple[Item, ...], scope: Scope) -> frozenset[str]:
    """The items a site is asked on a day: those a governing plan says, and the questions
    their conditions read (a boiler's capacity decides a 太原 phase-out even where no 太原
    quote asks "is there a boiler?"). Remembered per (items, scope): see `_SERVED`."""
    key = (id(items), scope)
    known = _SERVED.get(key)
    if known is not None and known[0] is items:
        return known[1]
    served = _served_codes(items, scope)
    if len(_SERVED) >= _SERVED_MAX:
        _SERVED.clear()
    _SERVED[key] = (items, served)
    return served


def _served_codes(items: tuple[Item, ...], scope: Scope) -> frozenset[str]:
    by_code = {item.code: item for item in items}
    served = {item.code for item in items if in_force(item, scope)}
    frontier = list(served)
    while frontier:
        item = by_code[frontier.pop()]
        reads = [item.condition] + [basis.when for basis in bases_in_force(item, scope)]
        for condition in reads:
            if condition is not None and condition.item not in served:
                served.add(condition.item)
                frontier.append(condition.item)
    return frozenset(served)


@dataclass(frozen=True)
class ItemScope:
    """An item's standing at a site on a day, given the answers so far."""

    obligation: Obligation | None  # None: not in force, or no basis's condition holds
    bases: tuple[Basis, ...]  # the quotes it rests on there (the ones a notice may cite)
    due_by: date | None = None  # for DUE: the earliest deadline
    pending: bool = False  # a basis's condition waits for an answer not given yet


def item_scope(
    item: Item, scope: Scope, answers: Mapping[str, Any], *, asked: bool = False
) -> ItemScope:
    """Which quotes bind the site for this item, and how strongly.

    `asked`: the item is served only because another item's condition reads it; it is then
    a question of fact with no quote of its own to cite.
    """
    binding: list[Basis] = []
    waiting: list[Basis] = []
    for basis in bases_in_force(item, scope):
        met = True if basis.when is None else condition_met(basis.when, answers)
        if met is None:
            waiting.append(basis)  # it may yet bind once the controlling item is answered
        elif met:
            binding.append(basis)
    if not binding and not waiting:
        # A question of fact another item reads has no quote of its own; an item whose own
        # quotes' conditions all fail does not apply.
        if asked and not bases_in_force(item, scope):
            return ItemScope(Obligation.MANDATORY, ())
        return ItemScope(None, ())
    if not binding:
        # Only quotes whose condition waits for an answer: nothing binds yet.
        return ItemScope(_strongest(waiting, scope.on), tuple(waiting), pending=True)
    mandatory = [b for b in binding if b.strength is Strength.MANDATORY]
    now = [b for b in mandatory if b.from_ is None or b.from_ <= scope.on]
    pending = bool(waiting)
    if now:
        return ItemScope(Obligation.MANDATORY, tuple(now), pending=pending)
    if mandatory:
        due_by = min(b.from_ for b in mandatory if b.from_ is not None)
        return ItemScope(Obligation.DUE, tuple(mandatory), due_by=due_by, pending=pending)
    return ItemScope(Obligation.ADVISORY, tuple(binding), pending=pending)


def _strongest(bases: list[Basis], on: date) -> Obligation:
    """The obligation these quotes would impose if their conditions held (for display)."""
    mandatory = [b for b in bases if b.strength is Strength.MANDATORY]
    if any(b.from_ is None or b.from_ <= on for b in mandatory):
        return Obligation.MANDATORY
    return Obligation.DUE if mandatory else Obligation.ADVISORY


def limit_in_force(item: Item, scope: Scope) -> Limit | None:
    """The limit of the latest-issued governing plan that sets one; None when none does.

    No limit is borrowed from another city's plan: where the governing plans are silent,
    the number is recorded without a verdict.
    """
    sources = load_sources()
    governing = [limit for limit in item.limits if limit.source in scope.sources]
    if not governing:
        return None
    return max(governing, key=lambda limit: (sources[limit.source].date, limit.source))
