"""Plain data classes for checklists, items and plan sources.

They are frozen so that a loaded checklist version can be shared freely between
requests, threads and the field client without anyone mutating the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """What an answer means for compliance."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"
    UNANSWERED = "unanswered"
    # A failing answer that is not (yet) a violation, so it never becomes a finding:
    DUE = "due"  # the plan's deadline for this duty or limit has not passed (限期)
    OBSERVATION = "observation"  # the governing plans only encourage the measure (建议)
    RECORDED = "recorded"  # a number no governing plan limits, or a text: a fact, no verdict


# Verdicts that mean the item was answered and applies (not N/A, not unanswered).
ANSWERED_VERDICTS = (
    Verdict.COMPLIANT,
    Verdict.NON_COMPLIANT,
    Verdict.DUE,
    Verdict.OBSERVATION,
    Verdict.RECORDED,
)


class Strength(StrEnum):
    """How strongly a plan's words bind: a duty, or a measure it only encourages."""

    MANDATORY = "mandatory"
    ENCOURAGED = "encouraged"  # 鼓励 / 可 / 推动 / 有条件的…


class Obligation(StrEnum):
    """What an item is for a site on a day, from the bases in force there and then."""

    MANDATORY = "mandatory"  # a "no" is a violation: a finding
    DUE = "due"  # mandatory, but only from a deadline still ahead: a "no" is "due by …"
    ADVISORY = "advisory"  # encouraged only: a "no" is an observation (建议)


class AnswerType(StrEnum):
    CHECK = "check"
    NUMBER = "number"
    CHOICE = "choice"
    TEXT = "text"


class Severity(StrEnum):
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class EvidenceRule(StrEnum):
    """When an item needs a photo: never, when it fails, or whenever it applies."""

    NONE = "none"
    ON_FAIL = "on_fail"
    ALWAYS = "always"


CHECK_VALUES = (Verdict.COMPLIANT, Verdict.NON_COMPLIANT, Verdict.NOT_APPLICABLE)

# The kinds of site a checklist can apply to, with their labels (zh / en).
SITE_KINDS = {
    "construction": "建筑施工工地 / construction site",
    "industrial": "工业企业 / industrial plant",
    "coal_yard": "煤场与物料堆场 / coal or material yard",
    "mine": "矿山 / mine",
    "boiler_house": "锅炉房 / boiler house",
    "closed_enterprise": "关停取缔企业 / closed-down enterprise",
    "coal_retailer": "散煤销售点 / coal retailer",
    "kiln": "工业炉窑企业 / industrial kiln plant",
    "filling_station": "加油站 / filling station",
    "auto_repair": "汽车维修企业 / auto repair shop",
    "catering": "餐饮服务单位 / catering business",
}

SEVERITY_LABELS = {
    Severity.MINOR: "一般 / minor",
    Severity.MAJOR: "较重 / major",
    Severity.CRITICAL: "严重 / critical",
}


@dataclass(frozen=True)
class Text:
    """A user-facing text in Chinese first, with English."""

    zh: str
    en: str


@dataclass(frozen=True)
class Source:
    """One plan document: who issued it for which city (GB/T 2260 code), when, for how long."""

    file: str
    city: str
    city_en: str
    number: str
    date: date
    title: str
    title_en: str
    city_code: str = ""
    period_from: date | None = None  # the period the plan says it covers, where it says one
    period_to: date | None = None
    supersedes: tuple[str, ...] = ()
    sha256: str = ""


@dataclass(frozen=True)
class Condition:
    """The item (or one basis of it) applies only when another item's answer satisfies this."""

    item: str
    equals: Any = None
    in_: tuple[Any, ...] | None = None
    at_least: float | None = None
    below: float | None = None


@dataclass(frozen=True)
class Basis:
    """Where an item's rule comes from: a verbatim quote of a clause of a plan.

    `strength` says whether the words impose a duty or only encourage; `when` limits the
    quote to the sites it names (e.g. 5,000 m² and more); `from_` is the deadline the plan
    sets for the duty, before which a "no" is "due by …", not a violation.
    """

    source: str
    clause: str
    quote: str
    strength: Strength = Strength.MANDATORY
    when: Condition | None = None
    from_: date | None = None


@dataclass(frozen=True)
class Limit:
    """A numeric limit set by one plan, in force where and when that plan governs.

    `from_` is the deadline the plan sets (e.g. small boilers phased out by 2020-10-01):
    before it a value beyond the limit is "due", not a violation. No limit is borrowed by a
    city whose plans do not set it.
    """

    source: str
    max: float | None = None
    min: float | None = None
    above: float | None = None  # strictly greater: "X及以下 to be phased out" allows only > X
    from_: date | None = None


@dataclass(frozen=True)
class Option:
    value: str
    label: Text
    verdict: Verdict


@dataclass(frozen=True)
class Item:
    code: str
    text: Text
    answer_type: AnswerType
    severity: Severity
    evidence: EvidenceRule
    remedy: Text
    days_to_rectify: int
    basis: tuple[Basis, ...]
    unit: str | None = None
    limits: tuple[Limit, ...] = ()
    limit_note: Text | None = None
    options: tuple[Option, ...] = ()
    condition: Condition | None = None
    guidance: Text | None = None


# A unit item answered for the n-th unit of a site (its second boiler) is keyed "CB-10#2";
# the first unit keeps the plain code, so a site with one boiler answers as it always did.
UNIT_SEPARATOR = "#"
MAX_UNITS = 50


def unit_key(code: str, number: int) -> str:
    """The answer key of an item for the n-th unit (the plain code for the first)."""
    return code if number == 1 else f"{code}{UNIT_SEPARATOR}{number}"


def split_key(key: str) -> tuple[str, int]:
    """(item code, unit number) of an answer key; ValueError for a malformed number."""
    code, sep, number = key.partition(UNIT_SEPARATOR)
    if not sep:
        return code, 1
    if not number.isdigit() or number.startswith("0") or not 2 <= int(number) <= MAX_UNITS:
        raise ValueError(
            f"单元编号须为2到{MAX_UNITS} / unit number must be 2 to {MAX_UNITS}: {key!r}"
        )
    return code, int(number)


@dataclass(frozen=True)
class Unit:
    """A group of items asked once per unit of the site: each boiler, stockpile, gate…"""

    id: str
    label: Text
    items: tuple[str, ...]


@dataclass(frozen=True)
class Checklist:
    id: str
    version: str
    title: Text
    site_kinds: tuple[str, ...]
    items: tuple[Item, ...]
    description: Text | None = None
    content: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    units: tuple[Unit, ...] = ()

    def item(self, code: str) -> Item | None:
        """The item with this code or answer key ("CB-10#2" is CB-10 for a second unit)."""
        try:
            base, number = split_key(code)
        except ValueError:
            return None
        for candidate in self.items:
            if candidate.code == base:
                if number > 1 and self.unit_of(base) is None:
                    return None  # only unit items repeat
                return candidate
        return None

    def unit_of(self, code: str) -> Unit | None:
        """The unit group an item repeats in, or None for an item asked once per site."""
        for unit in self.units:
            if code in unit.items:
                return unit
        return None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items)
