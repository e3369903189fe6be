"""The unresolved findings at the sites of the inspector's city, whoever found them.

Pulled with the rest and read offline, so a re-inspection of a site shows what is still
waiting there (notified, answered, reopened) and checks it again, not only the failures of
inspections this device made.
"""

from __future__ import annotations

import json
from typing import Any

from field_client.api import SyncApi
from field_client.errors import ServerRefused
from field_client.store import Store

META_KEY = "findings_to_recheck"
ETAG_KEY = "findings_to_recheck_etag"
PATH = "/api/v1/findings/to-recheck"


def pull_rechecks(store: Store, api: SyncApi) -> int:
    """Replace the held list with the server's (unchanged: a 304); an older server without
    the list leaves it as it was. Returns how many are held."""
    try:
        found, etag = api.get_json(PATH, etag=store.meta(ETAG_KEY) or None)
    except ServerRefused as error:
        if error.status in (404, 405):
            return len(_held(store))
        raise
    if found is not None:
        with store.transaction() as db:
            store.set_meta(META_KEY, json.dumps(found, ensure_ascii=False), db)
            store.set_meta(ETAG_KEY, etag or "", db)
    return len(_held(store))


def _held(store: Store) -> list[dict[str, Any]]:
    return json.loads(store.meta(META_KEY) or "[]")


def for_site(store: Store, site_id: int) -> list[dict[str, Any]]:
    """The site's unresolved findings as last pulled, oldest first."""
    return [finding for finding in _held(store) if finding["site_id"] == site_id]
