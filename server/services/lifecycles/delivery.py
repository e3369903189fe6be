"""The delivery lifecycle of a mail or a webhook delivery: exactly-once sending.

    (recorded) pending ──claim──▶ sending ──finish──▶ sent
                  ▲                  │ └──finish (last attempt)──▶ failed
                  └──finish (error)──┘  (a sending row whose lease passed may be claimed again)

Two database moves make it exactly-once:

1. A message is recorded with a unique key (`insert_ignore`): two scans or two dispatchers
   that find the same thing due insert one row between them.
2. A sender claims the row by moving it pending → sending (`claim`), a conditional update:
   of two senders exactly one gets the row. Only that one sends; it then marks the row sent
   (`finish`) or puts it back to pending with the error. A row stuck in sending (its sender
   died) may be claimed again once its lease has passed.

The only window left is a sender dying after the SMTP server or receiver accepted and
before `finish` committed; the mail then goes again after the lease (webhook receivers get
the same event id, and dedupe on it). Nothing here can send a message twice otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, update
from sqlalchemy.dialects import postgresql, sqlite

from server.extensions import db
from server.models import SendStatus, utcnow


def insert_ignore(model: type, **values: Any) -> bool:
    """Insert a row unless one with the same unique key exists; True when this call did.
    Commits, so the row is visible to other senders at once."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing()
    inserted = db.session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    db.session.commit()
    return inserted


def claim(model: Any, row_id: int) -> datetime | None:
    """Move row `row_id` pending → sending (or take over a sending row whose lease passed);
    the claim's time when this caller owns it now, else None. Commits."""
    now = utcnow()
    stale = now - timedelta(seconds=current_app.config["SEND_LEASE_S"])
    statement = (
        update(model)
        .where(
            model.id == row_id,
            or_(
                model.status == SendStatus.PENDING.value,
                (model.status == SendStatus.SENDING.value) & (model.claimed_at < stale),
            ),
        )
        .values(status=SendStatus.SENDING.value, claimed_at=now, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    owned = db.session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    db.session.commit()
    return now if owned else None


def finish(model: Any, row_id: int, claimed: datetime, status: SendStatus, **values: Any) -> bool:
    """Record the outcome of a send this caller claimed at `claimed`. Commits."""
    statement = (
        update(model)
        .where(
            model.id == row_id,
            model.status == SendStatus.SENDING.value,
            model.claimed_at == claimed,
        )
        .values(status=status.value, **values)
        .execution_options(synchronize_session=False)
    )
    done = db.session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    db.session.commit()
    return done


def after_failure(attempts: int) -> SendStatus:
    """Pending again for a retry, or failed for good after the last allowed attempt."""
    if attempts >= current_app.config["SEND_MAX_ATTEMPTS"]:
        return SendStatus.FAILED
    return SendStatus.PENDING
