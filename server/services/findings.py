"""The queries supervisors and enterprises make of findings.

How a finding's status changes, who may change it and what pages may offer: the finding
lifecycle, `server/services/lifecycles/finding.py`, the only code that writes it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import (
    UNRESOLVED,
    Answer,
    AnswerPhoto,
    Enterprise,
    Finding,
    FindingResponse,
    FindingStatus,
    Inspection,
    Photo,
    ResponsePhoto,
    Role,
    Site,
    User,
)
from server.services import checklists as checklist_store
from server.services import photos as photo_files
from server.services.clock import today
from server.services.errors import ErrorCode, NotFound
from server.services.registry import visible_city
from server.services.wording import answer_text
from server.storage import PhotoStore

VISIBLE_TO_ENTERPRISE = (
    FindingStatus.NOTIFIED,
    FindingStatus.ANSWERED,
    FindingStatus.CLOSED,
    FindingStatus.REOPENED,
)


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
    if wanted.created_from is not None:
        query = query.where(func.date(Finding.created_at) >= wanted.created_from)
    if wanted.created_to is not None:
        query = query.where(func.date(Finding.created_at) <= wanted.created_to)
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


def photos_to_send(store: PhotoStore, user: User, hashes: Sequence[str]) -> list[str]:
    """Which of these photos the user should send: the batch form of asking `HEAD` for each.

    A photo counts as present only when, as for `HEAD /api/v1/photos/{sha256}`, it arrived
    completely (its row and its bytes are there) and this user may see it
    (`readable_hashes`: e.g. an inspector, what they sent or their inspections
    cite). Anything else is answered missing, so the answer never reveals that a photo the
    user may not see exists; sending it is harmless, since an upload of bytes the server
    already holds changes nothing. Hashes come back once each, in the order asked.
    """
    wanted = list(dict.fromkeys(photo_files.valid_hash(sha) for sha in hashes))
    if not wanted:
        return []
    stored = set(db.session.scalars(select(Photo.sha256).where(Photo.sha256.in_(wanted))))
    present = {sha for sha in readable_hashes(user, stored) if store.exists(sha)}
    return [sha for sha in wanted if sha not in present]


def readable_photo(user: User, sha256: str) -> Photo | None:
    """The stored photo when this user may see it, else None (its existence stays hidden)."""
    photo = db.session.get(Photo, photo_files.valid_hash(sha256))
    return photo if photo is not None and may_read_photo(user, sha256) else None


def may_read_photo(user: User, sha256: str) -> bool:
    """Whether this user may see the photo (the rule is `readable_hashes`)."""
    return bool(readable_hashes(user, [sha256]))


def readable_hashes(user: User, hashes: Collection[str]) -> set[str]:
    """Which of these photos the user may see: whoever sent it; admins and supervisors of
    every city, any; a city's supervisor, those of that city's inspections and answers; an
    inspector, those of their own inspections; an enterprise, those of its own visible
    findings and answers. One query per way of seeing, until every hash is decided."""
    wanted = set(hashes)
    city = visible_city(user)
    if not wanted or user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and not city):
        return wanted
    queries: list[Select[Any]] = [
        select(Photo.sha256).where(Photo.sha256.in_(wanted), Photo.uploaded_by == user.id)
    ]
    cited = (
        select(AnswerPhoto.photo_sha256)
        .join(Answer, Answer.id == AnswerPhoto.answer_id)
        .join(Inspection, Inspection.uuid == Answer.inspection_uuid)
        .where(AnswerPhoto.photo_sha256.in_(wanted))
    )
    answered = (
        select(ResponsePhoto.photo_sha256)
        .join(FindingResponse, FindingResponse.id == ResponsePhoto.response_id)
        .join(Finding, Finding.id == FindingResponse.finding_id)
        .where(ResponsePhoto.photo_sha256.in_(wanted))
    )
    if user.role == Role.ENTERPRISE:
        queries.append(
            scoped(user)
            .with_only_columns(AnswerPhoto.photo_sha256, maintain_column_froms=True)
            .join(AnswerPhoto, AnswerPhoto.answer_id == Finding.answer_id)
            .where(AnswerPhoto.photo_sha256.in_(wanted))
        )
        queries.append(answered.where(Finding.enterprise_id == user.enterprise_id))
    elif user.role == Role.INSPECTOR:
        queries.append(cited.where(Inspection.inspector_id == user.id))
    else:
        in_city = (
            cited.join(Site, Site.id == Inspection.site_id)
            .join(Enterprise, Enterprise.id == Site.enterprise_id)
            .where(Enterprise.city == city)
        )
        queries += [in_city, answered.where(Finding.city == city)]
    seen: set[str] = set()
    for query in queries:
        seen.update(db.session.scalars(query.distinct()))
        if seen >= wanted:
            break
    return seen


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
        "basis": [
            {"source": basis.source, "clause": basis.clause, "quote": basis.quote}
            for basis in item.basis
        ],
        "overdue": is_overdue(finding),
    }
