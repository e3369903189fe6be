"""Heavy-pollution alerts: declared by supervisors for their cities, read by every device.

The alert level in force for a site's city is what the heavy-pollution-response checklist
reads (its item HP-00): the highest level among the alerts covering the city at that moment.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.extensions import db
from server.models import Alert, AlertLevel, Role, User, utcnow
from server.services import audit, law
from server.services.errors import Conflict, ErrorCode, Forbidden, Invalid

# The checklist whose item HP-00 reads the level in force.
CHECKLIST_ID = "heavy-pollution-response"
# Higher is stricter: where two alerts overlap, the stricter level governs.
LEVEL_RANK = {AlertLevel.YELLOW: 1, AlertLevel.ORANGE: 2, AlertLevel.RED: 3}
# A line the list stops may draw lighting and frost-protection power; above this share of
# its normal load it is taken to be producing (the field client flags the same).
STOPPED_LINE_POWER_SHARE = 0.05
MAX_DAYS = 31  # plans declare alerts for days, never for a season
MAX_BACKDATING = timedelta(hours=24)


def _city_codes(user: User, names: list[str]) -> list[str]:
    """The GB/T 2260 codes of the named cities; a supervisor may name only their own city."""
    governance = law.governance()
    codes: list[str] = []
    unknown = [name for name in names if governance.city(name) is None]
    if unknown:
        known = ", ".join(city.name for city in governance.cities)
        raise Invalid(
            ErrorCode.ALERT_INVALID,
            f"未知城市 / unknown city: {', '.join(unknown)}",
            {"cities": [f"unknown: {', '.join(unknown)}; known: {known}"]},
        )
    for name in names:
        city = governance.city(name)
        assert city is not None
        if city.code not in codes:
            codes.append(city.code)
    own = _user_city_code(user)
    if own is not None and any(code != own for code in codes):
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN,
            "只能为本市发布预警 / you may declare alerts for your own city only",
        )
    return codes


def _user_city_code(user: User) -> str | None:
    """The code of the one city a user is limited to, or None for every city (admins)."""
    if user.role == Role.ADMIN or not user.city:
        return None
    city = law.governance().city(user.city)
    return city.code if city is not None else user.city


def snapshot(alert: Alert) -> dict[str, Any]:
    """An alert as the audit log keeps it."""
    return {
        "id": alert.id,
        "level": alert.level,
        "city_codes": list(alert.city_codes),
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat(),
        "declared_by": alert.declared_by,
        "reason": alert.reason,
    }


def declare(user: User, fields: dict[str, Any]) -> Alert:
    """Store a new alert and its audit entry; the period must be forward and at most a month.

    Only supervisors and admins declare alerts, whichever door (API or page) they come by.
    """
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden(
            ErrorCode.AUTH_FORBIDDEN, "只有监管人员可发布预警 / only supervisors declare alerts"
        )
    starts_at: datetime = fields.get("starts_at") or utcnow()
    ends_at: datetime = fields["ends_at"]
    if ends_at <= starts_at:
        raise Invalid(
            ErrorCode.ALERT_INVALID,
            "预警结束时间须晚于开始时间 / the alert must end after it starts",
            {"ends_at": ["must be later than starts_at"]},
        )
    if (ends_at - starts_at).days >= MAX_DAYS:
        raise Invalid(
            ErrorCode.ALERT_INVALID,
            f"预警期不得超过{MAX_DAYS}天 / an alert lasts at most {MAX_DAYS} days",
            {"ends_at": [f"at most {MAX_DAYS} days after starts_at"]},
        )
    if ends_at <= utcnow():
        raise Invalid(
            ErrorCode.ALERT_INVALID,
            "预警结束时间已过 / the alert would already be over",
            {"ends_at": ["must be in the future"]},
        )
    if starts_at < utcnow() - MAX_BACKDATING:
        # Recorded late the same day is common; weeks back would rewrite which level bound
        # inspections already judged and flagged.
        raise Invalid(
            ErrorCode.ALERT_INVALID,
            "预警开始时间不得早于24小时前 / an alert cannot start more than 24 hours ago",
            {"starts_at": ["at most 24 hours in the past"]},
        )
    request_id: uuid.UUID | None = fields.get("request_id")
    alert = Alert(
        level=AlertLevel(fields["level"]).value,
        city_codes=_city_codes(user, fields["cities"]),
        starts_at=starts_at,
        ends_at=ends_at,
        declared_by=user.id,
        reason=fields["reason"].strip(),
        request_id=request_id,
    )
    if request_id is not None and (earlier := _by_request(request_id)) is not None:
        return _same_declaration(earlier, alert)
    db.session.add(alert)
    try:
        db.session.flush()
    except IntegrityError:
        # The same request, declared by a concurrent request an instant earlier.
        db.session.rollback()
        earlier = _by_request(request_id) if request_id is not None else None
        if earlier is None:
            raise
        return _same_declaration(earlier, alert)
    audit.record_action(
        user, "alert.declared", ("alert", str(alert.id)), snapshot(alert), created=[alert]
    )
    db.session.commit()
    return alert


def _by_request(request_id: uuid.UUID) -> Alert | None:
    return db.session.scalar(select(Alert).where(Alert.request_id == request_id))


def _same_declaration(earlier: Alert, sent: Alert) -> Alert:
    """A resent declaration answers with the alert it made; another one under the same
    request id is a conflict (never a second alert, never a silent change)."""
    same = (earlier.declared_by, earlier.level, earlier.city_codes, earlier.reason) == (
        sent.declared_by,
        sent.level,
        sent.city_codes,
        sent.reason,
    )
    if not same or earlier.ends_at != sent.ends_at:
        raise Conflict(
            ErrorCode.ALERT_CONFLICT,
            f"此请求号已发布过另一预警 / request {earlier.request_id} already declared alert "
            f"{earlier.id}, with other content",
        )
    return earlier


def visible(user: User, in_force: bool, at: datetime | None = None) -> list[Alert]:
    """Alerts covering the user's city (every city for admins), newest first; with
    `in_force`, only those in force at `at` (now)."""
    query = select(Alert).order_by(Alert.starts_at.desc(), Alert.id.desc())
    if in_force:
        moment = at or utcnow()
        query = query.where(Alert.starts_at <= moment, Alert.ends_at > moment)
    rows = list(db.session.scalars(query))
    own = _user_city_code(user)
    return [row for row in rows if own is None or own in row.city_codes]


def level_in_force(city_code: str | None, at: datetime | None = None) -> str | None:
    """The strictest level in force for a city at `at` (now), or None when no alert is."""
    if not city_code:
        return None
    moment = at or utcnow()
    query = select(Alert).where(Alert.starts_at <= moment, Alert.ends_at > moment)
    levels = [
        AlertLevel(row.level) for row in db.session.scalars(query) if city_code in row.city_codes
    ]
    return max(levels, key=LEVEL_RANK.__getitem__).value if levels else None


def city_names(alert: Alert) -> list[str]:
    """The alert's cities by name, for pages."""
    governance = law.governance()
    names = []
    for code in alert.city_codes:
        city = governance.city(code)
        names.append(city.name if city is not None else code)
    return names
