"""The draw lifecycle: the one place a 双随机 draw's status changes.

    committed ──draw──▶ drawn ──issue──▶ issued
    (hashes published)  (value fixed,    (tasks created,
                         result known)    secret revealed)

Each move is one conditional update (`moves.claim`) that also writes what the move fixes:
drawing stores the fresh value, the seed and the result in the same statement that moves
the status, so two draws sent at once (a double click) store one value and one result; the
other gets 409 with the state it lost to. Issuing claims the draw first, then creates the
tasks in the same transaction, so a draw's tasks are created once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.extensions import db
from server.models import Draw, DrawStatus, Role, User, utcnow
from server.services import audit, draws
from server.services import draw_algorithm as algorithm
from server.services.errors import Conflict, DomainError, ErrorCode, Forbidden
from server.services.lifecycles.moves import claim, lost

STAFF = (Role.SUPERVISOR, Role.ADMIN)


class DrawAction(StrEnum):
    DRAW = "draw"
    ISSUE = "issue"


@dataclass(frozen=True)
class Move:
    sources: tuple[DrawStatus, ...]
    target: DrawStatus
    roles: tuple[Role, ...]


MOVES: dict[DrawAction, Move] = {
    DrawAction.DRAW: Move((DrawStatus.COMMITTED,), DrawStatus.DRAWN, STAFF),
    DrawAction.ISSUE: Move((DrawStatus.DRAWN,), DrawStatus.ISSUED, STAFF),
}

# Creates the tasks of an issued draw (in the caller's transaction, not committing) and
# returns their ids in result order.
TaskIssuer = Callable[[User, Draw], list[int]]


def can(user: User, draw: Draw, action: DrawAction) -> bool:
    move = MOVES[action]
    return user.role in move.roles and DrawStatus(draw.status) in move.sources


def actions(user: User, draw: Draw) -> list[str]:
    """What this user may do with this draw now."""
    return [action.value for action in DrawAction if can(user, draw, action)]


def _taken(status: str) -> Conflict:
    return Conflict(
        ErrorCode.DRAW_CONFLICT,
        f"该抽查已处于「{status}」状态 / this draw is already {status}",
        {"status": status},
    )


def _mismatch(field: str, current: str) -> Conflict:
    return Conflict(
        ErrorCode.DRAW_CONFLICT,
        f"所确认的{field}与本抽查不符，请刷新后重试 / the {field} sent is not this draw's; "
        "reload and retry",
        {field: current},
    )


def _require(user: User) -> None:
    if user.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可管理双随机抽查 / only supervisors run draws"
        )


def draw(user: User, draw_id: int, candidate_hash: str, witness: str = "") -> Draw:
    """Fix a fresh unpredictable value and store the seed and the result it gives.

    `candidate_hash` is the commitment the supervisor saw: drawing another list is refused.
    """
    _require(user)
    row = draws.get_for(user, draw_id)
    if not can(user, row, DrawAction.DRAW):
        raise _taken(row.status)
    if candidate_hash != row.candidate_hash:
        raise _mismatch("candidate_hash", row.candidate_hash)
    witness = draws.clean_text(witness, "witness")
    value = os.urandom(32).hex()
    seed = algorithm.derive_seed(row.candidate_hash, row.secret, value, witness)
    result = algorithm.select_and_pair(json.loads(row.candidates), seed)
    move = MOVES[DrawAction.DRAW]
    values: dict[str, Any] = {
        "draw_value": value,
        "witness": witness,
        "seed": seed.hex(),
        "result": result,
        "drawn_by": user.id,
        "drawn_at": utcnow(),
    }
    if not claim(row, Draw.id, move.sources, move.target, **values):
        raise _taken(lost(row, Draw.id))
    audit.record_action(
        user,
        "draw.drawn",
        ("draw", str(row.id)),
        {"sites": [entry["site_id"] for entry in result]},
        touched=[row],
    )
    db.session.commit()
    return row


def issue(user: User, draw_id: int, seed: str, issuer: TaskIssuer) -> Draw:
    """Create the drawn tasks and reveal the secret.

    `seed` names the result the supervisor saw: issuing another result is refused.
    """
    _require(user)
    row = draws.get_for(user, draw_id)
    if not can(user, row, DrawAction.ISSUE):
        raise _taken(row.status)
    if seed != row.seed:
        raise _mismatch("seed", row.seed or "")
    move = MOVES[DrawAction.ISSUE]
    guard = {"seed": seed}  # the result confirmed is the one issued, even under a race
    issued = claim(
        row, Draw.id, move.sources, move.target, guard, issued_by=user.id, issued_at=utcnow()
    )
    if not issued:
        raise _taken(lost(row, Draw.id))
    try:
        task_ids = issuer(user, row)
    except DomainError:
        db.session.rollback()  # the claim too: a draw whose tasks cannot be made stays drawn
        raise
    row.task_ids = task_ids
    audit.record_action(
        user,
        "draw.issued",
        ("draw", str(row.id)),
        {"tasks": task_ids, "secret": row.secret},
        touched=[row],
    )
    db.session.commit()
    return row
