"""Issuing a draw's result as tasks, through the tasks service (one task per drawn site)."""

from __future__ import annotations

from server.models import Draw, User


def issue_tasks(user: User, draw: Draw) -> list[int]:
    """Create one 双随机 task per drawn site for its pair; their ids in result order.

    Runs inside the issuing transaction (no commit), after the draw was claimed.
    """
    del user, draw
    return []  # replaced when the tasks branch is merged
