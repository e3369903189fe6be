"""Issuing a notice (整改通知书): numbered, and holding the findings it claimed.

A notice has no status of its own: it is issued once, and its findings carry the
rectification. Issuing claims each finding with the finding lifecycle's conditional move
(open → notified), in id order so that two notices never wait on each other; if another
notice took any of them first, the whole transaction is rolled back, its number included,
and the request gets 409 `notice.findings_taken`. So a number is used only by a notice
that holds findings, and numbers stay gap-free per city and year.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import select

from server.extensions import db
from server.models import Enterprise, Finding, FindingStatus, Notice, Role, User
from server.services import audit, law, outbox
from server.services.clock import today
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound
from server.services.feeds import next_change_seq
from server.services.lifecycles import finding as finding_lifecycle
from server.services.notices import notice_number
from server.services.registry import visible_city

STAFF = (Role.SUPERVISOR, Role.ADMIN)


def can_issue(user: User) -> bool:
    """Whether this user issues notices at all (which findings: `finding.can_notify`)."""
    return user.role in STAFF


def actions(user: User, notice: Notice) -> list[str]:
    """What this user may do with the notice's findings now, each once: e.g. an enterprise
    `answer` while one waits for it, a supervisor `close`/`reopen` while one is answered."""
    found: dict[str, None] = {}
    for finding in notice.findings:
        found.update(dict.fromkeys(finding_lifecycle.actions(user, finding)))
    return list(found)


def issue(user: User, enterprise_id: int, finding_ids: list[int], deadline: date | None) -> Notice:
    """A notice to one enterprise for some of its open findings of approved inspections.

    Each finding is due `days_to_rectify` after today, or on `deadline` when one is given.
    """
    if not can_issue(user):
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可下发整改通知 / only supervisors issue notices"
        )
    enterprise = db.session.get(Enterprise, enterprise_id)
    scope = visible_city(user)
    if enterprise is None or (scope and enterprise.city != scope):
        raise NotFound(
            ErrorCode.ENTERPRISE_NOT_FOUND, f"企业不存在 / no enterprise {enterprise_id}"
        )
    ids = sorted(set(finding_ids))
    if not ids:
        raise Invalid(
            ErrorCode.NOTICE_INVALID,
            "至少选择一个问题 / choose at least one finding",
            {"finding_ids": ["empty"]},
        )
    findings = list(
        db.session.scalars(select(Finding).where(Finding.id.in_(ids)).order_by(Finding.id))
    )
    problems: dict[str, list[str]] = {}
    for missing in set(ids) - {f.id for f in findings}:
        problems[str(missing)] = ["不存在 / no such finding"]
    bases = law.findings_bases(findings)
    for finding in findings:
        if finding.enterprise_id != enterprise.id:
            problems[str(finding.id)] = ["不属于该企业 / belongs to another enterprise"]
        elif not finding_lifecycle.can_notify(user, finding):
            problems[str(finding.id)] = (
                [f"状态为 {finding.status} / already {finding.status}"]
                if finding.status != FindingStatus.OPEN
                else ["检查尚未审核通过 / its inspection is not approved yet"]
            )
        elif not bases[finding.id]:
            # A notice states the legal basis of each finding; without a duty in force to
            # cite (the governing plans say nothing binding there), it cannot be issued.
            problems[str(finding.id)] = [
                "无现行有效的依据可引用 / no duty in force for the site to cite as its basis"
            ]
    issued_on = today()
    if deadline is not None and deadline < issued_on:
        problems["deadline"] = ["不能早于今天 / must not be in the past"]
    if problems:
        raise Invalid(
            ErrorCode.NOTICE_INVALID,
            "无法下发整改通知 / cannot issue the notice",
            {"finding_ids": problems},
        )
    # The number and the claims commit or roll back together: numbers have no gaps, and a
    # notice whose findings another notice took first leaves nothing behind.
    seq = next_change_seq(f"notice:{enterprise.city}:{issued_on.year}")
    number = notice_number(enterprise.city, issued_on.year, seq)
    due = {f.id: deadline or issued_on + timedelta(days=f.days_to_rectify) for f in findings}
    for finding in findings:
        try:
            finding_lifecycle.notify(finding, due[finding.id], user, f"整改通知 {number}")
        except Conflict as taken:
            raise Conflict(
                ErrorCode.NOTICE_FINDINGS_TAKEN,
                "问题已被其他整改通知下发，请刷新 / another notice took these findings first",
                {"finding_ids": {str(finding.id): [taken.errors["status"]]}},
            ) from None
    notice = Notice(
        number=number,
        city=enterprise.city,
        year=issued_on.year,
        seq=seq,
        enterprise_id=enterprise.id,
        issued_by=user.id,
        deadline=max(due.values()),
        portal_token=secrets.token_urlsafe(24),
    )
    db.session.add(notice)
    for finding in findings:
        finding.notice = notice
    audit.record_notice(user, notice)
    outbox.record(
        "notice.issued",
        {
            "notice_id": notice.id,
            "number": notice.number,
            "enterprise_id": enterprise.id,
            "deadline": notice.deadline.isoformat(),
            "finding_ids": [finding.id for finding in findings],
        },
    )
    db.session.commit()
    return notice
