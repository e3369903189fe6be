"""整改通知书: their numbers, who may read them, their PDF (issuing: lifecycles/notice.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.extensions import db
from server.models import (
    Enterprise,
    Notice,
    Role,
    Site,
    User,
)
from server.services.errors import ErrorCode, Forbidden, NotFound
from server.services.registry import visible_city
from server.storage import PhotoStore

# 文号 prefixes: the city's one-character abbreviation (太原 is 并).
CITY_ABBREVIATIONS = {"朔州": "朔", "长治": "长", "太原": "并", "高平": "高"}


def notice_number(city: str, year: int, seq: int) -> str:
    """E.g. 朔环整〔2026〕0007号."""
    return f"{CITY_ABBREVIATIONS.get(city, city[:1])}环整〔{year}〕{seq:04d}号"


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
