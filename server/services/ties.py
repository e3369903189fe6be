"""Ties (回避): which inspectors may not inspect which enterprises.

An inspector is tied to an enterprise when a conflict is declared for the pair
(`InspectorConflict`: a relative works there, a former employer, a shareholding…) or when the
inspector's own account is linked to that enterprise (`users.enterprise_id`). The draw (which
never pairs a tied inspector with the enterprise's sites) and ordinary task creation and
reassignment (which refuse one) ask here, so the rule is written once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from server.extensions import db
from server.models import InspectorConflict, User


def tied_enterprises(users: Iterable[User], enterprise_ids: set[int]) -> dict[int, list[int]]:
    """For each user (by id), the enterprises among `enterprise_ids` they are tied to,
    ascending; every user is a key, with [] when tied to none."""
    pool = list(users)
    tied: dict[int, set[int]] = {user.id: set() for user in pool}
    for user in pool:
        if user.enterprise_id in enterprise_ids:
            tied[user.id].add(user.enterprise_id)
    if pool and enterprise_ids:
        rows = db.session.execute(
            select(InspectorConflict.user_id, InspectorConflict.enterprise_id).where(
                InspectorConflict.user_id.in_(list(tied)),
                InspectorConflict.enterprise_id.in_(sorted(enterprise_ids)),
            )
        )
        for user_id, enterprise_id in rows:
            tied[user_id].add(enterprise_id)
    return {user_id: sorted(ids) for user_id, ids in tied.items()}
