"""The conditional update every lifecycle move is made of.

`UPDATE … SET status = :to WHERE key = :id AND status IN (:from…)` and its row count: the
database decides which of two simultaneous moves wins. On PostgreSQL the second update
waits for the first's row lock and then finds the status changed; on SQLite the update is
the transaction's first write, so it waits for the database's write lock (busy_timeout)
and is then evaluated against what the first transaction committed. Either way the loser
changes nothing, and the caller answers 409 with the state it lost to.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from server.extensions import db


def claim(
    row: Any,
    key: Any,
    expected: Collection[StrEnum],
    to: StrEnum,
    guard: dict[str, Any] | None = None,
    **values: Any,
) -> bool:
    """Move `row` to `to` (with `values`) if its stored status is still one of `expected`
    (and its columns named in `guard` still hold those values).

    `key` is the row's primary-key column. The in-memory row is updated to match without
    another statement; True when it moved.
    """
    model = type(row)
    identity = getattr(row, key.key)
    conditions = [getattr(model, name) == value for name, value in (guard or {}).items()]
    statement = (
        update(model)
        .where(key == identity, model.status.in_([status.value for status in expected]))
        .where(*conditions)
        .values(status=to.value, **values)
        .execution_options(synchronize_session=False)
    )
    # Rows added since the last audit entry stay pending, so that the entry lists them as
    # created here (see audit._record); the update does not depend on them.
    with db.session.no_autoflush:
        result = db.session.execute(statement)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for name, value in {"status": to.value, **values}.items():
        set_committed_value(row, name, value)
    return True


def lost(row: Any, key: Any) -> str:
    """For the loser of a race: roll back everything this transaction did, and read the
    status the row is in now, for the 409 that says so (`errors.status`)."""
    model = type(row)
    identity = getattr(row, key.key)
    db.session.rollback()
    return str(db.session.scalar(select(model.status).where(key == identity)))
