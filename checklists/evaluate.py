"""Turn answers into verdicts, exactly the same way on the device and on the server.

Every verdict is given in a scope (checklists.scope): the site's city and the inspection
date decide which plans govern, which items apply at all, how strongly (a duty, a duty with
a deadline ahead, or an encouraged measure) and which limit a number is judged against.
A "no" is a violation (non_compliant) only where a duty is in force; before a plan's
deadline it is "due", and where the plans only encourage the measure it is an observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from checklists.errors import AnswerError
from checklists.model import (
    ANSWERED_VERDICTS,
    CHECK_VALUES,
    AnswerType,
    Basis,
    Checklist,
    EvidenceRule,
    Item,
    Limit,
    Obligation,
    Verdict,
    split_key,
    unit_key,
)
from checklists.plausible import range_problem
from checklists.scope import (
    Scope,
    condition_met,
    in_force,
    item_scope,
    limit_in_force,
    served_codes,
)

NOT_APPLICABLE = Verdict.NOT_APPLICABLE.value


def check_value(item: Item, value: Any) -> None:
    """Raise AnswerError when `value` cannot answer `item`; None means unanswered."""
    if value is None or value == NOT_APPLICABLE:
        return
    if item.answer_type is AnswerType.CHECK:
        if value not in CHECK_VALUES:
            allowed = ", ".join(v.value for v in CHECK_VALUES)
            raise AnswerError(f"须为 {allowed} 之一 / must be one of {allowed}")
    elif item.answer_type is AnswerType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswerError(f"须为数字（{item.unit}）/ must be a number in {item.unit}")
        if value != value or value in (float("inf"), float("-inf")):
            raise AnswerError("须为有限数字 / must be a finite number")
        if problem := range_problem(item.unit, value):
            raise AnswerError(problem)
    elif item.answer_type is AnswerType.CHOICE:
        allowed = [option.value for option in item.options]
        if value not in allowed:
            raise AnswerError(f"须为 {', '.join(allowed)} 之一 / must be one of {allowed}")
    elif item.answer_type is AnswerType.TEXT and (not isinstance(value, str) or not value.strip()):
        raise AnswerError("须为非空文本 / must be non-empty text")


def judge_number(value: float, limit: Limit | None, on: date | None = None) -> Verdict:
    """Within the limit, beyond it, beyond it before the plan's deadline, or no limit at all."""
    if limit is None:
        return Verdict.RECORDED
    beyond = (
        (limit.max is not None and value > limit.max)
        or (limit.min is not None and value < limit.min)
        or (limit.above is not None and value <= limit.above)
    )
    if not beyond:
        return Verdict.COMPLIANT
    if limit.from_ is not None and on is not None and on < limit.from_:
        return Verdict.DUE
    return Verdict.NON_COMPLIANT


def _raw_verdict(item: Item, value: Any, scope: Scope) -> Verdict:
    check_value(item, value)
    if value is None:
        return Verdict.UNANSWERED
    if value == NOT_APPLICABLE:
        return Verdict.NOT_APPLICABLE
    if item.answer_type is AnswerType.CHECK:
        return Verdict(value)
    if item.answer_type is AnswerType.NUMBER:
        return judge_number(float(value), limit_in_force(item, scope), scope.on)
    if item.answer_type is AnswerType.CHOICE:
        return next(option.verdict for option in item.options if option.value == value)
    return Verdict.RECORDED  # a text answer records a fact; it cannot fail


def _weigh(verdict: Verdict, obligation: Obligation | None) -> Verdict:
    """A failing answer counts as a violation only where a duty is in force."""
    if verdict is not Verdict.NON_COMPLIANT:
        return verdict
    if obligation is Obligation.ADVISORY:
        return Verdict.OBSERVATION
    if obligation is Obligation.DUE:
        return Verdict.DUE
    return verdict


def evaluate(
    item: Item, value: Any, scope: Scope, answers: Mapping[str, Any] | None = None
) -> Verdict:
    """The verdict for one answer in a scope; raises AnswerError for a value that does not fit.

    `answers` (the inspection's other answers) decide quotes limited to some sites (area,
    capacity …); without them every such quote is taken as possibly binding.
    """
    verdict = _raw_verdict(item, value, scope)
    standing = item_scope(item, scope, answers or {}, asked=True)
    if standing.obligation is None:
        return Verdict.NOT_APPLICABLE  # no quote in force binds this site (its conditions fail)
    return _weigh(verdict, standing.obligation)


@dataclass(frozen=True)
class ItemResult:
    """One item's state within an inspection."""

    code: str
    verdict: Verdict
    applicable: bool | None  # None: depends on an item not yet answered
    needs_photo: bool
    limit: Limit | None = None
    obligation: Obligation | None = None
    bases: tuple[Basis, ...] = ()  # the governing quotes it rests on (what a notice cites)
    due_by: date | None = None
    in_force: bool = True  # False: no governing plan says it; it is not served at all


def needs_photo(item: Item, verdict: Verdict) -> bool:
    """Whether the evidence rule asks for a photo given this verdict."""
    if item.evidence is EvidenceRule.ALWAYS:
        return verdict in ANSWERED_VERDICTS
    if item.evidence is EvidenceRule.ON_FAIL:
        return verdict in (Verdict.NON_COMPLIANT, Verdict.DUE)
    return False


