"""The audit log: one hash-chained, append-only entry per state change.

Each entry names who changed what, and holds the canonical JSON of the rows as the change
left them. `entry_hash` covers the previous entry's hash, so editing, removing or inserting
an entry breaks the chain from there on. Nothing in the code updates or deletes an entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, Sequence, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models.types import UTCDateTime

# The prev_hash of the first entry.
GENESIS_HASH = "0" * 64
# Hands out `seq` on PostgreSQL (migration 0013); SQLite, one writer at a time, takes the
# largest + 1.
AUDIT_SEQ = Sequence("audit_log_seq", metadata=db.metadata)


class AuditEntry(db.Model):
    """One state change, appended to one of the log's chains (`chain`, `link`): each chain's
    entries link by hash, gap-free; `seq` orders all of them.

    `change` is kept as the exact canonical JSON text that was hashed (not as a JSON column,
    whose engine may reformat numbers or reorder keys), so the hash can be recomputed.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject", "subject_type", "subject_id"),
        UniqueConstraint("chain", "link", name="uq_audit_log_chain_link"),
    )

    # The entry's place in the whole log: unique and increasing; it orders entries of
    # different chains. With one chain it is also the link, so it has no gaps.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # Which chain the entry extends (by its subject, `audit.chains`), and its number there:
    # gap-free per chain, each taken under that chain's own counter row lock. Entries made
    # before chains existed are chain 0 with link = seq.
    chain: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    link: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The user who made the change; None for the server's command line ("cli").
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
