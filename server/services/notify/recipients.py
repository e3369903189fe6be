"""Who is mailed: active users with an address, by role and by what they are responsible for."""

from __future__ import annotations

from sqlalchemy import or_, select

from server.extensions import db
from server.models import Role, User


def _active_with_email():  # type: ignore[no-untyped-def]
    return select(User).where(User.active.is_(True), User.email.is_not(None), User.email != "")


def enterprise_users(enterprise_id: int) -> list[User]:
    """The enterprise's own accounts: they receive its notices and reminders."""
    return list(
        db.session.scalars(
            _active_with_email()
            .where(User.role == Role.ENTERPRISE.value, User.enterprise_id == enterprise_id)
            .order_by(User.id)
        )
    )


def supervisors(city: str | None) -> list[User]:
    """Supervisors of the city (or of every city)."""
    query = _active_with_email().where(User.role == Role.SUPERVISOR.value)
    if city is not None:
        query = query.where(or_(User.city.is_(None), User.city == city))
    return list(db.session.scalars(query.order_by(User.id)))


def users(ids: list[int]) -> list[User]:
    """These users, if active and with an address (e.g. a task's two inspectors)."""
    return list(db.session.scalars(_active_with_email().where(User.id.in_(ids)).order_by(User.id)))
