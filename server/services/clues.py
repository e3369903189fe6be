"""Clues (问题线索): a complaint, a grid alarm, a monitoring exceedance or an inspector's own
report, with a place — matched to the registered sites nearby and answered by a task or a
dismissal before its response deadline.

The plans ask for exactly this: 依托环境监控平台和环境热点网格平台反映的问题线索开展精准执法
(003 二（八）33). Recording a clue is here; turning it into a task or dismissing it is the
clue lifecycle's (`lifecycles/clue.py`). `rates` gives the dashboard's response and closure
rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from evidence.flags import EARTH_RADIUS_M, distance_m
from server.extensions import db
from server.models import (
    Clue,
    ClueKind,
    ClueStatus,
    Role,
    Site,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from server.services import audit
from server.services.errors import ErrorCode, Forbidden, Invalid, NotFound
from server.services.registry import visible_city
from server.services.tasks import clean_text

STAFF = (Role.SUPERVISOR, Role.ADMIN)
MAX_MATCHES = 10
# When a clue can have been received: not before this, not ahead of the server's clock.
EARLIEST_RECEIVED = datetime(2000, 1, 1, tzinfo=utcnow().tzinfo)
LATEST_AHEAD = timedelta(minutes=10)


def nearby_sites(lat: float, lon: float, radius_m: float) -> list[tuple[Site, float]]:
    """Active registered sites with a location within `radius_m`, nearest first.

    A bounding box narrows the rows in the database (indexable, works the same on SQLite
    and PostgreSQL); the exact distance is computed here."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    query = (
        select(Site)
        .where(
            Site.active.is_(True),
            Site.lat.between(lat - dlat, lat + dlat),
            Site.lon.between(lon - dlon, lon + dlon),
        )
        .options(selectinload(Site.enterprise))
    )
    found = []
    for site in db.session.scalars(query):
        assert site.lat is not None and site.lon is not None
        distance = distance_m(lat, lon, site.lat, site.lon)
        if distance <= radius_m:
            found.append((site, distance))
    found.sort(key=lambda pair: (pair[1], pair[0].id))
    return found[:MAX_MATCHES]


def snapshot(clue: Clue) -> dict[str, Any]:
    return {"id": clue.id, "kind": clue.kind, "status": clue.status, "matches": clue.matches}


def record(user: User, fields: dict[str, Any]) -> Clue:
    """Store a clue with its matched sites and response deadline; audit `clue.received`.

    Supervisors and admins (and the platforms that post with their tokens) may send any
    kind; an inspector only their own report (`inspector_report`)."""
    if user.role not in (*STAFF, Role.INSPECTOR):
        raise Forbidden(ErrorCode.AUTH_FORBIDDEN, "无权登记线索 / you may not record clues")
    kind = fields["kind"]
    if kind not in {value.value for value in ClueKind}:
        raise Invalid(
            ErrorCode.CLUE_INVALID,
            "线索有误 / invalid clue",
            {"kind": [f"unknown kind {kind!r}"]},
        )
    if user.role == Role.INSPECTOR and kind != ClueKind.INSPECTOR_REPORT:
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN,
            "检查员只能登记自行发现的线索 / inspectors record their own reports only",
        )
    now = utcnow()
    received: datetime = fields.get("received_at") or now
    if received > now + LATEST_AHEAD or received < EARLIEST_RECEIVED:
        raise Invalid(
            ErrorCode.CLUE_INVALID,
            "线索有误 / invalid clue",
            {"received_at": ["不能晚于现在或早于2000年 / not in the future, not before 2000"]},
        )
    description = clean_text(fields["description"], "description", 2000, ErrorCode.CLUE_INVALID)
    external_ref = clean_text(
        fields.get("external_ref"), "external_ref", 80, ErrorCode.CLUE_INVALID
    )
    if not description:
        raise Invalid(
            ErrorCode.CLUE_INVALID, "线索有误 / invalid clue", {"description": ["required"]}
        )
    lat, lon = float(fields["lat"]), float(fields["lon"])
    radius = float(current_app.config["CLUE_RADIUS_M"])
    matches = nearby_sites(lat, lon, radius)
    scope = visible_city(user)
    city = scope or (matches[0][0].enterprise.city if matches else "")
    if scope:
        matches = [(site, d) for site, d in matches if site.enterprise.city == scope]
    clue = Clue(
        kind=kind,
        lat=lat,
        lon=lon,
        description=description,
        external_ref=external_ref,
        city=city,
        received_at=received,
        respond_by=received + timedelta(hours=float(current_app.config["CLUE_RESPONSE_HOURS"])),
        matches=[{"site_id": site.id, "distance_m": round(d, 1)} for site, d in matches],
        radius_m=radius,
        reported_by=user.id,
        dismiss_reason="",
    )
    db.session.add(clue)
    db.session.flush()
    audit.record_action(
        user, "clue.received", ("clue", str(clue.id)), snapshot(clue), created=[clue]
    )
    db.session.commit()
    return clue


