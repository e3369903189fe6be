"""Issuing 整改通知书: numbered, gap-free per city and year, even under concurrent issuing."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import (
    Enterprise,
    Finding,
    FindingStatus,
    InspectionStatus,
    Notice,
    Role,
    Site,
    User,
)
from server.services import audit
from server.services.clock import today
from server.services.errors import ErrorCode, Forbidden, Invalid, NotFound
from server.services.feeds import next_change_seq
from server.services.findings import transition
from server.services.registry import visible_city
from server.storage import PhotoStore

# 文号 prefixes: the city's one-character abbreviation (太原 is 并).
CITY_ABBREVIATIONS = {"朔州": "朔", "长治": "长", "太原": "并", "高平": "高"}


def notice_number(city: str, year: int, seq: int) -> str:
    """E.g. 朔环整〔2026〕0007号."""
    return f"{CITY_ABBREVIATIONS.get(city, city[:1])}环整〔{year}〕{seq:04d}号"


def issue(user: User, enterprise_id: int, finding_ids: list[int], deadline: date | None) -> Notice:
    """A notice to one enterprise for some of its open findings of approved inspections.

    Each finding is due `days_to_rectify` after today, or on `deadline` when one is given.
    """
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "仅监管人员可下发整改通知 / only supervisors issue notices"
        )
    enterprise = db.session.get(Enterprise, enterprise_id)
    scope = visible_city(user)
    if enterprise is None or (scope and enterprise.city != scope):
        raise NotFound(
            ErrorCode.ENTERPRISE_NOT_FOUND, f"企业不存在 / no enterprise {enterprise_id}"
        )
    ids = list(dict.fromkeys(finding_ids))
    if not ids:
        raise Invalid(
            ErrorCode.NOTICE_INVALID,
            "至少选择一个问题 / choose at least one finding",
            {"finding_ids": ["empty"]},
        )
    findings = list(
        db.session.scalars(
            select(Finding).where(Finding.id.in_(ids)).order_by(Finding.id).with_for_update()
        )
    )
    problems: dict[str, list[str]] = {}
    for missing in set(ids) - {f.id for f in findings}:
        problems[str(missing)] = ["不存在 / no such finding"]
    for finding in findings:
        if finding.enterprise_id != enterprise.id:
            problems[str(finding.id)] = ["不属于该企业 / belongs to another enterprise"]
        elif finding.status != FindingStatus.OPEN:
            problems[str(finding.id)] = [f"状态为 {finding.status} / already {finding.status}"]
        elif finding.inspection.status != InspectionStatus.APPROVED:
            problems[str(finding.id)] = ["检查尚未审核通过 / its inspection is not approved yet"]
    issued_on = today()
    if deadline is not None and deadline < issued_on:
        problems["deadline"] = ["不能早于今天 / must not be in the past"]
    if problems:
        raise Invalid(
            ErrorCode.NOTICE_INVALID,
            "无法下发整改通知 / cannot issue the notice",
            {"finding_ids": problems},
        )
    # The increment commits or rolls back with the notice itself: numbers have no gaps.
    seq = next_change_seq(f"notice:{enterprise.city}:{issued_on.year}")
    due = {f.id: deadline or issued_on + timedelta(days=f.days_to_rectify) for f in findings}
    notice = Notice(
        number=notice_number(enterprise.city, issued_on.year, seq),
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
        finding.due_date = due[finding.id]
        transition(finding, FindingStatus.NOTIFIED, user, f"整改通知 {notice.number}")
    audit.record_notice(user, notice)
    db.session.commit()
    return notice


def get(user: User, notice_id: int) -> Notice:
    """A notice its reader may see: the enterprise's own users, supervisors of its city."""
    notice = db.session.get(Notice, notice_id)
    hidden = NotFound(ErrorCode.NOTICE_NOT_FOUND, f"通知不存在 / no notice {notice_id}")
    if notice is None:
        raise hidden
    if user.role == Role.ENTERPRISE and user.enterprise_id != notice.enterprise_id:
        raise hidden
    if user.role == Role.INSPECTOR:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "检查员不查看整改通知 / inspectors do not read notices"
        )
    scope = visible_city(user) if user.role != Role.ENTERPRISE else None
    if scope and notice.city != scope:
        raise hidden
    return notice


def by_portal_token(user: User, token: str) -> Notice:
    """The notice a QR code points to; the reader must still be allowed to see it."""
    notice = db.session.scalar(select(Notice).where(Notice.portal_token == token))
    if notice is None:
        raise NotFound(ErrorCode.NOTICE_NOT_FOUND, "通知不存在 / no such notice")
    return get(user, notice.id)


def portal_url(public_url: str, notice: Notice) -> str:
    """Where the notice's QR code leads: the enterprise portal, which still asks for a login."""
    return f"{public_url.rstrip('/')}/portal/notices/{notice.portal_token}"


def enterprise_of(notice: Notice) -> Enterprise:
    enterprise = db.session.get(Enterprise, notice.enterprise_id)
    assert enterprise is not None
    return enterprise


def pdf(notice: Notice, public_url: str, store: PhotoStore) -> bytes:
    """The notice as a printable PDF with its QR code."""
    from server.services import checklists as checklist_store
    from server.services.notice_pdf import render

    rows = []
    for finding in notice.findings:
        version = finding.inspection.checklist_version
        item = checklist_store.get_rules(finding.checklist_id, version).item(finding.item_code)
        site = db.session.get(Site, finding.site_id)
        inspector = db.session.get(User, finding.inspection.inspector_id)
        assert item is not None and site is not None and inspector is not None
        rows.append((finding, item, site, inspector))
    return render(notice, enterprise_of(notice), rows, portal_url(public_url, notice), store)


def visible(user: User, limit: int = 200) -> list[Notice]:
    """The latest notices a reader may see: an enterprise its own, supervisors their city's."""
    query = select(Notice).order_by(Notice.issued_at.desc(), Notice.id.desc()).limit(limit)
    if user.role == Role.ENTERPRISE:
        query = query.where(Notice.enterprise_id == user.enterprise_id)
    elif user.role == Role.INSPECTOR:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "检查员不查看整改通知 / inspectors do not read notices"
        )
    elif scope := visible_city(user):
        query = query.where(Notice.city == scope)
    return list(db.session.scalars(query.options(selectinload(Notice.findings))))
