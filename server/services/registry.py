"""Enterprises and sites: listing, the sites change feed, and saving with change numbers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.models import Enterprise, Role, Site, User
from server.services import audit, law
from server.services.errors import ErrorCode, Forbidden, Invalid, NotFound
from server.services.feeds import next_change_seq, parse_cursor

SITES_FEED = "sites"


def new_qr_token() -> str:
    """An unguessable token printed on a site's label."""
    return secrets.token_urlsafe(24)


def visible_city(user: User) -> str | None:
    """The city a user is limited to, or None for all cities."""
    return None if user.role == Role.ADMIN else user.city


def list_enterprises(user: User, city: str | None, page: int, per_page: int) -> tuple[list, int]:
    """Enterprises the user may see, filtered by city, one page at a time."""
    query = select(Enterprise).order_by(Enterprise.id)
    scope = visible_city(user)
    if scope:
        query = query.where(Enterprise.city == scope)
    if city:
        query = query.where(Enterprise.city == city)
    total = db.session.scalar(select(db.func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def enterprises_in_scope(user: User) -> dict[int, Enterprise]:
    """Every enterprise the user may pick from, by name: a city's supervisor, their city's."""
    query = select(Enterprise).order_by(Enterprise.name)
    city = visible_city(user)
    if city:
        query = query.where(Enterprise.city == city)
    return {e.id: e for e in db.session.scalars(query)}


def get_enterprise(user: User, enterprise_id: int) -> Enterprise:
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFound(
            ErrorCode.ENTERPRISE_NOT_FOUND, f"企业不存在 / no enterprise {enterprise_id}"
        )
    scope = visible_city(user)
    if scope and enterprise.city != scope:
        raise NotFound(
            ErrorCode.ENTERPRISE_NOT_FOUND, f"企业不存在 / no enterprise {enterprise_id}"
        )
    return enterprise


def sites_since(user: User, cursor: str | None, limit: int) -> tuple[Sequence[Site], str, bool]:
    """Sites changed after the cursor (inactive ones too, so devices drop them).

    Returns the sites, the cursor to send next time and whether more are waiting.
    """
    since = parse_cursor(cursor)
    query = (
        select(Site)
        .join(Site.enterprise)
        .where(Site.change_seq > since)
        .order_by(Site.change_seq)
        .limit(limit + 1)
    )
    scope = visible_city(user)
    if scope:
        query = query.where(Enterprise.city == scope)
    rows = list(db.session.scalars(query))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = str(rows[-1].change_seq) if rows else str(since)
    return rows, next_cursor, has_more


def get_site(user: User, site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None:
        raise NotFound(ErrorCode.SITE_NOT_FOUND, f"场所不存在 / no site {site_id}")
    scope = visible_city(user)
    if scope and site.enterprise.city != scope:
        raise NotFound(ErrorCode.SITE_NOT_FOUND, f"场所不存在 / no site {site_id}")
    return site


def site_by_qr(user: User, token: str) -> Site:
    """The site whose printed label carries this token."""
    site = db.session.scalar(select(Site).where(Site.qr_token == token))
    if site is None:
        raise NotFound(
            ErrorCode.SITE_NOT_FOUND, "二维码不对应任何场所 / this QR code resolves no site"
        )
    return get_site(user, site.id)


def require_enterprise_access(user: User, enterprise_id: int) -> None:
    """Enterprise users reach only their own enterprise."""
    if user.role == Role.ENTERPRISE and user.enterprise_id != enterprise_id:
        raise Forbidden(ErrorCode.AUTH_FORBIDDEN, "无权访问其他企业 / not your enterprise")


def save_enterprise(fields: dict[str, Any]) -> Enterprise:
    """Insert or update an enterprise by credit code.

    Its city is stored by the deployment's canonical name and GB/T 2260 code (朔州市,
    Shuozhou → 朔州, 140600); a city the deployment does not know is refused, never guessed.
    """
    city = law.governance().city(fields.get("city"))
    if city is None:
        raise Invalid(
            ErrorCode.REGISTRY_UNKNOWN_CITY,
            f"未知城市 / unknown city {fields.get('city')!r}",
            {"city": [f"known: {', '.join(c.name for c in law.governance().cities)}"]},
        )
    fields = {**fields, "city": city.name, "city_code": city.code}
    enterprise = db.session.scalar(
        select(Enterprise).where(Enterprise.credit_code == fields["credit_code"])
    )
    if enterprise is None:
        enterprise = Enterprise(**fields)
        db.session.add(enterprise)
    else:
        for key, value in fields.items():
            setattr(enterprise, key, value)
    audit.record_registry(enterprise)
    db.session.flush()
    return enterprise


def save_site(enterprise: Enterprise, fields: dict[str, Any]) -> Site:
    """Insert or update a site by its code, giving it the next change number.

    A site is governed by its own city's plans; unless told otherwise, that is its
    enterprise's city.
    """
    fields = {"city_code": enterprise.city_code, **fields}
    site = db.session.scalar(select(Site).where(Site.code == fields["code"]))
    if site is None:
        seq = next_change_seq(SITES_FEED)
        site = Site(enterprise_id=enterprise.id, qr_token=new_qr_token(), change_seq=seq, **fields)
        db.session.add(site)
        audit.record_registry(site)
        db.session.flush()
        return site
    changed = site.enterprise_id != enterprise.id or any(
        getattr(site, key) != value for key, value in fields.items()
    )
    if changed:
        seq = next_change_seq(SITES_FEED)
        site.enterprise_id = enterprise.id
        for key, value in fields.items():
            setattr(site, key, value)
        site.change_seq = seq
        audit.record_registry(site)
        db.session.flush()
    return site


def site_for_label(token: str) -> Site | None:
    """The site of a printed label, for its public page (no user: the label is public)."""
    return db.session.scalar(select(Site).where(Site.qr_token == token, Site.active.is_(True)))
