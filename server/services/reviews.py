"""Supervisors' decisions on submitted inspections, and the feed that brings them to devices."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Sequence

from sqlalchemy import select

from server.extensions import db
from server.models import (
    Inspection,
    InspectionReview,
    InspectionStatus,
    ReviewDecision,
    Role,
    User,
    utcnow,
)
from server.services import audit
from server.services.errors import Conflict, Forbidden, Invalid
from server.services.feeds import next_change_seq, parse_cursor
from server.services.inspections import get_for

REVIEWS_FEED = "reviews"


def review(user: User, inspection_id: uuid_module.UUID, decision: str, comment: str) -> Inspection:
    """Approve a submitted inspection, or return it to its inspector with a comment."""
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("仅监管人员可审核 / only supervisors review inspections")
    inspection = get_for(user, inspection_id)
    if inspection.status != InspectionStatus.SUBMITTED:
        raise Conflict(
            f"该检查已审核（{inspection.status}）/ this inspection was already reviewed "
            f"({inspection.status}); only a submitted revision can be reviewed"
        )
    comment = comment.strip()
    if decision == ReviewDecision.RETURN and not comment:
        raise Invalid(
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
