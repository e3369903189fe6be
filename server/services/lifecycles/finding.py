"""The finding lifecycle: the one place a finding's status changes.

    open ──notice──▶ notified ──answer──▶ answered ──close──▶ closed (销号)
                                   ▲                │
                                   └────answer── reopened ◀──reopen──┘
    open ──a revision no longer fails the item──▶ withdrawn
    answered ──request_verification (a re-inspection task)──▶ answered, then that task's
        inspection, not a click: item compliant ──▶ closed; otherwise ──▶ reopened

`MOVES` is the table: each move, the statuses it starts from, the status it ends in and
the roles that may make it. Every move is a conditional update (`moves.claim`) with its
`FindingEvent` (who, when, why); the use cases here (`answer`, `verify`) and the callers of
`notify` and `withdraw` (the notice and review lifecycles) record the audit entry in the
same transaction. Pages and the API ask `actions`/`can_answer`/`can_verify`/`can_notify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from server.extensions import db
from server.models import (
    Finding,
    FindingEvent,
    FindingResponse,
    FindingStatus,
    Inspection,
    InspectionStatus,
    ResponsePhoto,
    Role,
    Task,
    TaskReason,
    User,
    utcnow,
)
from server.services import audit, outbox, photo_access, tasks
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid
from server.services.findings import MAX_PHOTOS_PER_ANSWER, get
from server.services.lifecycles.moves import claim, lost

STAFF = (Role.SUPERVISOR, Role.ADMIN)


class FindingAction(StrEnum):
    """What a person may do with a finding (the API's `actions`)."""

    NOTIFY = "notify"
    ANSWER = "answer"
    CLOSE = "close"
    REOPEN = "reopen"
    REQUEST_VERIFICATION = "request_verification"


@dataclass(frozen=True)
class Move:
    sources: tuple[FindingStatus, ...]
    target: FindingStatus
    roles: tuple[Role, ...]


MOVES: dict[FindingAction, Move] = {
    FindingAction.NOTIFY: Move((FindingStatus.OPEN,), FindingStatus.NOTIFIED, STAFF),
    FindingAction.ANSWER: Move(
        (FindingStatus.NOTIFIED, FindingStatus.REOPENED), FindingStatus.ANSWERED, (Role.ENTERPRISE,)
    ),
    FindingAction.CLOSE: Move((FindingStatus.ANSWERED,), FindingStatus.CLOSED, STAFF),
    FindingAction.REOPEN: Move((FindingStatus.ANSWERED,), FindingStatus.REOPENED, STAFF),
}
# Not a person's action: a revision of the inspection made the item pass.
WITHDRAW = Move((FindingStatus.OPEN,), FindingStatus.WITHDRAWN, (Role.INSPECTOR,))
# A supervisor asks for on-site verification: the finding stays answered (the move locks it
# against a close by click made at the same moment), and a re-inspection task is created.
REQUEST_VERIFICATION = Move((FindingStatus.ANSWERED,), FindingStatus.ANSWERED, STAFF)
# Not a click: the inspection that fulfils the re-inspection task closes or reopens it.
CLOSE_ON_SITE = Move((FindingStatus.ANSWERED,), FindingStatus.CLOSED, (Role.INSPECTOR,))
REOPEN_ON_SITE = Move((FindingStatus.ANSWERED,), FindingStatus.REOPENED, (Role.INSPECTOR,))


def _allows(move: Move, user: User, finding: Finding) -> bool:
    return user.role in move.roles and FindingStatus(finding.status) in move.sources


def can_answer(user: User, finding: Finding) -> bool:
    """The enterprise may answer: the finding waits for it (notified or reopened)."""
    return _allows(MOVES[FindingAction.ANSWER], user, finding) and (
        finding.enterprise_id == user.enterprise_id
    )


def can_verify(user: User, finding: Finding) -> bool:
    """A supervisor may close or reopen: the enterprise has answered, and no on-site
    verification was asked for (then its inspection decides, not a click)."""
    return _allows(MOVES[FindingAction.CLOSE], user, finding) and (
        tasks.open_verification(finding.id) is None
    )


def can_request_verification(user: User, finding: Finding) -> bool:
    """A supervisor may ask for an on-site re-inspection before 销号: answered, none asked."""
    return _allows(REQUEST_VERIFICATION, user, finding) and (
        tasks.open_verification(finding.id) is None
    )


def can_notify(user: User, finding: Finding) -> bool:
    """A supervisor may put the finding in a notice: open, of an approved inspection."""
    return (
        _allows(MOVES[FindingAction.NOTIFY], user, finding)
        and finding.inspection.status == InspectionStatus.APPROVED
    )


def actions(user: User, finding: Finding) -> list[str]:
    """What this user may do with this finding now, in the order pages show them."""
    allowed = []
    if can_notify(user, finding):
        allowed.append(FindingAction.NOTIFY.value)
    if can_answer(user, finding):
        allowed.append(FindingAction.ANSWER.value)
    if can_verify(user, finding):
        allowed += [
            FindingAction.CLOSE.value,
            FindingAction.REOPEN.value,
            FindingAction.REQUEST_VERIFICATION.value,
        ]
    return allowed


def _move(
    finding: Finding,
    move: Move,
    actor: User,
    reason: str,
    code: ErrorCode,
    **values: object,
) -> None:
    """Make the move if the stored status is still the one read (and the move starts from
    it), and record its event; else 409 with the current state (all rolled back). Claiming
    from the status read, not any source, keeps the event's `from` true."""
    current = FindingStatus(finding.status)
    expected = (current,) if current in move.sources else ()
    if not claim(finding, Finding.id, expected, move.target, updated_at=utcnow(), **values):
        now = lost(finding, Finding.id)
        raise Conflict(
            code,
            f"问题状态已变为 {now}，请刷新 / the finding is now {now}: someone acted first",
            {"status": now},
        )
    db.session.add(
        FindingEvent(
            finding=finding,
            from_status=current.value,
            to_status=move.target.value,
            actor_id=actor.id,
            reason=reason,
        )
    )


def notify(finding: Finding, due: date, actor: User, reason: str) -> None:
    """Claim an open finding for a notice being issued, due on `due`; 409 when another
    notice took it first. The notice lifecycle links it to the notice and records the audit
    entry (`notice.issued`)."""
    _move(
        finding,
        MOVES[FindingAction.NOTIFY],
        actor,
        reason,
        ErrorCode.NOTICE_FINDINGS_TAKEN,
        due_date=due,
    )


def withdraw(finding: Finding, actor: User) -> None:
    """An open finding whose item passes in a new revision: kept, no longer a finding. The
    caller records the audit entry (`inspection.revised`)."""
    _move(
        finding,
        WITHDRAW,
        actor,
        f"第{finding.inspection.revision}版中此项合格 / the item passes in revision "
        f"{finding.inspection.revision}",
        ErrorCode.FINDING_CONFLICT,
    )


def answer(user: User, finding_id: int, text: str, photos: list[str]) -> Finding:
    """The enterprise answers a notified (or reopened) finding with what it did and photos."""
    if user.role != Role.ENTERPRISE:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅企业用户可答复 / only the enterprise answers its findings"
        )
    finding = get(user, finding_id)
    if not can_answer(user, finding):
        raise not_now(finding, ErrorCode.FINDING_NOT_ANSWERABLE, "答复 / answered")
    if not text.strip():
        raise Invalid(
            ErrorCode.FINDING_INVALID,
            "须说明整改情况 / describe what was done",
            {"text": ["required"]},
        )
    if len(set(photos)) > MAX_PHOTOS_PER_ANSWER:
        raise Invalid(
            ErrorCode.FINDING_INVALID,
            f"最多{MAX_PHOTOS_PER_ANSWER}张照片 / at most {MAX_PHOTOS_PER_ANSWER} photos an answer",
            {"photos": [f"at most {MAX_PHOTOS_PER_ANSWER}"]},
        )
    # Only photos the enterprise sent itself (or may already read): knowing a hash is not enough.
    hashes = photo_access.citable(user, photos)
    _move(
        finding, MOVES[FindingAction.ANSWER], user, text.strip(), ErrorCode.FINDING_NOT_ANSWERABLE
    )
    db.session.add(
        FindingResponse(
            finding=finding,
            user_id=user.id,
            text=text.strip(),
            evidence=[ResponsePhoto(photo_sha256=sha, position=i) for i, sha in enumerate(hashes)],
        )
    )
    audit.record_finding(user, "finding.answered", finding)
    outbox.record("finding.answered", _event_data(finding))
    db.session.commit()
    return finding


