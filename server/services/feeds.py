"""Change feeds: numbered changes a device pulls after its cursor.

A feed's number is taken by incrementing its counter row, which holds the row lock until
commit. Writers of one feed are serialised, so numbers commit in order and a cursor can
never skip a change that committed late. Feeds carry rare writes only (registry edits,
review decisions), never the hot path of ingesting inspections.
"""

from __future__ import annotations

from sqlalchemy import update

from server.extensions import db
from server.models import ChangeCounter
from server.services.errors import BadRequest


def next_change_seq(feed: str) -> int:
    """Take the next number of a change feed, holding its row lock until commit."""
    value = db.session.scalar(
        update(ChangeCounter)
        .where(ChangeCounter.name == feed)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    )
    if value is None:
        raise LookupError(f"no change counter {feed!r}: run the migrations")
    return int(value)


def parse_cursor(cursor: str | None) -> int:
    """A cursor as sent by a device; empty means from the beginning."""
    if cursor in (None, ""):
        return 0
    try:
        value = int(cursor)  # type: ignore[arg-type]
    except ValueError as error:
        raise BadRequest("游标无效 / invalid cursor", {"since": ["not a cursor"]}) from error
    if value < 0:
        raise BadRequest("游标无效 / invalid cursor", {"since": ["not a cursor"]})
    return value
