"""Failed logins sent at the same moment are charged before any password is checked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import httpx

from server.extensions import db
from server.services import accounts
from tests.e2e.conftest import ServerProcess
from tests.helpers import PASSWORD

PARALLEL = 40
LIMIT = 10


def test_parallel_wrong_passwords_check_at_most_the_limit(  # type: ignore[no-untyped-def]
    users, server_process: ServerProcess
) -> None:
    """40 wrong passwords at once against a limit of 10: at most 10 are checked (401), the
    rest are refused unchecked (429); afterwards even the right password is refused."""
    accounts.add_user("racer", "inspector", PASSWORD)
    db.session.commit()
    server_process.env["LANTIAN_LOGIN_RATE_LIMIT"] = f"{LIMIT} per minute"
    server_process.start()
    url = f"{server_process.url}/api/v1/auth/token"
    start = Barrier(PARALLEL)

    def guess(index: int) -> int:
        with httpx.Client(timeout=30) as client:
            start.wait()
            body = {"username": "racer", "password": f"wrong-{index}"}
            return client.post(url, json=body).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(guess, range(PARALLEL)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= LIMIT, statuses
    assert statuses.count(429) >= PARALLEL - LIMIT
    right = httpx.post(url, json={"username": "racer", "password": PASSWORD}, timeout=10)
    assert right.status_code == 429
