"""Fidelity checks: the rules say what the pinned plans say, clause by clause, number by number.

Three checks, each reporting one line per problem, naming the item (or plan file):

- pins: every plan file's bytes match the SHA-256 pinned in ``sources.yaml``;
- citations: every ``clause`` names exactly one clause of its plan (see ``checklists.clauses``)
  and the quote lies inside that clause's text;
- numbers: every limit bound, and every threshold of a condition on a number item, appears in a
  quote with a comparison word that fits the bound (the table below), so a changed number or a
  flipped bound kind no longer matches the plan's words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from checklists.clauses import ClauseError, plan_outline
from checklists.model import AnswerType, Checklist, Item
from checklists.sources import SOURCES_DIR, source_text, squeeze

# --- pins ---------------------------------------------------------------------------------


def check_pins(directory: Path = SOURCES_DIR) -> list[str]:
    """A problem for every plan file whose bytes differ from its `sha256` in sources.yaml."""
    raw = yaml.safe_load((directory / "sources.yaml").read_text(encoding="utf-8"))
    problems = []
    for entry in raw["sources"]:
        name, pinned = entry["file"], entry.get("sha256")
        path = directory / name
        if not pinned:
            problems.append(f"sources.yaml: {name}: no sha256 pin")
        elif not path.is_file():
            problems.append(f"sources.yaml: {name}: file missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != pinned:
            problems.append(f"sources.yaml: {name}: bytes differ from the pinned sha256 {pinned}")
    return problems


# --- citations ----------------------------------------------------------------------------


def check_citations(checklist: Checklist, directory: Path = SOURCES_DIR) -> list[str]:
    """A problem for every clause that names no clause (or several), or does not hold its quote.

    A quote missing from the plan altogether is reported by the verbatim check; here only a quote
    that is in the plan but outside the clause it cites is reported.
    """
    problems = []
    for item in checklist.items:
        for basis in item.basis:
            if not (directory / basis.source).is_file():
                continue  # check_pins reports the missing file
            try:
                span = plan_outline(basis.source, directory).locate(basis.clause)
            except ClauseError as error:
                problems.append(f"{item.code}: {basis.source}: clause {basis.clause!r}: {error}")
                continue
            quote = squeeze(basis.quote)
            if quote in source_text(basis.source, directory) and quote not in span.text:
                problems.append(
                    f"{item.code}: {basis.source}: quote lies outside clause {basis.clause}: "
                    f"{basis.quote[:40]}"
                )
    return problems


# --- numbers ------------------------------------------------------------------------------

# Comparison wording, by the set of values it describes around the number X. Each entry:
# (words before X, words after X and its unit). 及以上/及以下/以内 include X; 超过/不足 exclude it.
#
# Bare 以上/以下 are read as the plans' own text and the law allow, in favour of the regulated
# party (疑义有利于行政相对人): statutes read them as including X (民法典 art. 1259; 立法技术
# 规范（试行）（一）), while the plans themselves contrast "35蒸吨以下" with "35蒸吨及以上", as
# excluding it. So where a plan *requires* "90%以上", exactly 90 % complies (X included, ≥),
# and where it *bans* "3米以下", exactly 3 m is not banned (X excluded, <): a boundary value is
# never the ground of a finding. The tables below put each word where that reading puts it.
Wording = tuple[tuple[str, ...], tuple[str, ...]]
AT_MOST: Wording = (("≤", "小于等于", "不超过", "不高于", "不大于"), ("及以下", "以内"))  # v ≤ X
MORE_THAN: Wording = ((">", "高于", "大于", "超过"), ())  # v > X
AT_LEAST: Wording = (("≥", "大于等于", "不低于", "不少于", "不小于"), ("及以上",))  # v ≥ X
LESS_THAN: Wording = (("<", "低于", "小于", "少于", "不足"), ())  # v < X


def _with_after(wording: Wording, *after: str) -> Wording:
    return (wording[0], (*wording[1], *after))


# Required sets: a bare 以上/以下 includes X (the reading that binds the enterprise least).
REQUIRED_AT_MOST = _with_after(AT_MOST, "以下")
REQUIRED_AT_LEAST = _with_after(AT_LEAST, "以上")
# Banned sets: a bare 以上/以下 excludes X (the banned set is then the smaller one).
BANNED_MORE_THAN = _with_after(MORE_THAN, "以上")
BANNED_LESS_THAN = _with_after(LESS_THAN, "以下")

# A sentence with one of these words bans the values it names rather than requiring them:
# "禁止使用硫分高于1%" sets max 1, "淘汰10蒸吨及以下燃煤锅炉" sets above 10.
BAN_WORDS = ("禁止", "严禁", "淘汰", "取缔", "清零", "不得")

# The wording a bound kind accepts: (described set when the sentence requires, when it bans).
LIMIT_WORDING = {
    "max": (REQUIRED_AT_MOST, BANNED_MORE_THAN),
    "min": (REQUIRED_AT_LEAST, BANNED_LESS_THAN),
    "above": (MORE_THAN, AT_MOST),
}
# A condition's threshold describes whom the rule applies to: no ban reading.
# A bare 以下 there excludes X (fewer are bound); a bare 以上 cannot be an inclusive at_least.
CONDITION_WORDING = {"at_least": AT_LEAST, "below": BANNED_LESS_THAN}

_NUMBER = r"\d+(?:\.\d+)?"
# What may stand between a number and a word after it: a short unit ("%", "蒸吨/小时",
# "mg/m3" with its superscript 3, "平方米"), never a digit or a clause break.
_UNIT = r"(?:[^\d。；，、]{0,8}?(?<=/m)[23]|[^\d。；，、]{0,8}?)"
_SUPERSCRIPT_MARKUP = re.compile(r"[$^{}]")
_SENTENCE = re.compile("[。；]")
_SUBJECTS = re.compile(r"[A-Za-z]+(?:[和与及、][A-Za-z]+)+")


def _word(word: str) -> str:
    """A comparison word as a pattern that does not match inside its longer opposite:
    高于 not in 不高于, 以下 not in 及以下."""
    if word in ("以上", "以下"):
        return rf"(?<!及){word}"
    if word[0] not in "不≤≥<>":
        return rf"(?<!不){re.escape(word)}"
    return re.escape(word)


def format_number(value: float) -> str:
    """16.0 → "16", 2.5 → "2.5": how the plans write the numbers."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class _Match:
    """Where X was found with fitting wording, and the respectively-list it sits in, if any."""

    sentence: str
    before: str  # the sentence up to the match
    position: int  # index of X in a respectively-list, or 0
    size: int  # length of that list, or 1


