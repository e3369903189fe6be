"""The inspection review lifecycle: the one place an inspection's status changes.

    (device) ──PUT──▶ submitted ──approve──▶ approved
                          ▲    └───return──▶ returned ──PUT with If-Match──┐
                          └────────────────── revision n+1 ◀───────────────┘

`MOVES` is the table: the statuses each move starts from, its end and who may make it.
Every move is a conditional update (`moves.claim`), on the status and on the revision it
was decided for, so two reviews sent at once store one decision and the other gets 409;
two identical revisions sent at once store one revision. The inspection and review use
cases call `review`, `approve`/`return_` through it, and `claim_revision`.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from enum import StrEnum

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
from server.services import audit, inspections, outbox
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid
from server.services.feeds import next_change_seq
from server.services.lifecycles.moves import claim, lost

REVIEWS_FEED = "reviews"
STAFF = (Role.SUPERVISOR, Role.ADMIN)


class InspectionAction(StrEnum):
    """What a person may do with an inspection (the API's `actions`)."""

    APPROVE = "approve"
    RETURN = "return"
    REVISE = "revise"


@dataclass(frozen=True)
class Move:
    sources: tuple[InspectionStatus, ...]
    target: InspectionStatus
    roles: tuple[Role, ...]


MOVES: dict[InspectionAction, Move] = {
    InspectionAction.APPROVE: Move((InspectionStatus.SUBMITTED,), InspectionStatus.APPROVED, STAFF),
    InspectionAction.RETURN: Move((InspectionStatus.SUBMITTED,), InspectionStatus.RETURNED, STAFF),
    InspectionAction.REVISE: Move(
        (InspectionStatus.RETURNED,), InspectionStatus.SUBMITTED, (Role.INSPECTOR,)
    ),
}
DECISIONS = {
    ReviewDecision.APPROVE: InspectionAction.APPROVE,
    ReviewDecision.RETURN: InspectionAction.RETURN,
}


def can_review(user: User, inspection: Inspection) -> bool:
    """A supervisor may approve or return: the inspection waits for a decision."""
    move = MOVES[InspectionAction.APPROVE]
    return user.role in move.roles and InspectionStatus(inspection.status) in move.sources


def can_revise(user: User, inspection: Inspection) -> bool:
    """Its inspector may send a new revision: the inspection was returned to them."""
    move = MOVES[InspectionAction.REVISE]
    return (
        user.role in move.roles
        and inspection.inspector_id == user.id
        and InspectionStatus(inspection.status) in move.sources
    )


def actions(user: User, inspection: Inspection) -> list[str]:
    """What this user may do with this inspection now."""
    if can_review(user, inspection):
        return [InspectionAction.APPROVE.value, InspectionAction.RETURN.value]
    if can_revise(user, inspection):
        return [InspectionAction.REVISE.value]
    return []


def claim_revision(inspection: Inspection, number: int) -> bool:
    """Returned → submitted as revision `number`, if the stored inspection is still the
    returned revision `number - 1`. False when another request revised it first (the
    caller answers that request as a resend of what is stored now)."""
    move = MOVES[InspectionAction.REVISE]
    return claim(
        inspection,
        Inspection.uuid,
        move.sources,
        move.target,
        {"revision": number - 1},
        revision=number,
        updated_at=utcnow(),
    )


def review(user: User, inspection_id: uuid_module.UUID, decision: str, comment: str) -> Inspection:
    """Approve a submitted inspection, or return it to its inspector with a comment."""
    if user.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可审核 / only supervisors review inspections"
        )
    inspection = inspections.get_for(user, inspection_id)
    if not can_review(user, inspection):
        raise _already_reviewed(inspection.status)
    comment = comment.strip()
    if decision == ReviewDecision.RETURN and not comment:
        raise Invalid(
            ErrorCode.INSPECTION_INVALID,
            "退回须说明原因 / a returned inspection needs a comment",
            {"comment": ["退回时必填 / required when returning"]},
        )
    move = MOVES[DECISIONS[ReviewDecision(decision)]]
    revision = inspection.revision
    guard = {"revision": revision}
    if not claim(
        inspection, Inspection.uuid, move.sources, move.target, guard, updated_at=utcnow()
    ):
        raise _already_reviewed(lost(inspection, Inspection.uuid))
    inspection.review_seq = next_change_seq(REVIEWS_FEED)
    db.session.add(
        InspectionReview(
            inspection=inspection,
            revision_number=revision,
            decision=decision,
            comment=comment,
            reviewer_id=user.id,
        )
    )
    audit.record_review(user, inspection)
    outbox.record(
        f"inspection.{move.target.value}",
        {
            "inspection_id": str(inspection.uuid),
            "revision": revision,
            "status": move.target.value,
            "site_id": inspection.site_id,
            "inspector_id": inspection.inspector_id,
            "comment": comment,
        },
    )
    db.session.commit()
    return inspection


def _already_reviewed(status: str) -> Conflict:
    return Conflict(
        ErrorCode.INSPECTION_NOT_REVIEWABLE,
        f"该检查已审核（{status}）/ this inspection was already reviewed ({status}); only a "
        "submitted revision can be reviewed",
        {"status": status},
    )
