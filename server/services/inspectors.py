"""Who may be drawn: inspectors' certificates (执法证号) and their declared conflicts.

A 双随机 draw pairs only certified inspectors (an active inspector account with a
certificate recorded here) and never sends an inspector to an enterprise they are tied to
(a conflict declared here, or an account linked to the enterprise). Both are set from the
server's command line by an administrator (`lantian-server users certify`, `users
conflict`) and audited.
"""

from __future__ import annotations

from sqlalchemy import select

from server.extensions import db
from server.models import Enterprise, InspectorConflict, InspectorCredential, Role, User
from server.services import audit
from server.services.errors import ErrorCode, Invalid, NotFound

MAX_CERTIFICATE = 40


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


def certify(username: str, certificate_no: str, actor: User | None = None) -> InspectorCredential:
    """Record (or replace) an inspector's certificate number."""
    user = _inspector(username)
    number = certificate_no.strip()
    if not number or len(number) > MAX_CERTIFICATE:
        raise Invalid(
            ErrorCode.USER_INVALID,
            "执法证号应为1-40个字符 / a certificate number has 1-40 characters",
            {"certificate_no": ["1..40 characters"]},
        )
    taken = db.session.scalar(
        select(InspectorCredential).where(InspectorCredential.certificate_no == number)
    )
    if taken is not None and taken.user_id != user.id:
        raise Invalid(
            ErrorCode.USER_INVALID,
            f"执法证号已被他人使用 / certificate {number} belongs to another inspector",
            {"certificate_no": ["already recorded for another inspector"]},
        )
    row = db.session.get(InspectorCredential, user.id)
    created = row is None
    if row is None:
        row = InspectorCredential(user_id=user.id, certificate_no=number)
        db.session.add(row)
    else:
        row.certificate_no = number
    db.session.flush()
    audit.record_action(
        actor,
        "inspector.certified",
        ("user", str(user.id)),
        {"certificate_no": number},
        created=[row] if created else (),
        touched=[] if created else [row],
    )
    return row


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