def verify(user: User, finding_id: int, accepted: bool, comment: str) -> Finding:
    """The supervisor closes an answered finding (销号) or reopens it with a reason."""
    if user.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可核验 / only supervisors verify rectification"
        )
    finding = get(user, finding_id)
    if not _allows(MOVES[FindingAction.CLOSE], user, finding):
        raise not_now(finding, ErrorCode.FINDING_NOT_VERIFIABLE, "核验 / verified")
    _no_pending_verification(finding)
    comment = comment.strip()
    if accepted:
        _move(
            finding,
            MOVES[FindingAction.CLOSE],
            user,
            comment,
            ErrorCode.FINDING_NOT_VERIFIABLE,
            closed_at=utcnow(),
            closed_by=user.id,
        )
    else:
        if not comment:
            raise Invalid(
                ErrorCode.FINDING_INVALID,
                "退回须说明原因 / say why the evidence is not enough",
                {"comment": ["required when not accepted"]},
            )
        _move(finding, MOVES[FindingAction.REOPEN], user, comment, ErrorCode.FINDING_NOT_VERIFIABLE)
    audit.record_finding(user, "finding.verified", finding)
    # Asked again now that the finding's row is ours: a verification requested a moment ago
    # (committed while this move waited for the lock) is seen here, and wins. (After the
    # entry is queued: the query flushes the move's event, which the entry must list.)
    try:
        _no_pending_verification(finding)
    except Conflict:
        db.session.rollback()
        raise
    kind = "finding.closed" if accepted else "finding.reopened"
    outbox.record(kind, _event_data(finding, comment=comment))
    db.session.commit()
    return finding


