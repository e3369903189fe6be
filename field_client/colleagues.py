"""The inspectors the device may name on an on-site record, with the 执法证号 on file.

Pulled with the rest and read offline: the record's first inspector is the signed-in user
and the second is picked from this list, so each badge on the record is the account's
(the server refuses a record whose named account has another badge).
"""

from __future__ import annotations

import json
from typing import Any

from field_client.api import SyncApi
from field_client.errors import ServerRefused
from field_client.store import Store

META_KEY = "colleagues"


def pull_colleagues(store: Store, api: SyncApi) -> int:
    """Replace the held list with the server's; an older server without the list keeps it."""
    try:
        people, _ = api.get_json("/api/v1/colleagues")
    except ServerRefused as error:
        if error.status in (404, 405):
            return len(colleagues(store))
        raise
    store.set_meta(META_KEY, json.dumps(people or [], ensure_ascii=False))
    return len(people or [])


def colleagues(store: Store) -> dict[str, dict[str, Any]]:
    """username → {username, display_name, role, badge_no}, as last pulled."""
    held = json.loads(store.meta(META_KEY) or "[]")
    return {person["username"]: person for person in held}


def person(store: Store, name_or_username: str) -> dict[str, Any] | None:
    """The colleague named by username or by display name (None: not one the device knows)."""
    wanted = name_or_username.strip()
    known = colleagues(store)
    if wanted in known:
        return known[wanted]
    return next((p for p in known.values() if p.get("display_name") == wanted), None)
