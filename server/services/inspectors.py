"""Who may be drawn: inspectors' certificates (执法证号) and their declared conflicts.

A 双随机 draw pairs only certified inspectors (an active inspector account with its 执法证号
on file, `users.badge_no`) and never sends an inspector to an enterprise they are tied to
(a conflict declared here, or an account linked to the enterprise). Both are set from the
server's command line by an administrator (`lantian-server users badge`, `users conflict`)
and audited.
"""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models import Enterprise, InspectorConflict, Role, User
from server.services import accounts, audit
from server.services.errors import ErrorCode, Invalid, NotFound


def _inspector(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(ErrorCode.USER_NOT_FOUND, f"用户不存在 / no user {username!r}")
    if user.role != Role.INSPECTOR:
        raise Invalid(
            ErrorCode.USER_INVALID,
            f"{username} 不是检查员 / {username} is not an inspector",
            {"username": ["not an inspector"]},
        )
    return user


def certify(username: str, certificate_no: str, actor: User | None = None) -> User:
    """Record an inspector's 执法证号 on the account (`accounts.set_badge`): the number the
    inspector signs records with is the one that makes them drawable."""
    _inspector(username)
    return accounts.set_badge(username, certificate_no, actor)


def declare_conflict(
    username: str, credit_code: str, reason: str, actor: User | None = None
) -> InspectorConflict:
    """Record that an inspector is tied to an enterprise (idempotent per pair)."""
    user = _inspector(username)
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.credit_code == credit_code.strip().upper())
    )
    if enterprise is None:
        raise NotFound(
            ErrorCode.ENTERPRISE_NOT_FOUND, f"企业不存在 / no enterprise {credit_code!r}"
        )
    row = db.session.scalar(
        select(InspectorConflict).where(
            InspectorConflict.user_id == user.id,
            InspectorConflict.enterprise_id == enterprise.id,
        )
    )
    if row is not None:
        return row
    row = InspectorConflict(user_id=user.id, enterprise_id=enterprise.id, reason=reason.strip())
    db.session.add(row)
    db.session.flush()
    audit.record_action(
        actor,
        "inspector.conflict_declared",
        ("user", str(user.id)),
        {"enterprise_id": enterprise.id, "reason": row.reason},
        created=[row],
    )
    return row