def _matches(quote: str, number: float, wording: Wording) -> Iterator[_Match]:
    text = _SUPERSCRIPT_MARKUP.sub("", squeeze(quote))
    x = re.escape(format_number(number))
    before, after = wording
    # A wording with no words on one side matches nothing there (an empty alternation would
    # match everywhere).
    never = re.compile(r"(?!)")
    prefix = re.compile(rf"(?:{'|'.join(map(_word, before))}){x}(?![\d]|\.\d)") if before else never
    postfix = (
        re.compile(
            rf"(?<![\d.])(?P<head>(?:{_NUMBER}{_UNIT}、)*){x}{_UNIT}"
            rf"(?P<tail>(?:、{_NUMBER}{_UNIT})*)(?:{'|'.join(map(_word, after))})"
        )
        if after
        else never
    )
    for sentence in _SENTENCE.split(text):
        for found in prefix.finditer(sentence):
            yield _Match(sentence, sentence[: found.start()], 0, 1)
        for found in postfix.finditer(sentence):
            head = found["head"].count("、")
            size = head + 1 + found["tail"].count("、")
            yield _Match(sentence, sentence[: found.start()], head, size)


def _fits_item(match: _Match, item: Item) -> bool:
    """A respectively-list (分别 X、Y) gives its k-th number to the k-th subject named before
    分别 ("SCR和SNCR"); the item's own text must name that subject and no other of the list.
    A list without 分别 gives every number the same wording."""
    if match.size == 1 or "分别" not in match.before:
        return True
    lists = [
        re.split("[和与及、]", found) for found in _SUBJECTS.findall(match.before.split("分别")[0])
    ]
    subjects = next((terms for terms in reversed(lists) if len(terms) == match.size), None)
    if subjects is None:
        return False
    own = subjects[match.position]
    others = [term for term in subjects if term != own and term not in own]
    return own in item.text.zh and not any(term in item.text.zh for term in others)


def _is_ban(match: _Match) -> bool:
    return any(word in match.sentence for word in BAN_WORDS)


def _stated(
    quotes: Iterable[str],
    number: float,
    wording: Wording,
    item: Item,
    banned: Wording | None = None,
) -> bool:
    """True when one quote states `number` with `wording` (or, in a ban, with `banned`)."""
    for quote in quotes:
        for words, ban in ((wording, False), (banned, True)):
            if words is None:
                continue
            for match in _matches(quote, number, words):
                if _is_ban(match) == ban and _fits_item(match, item):
                    return True
    return False


def _describe(wording: Wording) -> str:
    before, after = wording
    return "/".join([f"{word}X" for word in before] + [f"X{word}" for word in after])


def check_numbers(checklist: Checklist) -> list[str]:
    """A problem for every limit bound or condition threshold that no fitting quote states."""
    problems = []
    items = {item.code: item for item in checklist.items}
    for item in checklist.items:
        for limit in item.limits:
            quotes = [basis.quote for basis in item.basis if basis.source == limit.source]
            for kind, (required, banned) in LIMIT_WORDING.items():
                bound = getattr(limit, kind)
                if bound is None:
                    continue
                if not _stated(quotes, bound, required, item, banned):
                    problems.append(
                        f"{item.code}: limit {kind} {format_number(bound)} of {limit.source}: "
                        f"no quote of that plan in this item states it "
                        f"(X={format_number(bound)}: {_describe(required)}, "
                        f"or in a ban {_describe(banned)})"
                    )
        condition = item.condition
        target = items.get(condition.item) if condition else None
        if condition is None or target is None or target.answer_type is not AnswerType.NUMBER:
            continue
        for kind, wording in CONDITION_WORDING.items():
            threshold = getattr(condition, kind)
            if threshold is None:
                continue
            quotes = [basis.quote for basis in item.basis]
            if not _stated(quotes, threshold, wording, item, banned=wording):
                problems.append(
                    f"{item.code}: condition {condition.item} {kind} "
                    f"{format_number(threshold)}: no quote of this item states it "
                    f"(X={format_number(threshold)}: {_describe(wording)})"
                )
    return problems