def _scoped(user: User) -> Select[Any]:
    """Clues a supervisor may read: their city's, and those matched to no city yet."""
    if user.role not in STAFF:
        raise Forbidden(ErrorCode.AUTH_FORBIDDEN, "仅监管人员可查看线索 / supervisors only")
    query = select(Clue)
    city = visible_city(user)
    return query.where(Clue.city.in_([city, ""])) if city else query


def get_for(user: User, clue_id: int) -> Clue:
    clue = db.session.scalar(_scoped(user).where(Clue.id == clue_id))
    if clue is None:
        raise NotFound(ErrorCode.CLUE_NOT_FOUND, f"线索不存在 / no clue {clue_id}")
    return clue


def visible(user: User, status: str | None = None, limit: int = 500) -> list[Clue]:
    """Clues for this supervisor, those waiting first, by response deadline."""
    query = _scoped(user)
    if status:
        query = query.where(Clue.status == status)
    waiting_first = (Clue.status != ClueStatus.NEW.value).asc()
    query = query.order_by(waiting_first, Clue.respond_by, Clue.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def matched_sites(clues: list[Clue]) -> dict[int, Site]:
    ids = {match["site_id"] for clue in clues for match in clue.matches}
    if not ids:
        return {}
    query = select(Site).where(Site.id.in_(ids)).options(selectinload(Site.enterprise))
    return {site.id: site for site in db.session.scalars(query)}


@dataclass
class Rates:
    """The dashboard's clue figures.

    Response: of the clues whose deadline has passed or that were answered, those turned
    into a task or dismissed by their deadline. Closure: of the clues turned into tasks,
    those whose task was fulfilled."""

    total: int
    waiting: int
    late_waiting: int
    answerable: int
    answered_in_time: int
    tasked: int
    closed: int

    @property
    def response_rate(self) -> float | None:
        return self.answered_in_time / self.answerable if self.answerable else None

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.tasked if self.tasked else None


def rates(user: User) -> Rates:
    """Counted in the database, so the cost does not grow with rows read."""
    now = utcnow()
    base = _scoped(user).subquery()
    new = base.c.status == ClueStatus.NEW.value
    in_time = (~new) & (base.c.responded_at <= base.c.respond_by)
    answerable = (~new) | (base.c.respond_by < now)
    late = new & (base.c.respond_by < now)
    tasked = base.c.status == ClueStatus.TASKED.value

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(func.cast(condition, db.Integer)), 0)

    row = db.session.execute(
        select(
            func.count(),
            total(new),
            total(late),
            total(answerable),
            total(in_time),
            total(tasked),
        ).select_from(base)
    ).one()
    closed = (
        db.session.scalar(
            select(func.count())
            .select_from(base)
            .join(Task, Task.id == base.c.task_id)
            .where(Task.status == TaskStatus.FULFILLED.value)
        )
        or 0
    )
    return Rates(*(int(value) for value in row), closed=int(closed))
