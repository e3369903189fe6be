"""The one text form the audit log hashes, and how an entry's hash is computed.

Recording and verifying both hash through these functions, so what was hashed when an entry
was written and what is recomputed when it is checked can never drift apart.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

from server.models import AuditEntry

# How an entry's actor reads when the change came from the server's command line.
CLI_ACTOR = "cli"


def canonical_json(value: Any) -> str:
    """The one text form that is hashed: sorted keys, no whitespace, UTF-8 kept readable."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_text(value: datetime | None) -> str | None:
    """A fixed-width UTC form, so a stored time always hashes the same way."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def entry_hash(entry: AuditEntry, change: str | None = None) -> str:
    """sha256(prev_hash + canonical JSON of the entry); `change` replaces the entry's own
    (what a forger would hash)."""
    content = {
        "seq": entry.seq,
        "at": utc_text(entry.at),
        "actor": CLI_ACTOR if entry.actor_id is None else entry.actor_id,
        "action": entry.action,
        "subject": {"type": entry.subject_type, "id": entry.subject_id},
        "change": json.loads(entry.change if change is None else change),
    }
    if placed(entry.seq, entry.chain, entry.link):
        content["chain"] = entry.chain
        content["link"] = entry.link
    return sha256_hex(entry.prev_hash + canonical_json(content))


def placed(seq: int, chain: int | None, link: int | None) -> bool:
    """Whether an entry's hash covers its chain and link: always, except where they say no
    more than its seq does (chain 0, link = seq: every entry made before there were chains,
    which was hashed without them). Moving an entry to another chain or link changes what
    its hash covers either way."""
    return not ((chain or 0) == 0 and (link is None or link == seq))


def entry_hash_of(values: dict[str, Any]) -> str:
    """`entry_hash` of an entry not yet built as a row (its column values), with its change
    taken as the canonical JSON text it already is: the same text `entry_hash` hashes after
    decoding and encoding it again, without doing either (the keys of the content are
    written in their sorted order by hand; a test holds the two equal)."""
    actor = CLI_ACTOR if values["actor_id"] is None else values["actor_id"]
    subject = {"type": values["subject_type"], "id": values["subject_id"]}
    chain, link = values.get("chain", 0), values.get("link")
    where = ""
    if placed(values["seq"], chain, link):
        where = f'"chain":{canonical_json(chain)},'
    text = (
        f'{{"action":{canonical_json(values["action"])},"actor":{canonical_json(actor)},'
        f'"at":{canonical_json(utc_text(values["at"]))},{where}"change":{values["change"]},'
    )
    if where:
        text += f'"link":{canonical_json(link)},'
    text += f'"seq":{canonical_json(values["seq"])},"subject":{canonical_json(subject)}}}'

    return sha256_hex(values["prev_hash"] + text)
