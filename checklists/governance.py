"""Which plans govern each city from when: the deployment's declaration of the law in force.

The plans themselves (sources.yaml) say which city issued them and for which period; whether
a plan still binds a site today is a decision of the deployment, kept in one file an
administrator edits (governance.yaml, or the file LANTIAN_GOVERNANCE_FILE names). The same
declaration travels to the field client, so the device scopes items exactly as the server.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from checklists.errors import ChecklistError
from checklists.sources import as_date, load_sources

GOVERNANCE_FILE = Path(__file__).parent / "sources" / "governance.yaml"
_CITY_CODE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Governs:
    """One plan in force for a city from `from_` to `until` (inclusive; None: until changed)."""

    source: str
    from_: date
    until: date | None = None
    # Why the deployment keeps the plan in force after the period the plan itself states.
    beyond_period: str = ""

    def covers(self, on: date) -> bool:
        return self.from_ <= on and (self.until is None or on <= self.until)


@dataclass(frozen=True)
class City:
    """A city (or county-level city) that issues plans, by its GB/T 2260 code."""

    code: str
    name: str
    name_en: str
    aliases: tuple[str, ...]
    plans: tuple[Governs, ...]


def normalise_city_name(name: str) -> str:
    """The form city names are compared in: NFKC, no spaces, case-folded."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


@dataclass(frozen=True)
class Governance:
    """Every city the deployment knows and the plans that govern it."""

    cities: tuple[City, ...]

    def city(self, name_or_code: str | None) -> City | None:
        """The city with this code, name or alias (朔州, 朔州市, Shuozhou, 140600), or None."""
        if not name_or_code:
            return None
        wanted = normalise_city_name(str(name_or_code))
        for city in self.cities:
            names = (city.code, city.name, city.name_en, *city.aliases)
            if wanted in {normalise_city_name(name) for name in names}:
                return city
        return None

    def governing(self, city_code: str | None, on: date) -> tuple[str, ...]:
        """The plan files that govern the city on that day, in order of issue."""
        city = self.city(city_code) if city_code else None
        if city is None:
            return ()
        sources = load_sources()
        files = [plan.source for plan in city.plans if plan.covers(on)]
        return tuple(sorted(files, key=lambda file: (sources[file].date, file)))

    def to_dict(self) -> dict[str, Any]:
        """The declaration as plain JSON data (served to devices)."""
        return {
            "cities": [
                {
                    "code": city.code,
                    "name": city.name,
                    "name_en": city.name_en,
                    "aliases": list(city.aliases),
                    "plans": [
                        {
                            "source": plan.source,
                            "from": plan.from_.isoformat(),
                            "until": plan.until.isoformat() if plan.until else None,
                            "beyond_period": plan.beyond_period,
                        }
                        for plan in city.plans
                    ],
                }
                for city in self.cities
            ]
        }

    @property
    def digest(self) -> str:
        """A content hash, for ETags and for recording which declaration judged an inspection."""
        canonical = json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_governance(raw: Any, name: str = "governance") -> Governance:
    """Validate a declaration; raise ChecklistError listing every problem."""
    problems: list[str] = []
    sources = load_sources()
    entries = raw.get("cities") if isinstance(raw, Mapping) else None
    if not isinstance(entries, list):
        raise ChecklistError(name, ["needs a list `cities`"])
    cities: list[City] = []
    seen_names: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"cities[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a mapping")
            continue
        code = str(entry.get("code", ""))
        if not _CITY_CODE.match(code):
            problems.append(f"{where}: code {code!r} is not a six-digit GB/T 2260 code")
        aliases = tuple(str(alias) for alias in entry.get("aliases") or ())
        for label in (code, str(entry.get("name", "")), str(entry.get("name_en", "")), *aliases):
            key = normalise_city_name(label)
            if key and seen_names.setdefault(key, code) != code:
                problems.append(f"{where}: name {label!r} is also used by {seen_names[key]}")
        plans = []
        for plan_index, plan in enumerate(entry.get("plans") or []):
            here = f"{where}.plans[{plan_index}]"
            source = sources.get(str(plan.get("source"))) if isinstance(plan, Mapping) else None
            if source is None:
                problems.append(f"{here}: unknown source {plan!r}")
                continue
            if source.city_code != code:
                problems.append(
                    f"{here}: {source.file} is a plan of {source.city} ({source.city_code}); "
                    f"it cannot govern {code}"
                )
            try:
                start = as_date(plan.get("from") or source.date)
                until = as_date(plan["until"]) if plan.get("until") else None
            except ValueError as error:
                problems.append(f"{here}: {error}")
                continue
            if start < source.date:
                problems.append(
                    f"{here}: from {start} is before the plan was issued ({source.date})"
                )
            if until is not None and until < start:
                problems.append(f"{here}: until {until} is before from {start}")
            reason = str(plan.get("beyond_period") or "").strip()
            past = source.period_to is not None and (until is None or until > source.period_to)
            if past and not reason:
                problems.append(
                    f"{here}: {source.number} states its period ends {source.period_to}; set "
                    "`until` by then, or say in `beyond_period` why it still governs"
                )
            plans.append(Governs(source.file, start, until, reason if past else ""))
        cities.append(
            City(
                code=code,
                name=str(entry.get("name", "")),
                name_en=str(entry.get("name_en", "")),
                aliases=aliases,
                plans=tuple(plans),
            )
        )
    codes = [city.code for city in cities]
    for code in {c for c in codes if codes.count(c) > 1}:
        problems.append(f"city {code} is declared twice")
    if problems:
        raise ChecklistError(name, problems)
    return Governance(tuple(cities))


@cache
def load_governance(path: Path = GOVERNANCE_FILE) -> Governance:
    """The declaration in a YAML file (the packaged default unless a path is given)."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ChecklistError(str(path), [f"cannot read: {error}"]) from error
    return parse_governance(raw, Path(path).name)


def stated_period_warnings(governance: Governance, on: date) -> list[str]:
    """Plans kept in force on `on` after the period they state ended: for a person to review."""
    sources = load_sources()
    warnings = []
    for city in governance.cities:
        for plan in city.plans:
            source = sources[plan.source]
            if plan.covers(on) and source.period_to is not None and on > source.period_to:
                warnings.append(
                    f"{city.name}: {source.number} states the period to {source.period_to}; "
                    f"kept in force / 超出计划所述期限仍被声明为有效: {plan.beyond_period}"
                )
    return warnings