def _not_applicable(code: str, *, in_force: bool = True) -> ItemResult:
    return ItemResult(code, Verdict.NOT_APPLICABLE, False, False, in_force=in_force)


def unit_numbers(checklist: Checklist, answers: Mapping[str, Any]) -> dict[str, list[int]]:
    """For each unit group, the units the answers speak of (always at least the first)."""
    numbers: dict[str, set[int]] = {unit.id: {1} for unit in checklist.units}
    for key in answers:
        try:
            code, number = split_key(key)
        except ValueError:
            continue
        unit = checklist.unit_of(code)
        if unit is not None:
            numbers[unit.id].add(number)
    return {unit_id: sorted(found) for unit_id, found in numbers.items()}


def _one(
    item: Item,
    view: Mapping[str, Any],
    parent: ItemResult | None,
    scope: Scope,
    key: str,
) -> ItemResult:
    """One item's result, from the answers as this item (and its unit) sees them."""
    applicable: bool | None = True
    if item.condition is not None:
        # An item that depends on an inapplicable item is inapplicable too (chains).
        if parent is not None and parent.applicable is False:
            applicable = False
        else:
            applicable = condition_met(item.condition, view)
    standing = item_scope(item, scope, view, asked=not in_force(item, scope))
    if applicable is False or standing.obligation is None:
        return _not_applicable(key)
    if standing.pending and applicable is True:
        applicable = None
    verdict = _weigh(_raw_verdict(item, view.get(item.code), scope), standing.obligation)
    limit = limit_in_force(item, scope) if item.answer_type is AnswerType.NUMBER else None
    bases = standing.bases
    due_by = standing.due_by
    if limit is not None:
        # A number is judged against one plan's limit: that plan's words are the basis.
        bases = tuple(b for b in bases if b.source == limit.source) or bases
        if verdict is Verdict.DUE and limit.from_ is not None:
            due_by = limit.from_
    return ItemResult(
        key,
        verdict,
        applicable,
        needs_photo(item, verdict),
        limit,
        standing.obligation,
        bases,
        due_by,
    )


def evaluate_all(
    checklist: Checklist, answers: Mapping[str, Any], scope: Scope
) -> dict[str, ItemResult]:
    """Every item's verdict in a scope, keyed by answer key; items out of force or whose
    condition fails are N/A. An item of a unit group is judged once per unit ("CB-10",
    "CB-10#2" …), reading its own unit's answers for conditions inside the group."""
    results: dict[str, ItemResult] = {}
    served = served_codes(checklist.items, scope)
    numbers = unit_numbers(checklist, answers)
    for item in checklist.items:
        unit = checklist.unit_of(item.code)
        for number in numbers[unit.id] if unit else [1]:
            key = unit_key(item.code, number)
            if item.code not in served:
                results[key] = _not_applicable(key, in_force=False)
                continue
            # Outside a unit group an item sees the answers as they are (nothing below
            # changes them); inside, with its own unit's answers over the first's.
            view: Mapping[str, Any] = answers
            if unit is not None:
                view = {
                    **answers,
                    **{code: answers.get(unit_key(code, number)) for code in unit.items},
                }
            parent = None
            if item.condition is not None:
                inside = unit is not None and item.condition.item in unit.items
                parent = results.get(
                    unit_key(item.condition.item, number) if inside else item.condition.item
                )
            results[key] = _one(item, view, parent, scope, key)
    return results


def served_items(checklist: Checklist, scope: Scope) -> tuple[Item, ...]:
    """What a device is served for this site today: the items a governing plan says, and the
    questions their conditions read."""
    served = served_codes(checklist.items, scope)
    return tuple(item for item in checklist.items if item.code in served)


@dataclass(frozen=True)
class Missing:
    """Something that keeps an inspection from being complete."""

    code: str
    reason: str


def missing_parts(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photos: Mapping[str, list[str]],
    scope: Scope,
) -> list[Missing]:
    """What is still missing: unanswered applicable items and photos the evidence rule needs."""
    missing = []
    for code, result in evaluate_all(checklist, answers, scope).items():
        if result.applicable is False:
            continue
        if result.verdict is Verdict.UNANSWERED:
            missing.append(Missing(code, "未作答 / not answered"))
        elif result.needs_photo and not photos.get(code):
            missing.append(Missing(code, "缺少照片证据 / photo evidence required"))
    return missing


def waiting_on(checklist: Checklist, key: str, answers: Mapping[str, Any]) -> list[str]:
    """The answer keys a pending item waits for: those its conditions read, not yet given."""
    item = checklist.item(key)
    if item is None:
        return []
    unit = checklist.unit_of(item.code)
    number = split_key(key)[1]
    reads = [item.condition] + [basis.when for basis in item.basis]
    waiting = []
    for condition in reads:
        if condition is None:
            continue
        inside = unit is not None and condition.item in unit.items
        wanted = unit_key(condition.item, number) if inside else condition.item
        if answers.get(wanted) is None and wanted not in waiting:
            waiting.append(wanted)
    return waiting
