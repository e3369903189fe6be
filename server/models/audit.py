"""The audit log: one hash-chained, append-only entry per state change.

Each entry names who changed what, and holds the canonical JSON of the rows as the change
left them. `entry_hash` covers the previous entry's hash, so editing, removing or inserting
an entry breaks the chain from there on. Nothing in the code updates or deletes an entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime

# The prev_hash of the first entry.
GENESIS_HASH = "0" * 64


class AuditEntry(db.Model):
    """One state change. `seq` comes from the locked `audit` counter: gap-free, in order.

    `change` is kept as the exact canonical JSON text that was hashed (not as a JSON column,
    whose engine may reformat numbers or reorder keys), so the hash can be recomputed.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The user who made the change; None for the server's command line ("cli").
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
