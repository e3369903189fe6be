"""Rows by id for pages that name many of them (sites, users, enterprises in a list)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.extensions import db


def by_id(model: Any, ids: set[int]) -> dict[int, Any]:
    """Rows of a model by id, in one query."""
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}


def one(model: Any, row_id: int | None) -> Any:
    """One row by id, or None."""
    return None if row_id is None else db.session.get(model, row_id)
