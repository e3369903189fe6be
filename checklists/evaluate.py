"""Turn answers into verdicts, exactly the same way on the device and on the server.

A number is judged against the limit of the plan in force for the site's city on the
inspection date: among the item's limits from plans of that city, the latest plan issued on
or before that date wins (a later plan supersedes an earlier one). A city whose plans set no
limit of their own falls back to the item's default limit, if it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from checklists.errors import AnswerError
from checklists.model import (
    CHECK_VALUES,
    AnswerType,
    Checklist,
    Condition,
    EvidenceRule,
    Item,
    Limit,
    Verdict,
)
from checklists.plausible import range_problem
from checklists.sources import load_sources

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


def limit_in_force(item: Item, city: str | None, on: date | None = None) -> Limit | None:
    """The limit that applies to a site in `city` on date `on` (today's plans when None)."""
    sources = load_sources()
    of_city = [limit for limit in item.limits if sources[limit.source].city == city]
    if on is not None:
        in_force = [limit for limit in of_city if sources[limit.source].date <= on]
        # A plan issued after the inspection cannot govern it; before any plan of the
        # city, its earliest plan is the best statement of the rule we have.
        of_city = in_force or sorted(of_city, key=lambda limit: sources[limit.source].date)[:1]
    if of_city:
        return max(of_city, key=lambda limit: sources[limit.source].date)
    return next((limit for limit in item.limits if limit.default), None)


def judge_number(value: float, limit: Limit | None) -> Verdict:
    """Compliant when within the limit; a number with no limit is only recorded."""
    if limit is None:
        return Verdict.COMPLIANT
    if limit.max is not None and value > limit.max:
        return Verdict.NON_COMPLIANT
    if limit.min is not None and value < limit.min:
        return Verdict.NON_COMPLIANT
    if limit.above is not None and value <= limit.above:
        return Verdict.NON_COMPLIANT
    return Verdict.COMPLIANT


def evaluate(item: Item, value: Any, city: str | None = None, on: date | None = None) -> Verdict:
    """The verdict for one answer; raises AnswerError for a value that does not fit."""
    check_value(item, value)
    if value is None:
        return Verdict.UNANSWERED
    if value == NOT_APPLICABLE:
        return Verdict.NOT_APPLICABLE
    if item.answer_type is AnswerType.CHECK:
        return Verdict(value)
    if item.answer_type is AnswerType.NUMBER:
        return judge_number(float(value), limit_in_force(item, city, on))
    if item.answer_type is AnswerType.CHOICE:
        return next(option.verdict for option in item.options if option.value == value)
    return Verdict.COMPLIANT  # a text answer records a fact; it cannot fail


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


@dataclass(frozen=True)
class ItemResult:
    """One item's state within an inspection."""

    code: str
    verdict: Verdict
    applicable: bool | None  # None: depends on an item not yet answered
    needs_photo: bool
    limit: Limit | None = None


def needs_photo(item: Item, verdict: Verdict) -> bool:
    """Whether the evidence rule asks for a photo given this verdict."""
    if item.evidence is EvidenceRule.ALWAYS:
        return verdict in (Verdict.COMPLIANT, Verdict.NON_COMPLIANT)
    if item.evidence is EvidenceRule.ON_FAIL:
        return verdict is Verdict.NON_COMPLIANT
    return False


def evaluate_all(
    checklist: Checklist,
    answers: Mapping[str, Any],
    city: str | None = None,
    on: date | None = None,
) -> dict[str, ItemResult]:
    """Every item's verdict; items whose condition is not met are not applicable."""
    results: dict[str, ItemResult] = {}
    for item in checklist.items:
        applicable: bool | None = True
        if item.condition is not None:
            parent = results.get(item.condition.item)
            # An item that depends on an inapplicable item is inapplicable too (chains).
            if parent is not None and parent.applicable is False:
                applicable = False
            else:
                applicable = condition_met(item.condition, answers)
        if applicable is False:
            results[item.code] = ItemResult(item.code, Verdict.NOT_APPLICABLE, False, False)
            continue
        verdict = evaluate(item, answers.get(item.code), city, on)
        limit = limit_in_force(item, city, on) if item.answer_type is AnswerType.NUMBER else None
        results[item.code] = ItemResult(
            item.code, verdict, applicable, needs_photo(item, verdict), limit
        )
    return results


@dataclass(frozen=True)
class Missing:
    """Something that keeps an inspection from being complete."""

    code: str
    reason: str


def missing_parts(
    checklist: Checklist,
    answers: Mapping[str, Any],
    photos: Mapping[str, list[str]],
    city: str | None = None,
    on: date | None = None,
) -> list[Missing]:
    """What is still missing: unanswered applicable items and photos the evidence rule needs."""
    missing = []
    for code, result in evaluate_all(checklist, answers, city, on).items():
        if result.applicable is False:
            continue
        if result.verdict is Verdict.UNANSWERED:
            missing.append(Missing(code, "未作答 / not answered"))
        elif result.needs_photo and not photos.get(code):
            missing.append(Missing(code, "缺少照片证据 / photo evidence required"))
    return missing
