"""Load checklist YAML into the model, collecting every schema problem at once.

A checklist's version is a hash of its parsed content, so editing a file (beyond
comments and formatting) makes a new version while inspections keep the one they used.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from checklists.errors import ChecklistError
from checklists.model import (
    SITE_KINDS,
    AnswerType,
    Basis,
    Checklist,
    Condition,
    EvidenceRule,
    Item,
    Limit,
    Option,
    Severity,
    Strength,
    Text,
    Unit,
    Verdict,
)
from checklists.sources import as_date, load_sources, squeeze

CHECKLISTS_DIR = Path(__file__).parent
# libyaml's safe loader (PyYAML's C extension) builds the same plain objects as the
# pure-Python SafeLoader, about eight times faster: all eleven files take 0.7 s in pure
# Python, which `lantian-server checklists load`, the demo and every database test pay.
# PyYAML without libyaml falls back to the pure-Python loader.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ITEM_KEYS = {
    "code",
    "text",
    "answer",
    "severity",
    "evidence",
    "remedy",
    "days_to_rectify",
    "basis",
    "condition",
    "guidance",
}
_ANSWER_KEYS = {"type", "unit", "limits", "limit_note", "options"}
# Words by which a plan encourages rather than requires (可 only where it means "may").
_ENCOURAGING = re.compile(r"鼓励|推动|推行|推进|有条件的|可在|可以|可采取|力争|引导|倡导")
_BASIS_KEYS = {"source", "clause", "quote", "strength", "when", "from"}
_LIMIT_KEYS = {"source", "min", "max", "above", "from"}


def plain(value: Any) -> Any:
    """The parsed YAML as JSON data: dates become ISO strings, so content survives a round
    trip through the database and the device unchanged (and hashes the same)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def content_version(content: Mapping[str, Any]) -> str:
    """A short content hash: canonical JSON of the parsed document, SHA-256, 16 hex digits."""
    canonical = json.dumps(
        plain(content), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


class _Problems:
    """Collects problems with a path prefix, so one run reports everything wrong with a file."""

    def __init__(self, authoring: bool = True) -> None:
        self.items: list[str] = []
        # Rules for authors (say an encouraging quote's strength; no borrowed default limits)
        # apply to files being loaded, not to versions stored before the rules existed.
        self.authoring = authoring

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _text(raw: Any, where: str, problems: _Problems, required: bool = True) -> Text | None:
    if raw is None and not required:
        return None
    if not isinstance(raw, Mapping) or not raw.get("zh") or not raw.get("en"):
        problems.add(where, "needs both zh and en text")
        return None
    if set(raw) != {"zh", "en"}:
        # Typically an unquoted comma in a YAML flow mapping split the English text.
        problems.add(where, f"only zh and en allowed, got {sorted(map(str, raw))}")
    return Text(zh=str(raw["zh"]).strip(), en=str(raw["en"]).strip())


def _enum(kind: type, raw: Any, where: str, problems: _Problems) -> Any:
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        problems.add(where, f"{raw!r} is not one of {allowed}")
        return None


def _date(raw: Any, where: str, problems: _Problems) -> date | None:
    if raw is None:
        return None
    try:
        return as_date(raw)
    except ValueError:
        problems.add(where, f"{raw!r} is not a date (YYYY-MM-DD)")
        return None


def _basis(raw: Any, where: str, problems: _Problems) -> tuple[Basis, ...]:
    sources = load_sources()
    if not isinstance(raw, list) or not raw:
        problems.add(where, "needs at least one {source, clause, quote}")
        return ()
    result = []
    for index, entry in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(entry, Mapping):
            problems.add(here, "must be a mapping")
            continue
        source, clause, quote = entry.get("source"), entry.get("clause"), entry.get("quote")
        if source not in sources:
            problems.add(here, f"unknown source file {source!r}")
        if not clause:
            problems.add(here, "needs a clause")
        if not quote:
            problems.add(here, "needs a verbatim quote")
        unknown = set(entry) - _BASIS_KEYS
        if unknown:
            problems.add(here, f"unknown keys {sorted(unknown)}")
        strength = _enum(Strength, entry.get("strength", "mandatory"), f"{here}.strength", problems)
        encouraging = _ENCOURAGING.search(squeeze(str(quote or "")))
        if problems.authoring and "strength" not in entry and encouraging:
            # Words that only encourage must not silently become a duty: say which it is.
            problems.add(
                here, "the quote encourages (鼓励/推动/可/有条件的); give strength explicitly"
            )
        result.append(
            Basis(
                source=str(source),
                clause=str(clause),
                quote=str(quote).strip(),
                strength=strength or Strength.MANDATORY,
                when=_condition(entry.get("when"), f"{here}.when", problems),
                from_=_date(entry.get("from"), f"{here}.from", problems),
            )
        )
    return tuple(result)


def _limits(raw: Any, where: str, problems: _Problems) -> tuple[Limit, ...]:
    sources = load_sources()
    result = []
    for index, entry in enumerate(raw or []):
        here = f"{where}[{index}]"
        if not isinstance(entry, Mapping) or entry.get("source") not in sources:
            problems.add(here, "needs a known source file")
            continue
        unknown = set(entry) - _LIMIT_KEYS - (set() if problems.authoring else {"default"})
        if unknown:
            # `default` is refused on purpose: a city whose plans set no limit records the
            # number without a verdict instead of borrowing another city's limit.
            problems.add(here, f"unknown keys {sorted(unknown)}")
        low, high, above = entry.get("min"), entry.get("max"), entry.get("above")
        if low is None and high is None and above is None:
            problems.add(here, "needs min, above or max")
        if low is not None and above is not None:
            problems.add(here, "give min or above, not both")
        for bound in (low, high, above):
            if bound is not None and not isinstance(bound, int | float):
                problems.add(here, f"bound {bound!r} is not a number")
        result.append(
            Limit(
                source=entry["source"],
                min=low,
                max=high,
                above=above,
                from_=_date(entry.get("from"), f"{here}.from", problems),
            )
        )
    sources_set = [limit.source for limit in result]
    for source in {s for s in sources_set if sources_set.count(s) > 1}:
        problems.add(where, f"{source} sets more than one limit")
    return tuple(result)


def _options(raw: Any, where: str, problems: _Problems) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        problems.add(where, "a choice needs at least two options")
        return ()
    result = []
    for index, entry in enumerate(raw):
        here = f"{where}[{index}]"
        label = _text(entry.get("label") if isinstance(entry, Mapping) else None, here, problems)
        verdict = _enum(Verdict, entry.get("verdict"), f"{here}.verdict", problems)
        if verdict is Verdict.UNANSWERED:
            problems.add(f"{here}.verdict", "an option cannot mean unanswered")
        if label and verdict and entry.get("value"):
            result.append(Option(value=str(entry["value"]), label=label, verdict=verdict))
    values = [option.value for option in result]
    if len(set(values)) != len(values):
        problems.add(where, "option values must be unique")
    return tuple(result)


def _condition(raw: Any, where: str, problems: _Problems) -> Condition | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw.get("item"):
        problems.add(where, "needs the item it depends on")
        return None
    tests = [key for key in ("equals", "in", "at_least", "below") if key in raw]
    if len(tests) != 1:
        problems.add(where, "needs exactly one of equals, in, at_least, below")
        return None
    return Condition(
        item=str(raw["item"]),
        equals=raw.get("equals"),
        in_=tuple(raw["in"]) if "in" in raw else None,
        at_least=raw.get("at_least"),
        below=raw.get("below"),
    )


def _item(raw: Any, where: str, problems: _Problems) -> Item | None:
    if not isinstance(raw, Mapping):
        problems.add(where, "must be a mapping")
        return None
    code = raw.get("code")
    where = f"{where} ({code})" if code else where
    unknown = set(raw) - _ITEM_KEYS
    if unknown:
        problems.add(where, f"unknown keys {sorted(unknown)}")
    answer = raw.get("answer") or {}
    if not isinstance(answer, Mapping):
        problems.add(f"{where}.answer", "must be a mapping")
        answer = {}
    unknown = set(answer) - _ANSWER_KEYS
    if unknown:
        problems.add(f"{where}.answer", f"unknown keys {sorted(unknown)}")
    answer_type = _enum(AnswerType, answer.get("type"), f"{where}.answer.type", problems)
    unit = answer.get("unit")
    limits: tuple[Limit, ...] = ()
    options: tuple[Option, ...] = ()
    if answer_type is AnswerType.NUMBER:
        if not unit:
            problems.add(f"{where}.answer", "a number needs a unit")
        limits = _limits(answer.get("limits"), f"{where}.answer.limits", problems)
    elif answer_type is AnswerType.CHOICE:
        options = _options(answer.get("options"), f"{where}.answer.options", problems)
    elif answer.get("limits") or answer.get("options"):
        problems.add(f"{where}.answer", "only number items have limits, only choices options")
    days = raw.get("days_to_rectify")
    if not isinstance(days, int) or days < 0:
        problems.add(where, "days_to_rectify must be a whole number of days, 0 or more")
    text = _text(raw.get("text"), f"{where}.text", problems)
    remedy = _text(raw.get("remedy"), f"{where}.remedy", problems)
    item = Item(
        code=str(code or ""),
        text=text or Text("", ""),
        answer_type=answer_type or AnswerType.CHECK,
        severity=_enum(Severity, raw.get("severity"), f"{where}.severity", problems)
        or Severity.MINOR,
        evidence=_enum(EvidenceRule, raw.get("evidence", "none"), f"{where}.evidence", problems)
        or EvidenceRule.NONE,
        remedy=remedy or Text("", ""),
        days_to_rectify=days if isinstance(days, int) else 0,
        basis=_basis(raw.get("basis"), f"{where}.basis", problems),
        unit=str(unit) if unit else None,
        limits=limits,
        limit_note=_text(answer.get("limit_note"), f"{where}.answer.limit_note", problems, False),
        options=options,
        condition=_condition(raw.get("condition"), f"{where}.condition", problems),
        guidance=_text(raw.get("guidance"), f"{where}.guidance", problems, required=False),
    )
    if not code:
        problems.add(where, "needs a code")
    return item


def _check_references(items: list[Item], problems: _Problems) -> None:
    codes = [item.code for item in items]
    for code in {c for c in codes if codes.count(c) > 1}:
        problems.add(f"item {code}", "code is used twice")
    position = {code: index for index, code in enumerate(codes)}
    for index, item in enumerate(items):
        conditions = [("condition", item.condition)] + [
            (f"basis[{n}].when", basis.when) for n, basis in enumerate(item.basis)
        ]
        for where, condition in conditions:
            if condition is None:
                continue
            target = condition.item
            if target not in position:
                problems.add(f"item {item.code}.{where}", f"refers to unknown item {target}")
            elif position[target] >= index:
                problems.add(f"item {item.code}.{where}", f"{target} must come before it")


def _units(raw: Any, items: list[Item], problems: _Problems) -> tuple[Unit, ...]:
    """Item groups asked once per unit; each item in at most one group, and no item outside
    a group may depend on an item inside one (which unit's answer would it read?)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("units", "must be a list")
        return ()
    codes = {item.code for item in items}
    units: list[Unit] = []
    grouped: dict[str, str] = {}
    for index, entry in enumerate(raw):
        where = f"units[{index}]"
        if not isinstance(entry, Mapping) or not entry.get("id") or not entry.get("items"):
            problems.add(where, "needs an id and items")
            continue
        label = _text(entry.get("label"), f"{where}.label", problems)
        members = tuple(str(code) for code in entry["items"])
        for code in members:
            if code not in codes:
                problems.add(where, f"unknown item {code}")
            elif code in grouped:
                problems.add(where, f"{code} is already in unit {grouped[code]}")
            grouped[code] = str(entry["id"])
        units.append(Unit(str(entry["id"]), label or Text("", ""), members))
    for item in items:
        if item.code in grouped:
            continue
        reads = [item.condition] + [basis.when for basis in item.basis]
        for condition in reads:
            if condition is not None and condition.item in grouped:
                problems.add(
                    f"item {item.code}",
                    f"depends on {condition.item}, which repeats per unit; put it in the unit",
                )
    return tuple(units)


def parse_checklist(
    content: Mapping[str, Any], name: str = "<checklist>", *, stored: bool = False
) -> Checklist:
    """Validate a parsed document and build the model; raise ChecklistError listing problems.

    `stored`: a version kept in the database, perhaps written before today's authoring
    rules; it is read as it was judged (a `default` limit it names is ignored, never borrowed).
    """
    problems = _Problems(authoring=not stored)
    if not isinstance(content, Mapping):
        raise ChecklistError(name, ["the document must be a mapping"])
    content = plain(content)
    checklist_id = content.get("id")
    if not checklist_id or not isinstance(checklist_id, str):
        problems.add("id", "is required")
    title = _text(content.get("title"), "title", problems)
    description = _text(content.get("description"), "description", problems, required=False)
    site_kinds = content.get("site_kinds")
    if not isinstance(site_kinds, list) or not site_kinds:
        problems.add("site_kinds", "needs at least one site kind")
        site_kinds = []
    for kind in site_kinds:
        if kind not in SITE_KINDS:
            problems.add("site_kinds", f"unknown site kind {kind!r}; known: {sorted(SITE_KINDS)}")
    raw_items = content.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        problems.add("items", "needs at least one item")
        raw_items = []
    items = [_item(raw, f"item #{i + 1}", problems) for i, raw in enumerate(raw_items)]
    built = [item for item in items if item is not None]
    _check_references(built, problems)
    units = _units(content.get("units"), built, problems)
    if problems.items:
        raise ChecklistError(name, problems.items)
    return Checklist(
        id=str(checklist_id),
        version=content_version(content),
        title=title or Text("", ""),
        description=description,
        site_kinds=tuple(str(kind) for kind in site_kinds),
        items=tuple(built),
        content=dict(content),
        units=units,
    )


def load_file(path: Path) -> Checklist:
    """Load and validate one checklist YAML file."""
    checklist = _load_text(path.read_text(encoding="utf-8"), path.name)
    if checklist.id != path.stem:
        raise ChecklistError(path.name, [f"id {checklist.id!r} must match the file name"])
    # The parse is shared; its content dict is not: a caller may store or change it.
    return replace(checklist, content=copy.deepcopy(checklist.content))


@lru_cache(maxsize=64)
def _load_text(text: str, name: str) -> Checklist:
    """The checklist a file's text makes; the same text always makes the same checklist.

    Parsing and validating the eleven files takes about 0.2 s even with libyaml; loading them
    again unchanged (every database test does, the CLI commands may) reuses that work.
    A file that does not load raises each time (exceptions are not cached).
    """
    try:
        content = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as error:
        raise ChecklistError(name, [f"not valid YAML: {error}"]) from error
    return parse_checklist(content, name)


def load_all(directory: Path = CHECKLISTS_DIR) -> dict[str, Checklist]:
    """Every checklist in the directory, keyed by id."""
    return {c.id: c for c in (load_file(p) for p in sorted(directory.glob("*.yaml")))}
