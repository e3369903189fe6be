"""The feed that brings review decisions to devices, and what a reviewer reads.

The decisions themselves (approve, return) are made by the review lifecycle,
`server/services/lifecycles/review.py`.
"""

from __future__ import annotations

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
    Site,
    User,
)
from server.services import checklists as checklist_store
from server.services import law
from server.services.feeds import parse_cursor
from server.services.registry import visible_city


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
    basis: list[tuple[rules.Basis, rules.Source]]  # only quotes of plans governing the site
    obligation: str | None = None


def answers_with_items(inspection: Inspection) -> list[AnswerView]:
    checklist = checklist_store.get_rules(inspection.checklist_id, inspection.checklist_version)
    sources = rules.load_sources()
    results = rules.evaluate_all(
        checklist, law.inspection_answers(inspection), law.inspection_scope(inspection)
    )
    views = []
    for answer in inspection.answers:
        item = checklist.item(answer.item_code)
        assert item is not None  # answers were validated against this very version
        result = results[answer.item_code]
        views.append(
            AnswerView(
                answer,
                item,
                [(basis, sources[basis.source]) for basis in result.bases],
                result.obligation.value if result.obligation else None,
            )
        )
    return views
