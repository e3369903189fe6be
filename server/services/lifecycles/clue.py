"""The clue lifecycle: the one place a clue's status changes.

    new ──to_task (supervisor: sites, checklist, inspectors, response deadline)──▶ tasked
    new ──dismiss (supervisor, with a reason)──▶ dismissed

Each move is a conditional update (`moves.claim`): of two supervisors acting on one clue
at once, one wins and the other gets 409 `clue.not_open`; a clue never makes two tasks.
The task is made by `tasks.create_task` in the same transaction (reason `clue`,
`source_ref` "clue:<id>").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from server.extensions import db
from server.models import Clue, ClueStatus, Role, Task, TaskReason, User, utcnow
from server.services import audit, clues, tasks
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid
from server.services.lifecycles.moves import claim, lost

STAFF = (Role.SUPERVISOR, Role.ADMIN)


class ClueAction(StrEnum):
    TO_TASK = "to_task"
    DISMISS = "dismiss"


@dataclass(frozen=True)
class Move:
    sources: tuple[ClueStatus, ...]
    target: ClueStatus
    roles: tuple[Role, ...]


MOVES: dict[ClueAction, Move] = {
    ClueAction.TO_TASK: Move((ClueStatus.NEW,), ClueStatus.TASKED, STAFF),
    ClueAction.DISMISS: Move((ClueStatus.NEW,), ClueStatus.DISMISSED, STAFF),
}


def actions(user: User, clue: Clue) -> list[str]:
    return [
        action.value
        for action, move in MOVES.items()
        if user.role in move.roles and ClueStatus(clue.status) in move.sources
    ]


def not_open(status: str) -> Conflict:
    return Conflict(
        ErrorCode.CLUE_NOT_OPEN,
        f"线索已处理（{status}），请刷新 / the clue was already handled ({status})",
        {"status": status},
    )


def _open_clue(user: User, clue_id: int) -> Clue:
    if user.role not in STAFF:
        raise Forbidden(ErrorCode.AUTH_FORBIDDEN, "仅监管人员可处理线索 / supervisors only")
    clue = clues.get_for(user, clue_id)
    if clue.status != ClueStatus.NEW.value:
        raise not_open(clue.status)
    return clue


def to_task(
    user: User,
    clue_id: int,
    *,
    site_ids: Sequence[int],
    checklist_id: str,
    due_on: date,
    inspector_ids: Sequence[int],
    note: str | None = None,
) -> Task:
    """Turn a new clue into a task due on `due_on` (the response deadline of the visit)."""
    clue = _open_clue(user, clue_id)
    now = utcnow()
    move = MOVES[ClueAction.TO_TASK]
    if not claim(clue, Clue.id, move.sources, move.target, responded_at=now, responded_by=user.id):
        raise not_open(lost(clue, Clue.id))
    try:
        task = tasks.create_task(
            actor=user,
            site_ids=site_ids,
            checklist_id=checklist_id,
            due_on=due_on,
            inspector_ids=inspector_ids,
            reason=TaskReason.CLUE.value,
            note=note or clue.description[:500],
            source_ref=f"clue:{clue.id}",
            commit=False,
        )
    except Exception:
        db.session.rollback()
        raise
    clue.task_id = task.id
    audit.record_action(
        user, "clue.tasked", ("clue", str(clue.id)), {"task_id": task.id}, touched=[clue]
    )
    db.session.commit()
    return task


def dismiss(user: User, clue_id: int, reason: str) -> Clue:
    """Dismiss a new clue with a reason (not our matter, a duplicate, nothing found)."""
    clue = _open_clue(user, clue_id)
    reason = tasks.clean_text(reason, "reason", 2000, ErrorCode.CLUE_INVALID)
    if not tasks.has_visible(reason):
        raise Invalid(
            ErrorCode.CLUE_INVALID,
            "须说明不予处理的原因 / say why the clue is dismissed",
            {"reason": ["required, at most 2000 characters"]},
        )
    move = MOVES[ClueAction.DISMISS]
    if not claim(
        clue,
        Clue.id,
        move.sources,
        move.target,
        responded_at=utcnow(),
        responded_by=user.id,
        dismiss_reason=reason,
    ):
        raise not_open(lost(clue, Clue.id))
    audit.record_action(
        user, "clue.dismissed", ("clue", str(clue.id)), {"reason": reason}, touched=[clue]
    )
    db.session.commit()
    return clue
