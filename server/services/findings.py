"""The finding lifecycle and the queries supervisors and enterprises make of findings.

open → notified (in a notice) → answered (the enterprise sent evidence) → closed (销号), or
reopened (the evidence was not enough; waiting again for the enterprise). Every move goes
through `transition`, which records who, when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import (
    UNRESOLVED,
    VISIBLE_TO_ENTERPRISE,
    Answer,
    Finding,
    FindingEvent,
    FindingResponse,
    FindingStatus,
    Inspection,
    Photo,
    ResponsePhoto,
    Role,
    User,
    utcnow,
)
from server.services import audit, evidence_checks, law, photo_access
from server.services import checklists as checklist_store
from server.services.clock import today
from server.services.errors import Conflict, Forbidden, Invalid, NotFound
from server.services.registry import visible_city
from server.services.timeutil import local_day_after, local_day_start
from server.services.wording import answer_text

# Photos one answer of an enterprise may carry, in the portal's form and in the API: each is
# decoded on arrival (issue 16 item 5).
MAX_PHOTOS_PER_ANSWER = 9

# Which moves the lifecycle allows, and who makes them.
ALLOWED = {
    (FindingStatus.OPEN, FindingStatus.NOTIFIED),
    (FindingStatus.NOTIFIED, FindingStatus.ANSWERED),
    (FindingStatus.REOPENED, FindingStatus.ANSWERED),
    (FindingStatus.ANSWERED, FindingStatus.CLOSED),
    (FindingStatus.ANSWERED, FindingStatus.REOPENED),
}


def transition(finding: Finding, to: FindingStatus, actor: User, reason: str = "") -> None:
    """Move a finding and record the move; Conflict when the lifecycle does not allow it."""
    current = FindingStatus(finding.status)
    if (current, to) not in ALLOWED:
        raise Conflict(
            f"问题状态为 {current}，不能变为 {to} / a {current} finding cannot become {to}"
        )
    finding.status = to.value
    finding.updated_at = utcnow()
    db.session.add(
        FindingEvent(
            finding=finding,
            from_status=current.value,
            to_status=to.value,
            actor_id=actor.id,
            reason=reason,
        )
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
        raise NotFound(f"问题不存在 / no finding {finding_id}")
    return finding


def respond(user: User, finding_id: int, text: str, photos: list[str]) -> Finding:
    """The enterprise answers a notified (or reopened) finding with what it did and photos."""
    if user.role != Role.ENTERPRISE:
        raise Forbidden("仅企业用户可答复 / only the enterprise answers its findings")
    finding = get(user, finding_id)
    if not text.strip():
        raise Invalid("须说明整改情况 / describe what was done", {"text": ["required"]})
    if len(set(photos)) > MAX_PHOTOS_PER_ANSWER:
        raise Invalid(
            f"最多{MAX_PHOTOS_PER_ANSWER}张照片 / at most {MAX_PHOTOS_PER_ANSWER} photos an answer",
            {"photos": [f"at most {MAX_PHOTOS_PER_ANSWER}"]},
        )
    hashes = photo_access.citable(user, photos)
    transition(finding, FindingStatus.ANSWERED, user, text.strip())
    db.session.add(
        FindingResponse(
            finding=finding,
            user_id=user.id,
            text=text.strip(),
            evidence=[ResponsePhoto(photo_sha256=sha, position=i) for i, sha in enumerate(hashes)],
        )
    )
    audit.record_finding(user, "finding.answered", finding)
    db.session.commit()
    return finding


def verify(user: User, finding_id: int, accepted: bool, comment: str) -> Finding:
    """The supervisor closes an answered finding (销号) or reopens it with a reason."""
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("仅监管人员可核验 / only supervisors verify rectification")
    finding = get(user, finding_id)
    if accepted:
        transition(finding, FindingStatus.CLOSED, user, comment.strip())
        finding.closed_at = utcnow()
        finding.closed_by = user.id
    else:
        if not comment.strip():
            raise Invalid(
                "退回须说明原因 / say why the evidence is not enough",
                {"comment": ["required when not accepted"]},
            )
        transition(finding, FindingStatus.REOPENED, user, comment.strip())
    audit.record_finding(user, "finding.verified", finding)
    db.session.commit()
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
