"""Change feeds: numbered changes a device pulls after its cursor.

A feed's number is taken by incrementing its counter row, which holds the row lock until
commit. Writers of one feed are serialised, so numbers commit in order and a cursor can
never skip a change that committed late. Feeds carry rare writes only (registry edits,
review decisions), never the hot path of ingesting inspections.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server.extensions import db
from server.models import ChangeCounter
from server.services.errors import BadRequest, ErrorCode

MAX_CURSOR = 2**63 - 1


def next_change_seq(feed: str) -> int:
    """Take the next number of a counter, holding its row lock until commit.

    A counter that does not exist yet (a notice series for a new city or year) is created
    first; concurrent creators both succeed, since the insert ignores a conflict. The
    common case, an existing counter, costs one statement.
    """
    take = (
        update(ChangeCounter)
        .where(ChangeCounter.name == feed)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    )
    value = db.session.scalar(take)
    if value is None:
        insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
        db.session.execute(
            insert(ChangeCounter)
            .values(name=feed, value=0)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        value = db.session.scalar(take)
    return int(value)  # type: ignore[arg-type]


def parse_cursor(cursor: str | None) -> int:
    """A cursor as sent by a device; empty means from the beginning."""
    if cursor in (None, ""):
        return 0
    try:
        value = int(cursor)  # type: ignore[arg-type]
    except ValueError as error:
        raise BadRequest(
            ErrorCode.REQUEST_CURSOR_INVALID,
            "游标无效 / invalid cursor",
            {"since": ["not a cursor"]},
        ) from error
    if not 0 <= value <= MAX_CURSOR:  # beyond a bigint, the database could not compare it
        raise BadRequest(
            ErrorCode.REQUEST_CURSOR_INVALID,
            "游标无效 / invalid cursor",
            {"since": ["not a cursor"]},
        )
    return value
