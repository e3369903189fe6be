"""/api/v1/webhooks: the administrator registers, reads and disables endpoints; the secret
is in the creation response and nowhere else; bad input gets 4xx with a stable code."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry
from tests.conftest import TEST_WEBHOOK_NETWORKS

HOOK = {"url": "https://hooks.example/lantian", "events": ["notice.issued", "task.overdue"]}


def test_an_endpoint_is_registered_and_its_secret_shown_once(client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/webhooks", json=HOOK, headers=headers["admin"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["notice.issued", "task.overdue"] and body["active"] is True
    listed = client.get("/api/v1/webhooks", headers=headers["admin"]).get_json()
    one = client.get(f"/api/v1/webhooks/{body['id']}", headers=headers["admin"]).get_json()
    for shown in (listed[0], one):
        assert shown["id"] == body["id"] and "secret" not in shown
        assert body["secret"] not in str(shown)
    # Recorded in the audit log, without the secret.
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.registered"))
    assert entry is not None and body["secret"] not in entry.change
    disabled = client.delete(f"/api/v1/webhooks/{body['id']}", headers=headers["admin"])
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.disabled"))


def test_bad_endpoints_are_refused_with_stable_codes(client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    admin = headers["admin"]
    for url in ("ftp://hooks.example/x", "hooks.example", "http://"):
        refused = client.post("/api/v1/webhooks", json={**HOOK, "url": url}, headers=admin)
        assert refused.status_code == 422, url
        assert refused.get_json()["error"] == "webhook.invalid"
        assert "url" in refused.get_json()["errors"]
    for events in ([], ["inspection.deleted"], "notice.issued"):
        refused = client.post("/api/v1/webhooks", json={**HOOK, "events": events}, headers=admin)
        assert refused.status_code == 422, events
        assert refused.get_json()["error"] == "request.invalid"
    missing = client.get("/api/v1/webhooks/999", headers=admin)
    assert missing.status_code == 404 and missing.get_json()["error"] == "webhook.not_found"
    assert (
        client.post("/api/v1/webhooks", json=HOOK, headers=headers["supervisor"]).status_code == 403
    )


def test_hostile_bodies_are_4xx_never_500(client: FlaskClient, headers) -> None:  # type: ignore[no-untyped-def]
    admin = headers["admin"]
    bodies = {
        "nul": ({**HOOK, "url": "http://a\u0000b/"}, 400),
        "long url": ({**HOOK, "url": "https://h.example/" + "x" * 600}, 422),
        "huge description": ({**HOOK, "description": "问" * 300_000}, 422),
        "events not a list": ({**HOOK, "events": {"a": 1}}, 422),
        "number url": ({**HOOK, "url": 5}, 422),
        "unknown field": ({**HOOK, "secret": "mine"}, 422),
        "no host": ({**HOOK, "url": "https:///path"}, 422),
    }
    for name, (body, status) in bodies.items():
        answer = client.post("/api/v1/webhooks", json=body, headers=admin)
        assert answer.status_code == status, (name, answer.get_json())
        assert answer.get_json()["error"], name
    assert client.get("/api/v1/webhooks", headers=admin).get_json() == []


INTERNAL = (
    "http://127.0.0.1:6379/",
    "http://localhost:5000/api/v1/health",
    "http://0x7f000001/",  # 127.0.0.1 written in hex: the resolver, not the text, decides
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://10.0.0.5/hook",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[::1]:8080/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0:5000/",
)


def test_endpoints_on_internal_addresses_are_refused(client: FlaskClient, headers, app) -> None:  # type: ignore[no-untyped-def]
    """An endpoint is a URL the server will POST to, and the attempt log shows the answer:
    pointed at loopback, the LAN or the metadata service it would probe the server's own
    network (SSRF). Refused unless the deployment allows that network."""
    admin = headers["admin"]
    app.config["WEBHOOK_ALLOW_NETWORKS"] = ""
    try:
        for url in INTERNAL:
            refused = client.post("/api/v1/webhooks", json={**HOOK, "url": url}, headers=admin)
            assert refused.status_code == 422, (url, refused.get_json())
            assert refused.get_json()["error"] == "webhook.invalid"
            assert "url" in refused.get_json()["errors"]
        assert client.get("/api/v1/webhooks", headers=admin).get_json() == []
        app.config["WEBHOOK_ALLOW_NETWORKS"] = "10.20.0.0/16"
        intranet = client.post(
            "/api/v1/webhooks", json={**HOOK, "url": "http://10.20.3.4/hook"}, headers=admin
        )
        assert intranet.status_code == 201, intranet.get_json()
        outside = client.post(
            "/api/v1/webhooks", json={**HOOK, "url": "http://10.21.3.4/hook"}, headers=admin
        )
        assert outside.status_code == 422
    finally:
        app.config["WEBHOOK_ALLOW_NETWORKS"] = TEST_WEBHOOK_NETWORKS
