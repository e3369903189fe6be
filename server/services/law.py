"""The law in force on the server: the deployment's governance declaration, each site's
scope on a day, the checklists served to it, and the quotes a finding may cite.

Every page, PDF, ledger and API answer that names a legal basis asks this module, so that a
notice to a site in one city never cites another city's plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app

import checklists as rules
from checklists.evaluate import evaluate_all, served_items
from checklists.governance import Governance, load_governance, stated_period_warnings
from checklists.model import Basis, Obligation, Verdict
from checklists.scope import Scope, item_scope
from server.models import Finding, Inspection, Site
from server.services import checklists as checklist_store
from server.services.app_state import per_app
from server.services.errors import ErrorCode, Invalid
from server.services.timeutil import local_date


def governance() -> Governance:
    """The declaration this server runs under (LANTIAN_GOVERNANCE_FILE, else the default)."""
    path = current_app.config.get("GOVERNANCE_FILE")
    return per_app(
        "lantian.governance",
        lambda: load_governance(Path(path)) if path else load_governance(),
    )


def city_code_of(name: str | None) -> str | None:
    """The GB/T 2260 code for a city name, alias or code the deployment knows; else None."""
    city = governance().city(name)
    return city.code if city else None


def site_scope(site: Site, on: date) -> Scope:
    """The plans that govern a site on a day, from the site's own city code."""
    return Scope.of(governance(), site.city_code or site.enterprise.city_code, on)


def judging_scope(site: Site, started_at: datetime) -> Scope:
    """The scope an inspection is judged in: the site's city on the local inspection date."""
    return site_scope(site, local_date(started_at))


def inspection_scope(inspection: Inspection) -> Scope:
    """The scope an inspection was judged in, as stored; an inspection stored before scopes
    existed is given the scope of its site's city on its local date."""
    if inspection.scope:
        return Scope.from_dict(inspection.scope)
    return judging_scope(inspection.site, inspection.started_at)


@dataclass(frozen=True)
class ServedChecklist:
    """A checklist as it applies to one site on one day."""

    checklist: rules.Checklist
    scope: Scope
    items: tuple[rules.Item, ...]


def checklists_for_site(site: Site, on: date) -> list[ServedChecklist]:
    """The current checklists for the site's kind with at least one item in force there."""
    scope = site_scope(site, on)
    served = []
    for row in checklist_store.current_versions():
        checklist = checklist_store.get_rules(row.checklist_id, row.version)
        if site.kind not in checklist.site_kinds:
            continue
        items = served_items(checklist, scope)
        if items:
            served.append(ServedChecklist(checklist, scope, items))
    return served


def parse_on(raw: str | None) -> date:
    """`?on=YYYY-MM-DD`, or today's date in China."""
    if not raw:
        return local_date(datetime.now().astimezone())
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(
            ErrorCode.REQUEST_INVALID,
            "日期有误 / invalid date",
            {"on": ["须为 YYYY-MM-DD / must be YYYY-MM-DD"]},
        ) from None


def cited_bases(
    checklist: rules.Checklist, item_code: str, scope: Scope, answers: Mapping[str, Any]
) -> tuple[Basis, ...]:
    """The quotes an item rests on in this scope: only governing plans, and only the quotes
    whose conditions hold for these answers (for a violation, the duties in force)."""
    result = evaluate_all(checklist, answers, scope).get(item_code)
    return result.bases if result is not None else ()


def inspection_answers(inspection: Inspection) -> dict[str, Any]:
    return {answer.item_code: answer.value for answer in inspection.answers}


def finding_bases(inspection: Inspection, item_code: str) -> tuple[Basis, ...]:
    """What a finding of this inspection cites: its item's duties in force for the site."""
    return inspection_bases(inspection).get(item_code, ())


def findings_bases(findings: Iterable[Finding]) -> dict[int, tuple[Basis, ...]]:
    """Each finding's bases (by finding id), evaluating each inspection once."""
    per_inspection: dict[Any, dict[str, tuple[Basis, ...]]] = {}
    found = {}
    for finding in findings:
        key = finding.inspection_uuid
        if key not in per_inspection:
            per_inspection[key] = inspection_bases(finding.inspection)
        found[finding.id] = per_inspection[key].get(finding.item_code, ())
    return found


