"""The draw lifecycle: the one place a 双随机 draw's status changes.

    committed ──draw──▶ drawn ──issue──▶ issued
    (hashes published)  (value fixed,    (tasks created,
        │                result known)    secret revealed)
        └──abandon (reason)──┴──▶ abandoned (reason public; once drawn, record revealed)

Each move is one conditional update (`moves.claim`) that also writes what the move fixes:
drawing stores the fresh value, the seed and the result in the same statement that moves
the status, so two draws sent at once (a double click) store one value and one result; the
other gets 409 with the state it lost to. Issuing claims the draw first, then creates the
tasks in the same transaction, so a draw's tasks are created once.

Drawing and issuing first re-check what the definition checked (certification and ties,
`draws.require_pool_unchanged`) and issuing that no drawn site has an open 双随机 task; a
failed check is 409 and the draw stays as it was. Abandoning needs a reason, is audited,
and is shown on /public/ next to the draw's commitment; a drawn draw abandoned reveals its
secret and result too, so a re-roll (abandon, define again, draw again) is visible to all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models import Draw, DrawStatus, Role, User, utcnow
from server.services import audit, draws, tasks
from server.services import draw_algorithm as algorithm
from server.services.errors import Conflict, DomainError, ErrorCode, Forbidden, Invalid
from server.services.lifecycles.moves import claim, lost

STAFF = (Role.SUPERVISOR, Role.ADMIN)


class DrawAction(StrEnum):
    DRAW = "draw"
    ISSUE = "issue"
    ABANDON = "abandon"


@dataclass(frozen=True)
class Move:
    sources: tuple[DrawStatus, ...]
    target: DrawStatus
    roles: tuple[Role, ...]


MOVES: dict[DrawAction, Move] = {
    DrawAction.DRAW: Move((DrawStatus.COMMITTED,), DrawStatus.DRAWN, STAFF),
    DrawAction.ISSUE: Move((DrawStatus.DRAWN,), DrawStatus.ISSUED, STAFF),
    DrawAction.ABANDON: Move((DrawStatus.COMMITTED, DrawStatus.DRAWN), DrawStatus.ABANDONED, STAFF),
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
    draws.require_pool_unchanged(row)
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
    draws.require_pool_unchanged(row, pairs_only=True)
    draws.require_no_open_task(row)
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
    except IntegrityError:
        # Another draw's task for a drawn site was committed meanwhile: the open key
        # ("double_random:site:<id>") is unique among open tasks.
        db.session.rollback()
        busy = draws.open_double_random_sites([e["site_id"] for e in row.result or []])
        raise Conflict(
            ErrorCode.DRAW_SITE_HAS_OPEN_TASK,
            "所抽场所已有未完成的双随机任务 / a drawn site already has an open 双随机 task",
            {"site_ids": busy},
        ) from None
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


MAX_REASON = 2000


def abandon(user: User, draw_id: int, reason: str) -> Draw:
    """Give up a draw not yet issued, with a reason (required) that /public/ shows next to
    its commitment. Drawn draws may be abandoned too (a drawn site closed, an inspector
    left or became tied: the draw could never be issued and would block its population),
    but then the secret and result are published, so a re-roll cannot be hidden."""
    _require(user)
    row = draws.get_for(user, draw_id)
    if not can(user, row, DrawAction.ABANDON):
        raise _taken(row.status)
    reason = (reason or "").strip()
    visible = tasks.has_visible(reason)
    if not visible or len(reason) > MAX_REASON or any(ord(c) < 32 for c in reason):
        raise Invalid(
            ErrorCode.DRAW_INVALID,
            "须说明作废原因 / say why the draw is abandoned",
            {"reason": [f"required, printable, at most {MAX_REASON} characters"]},
        )
    move = MOVES[DrawAction.ABANDON]
    was = row.status
    if not claim(
        row,
        Draw.id,
        move.sources,
        move.target,
        abandoned_by=user.id,
        abandoned_at=utcnow(),
        abandon_reason=reason,
    ):
        raise _taken(lost(row, Draw.id))
    details: dict[str, Any] = {"reason": reason, "was": was}
    if row.seed is not None:
        details["secret"] = row.secret  # revealed, as an issue reveals it
    audit.record_action(user, "draw.abandoned", ("draw", str(row.id)), details, touched=[row])
    db.session.commit()
    return row
