"""Two administrators at once against the real server: registering endpoints never loses
one, and disabling one endpoint eight times at once records the change once."""

from __future__ import annotations

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditEntry, WebhookEndpoint
from server.services import audit
from server.storage import photo_store
from tests.e2e.conftest import ServerProcess
from tests.e2e.test_live_server import token
from tests.e2e.test_races import THREADS, at_once, statuses

ROUNDS = 5


def test_simultaneous_disables_record_one_change(live_server: ServerProcess, users) -> None:  # type: ignore[no-untyped-def]
    admin = token(live_server, "adm")
    for round_number in range(ROUNDS):
        made = at_once(
            lambda http, i, n=round_number: http.post(
                "/api/v1/webhooks",
                json={
                    "url": f"https://hooks.example/{n}/{i}",
                    "events": ["notice.issued"],
                },
                headers=admin,
            ),
            live_server.url,
        )
        assert statuses(made) == {201: THREADS}
        secrets = {answer.json()["secret"] for answer in made}
        assert len(secrets) == THREADS  # a secret of its own for each endpoint
        endpoint_id = made[0].json()["id"]
        answers = at_once(
            lambda http, _i, e=endpoint_id: http.delete(f"/api/v1/webhooks/{e}", headers=admin),
            live_server.url,
        )
        assert statuses(answers) == {200: THREADS}
        assert all(answer.json()["active"] is False for answer in answers)
        db.session.expire_all()
        disabled = db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(
                AuditEntry.action == "webhook.disabled",
                AuditEntry.subject_id == str(endpoint_id),
            )
        )
        assert disabled == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)) == ROUNDS * THREADS
    assert audit.verify(photo_store()).ok