def inspection_bases(inspection: Inspection) -> dict[str, tuple[Basis, ...]]:
    """What each item of this inspection rests on in its scope, from one evaluation: a page
    or workbook listing many findings of one inspection asks once, not once per finding."""
    checklist = checklist_store.get_rules(inspection.checklist_id, inspection.checklist_version)
    results = evaluate_all(checklist, inspection_answers(inspection), inspection_scope(inspection))
    return {code: result.bases for code, result in results.items()}


def basis_dicts(bases: tuple[Basis, ...]) -> list[dict[str, Any]]:
    """Quotes as plain data with their plan's number and title, for pages and the API."""
    sources = rules.load_sources()
    return [
        {
            "source": basis.source,
            "clause": basis.clause,
            "quote": basis.quote,
            "strength": basis.strength.value,
            "number": sources[basis.source].number,
            "title": sources[basis.source].title,
        }
        for basis in bases
    ]


def governing_documents(bases: list[Basis]) -> list[str]:
    """The document numbers (文号) of the plans cited, in order of issue, each once."""
    sources = rules.load_sources()
    files = sorted({basis.source for basis in bases}, key=lambda f: (sources[f].date, f))
    return [f"《{sources[f].title}》（{sources[f].number}）" for f in files]


OBLIGATION_LABELS = {
    Obligation.MANDATORY: "强制 / mandatory",
    Obligation.DUE: "限期 / due by deadline",
    Obligation.ADVISORY: "倡导 / encouraged (advice only)",
}

VERDICT_IS_FINDING = (Verdict.NON_COMPLIANT,)


def site_checklists_view(site: Site, on: date) -> dict[str, Any]:
    """What `GET /sites/{id}/checklists` answers: the scope and each served item's standing."""
    scope = site_scope(site, on)
    sources = rules.load_sources()
    served = []
    for entry in checklists_for_site(site, on):
        items = []
        for item in entry.items:
            standing = item_scope(item, scope, {}, asked=True)
            items.append(
                {
                    "code": item.code,
                    "text": item.text,
                    "obligation": standing.obligation.value if standing.obligation else None,
                    "conditional": standing.pending,
                    "bases": basis_dicts(standing.bases),
                }
            )
        served.append(
            {
                "id": entry.checklist.id,
                "version": entry.checklist.version,
                "title": entry.checklist.title,
                "items": items,
            }
        )
    return {
        "site_id": site.id,
        "city_code": scope.city_code,
        "on": on,
        "governing": [
            {"file": f, "number": sources[f].number, "title": sources[f].title}
            for f in sorted(scope.sources, key=lambda f: (sources[f].date, f))
        ],
        "checklists": served,
    }


def rules_view(city_name: str | None, on: date) -> dict[str, Any]:
    """What /review/rules shows: for a city and a day, the plans in force and every item they
    serve there, with its obligation and the quotes it rests on."""
    declaration = governance()
    city = declaration.city(city_name) if city_name else declaration.cities[0]
    if city is None:
        raise Invalid(
            ErrorCode.REGISTRY_UNKNOWN_CITY,
            f"未知城市 / unknown city {city_name!r}",
            {"city": [", ".join(c.name for c in declaration.cities)]},
        )
    scope = Scope.of(declaration, city.code, on)
    sources = rules.load_sources()
    listed = []
    for row in checklist_store.current_versions():
        checklist = checklist_store.get_rules(row.checklist_id, row.version)
        items = []
        for item in served_items(checklist, scope):
            standing = item_scope(item, scope, {}, asked=True)
            items.append(
                {
                    "item": item,
                    "obligation": standing.obligation.value if standing.obligation else None,
                    "conditional": standing.pending,
                    "due_by": standing.due_by,
                    "bases": [(basis, sources[basis.source]) for basis in standing.bases],
                }
            )
        if items:
            listed.append({"checklist": checklist, "items": items})
    return {
        "cities": declaration.cities,
        "city": city,
        "on": on,
        "plans": [sources[f] for f in sorted(scope.sources, key=lambda f: sources[f].date)],
        "warnings": [
            w for w in stated_period_warnings(declaration, on) if w.startswith(f"{city.name}:")
        ],
        "checklists": listed,
    }
