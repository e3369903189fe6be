"""The queries supervisors and enterprises make of findings.

How a finding's status changes, who may change it and what pages may offer: the finding
lifecycle, `server/services/lifecycles/finding.py`, the only code that writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, selectinload

from server.extensions import db
from server.models import (
    UNRESOLVED,
    VISIBLE_TO_ENTERPRISE,
    Answer,
    Finding,
    FindingResponse,
    FindingStatus,
    Inspection,
    Photo,
    Role,
    Site,
    User,
)
from server.services import checklists as checklist_store
from server.services import evidence_checks, law
from server.services.clock import today
from server.services.errors import ErrorCode, NotFound
from server.services.registry import visible_city
from server.services.timeutil import local_day_after, local_day_start
from server.services.wording import answer_text

# Photos one answer of an enterprise may carry, in the portal's form and in the API: each is
# decoded on arrival (issue 16 item 5).
MAX_PHOTOS_PER_ANSWER = 9


def is_overdue(finding: Finding, on: date | None = None) -> bool:
    """Past its due date and not closed (withdrawn findings are no longer findings)."""
    return (
        finding.due_date is not None
        and FindingStatus(finding.status) in UNRESOLVED
        and finding.due_date < (on or today())
    )


@dataclass
class FindingFilter:
    status: str | None = None
    city: str | None = None
    district: str | None = None
    checklist: str | None = None
    severity: str | None = None
    enterprise_id: int | None = None
    overdue: bool | None = None
    created_from: date | None = None
    created_to: date | None = None


def scoped(user: User) -> Select[Any]:
    """The findings a user may see at all."""
    query = select(Finding)
    if user.role == Role.ENTERPRISE:
        return query.where(
            Finding.enterprise_id == user.enterprise_id,
            Finding.status.in_([s.value for s in VISIBLE_TO_ENTERPRISE]),
        )
    if user.role == Role.INSPECTOR:
        return query.join(Inspection).where(Inspection.inspector_id == user.id)
    city = visible_city(user)
    return query.where(Finding.city == city) if city else query


def filtered(user: User, wanted: FindingFilter) -> Select[Any]:
    query = scoped(user)
    for column, value in (
        (Finding.status, wanted.status),
        (Finding.city, wanted.city),
        (Finding.district, wanted.district),
        (Finding.checklist_id, wanted.checklist),
        (Finding.severity, wanted.severity),
        (Finding.enterprise_id, wanted.enterprise_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if wanted.overdue is not None:
        late = Finding.due_date < today()
        unresolved = Finding.status.in_([s.value for s in UNRESOLVED])
        query = (
            query.where(late & unresolved)
            if wanted.overdue
            else query.where(~(late & unresolved) | Finding.due_date.is_(None))
        )
    # The dates are China calendar days, as the pages show them (the UTC date of a finding
    # made between 00:00 and 08:00 China time is the day before): compared as UTC instants.
    if wanted.created_from is not None and (start := local_day_start(wanted.created_from)):
        query = query.where(Finding.created_at >= start)
    if wanted.created_to is not None and (end := local_day_after(wanted.created_to)):
        query = query.where(Finding.created_at < end)
    return query


def with_details(query: Select[Any]) -> Select[Any]:
    """Load what `describe` and the ledger read, a few queries per page instead of per row."""
    return query.options(
        selectinload(Finding.inspection),
        selectinload(Finding.answer).selectinload(Answer.evidence),
        selectinload(Finding.events),
        selectinload(Finding.responses).selectinload(FindingResponse.evidence),
    )


@dataclass
class FindingsPage:
    """One page of findings and what is known of the rest.

    `total` is exact up to the count cap; past it, `total` is the cap and
    `total_is_lower_bound` is true. `has_next` says whether a further page holds findings,
    known either way.
    """

    rows: list[Finding]
    total: int
    total_is_lower_bound: bool
    has_next: bool


def page(user: User, wanted: FindingFilter, number: int, size: int, count_cap: int) -> FindingsPage:
    """Page `number` (from 1) of `size` findings in id order, counting at most `count_cap` + 1
    matches: an exact count reads every match, and grows with them (`FINDINGS_COUNT_CAP`)."""
    query = filtered(user, wanted)
    capped = query.with_only_columns(Finding.id).limit(count_cap + 1).subquery()
    counted = db.session.scalar(select(func.count()).select_from(capped)) or 0
    # One row more than the page tells whether a next page exists, past the cap too.
    rows = list(
        db.session.scalars(
            with_details(query).order_by(Finding.id).limit(size + 1).offset((number - 1) * size)
        )
    )
    return FindingsPage(
        rows=rows[:size],
        total=min(counted, count_cap),
        total_is_lower_bound=counted > count_cap,
        has_next=len(rows) > size,
    )


def get(user: User, finding_id: int) -> Finding:
    """One finding the user may see (404 otherwise: its existence is not revealed)."""
    finding = db.session.scalar(scoped(user).where(Finding.id == finding_id))
    if finding is None:
        raise NotFound(ErrorCode.FINDING_NOT_FOUND, f"问题不存在 / no finding {finding_id}")
    return finding


def describe(finding: Finding) -> dict[str, Any]:
    """A finding as people read it: the item, the plan's words, the remedy, its history."""
    rules = checklist_store.get_rules(finding.checklist_id, finding.inspection.checklist_version)
    item = rules.item(finding.item_code)
    assert item is not None
    return {
        "finding": finding,
        "item_text": {"zh": item.text.zh, "en": item.text.en},
        "answer_text": answer_text(item, finding.answer.value),
        "remedy": {"zh": item.remedy.zh, "en": item.remedy.en},
        # Only the quotes of plans governing the site's city on the inspection day.
        "basis": law.basis_dicts(law.finding_bases(finding.inspection, finding.item_code)),
        "overdue": is_overdue(finding),
        "responses": _responses_with_flags(finding),
    }


def _responses_with_flags(finding: Finding) -> list[dict[str, Any]]:
    """The enterprise's answers, each with the evidence checks on its photos (one query for
    the photos of all of them, and none when no answer carries a photo)."""
    hashes = {sha for response in finding.responses for sha in response.photos}
    stored = (
        {
            photo.sha256: photo
            for photo in db.session.scalars(select(Photo).where(Photo.sha256.in_(hashes)))
        }
        if hashes
        else {}
    )
    return [
        {
            "id": response.id,
            "user_id": response.user_id,
            "text": response.text,
            "photos": response.photos,
            "created_at": response.created_at,
            "evidence_flags": evidence_checks.response_flags(finding, response, stored),
        }
        for response in finding.responses
    ]


def to_recheck(user: User) -> list[Finding]:
    """The unresolved findings at the active sites of the caller's city (every city for a user
    without one), whoever found them: what a re-inspection of a site must check again.

    For inspectors on their devices, so unlike `scoped` it is not limited to their own
    inspections; the enterprise's answers and notes stay on the server."""
    query = (
        select(Finding)
        .join(Site, Site.id == Finding.site_id)
        .where(Finding.status.in_([s.value for s in UNRESOLVED]), Site.active.is_(True))
        .options(joinedload(Finding.inspection))
        .order_by(Finding.site_id, Finding.created_at, Finding.id)
    )
    city = visible_city(user)
    if city:
        query = query.where(Finding.city == city)
    return list(db.session.scalars(query))