def _event_data(finding: Finding, **extra: str) -> dict[str, object]:
    """What a finding's event says: which finding, of which notice and enterprise, now."""
    return {
        "finding_id": finding.id,
        "status": finding.status,
        "item_code": finding.item_code,
        "notice_id": finding.notice_id,
        "enterprise_id": finding.enterprise_id,
        "inspection_id": str(finding.inspection_uuid),
        **extra,
    }


def _no_pending_verification(finding: Finding) -> None:
    task = tasks.open_verification(finding.id)
    if task is not None:
        raise Conflict(
            ErrorCode.FINDING_VERIFICATION_PENDING,
            f"已要求现场复查（任务 {task.id}），须由复查结果销号；如不再需要请先取消该任务 / an "
            f"on-site re-inspection (task {task.id}) decides this finding; cancel the task to "
            "decide by hand",
            {"task_id": task.id, "status": finding.status},
        )


def request_verification(
    user: User,
    finding_id: int,
    *,
    due_on: date,
    inspector_ids: list[int],
    note: str = "",
) -> Task:
    """Ask for on-site verification of an answered finding before 销号: a re-inspection task
    (reason `reinspection`) of the finding's site with its checklist. From then on only that
    task's inspection closes or reopens the finding (`verify_on_site`), until the task is
    cancelled. 409 if the finding was closed, reopened or already sent for verification."""
    if user.role not in STAFF:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN,
            "仅监管人员可要求复查 / only supervisors ask for re-inspection",
        )
    note = tasks.clean_text(note, "note", tasks.MAX_NOTE)
    finding = get(user, finding_id)
    if not _allows(REQUEST_VERIFICATION, user, finding):
        raise not_now(
            finding, ErrorCode.FINDING_NOT_VERIFIABLE, "要求复查 / sent for re-inspection"
        )
    _no_pending_verification(finding)
    reason = f"要求现场复查后销号 / on-site verification before closing. {note.strip()}".strip()
    _move(finding, REQUEST_VERIFICATION, user, reason, ErrorCode.FINDING_NOT_VERIFIABLE)
    # Queued before anything flushes the move's event, which the entry must list.
    audit.record_finding(user, "finding.verification_requested", finding)
    try:
        # Asked again with the finding's row ours: a request made a moment ago wins.
        _no_pending_verification(finding)
    except Conflict:
        db.session.rollback()
        raise
    task = tasks.create_task(
        actor=user,
        site_ids=[finding.site_id],
        checklist_id=finding.checklist_id,
        due_on=due_on,
        inspector_ids=inspector_ids,
        reason=TaskReason.REINSPECTION.value,
        note=note or f"复查问题 {finding.item_code} / verify finding {finding.id}",
        source_ref=f"finding:{finding.id}",
        finding_id=finding.id,
        open_key=f"verify:finding:{finding.id}",
        commit=False,
    )
    db.session.commit()
    return task


def verify_on_site(finding_id: int, inspection: Inspection, actor: User, task: Task) -> None:
    """The re-inspection `task` was fulfilled by `inspection`: close the finding if the item
    is compliant there, else reopen it for the enterprise. Inside the inspection's
    transaction; never raises for a finding no longer answered (the inspection is stored
    whatever the finding's state)."""
    finding = db.session.get(Finding, finding_id)
    if finding is None or finding.status != FindingStatus.ANSWERED.value:
        return
    verdict = next(
        (answer.verdict for answer in inspection.answers if answer.item_code == finding.item_code),
        None,
    )
    passed = verdict == "compliant"
    move = CLOSE_ON_SITE if passed else REOPEN_ON_SITE
    extra: dict[str, object] = {"closed_at": utcnow(), "closed_by": actor.id} if passed else {}
    if not claim(finding, Finding.id, move.sources, move.target, updated_at=utcnow(), **extra):
        return
    if passed:
        why = f"现场复查合格 / compliant on re-inspection {inspection.uuid} (task {task.id})"
    else:
        why = (
            f"现场复查未通过（{verdict or '未检查此项'}）/ not compliant on re-inspection "
            f"{inspection.uuid} (task {task.id}): {verdict or 'item not inspected'}"
        )
    db.session.add(
        FindingEvent(
            finding=finding,
            from_status=FindingStatus.ANSWERED.value,
            to_status=move.target.value,
            actor_id=actor.id,
            reason=why,
        )
    )
    audit.record_finding(actor, "finding.verified_on_site", finding)
    kind = "finding.closed" if passed else "finding.reopened"
    outbox.record(kind, _event_data(finding, comment=why))


def not_now(finding: Finding, code: ErrorCode, verb: str) -> Conflict:
    """409 for a move the finding's current status does not allow (`verb`: "中文 / English")."""
    zh, en = verb.split(" / ")
    return Conflict(
        code,
        f"问题状态为 {finding.status}，现在不能{zh} / a {finding.status} finding cannot be "
        f"{en} now",
        {"status": finding.status},
    )
