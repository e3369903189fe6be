"""Supervisors' decisions on submitted inspections, and the feed that brings them to devices."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import checklists as rules
from server.extensions import db
from server.models import (
    Answer,
    Enterprise,
    Inspection,
    InspectionReview,
    InspectionStatus,
    ReviewDecision,
    Role,
    Site,
    User,
    utcnow,
)
from server.services import audit
from server.services import checklists as checklist_store
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid
from server.services.feeds import next_change_seq, parse_cursor
from server.services.inspections import get_for
from server.services.registry import visible_city

REVIEWS_FEED = "reviews"


def review(user: User, inspection_id: uuid_module.UUID, decision: str, comment: str) -> Inspection:
    """Approve a submitted inspection, or return it to its inspector with a comment."""
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可审核 / only supervisors review inspections"
        )
    inspection = get_for(user, inspection_id)
    if inspection.status != InspectionStatus.SUBMITTED:
        raise Conflict(
            ErrorCode.INSPECTION_NOT_REVIEWABLE,
            f"该检查已审核（{inspection.status}）/ this inspection was already reviewed "
            f"({inspection.status}); only a submitted revision can be reviewed",
        )
    comment = comment.strip()
    if decision == ReviewDecision.RETURN and not comment:
        raise Invalid(
            ErrorCode.INSPECTION_INVALID,
            "退回须说明原因 / a returned inspection needs a comment",
            {"comment": ["退回时必填 / required when returning"]},
        )
    inspection.status = (
        InspectionStatus.APPROVED.value
        if decision == ReviewDecision.APPROVE
        else InspectionStatus.RETURNED.value
    )
    inspection.review_seq = next_change_seq(REVIEWS_FEED)
    inspection.updated_at = utcnow()
    db.session.add(
        InspectionReview(
            inspection=inspection,
            revision_number=inspection.revision,
            decision=decision,
            comment=comment,
            reviewer_id=user.id,
        )
    )
    audit.record_review(user, inspection)
    db.session.commit()
    return inspection


def outcomes_since(
    user: User, cursor: str | None, limit: int
) -> tuple[Sequence[Inspection], str, bool]:
    """The inspector's own inspections reviewed after the cursor, oldest decision first."""
    since = parse_cursor(cursor)
    rows = list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.inspector_id == user.id, Inspection.review_seq > since)
            .order_by(Inspection.review_seq)
            .limit(limit + 1)
        )
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = str(rows[-1].review_seq) if rows else str(since)
    return rows, next_cursor, has_more


def latest_review(inspection: Inspection) -> InspectionReview | None:
    return inspection.reviews[-1] if inspection.reviews else None


def queue(user: User) -> list[Inspection]:
    """Submitted inspections waiting for a decision, oldest first, in the supervisor's city."""
    query = (
        select(Inspection)
        .where(Inspection.status == InspectionStatus.SUBMITTED.value)
        .options(selectinload(Inspection.answers))
        .order_by(Inspection.received_at, Inspection.uuid)
    )
    city = visible_city(user)
    if city:
        query = query.join(Site, Site.id == Inspection.site_id).join(Enterprise)
        query = query.where(Enterprise.city == city)
    return list(db.session.scalars(query))


@dataclass
class AnswerView:
    """One answer as a reviewer reads it: the item, its basis in the plans, the verdict."""

    answer: Answer
    item: rules.Item
    basis: list[tuple[rules.Basis, rules.Source]]


def answers_with_items(inspection: Inspection) -> list[AnswerView]:
    checklist = checklist_store.get_rules(inspection.checklist_id, inspection.checklist_version)
    sources = rules.load_sources()
    views = []
    for answer in inspection.answers:
        item = checklist.item(answer.item_code)
        assert item is not None  # answers were validated against this very version
        views.append(
            AnswerView(answer, item, [(basis, sources[basis.source]) for basis in item.basis])
        )
    return views
